"""10-second snippets (paper section 3.2): 300-frame windows with a chosen overlap.

Every snippet carries its infant id, start frame and its infant's global label
(normal = 0, abnormal = 1, unknown = -1). The paper's overlaps are 299, 290, 270, 250, 200,
150 and 100 frames; 150 is the default.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gmdesk.constants import DEFAULT_OVERLAP, WINDOW
from gmdesk.core.posetrack import PointStatus, PoseTrack
from gmdesk.errors import GmdeskError, RecordingTooShortError
from gmdesk.io.atomic import atomic_path
from gmdesk.io.jsonfile import loads_strict
from gmdesk.io.paths import check_npz
from gmdesk.pipeline.features import FeatureLayout, mirror_features

logger = logging.getLogger(__name__)

#: Most bytes a snippet file's arrays may inflate to.
MAX_SNIPPET_BYTES = 16 << 30

NAN_POLICIES = ("drop", "error", "keep")


def snippet_starts(n_frames: int, window: int = WINDOW, overlap: int = DEFAULT_OVERLAP) -> np.ndarray:
    """Start frames of the windows that fit in ``n_frames`` (stride = window − overlap)."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must be in 0..{window - 1}, got {overlap}")
    if n_frames < window:
        return np.empty(0, dtype=np.int64)
    return np.arange(0, n_frames - window + 1, window - overlap, dtype=np.int64)


def n_snippets(n_frames: int, window: int = WINDOW, overlap: int = DEFAULT_OVERLAP) -> int:
    """Number of windows: ``(n_frames − window) // (window − overlap) + 1`` (0 if too short)."""
    return len(snippet_starts(n_frames, window, overlap))


@dataclass
class SnippetSet:
    """Snippets of one or more infants.

    Attributes
    ----------
    X : ndarray float32, shape (n, window, n_features)
    infant_id : ndarray of str, shape (n,)
    start : ndarray int64, shape (n,)
        First frame of each snippet in its recording, counted at the set's ``fps``: a cohort's recordings are
        resampled to the model's rate first (:func:`gmdesk.pipeline.cohort.cohort_features`), so for a recording
        filmed at another rate this is frame ``start * recording fps / fps`` of the file (the provenance records
        the resampling).
    label : ndarray int8, shape (n,)
        The infant's global label: 0 normal, 1 abnormal, -1 unknown.
    imputed_fraction : ndarray float32, shape (n,)
        Share of landmark points in the window that were imputed or edited rather than observed.
    feature_names : tuple of str
    feature_set, window, overlap, fps, skeleton, skeleton_fingerprint
    provenance : list of dict
    dropped : list of dict
        Windows left out because they contain missing data (infant, start, missing values, and the
        landmarks missing with their number of frames).
    flags : list of dict
        Kept windows a person should look at: they contain an end-point (hand, foot...) gap longer than the usual
        imputation limit that cleaning interpolated (infant, start, landmark, frames).
    """

    X: np.ndarray
    infant_id: np.ndarray
    start: np.ndarray
    label: np.ndarray
    imputed_fraction: np.ndarray
    feature_names: tuple[str, ...]
    feature_set: str
    window: int
    overlap: int
    fps: float
    skeleton: str
    skeleton_fingerprint: str
    provenance: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    normalisation: str = "paper"

    def __len__(self) -> int:
        return len(self.X)

    @property
    def infants(self) -> list[str]:
        """Infant ids in order of first appearance."""
        return list(dict.fromkeys(self.infant_id.tolist()))

    def subset(self, idx: np.ndarray) -> SnippetSet:
        """The snippets at ``idx`` (indices or boolean mask)."""
        return SnippetSet(
            self.X[idx], self.infant_id[idx], self.start[idx], self.label[idx], self.imputed_fraction[idx],
            self.feature_names, self.feature_set, self.window, self.overlap, self.fps, self.skeleton,
            self.skeleton_fingerprint, list(self.provenance), list(self.dropped), list(self.flags), self.normalisation,
        )

    @classmethod
    def concat(cls, sets: list[SnippetSet]) -> SnippetSet:
        """Join snippet sets made with the same features, window, overlap and skeleton."""
        if not sets:
            raise ValueError("no snippet sets to join")
        a = sets[0]
        for b in sets[1:]:
            if (b.feature_names, b.window, b.overlap, b.skeleton_fingerprint, b.normalisation) != (
                a.feature_names, a.window, a.overlap, a.skeleton_fingerprint, a.normalisation
            ):
                raise ValueError("snippet sets differ in features, normalisation, window, overlap or skeleton")
        return cls(
            np.concatenate([s.X for s in sets]), np.concatenate([s.infant_id for s in sets]),
            np.concatenate([s.start for s in sets]), np.concatenate([s.label for s in sets]),
            np.concatenate([s.imputed_fraction for s in sets]), a.feature_names, a.feature_set, a.window,
            a.overlap, a.fps, a.skeleton, a.skeleton_fingerprint,
            [p for s in sets for p in s.provenance], [d for s in sets for d in s.dropped],
            [f for s in sets for f in s.flags], a.normalisation,
        )

    def save(self, path: str | Path) -> Path:
        """Write to ``.npz`` atomically (no pickled objects)."""

        meta = {
            "format": "gmdesk-snippets-1", "feature_names": list(self.feature_names), "feature_set": self.feature_set,
            "window": self.window, "overlap": self.overlap, "fps": self.fps, "skeleton": self.skeleton,
            "skeleton_fingerprint": self.skeleton_fingerprint, "provenance": self.provenance, "dropped": self.dropped,
            "flags": self.flags, "normalisation": self.normalisation,
        }
        path = Path(path)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(
                fh, X=self.X, infant_id=self.infant_id.astype(str), start=self.start, label=self.label,
                imputed_fraction=self.imputed_fraction, meta=np.array(json.dumps(meta)),
            )
        return path

    @classmethod
    def load(cls, path: str | Path) -> SnippetSet:
        """Read a file written by :meth:`save`."""
        check_npz(path, "snippet file", MAX_SNIPPET_BYTES)
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = loads_strict(str(z["meta"]))
                if meta.get("format") != "gmdesk-snippets-1":
                    raise GmdeskError(f"{path}: not a gmdesk snippet file")
                return cls(
                    z["X"], z["infant_id"], z["start"], z["label"], z["imputed_fraction"],
                    tuple(meta["feature_names"]), meta["feature_set"], int(meta["window"]), int(meta["overlap"]),
                    float(meta["fps"]), meta["skeleton"], meta["skeleton_fingerprint"], meta["provenance"],
                    meta["dropped"], meta.get("flags", []), meta.get("normalisation", "paper"),
                )
        except (OSError, KeyError, ValueError) as exc:
            raise GmdeskError(f"{path}: cannot read snippet file ({exc})") from exc


def cut_snippets(
    features: np.ndarray,
    layout: FeatureLayout,
    track: PoseTrack,
    infant_id: str,
    label: int = -1,
    window: int = WINDOW,
    overlap: int = DEFAULT_OVERLAP,
    nan_policy: str = "drop",
    skeleton_name: str = "",
    skeleton_fingerprint: str = "",
    starts: np.ndarray | None = None,
) -> SnippetSet:
    """Cut one recording's features into windows.

    Parameters
    ----------
    features : ndarray, shape (frames, n_features)
    layout : FeatureLayout
    track : PoseTrack
        The cleaned track the features came from (for statuses and provenance).
    infant_id : str
    label : int
        Global label of the infant (0 normal, 1 abnormal, -1 unknown).
    window, overlap : int
        Window length and overlap in frames (0 <= overlap < window).
    nan_policy : {"drop", "error", "keep"}
        What to do with windows containing missing values: leave them out (listed in
        ``dropped``), raise, or keep the NaNs.
    starts : array of int, optional
        Cut only these windows (a subset of :func:`snippet_starts`): long recordings are scored a
        chunk of windows at a time, so memory does not grow with overlapping copies of the data.

    Raises
    ------
    RecordingTooShortError
        The recording has fewer frames than one window.
    """
    if nan_policy not in NAN_POLICIES:
        raise ValueError(f"nan_policy must be one of {NAN_POLICIES}")
    if label not in (-1, 0, 1):
        raise ValueError(f"label must be 0 (normal), 1 (abnormal) or -1 (unknown), got {label}")
    n_frames = features.shape[0]
    source = track.meta.get("source", infant_id)
    if n_frames < window:
        raise RecordingTooShortError(
            f"{source}: recording of infant {infant_id!r} has {n_frames} frames "
            f"({n_frames / track.fps:.1f} s), shorter than one {window}-frame snippet ({window / track.fps:.1f} s)"
        )
    if starts is None:
        starts = snippet_starts(n_frames, window, overlap)
    else:
        starts = np.asarray(starts, dtype=np.int64)
        if starts.size and (starts.min() < 0 or starts.max() + window > n_frames):
            raise ValueError(f"window starts outside 0..{n_frames - window}")
    win = np.lib.stride_tricks.sliding_window_view(features, window, axis=0)[starts]  # (n, f, window)
    X = np.ascontiguousarray(np.moveaxis(win, -1, 1), dtype=np.float32)
    nan_count = np.isnan(X).reshape(len(X), -1).sum(axis=1)
    changed = np.isin(track.status, (PointStatus.IMPUTED, PointStatus.EDITED))
    csum = np.concatenate([[0], np.cumsum(changed.sum(axis=1))])
    imputed = ((csum[starts + window] - csum[starts]) / (window * track.n_landmarks)).astype(np.float32)
    bad = nan_count > 0
    miss = missing_per_window(track, starts, window) if bad.any() else {}
    dropped = [
        {"infant_id": infant_id, "start": int(s), "nan_values": int(c), "missing": miss.get(int(s), {})}
        for s, c in zip(starts[bad], nan_count[bad], strict=True)
    ]
    if bad.any() and nan_policy == "error":
        raise GmdeskError(
            f"{source}: {int(bad.sum())} of {len(starts)} snippets of infant {infant_id!r} contain missing values "
            f"(first at frame {int(starts[bad][0])}); fix the gaps or use nan_policy='drop'"
        )
    keep = ~bad if nan_policy == "drop" else np.ones(len(starts), bool)
    n = int(keep.sum())
    flags = [{"infant_id": infant_id, "start": int(s), "landmark": name, "frames": [a, b],
              "reason": f"{name} interpolated over {b - a} frames ({a}–{b - 1})"}
             for s in starts[keep] for name, a, b in long_fills(track) if a < s + window and b > s]
    return SnippetSet(
        X=X[keep], infant_id=np.array([infant_id] * n, dtype=str), start=starts[keep], label=np.full(n, label, np.int8),
        imputed_fraction=imputed[keep], feature_names=layout.names, feature_set=layout.feature_set, window=window,
        overlap=overlap, fps=track.fps, skeleton=skeleton_name, skeleton_fingerprint=skeleton_fingerprint,
        provenance=[{"infant_id": infant_id, "track": track.provenance,
                     "cut_snippets": {"window": window, "overlap": overlap, "nan_policy": nan_policy,
                                      "snippets": n, "dropped": len(dropped), "flagged": len(flags)}}],
        dropped=dropped if nan_policy == "drop" else [], flags=flags, normalisation=layout.normalisation,
    )


def long_fills(track: PoseTrack) -> list[tuple[str, int, int]]:
    """End-point (hand, foot...) runs that cleaning interpolated beyond its usual gap limit (from the provenance of
    the last imputation): ``(landmark, start, stop)``."""
    for step in reversed(track.provenance):
        if step.get("step") == "impute_gaps":
            return [(str(a), int(b), int(c)) for a, b, c in step.get("summary", {}).get("long_fills", [])]
    return []


def missing_per_window(track: PoseTrack, starts: np.ndarray, window: int = WINDOW) -> dict[int, dict[str, int]]:
    """For each window start, the landmarks with missing frames in it and how many."""
    miss = track.missing
    csum = np.concatenate([np.zeros((1, miss.shape[1]), np.int64), np.cumsum(miss, axis=0)])
    counts = csum[starts + window] - csum[starts]  # (windows, landmarks)
    return {int(s): {track.landmarks[j]: int(c[j]) for j in np.flatnonzero(c)} for s, c in zip(starts, counts, strict=True)
            if c.any()}


def window_coverage(track: PoseTrack, window: int = WINDOW, overlap: int = DEFAULT_OVERLAP) -> dict[str, Any]:
    """How much of a recording can be cut into snippets, and why the rest cannot.

    Returns
    -------
    dict
        ``frames``, ``windows``, ``windows_kept``, ``usable_frames`` (frames inside a kept window),
        ``usable_share``, ``left_out`` (each window left out: start, stop and the landmarks missing in
        it with their frame counts, most frames first), ``flagged`` (kept windows with a long
        interpolated end-point gap), ``missing_by_landmark`` (landmark-frames missing, the reasons
        windows are lost, summed over left-out windows).
    """
    n = track.n_frames
    starts = snippet_starts(n, window, overlap)
    miss = missing_per_window(track, starts, window)
    kept = np.array([int(s) not in miss for s in starts], dtype=bool)
    cover = np.zeros(n + 1, np.int64)
    for s in starts[kept]:
        cover[s] += 1
        cover[s + window] -= 1
    usable = int((np.cumsum(cover)[:n] > 0).sum())
    fills = long_fills(track)
    by_lm: dict[str, int] = {}
    left_out = []
    for s in starts[~kept]:
        m = dict(sorted(miss[int(s)].items(), key=lambda kv: -kv[1]))
        for k, v in m.items():
            by_lm[k] = by_lm.get(k, 0) + v
        left_out.append({"start": int(s), "stop": int(s) + window, "missing": m})
    flagged = [{"start": int(s), "stop": int(s) + window, "landmark": name, "frames": [a, b]}
               for s in starts[kept] for name, a, b in fills if a < s + window and b > s]
    return {"frames": n, "window": window, "overlap": overlap, "windows": len(starts), "windows_kept": int(kept.sum()),
            "usable_frames": usable, "usable_share": round(usable / n, 4) if n else 0.0, "left_out": left_out,
            "flagged": flagged, "missing_by_landmark": dict(sorted(by_lm.items(), key=lambda kv: -kv[1]))}


def mirror_snippets(snippets: SnippetSet, layout: FeatureLayout) -> SnippetSet:
    """Right–left flipped copy of a snippet set (flip augmentation); twice is the identity."""
    out = snippets.subset(np.arange(len(snippets)))
    out.X = mirror_features(snippets.X, layout)
    out.provenance = out.provenance + [{"step": "mirror_snippets"}]
    return out
