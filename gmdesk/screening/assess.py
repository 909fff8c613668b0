"""Assessment of one recording with a model bundle: snippet scores and the infant verdict."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from gmdesk.core.posetrack import PoseTrack
from gmdesk.core.skeleton import Skeleton
from gmdesk.errors import GmdeskError
from gmdesk.learning.bundle import ModelBundle, load_bundle
from gmdesk.pipeline.cohort import landmarks_used, load_track, model_ready_track, unlocated_message
from gmdesk.pipeline.features import compute_features
from gmdesk.pipeline.resample import same_rate
from gmdesk.pipeline.snippets import cut_snippets, snippet_starts
from gmdesk.screening.result import AssessmentResult
from gmdesk.screening.similarity import cosine_similarity_matrix
from gmdesk.screening.verdict import infant_verdict

logger = logging.getLogger(__name__)

#: Windows scored at a time: memory stays proportional to the recording, not to overlapping copies.
CHUNK_WINDOWS = 256
#: Longest recording (in snippets) whose within-infant similarity matrix (n x n) is part of the result: 600 snippets
#: are 17 min at overlap 250 (50 min at 150); the matrix is 1.4 MB then, stored with the result in the case.
MAX_WITHIN_SIMILARITY = 600


def assess_track(track: PoseTrack, bundle: ModelBundle, skeleton: Skeleton, infant_id: str = "",
                 chunk_windows: int = CHUNK_WINDOWS) -> AssessmentResult:
    """Score a track's snippets and give the infant verdict.

    The track is cleaned first unless its provenance shows it already was (a case's current
    track, edits included). Windows with missing data are left out and listed with the landmarks
    behind them. Windows are cut, scored and embedded ``chunk_windows`` at a time, and everything in
    the result grows linearly with the recording (the within-infant similarity matrix is kept only for
    recordings of up to :data:`MAX_WITHIN_SIMILARITY` snippets).

    Returns
    -------
    AssessmentResult
        ``snippets`` (start frame/time, P(abnormal), class, imputed share, flags), ``verdict`` (with its
        basis sentence), ``dropped`` windows, ``flags`` (kept windows with long interpolated gaps),
        model id and settings, and what the views compare the infant with.
    """

    bundle.check_compatible(skeleton)
    recording = track
    resampled = not same_rate(track.fps, bundle.fps)
    # the model knows movement per frame at its own rate: a recording at another rate is resampled to it
    track = model_ready_track(track, skeleton, bundle.fps, fill_step="fill_edit_gaps")
    if names := track.unlocated_landmarks(landmarks_used(skeleton, bundle.feature_set)):
        raise GmdeskError(unlocated_message(str(recording.meta.get("source", infant_id or "the recording")),
                                            [", ".join(names)], skeleton))
    # the bundle's own skeleton: its normalisation table is part of the model's recipe
    feats, layout = compute_features(track, bundle.skeleton if bundle.normalisation != "paper" else skeleton,
                                     bundle.feature_set, bundle.normalisation)
    if track.n_frames < bundle.window:
        cut_snippets(feats, layout, track, infant_id or "infant", -1, bundle.window, bundle.overlap)  # raises: too short
    all_starts = snippet_starts(track.n_frames, bundle.window, bundle.overlap)
    ref = bundle.reference()
    ica = bundle.ica()
    parts: dict[str, list] = {"start": [], "p": [], "imp": [], "emb": [], "ica": [], "finding": []}
    findings = getattr(bundle.classifier, "FINDINGS", None)  # a family that names the finding behind a snippet
    dropped: list[dict] = []
    flags: list[dict] = []
    for i in range(0, len(all_starts), max(1, chunk_windows)):
        snips = cut_snippets(feats, layout, track, infant_id or "infant", -1, bundle.window, bundle.overlap, "drop",
                             skeleton.name, skeleton.fingerprint, starts=all_starts[i:i + chunk_windows])
        dropped += snips.dropped
        flags += snips.flags
        if not len(snips):
            continue
        parts["start"].append(snips.start)
        parts["p"].append(bundle.score_snippets(snips.X))
        if findings:
            parts["finding"].append(bundle.classifier.finding_margins(snips.X))
        parts["imp"].append(snips.imputed_fraction)
        parts["emb"].append(bundle.classifier.embed(snips.X).astype(np.float32))
        if ica is not None:
            parts["ica"].append(bundle.ica_project(snips.X)[:, 0])
    if not parts["start"]:
        raise GmdeskError(
            f"{track.meta.get('source', infant_id)}: every {bundle.window}-frame window has missing landmarks "
            f"({len(dropped)} windows); correct the long gaps before assessing"
        )
    starts = np.concatenate(parts["start"])
    p = np.concatenate(parts["p"])
    imputed = np.concatenate(parts["imp"])
    v = infant_verdict(p, infant_id, bundle.threshold, bundle.decision, bundle.window, bundle.overlap, bundle.min_snippets)
    to_rec = recording.fps / track.fps  # frame numbers shown are the recording's own
    if resampled:
        v = replace(v, note=f"recording at {recording.fps:g} fps resampled to the model's {track.fps:g} fps")
        starts = np.round(starts * to_rec).astype(int)
        dropped = [d | {"start": int(round(d["start"] * to_rec))} if "start" in d else d for d in dropped]
        flags = [f | {"start": int(round(f["start"] * to_rec))} if "start" in f else f for f in flags]
    end = int(round(bundle.window * to_rec))
    flag_text: dict[int, list[str]] = {}
    for f in flags:
        flag_text.setdefault(int(f["start"]), []).append(f["reason"])
    rows = [{"index": i, "start_frame": int(s), "end_frame": int(s) + end - 1, "start_s": round(s / recording.fps, 3),
             "p_abnormal": float(pi), "class": "abnormal" if pi >= bundle.decision else "normal",
             "imputed_fraction": float(f), "flags": flag_text.get(int(s), [])}
            for i, (s, pi, f) in enumerate(zip(starts, p, imputed, strict=True))]
    if findings:  # the finding furthest beyond its cut, for the snippets the bundle classes abnormal
        for row, m in zip(rows, np.concatenate(parts["finding"]), strict=True):
            row["finding"] = list(findings)[int(np.argmax(m))] if row["class"] == "abnormal" else ""
    insight = _insight(np.concatenate(parts["emb"]), ref, ica, parts["ica"])
    logger.info("assessed %s with %s: %d snippets scored, %d windows left out, verdict %s", infant_id or "infant",
                bundle.model_id, len(rows), len(dropped), v.verdict)
    return AssessmentResult(
        model_summary=model_summary(bundle), infant_id=infant_id, source=track.meta.get("source"),
        model_id=bundle.model_id, model_path=str(bundle.path), classifier=bundle.manifest["classifier"],
        feature_set=bundle.feature_set, normalisation=bundle.normalisation, calibrated=bool(bundle.calibration),
        window=bundle.window, overlap=bundle.overlap, fps=recording.fps, frames=recording.n_frames,
        synthetic_model=bool(bundle.manifest.get("cohort", {}).get("synthetic")), validation=bundle.validation,
        verdict=v, snippets=rows, dropped=dropped, flags=flags, **insight,
    )


def store_result(case: Any, res: AssessmentResult, edit_seq: int | None = None, track_sha256: str | None = None) -> int:
    """Save an :func:`assess_track` result in an open case (its verdict, snippet scores, model summary,
    and what its views need to be shown again on reopening: window, fps and the windows left out
    with the landmarks that were missing, and the similarity and ICA data, :func:`stored_views`), with the
    edit position and track digest it was made from (default: the case's now; pass those taken when the
    track was read if the case may have changed since). Returns the result's id."""
    dropped = [{"start": int(d["start"]), "missing": dict(d.get("missing", {}))} for d in res.dropped]
    verdict = res.verdict.to_dict() | {"window": int(res.window), "fps": float(res.fps), "dropped": dropped,
                                       "track_sha256": track_sha256 or case.track_digest(), "views": stored_views(res)}
    return int(case.save_result(res.model_id, verdict, res.snippets, res.model_path, res.model_summary, edit_seq))


def stored_views(res: AssessmentResult) -> dict[str, Any]:
    """What the result's views need to be shown again from the case alone: the similarity matrices (rounded
    to 1e-4, the heatmap's resolution), the reference snippets' names and labels, and the ICA positions."""

    def rounded(m: Any) -> Any:
        return None if m is None else np.round(np.asarray(m, dtype=float), 4).tolist()

    views = {"similarity_within": rounded(res.similarity_within), "similarity_reference": rounded(res.similarity_reference),
             "reference_names": res.reference_names, "reference_labels": res.reference_labels, "ica": res.ica}
    return {k: v for k, v in views.items() if v is not None}


def assess_case(case: Any, bundle: ModelBundle, skeleton: Skeleton) -> tuple[int, AssessmentResult]:
    """Assess an open case's current track (cleaning and edits included) and store the result in it
    (``gmdesk case assess``, ``gmdesk batch``).

    Returns
    -------
    (int, AssessmentResult)
        The stored result's id and the result.
    """
    res = assess_track(case.current_track(), bundle, skeleton, case.meta().get("infant_id", ""))
    return store_result(case, res), res


def model_summary(bundle: ModelBundle) -> dict[str, Any]:
    """What a result must say about its model, stored with it in the case (so a report made later from
    the case alone names the model, its recipe and its validation, and whether it is validated on its cohort)."""
    m = bundle.manifest
    metrics = m.get("metrics", {}) if isinstance(m.get("metrics"), dict) else {}
    keep = {k: v for k, v in metrics.items() if k in ("infant_level", "snippet_cv", "infant_cv", "loio_cv", "significance")}
    for v in keep.values():
        if isinstance(v, dict):
            v.pop("folds", None)
            v.pop("per_infant", None)
    return {"model_id": m.get("model_id"), "classifier": m.get("classifier"), "feature_set": m.get("feature_set"),
            "normalisation": bundle.normalisation, "threshold": bundle.threshold, "decision": bundle.decision,
            "fps": bundle.fps,
            "min_snippets": bundle.min_snippets, "calibration": bundle.calibration, "cohort": m.get("cohort", {}),
            "metrics": keep, "library_versions": m.get("library_versions", {}), "intended_use": m.get("intended_use"),
            "medical_device": bool(m.get("medical_device", False)), "path": str(bundle.path),
            "validation": bundle.validation}


def _insight(emb, ref: dict | None, ica: dict | None, infant_ic: list) -> dict[str, Any]:
    """Cosine similarity of this infant's snippets with the model's reference snippets (n x n_reference,
    linear in the recording), with each other for short recordings, and their position in the model's
    ICA space."""

    out: dict[str, Any] = {}
    if len(emb) <= MAX_WITHIN_SIMILARITY:
        out["similarity_within"] = cosine_similarity_matrix(emb).tolist()
    if ref is not None:
        order = np.argsort(ref["label"], kind="stable")  # normal references first
        out["similarity_reference"] = cosine_similarity_matrix(emb, np.asarray(ref["embeddings"])[order]).tolist()
        out["reference_names"] = [f"{['Normal', 'Abnormal'][int(ref['label'][i])]}-{ref['infant_id'][i]}@{int(ref['start'][i])}"
                                  for i in order]
        out["reference_labels"] = ref["label"][order].astype(int).tolist()
    if ica is not None and infant_ic:
        out["ica"] = {"reference_ic1": ica["ic"][:, 0].tolist(), "reference_labels": ica["label"].astype(int).tolist(),
                      "infant_ic1": np.concatenate(infant_ic).tolist()}
    return out


def assess_recording(pose: str | Path, model: str | Path | ModelBundle, skeleton: Skeleton,
                     mapping: dict | str | Path | None = None, fps: float | None = None, individual: str | None = None,
                     infant_id: str | None = None) -> AssessmentResult:
    """Load a pose file and a model bundle (checking they fit), then :func:`assess_track`."""
    bundle = model if isinstance(model, ModelBundle) else load_bundle(model, skeleton)
    track = load_track(pose, skeleton, mapping, fps, individual)
    return assess_track(track, bundle, skeleton, infant_id or Path(pose).stem)
