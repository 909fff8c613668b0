"""Step 5 of cleaning: imputation of short gaps by modified Akima interpolation, in the parent landmark's
frame where the parent is known; the gaps left missing are :class:`Gap` entries for review."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from gmdesk.core.arrays import true_runs
from gmdesk.core.body import leaves, parents
from gmdesk.core.posetrack import PointStatus, PoseTrack
from gmdesk.core.skeleton import Skeleton
from gmdesk.pipeline.cleaning_settings import CleaningSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Gap:
    """A run of missing frames ``[start, stop)`` of one landmark left for manual review."""

    landmark: str
    start: int
    stop: int
    reason: str  # "too_long" | "at_edge" | "too_few_points"

    @property
    def length(self) -> int:
        """Number of frames."""
        return self.stop - self.start


def missing_runs(track: PoseTrack) -> list[Gap]:
    """Every run of missing frames per landmark, classified for review."""
    gaps = []
    miss = track.missing
    for j, name in enumerate(track.landmarks):
        n_valid = int((~miss[:, j]).sum())
        for a, b in true_runs(miss[:, j]):
            if n_valid < 3:
                reason = "too_few_points"
            elif a == 0 or b == track.n_frames:
                reason = "at_edge"
            else:
                reason = "too_long"
            gaps.append(Gap(name, a, b, reason))
    return gaps


def impute_gaps(track: PoseTrack, max_gap: int = 30, skeleton: Skeleton | None = None,
                max_gap_distal: int | None = None) -> tuple[int, list[Gap]]:
    """Fill gaps of at most ``max_gap`` frames with modified Akima interpolation, in place.

    With ``skeleton``, landmarks are filled from the origin outwards and a landmark whose parent is
    known over the whole gap is interpolated in the parent's frame (its offset from the parent), and a
    leaf landmark's gaps are filled up to ``max_gap_distal`` frames when its parent is known.

    Returns
    -------
    imputed : int
        Points filled.
    gaps : list of Gap
        Gaps left missing (too long, at an edge, or too few points to interpolate).
    """
    imputed, left, _ = impute_with_long_fills(track, max_gap, skeleton, max_gap_distal)
    return imputed, left


def impute_with_long_fills(track: PoseTrack, max_gap: int, skeleton: Skeleton | None,
                           max_gap_distal: int | None) -> tuple[int, list[Gap], list[tuple[str, int, int]]]:
    """:func:`impute_gaps`, also returning the fills longer than ``max_gap`` (landmark, start, stop)."""
    from scipy.interpolate import Akima1DInterpolator

    t = np.arange(track.n_frames, dtype=float)
    imputed = 0
    left: list[Gap] = []
    long_fills: list[tuple[str, int, int]] = []
    own_trajectory = 0  # parent-frame fills that fell back to the landmark's own trajectory
    order = list(range(track.n_landmarks))
    par = np.full(track.n_landmarks, -1)
    leaf = np.zeros(track.n_landmarks, bool)
    if skeleton is not None:
        par, leaf = parents(skeleton), leaves(skeleton)
        order.sort(key=lambda j: skeleton.depth[j])
    distal = max_gap if max_gap_distal is None else max(max_gap, max_gap_distal)
    for j in order:
        name = track.landmarks[j]
        valid = np.isfinite(track.xy[:, j]).all(axis=1)
        runs = true_runs(~valid)
        if not runs:
            continue
        if valid.sum() < 3:
            left.extend(Gap(name, a, b, "too_few_points") for a, b in runs)
            continue
        p = par[j]
        pvalid = np.isfinite(track.xy[:, p]).all(axis=1) if p >= 0 else np.zeros(track.n_frames, bool)
        both = valid & pvalid
        direct, relative = [], []
        for a, b in runs:
            in_parent = p >= 0 and pvalid[a:b].all() and both.sum() >= 3
            limit = distal if (leaf[j] and in_parent) else max_gap
            if a == 0 or b == track.n_frames:
                left.append(Gap(name, a, b, "at_edge"))
            elif b - a > limit:
                left.append(Gap(name, a, b, "too_long"))
            else:
                (relative if in_parent else direct).append((a, b))
                if b - a > max_gap:
                    long_fills.append((name, a, b))
        if relative:
            off = track.xy[both, j, :] - track.xy[both, p, :]
            interp = Akima1DInterpolator(t[both], off, axis=0, method="makima", extrapolate=False)
            idx = np.concatenate([np.arange(a, b) for a, b in relative])
            filled = track.xy[idx, p, :] + interp(t[idx])
            ok = np.isfinite(filled).all(axis=1)
            track.xy[idx[ok], j, :] = filled[ok]
            track.status[idx[ok], j] = PointStatus.IMPUTED
            imputed += int(ok.sum())
            # frames the parent-frame offsets do not bracket (the parent is back only from the gap on, e.g.
            # after its own gap at the recording's start): filled from the landmark's own trajectory instead
            direct += [(int(a), int(b)) for a, b in true_runs(np.isin(t, idx[~ok]))]
            own_trajectory += int((~ok).sum())
        if direct:
            interp = Akima1DInterpolator(t[valid], track.xy[valid, j, :], axis=0, method="makima", extrapolate=False)
            idx = np.concatenate([np.arange(a, b) for a, b in direct])
            track.xy[idx, j, :] = interp(t[idx])
            track.status[idx, j] = PointStatus.IMPUTED
            imputed += len(idx)
    track.record(
        "impute_gaps", {"method": "makima", "max_gap": max_gap, "max_gap_distal": max_gap_distal,
                        "in_parent_frame": skeleton is not None},
        imputed=imputed, gaps_left=len(left), frames_left=int(sum(g.length for g in left)),
        long_fills=[list(f) for f in long_fills], filled_from_own_trajectory=own_trajectory,
    )
    return imputed, left, long_fills


def fill_within_limits(track: PoseTrack, skeleton: Skeleton, step: str = "fill_gaps_within_limits") -> PoseTrack:
    """Fill the gaps of a cleaned track that its cleaning's gap limits allow (points missing since: an annotator
    marked them missing, or a track cleaned by an older gmdesk), the way the cleaning fills them — makima, the
    ``max_gap``/``max_gap_distal`` of its ``clean_track`` step (else the defaults) — so that no 10-s window is
    lost for a point the cleaning would have filled; longer gaps stay missing. Returns ``track`` itself when
    nothing is missing, else a filled copy with ``step`` and its parameters in its provenance."""
    if not np.isnan(track.xy).any():
        return track
    params = next((p.get("params", {}) for p in reversed(track.provenance) if p.get("step") == "clean_track"), {})
    defaults = CleaningSettings()
    max_gap = int(params.get("max_gap", defaults.max_gap))
    max_gap_distal = int(params.get("max_gap_distal", defaults.max_gap_distal))
    out = track.copy()
    filled, left = impute_gaps(out, max_gap, skeleton, max_gap_distal)
    if not filled:
        return track
    out.record(step, {"max_gap": max_gap, "max_gap_distal": max_gap_distal}, points=int(filled), gaps_left=len(left))
    return out
