"""Assessment of one recording with a model bundle: snippet scores and the infant verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gmdesk.bundle import ModelBundle, load_bundle
from gmdesk.cleaning import clean_track
from gmdesk.cohort import is_cleaned, load_track
from gmdesk.errors import GmdeskError
from gmdesk.features import compute_features
from gmdesk.posetrack import PoseTrack
from gmdesk.skeleton import Skeleton
from gmdesk.snippets import cut_snippets
from gmdesk.verdict import infant_verdict


def assess_track(track: PoseTrack, bundle: ModelBundle, skeleton: Skeleton, infant_id: str = "") -> dict[str, Any]:
    """Score a track's snippets and give the infant verdict.

    The track is cleaned first unless its provenance shows it already was (a case's current
    track, edits included). Windows with missing data are left out and listed.

    Returns
    -------
    dict
        ``snippets`` (start frame/time, P(abnormal), class, imputed share), ``verdict`` (with its
        basis sentence), ``dropped`` windows, model id and settings.
    """
    bundle.check_compatible(skeleton)
    if not is_cleaned(track):
        track, _ = clean_track(track, skeleton)
    feats, layout = compute_features(track, skeleton, bundle.feature_set)
    snips = cut_snippets(feats, layout, track, infant_id or "infant", -1, bundle.window, bundle.overlap, "drop",
                         skeleton.name, skeleton.fingerprint)
    if len(snips) == 0:
        raise GmdeskError(
            f"{track.meta.get('source', infant_id)}: every {bundle.window}-frame window has missing landmarks "
            f"({len(snips.dropped)} windows); correct the long gaps before assessing"
        )
    p = bundle.classifier.score_snippets(snips.X)
    v = infant_verdict(p, infant_id, bundle.threshold, bundle.decision)
    insight = _insight(bundle, snips)
    rows = [{"index": i, "start_frame": int(s), "end_frame": int(s) + bundle.window - 1, "start_s": round(s / track.fps, 3),
             "p_abnormal": float(pi), "class": "abnormal" if pi >= bundle.decision else "normal",
             "imputed_fraction": float(f)}
            for i, (s, pi, f) in enumerate(zip(snips.start, p, snips.imputed_fraction, strict=True))]
    return {
        "infant_id": infant_id, "source": track.meta.get("source"), "model_id": bundle.model_id,
        "model_path": str(bundle.path), "classifier": bundle.manifest["classifier"], "feature_set": bundle.feature_set,
        "window": bundle.window, "overlap": bundle.overlap, "fps": track.fps, "frames": track.n_frames,
        "synthetic_model": bool(bundle.manifest.get("cohort", {}).get("synthetic")),
        "verdict": v.to_dict(), "snippets": rows, "dropped": snips.dropped, **insight,
    }


def _insight(bundle: ModelBundle, snips) -> dict[str, Any]:
    """Cosine similarity of this infant's snippets with each other and with the model's
    reference snippets, and their position in the model's ICA space."""
    import numpy as np

    from gmdesk.insight import cosine_similarity_matrix

    emb = bundle.classifier.embed(snips.X)
    out: dict[str, Any] = {"similarity_within": cosine_similarity_matrix(emb).tolist()}
    ref = bundle.reference()
    if ref is not None:
        both = cosine_similarity_matrix(np.concatenate([emb, ref["embeddings"]]))
        order = np.argsort(ref["label"], kind="stable")  # normal references first
        out["similarity_reference"] = both[: len(emb), len(emb):][:, order].tolist()
        out["reference_names"] = [f"{['Normal', 'Abnormal'][int(ref['label'][i])]}-{ref['infant_id'][i]}@{int(ref['start'][i])}"
                                  for i in order]
        out["reference_labels"] = ref["label"][order].astype(int).tolist()
    ica = bundle.ica()
    if ica is not None:
        out["ica"] = {"reference_ic1": ica["ic"][:, 0].tolist(), "reference_labels": ica["label"].astype(int).tolist(),
                      "infant_ic1": bundle.ica_project(snips.X)[:, 0].tolist()}
    return out


def assess_recording(pose: str | Path, model: str | Path | ModelBundle, skeleton: Skeleton,
                     mapping: dict | str | Path | None = None, fps: float | None = None, individual: str | None = None,
                     infant_id: str | None = None) -> dict[str, Any]:
    """Load a pose file and a model bundle (checking they fit), then :func:`assess_track`."""
    bundle = model if isinstance(model, ModelBundle) else load_bundle(model, skeleton)
    track = load_track(pose, skeleton, mapping, fps, individual)
    return assess_track(track, bundle, skeleton, infant_id or Path(pose).stem)
