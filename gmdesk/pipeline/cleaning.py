"""Cleaning of estimated poses (paper section 3.1), built for how infants are filmed.

Pose estimators make three kinds of confident mistakes on infants: left/right swaps (the most
common), jumps of a point to a wrong place (often the mirror limb) and points put at the body's edge
while a hand or foot is hidden. And real movement looks odd from above: a limb lifted towards the
camera looks **shorter** (foreshortening), never much longer (only perspective: a limb near the
camera looks a little larger). The steps, in order, each recorded in the track's provenance:

1. **Likelihood with hysteresis**: points below ``p_cutoff`` are removed (status LOW_LIKELIHOOD);
   so are weak points (below ``p_hysteresis``) in the same run of frames as such a point and near it
   (a detector that loses a hidden hand flickers around the cut-off; the points in between are no
   better).
2. **Left/right swap repair**: for each mirror pair, from the body's centre outwards, the frames where
   the two labels are exchanged are found by a two-state Viterbi path (kept / swapped) over the
   recording. Evidence per frame: which side of the body axis each point is on (weighted by how
   consistently that pair keeps its sides in this recording) and, for pairs whose parents differ,
   whether the bones to the (already repaired) same-side parents are too long. Evidence between
   frames: trajectory continuity — a swap starts where both points jump onto each other's path.
   Swapped frames are swapped back (status REPAIRED): both positions were known, only the labels
   were wrong, so nothing is deleted or invented. Each repaired run is an event with its frames, pair
   and a confidence (:mod:`gmdesk.pipeline.swaps`).
3. **Skeleton geometry, one-sided**: a bone is wrong only when it is **longer** than the recording's
   robust maximum (its ``bone_ref_quantile`` length, i.e. its full length seen flat, times
   ``1 + bone_max_rel`` for perspective and noise) or when its length changes impossibly fast (its
   distance from its own running median exceeds a robust threshold). Shorter-than-usual bones that
   change smoothly are foreshortening and are kept. In each frame the landmark most implicated in
   wrong bones is removed (OUTLIER), distal first on ties, up to ``bone_max_iter`` per frame.
4. **Trajectory smoothness**: a point that jumps away from its own trajectory and comes back (its
   distance from the centred running median exceeds a robust threshold of that landmark, at least
   ``smooth_min_rel`` of the body scale) is an OUTLIER.
5. **Imputation**: gaps of at most ``max_gap`` frames (``max_gap_distal`` for leaf landmarks such as
   hands and feet) between valid points are filled by modified Akima interpolation
   (``Akima1DInterpolator(method="makima")``), in the parent landmark's frame where the parent is
   known (the offset from the parent is interpolated: a hand moves with its wrist), status IMPUTED.
   Longer gaps and gaps at the recording's edges stay missing and are returned as
   :class:`~gmdesk.pipeline.imputation.Gap` entries for review. Nothing is extrapolated
   (:mod:`gmdesk.pipeline.imputation`).

Every threshold is derived from the recording itself with robust statistics; the parameters scale them
and are documented on :class:`~gmdesk.pipeline.cleaning_settings.CleaningSettings`. Points a person
EDITED are never removed, moved or swapped by cleaning.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from gmdesk.core.arrays import true_runs
from gmdesk.core.posetrack import PointStatus, PoseTrack
from gmdesk.core.skeleton import Skeleton
from gmdesk.pipeline.cleaning_settings import CleaningSettings
from gmdesk.pipeline.imputation import Gap, impute_with_long_fills, missing_runs
from gmdesk.pipeline.measures import body_scale, bone_lengths, editable_points, longest_bones, nanmedian, nanquantile
from gmdesk.pipeline.swaps import SwapEvent, repair_left_right_swaps
from gmdesk.progress import CancelFn, ProgressFn, check_cancel, report

logger = logging.getLogger(__name__)

MAD_TO_SD = 1.4826


@dataclass
class CleaningReport:
    """What cleaning did: counts per step, the swaps repaired and the gaps left for review."""

    low_likelihood: int = 0
    swap_repaired: int = 0
    geometry_outliers: int = 0
    smoothness_outliers: int = 0
    imputed: int = 0
    gaps: list[Gap] = field(default_factory=list)
    swaps: list[SwapEvent] = field(default_factory=list)
    #: Status of every point after the removal steps and before imputation, so points that were
    #: removed and then imputed can still be found (``(frames, landmarks)`` uint8).
    removed_status: np.ndarray | None = field(default=None, repr=False)
    #: Imputed runs longer than ``max_gap`` (leaf landmarks only): landmark, start, stop.
    long_fills: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def flagged(self) -> np.ndarray:
        """Boolean ``(frames, landmarks)``: removed as low-likelihood or outlier."""
        if self.removed_status is None:
            raise ValueError("report has no removal statuses")
        return np.isin(self.removed_status, (PointStatus.LOW_LIKELIHOOD, PointStatus.OUTLIER))

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (without the per-point array)."""
        d = asdict(self)
        d.pop("removed_status")
        d["gaps"] = [asdict(g) | {"length": g.length} for g in self.gaps]
        d["swaps"] = [asdict(s) | {"length": s.length} for s in self.swaps]
        d["long_fills"] = [{"landmark": a, "start": b, "stop": c} for a, b, c in self.long_fills]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CleaningReport:
        """Inverse of :meth:`to_dict` (the per-point array is not restored)."""
        return cls(
            low_likelihood=int(d.get("low_likelihood", 0)), swap_repaired=int(d.get("swap_repaired", 0)),
            geometry_outliers=int(d.get("geometry_outliers", 0)), smoothness_outliers=int(d.get("smoothness_outliers", 0)),
            imputed=int(d.get("imputed", 0)),
            gaps=[Gap(str(g["landmark"]), int(g["start"]), int(g["stop"]), str(g["reason"])) for g in d.get("gaps", [])],
            swaps=[SwapEvent(str(s["left"]), str(s["right"]), int(s["start"]), int(s["stop"]), float(s["confidence"]))
                   for s in d.get("swaps", [])],
            long_fills=[(str(f["landmark"]), int(f["start"]), int(f["stop"])) for f in d.get("long_fills", [])],
        )


# -- step 1: likelihood ---------------------------------------------------------------------------

def remove_low_likelihood(track: PoseTrack, p_cutoff: float = 0.6, p_hysteresis: float = 0.0,
                          hysteresis_frames: int = 15) -> int:
    """Remove points with likelihood below ``p_cutoff`` in place; return how many.

    With ``p_hysteresis`` (> ``p_cutoff``), also remove weak points — below ``p_hysteresis``, and below
    the landmark's own 10th-percentile likelihood, so a detector that is never very confident keeps its
    ordinary points — that lie in the same run of weak frames as a removed point, at most
    ``hysteresis_frames`` from it.
    """
    lik = track.likelihood
    valid = np.isfinite(lik) & ~track.missing & editable_points(track)
    cut = valid & (lik < p_cutoff)
    mask = cut.copy()
    grown = 0
    if p_hysteresis > p_cutoff:
        high = np.fmin(p_hysteresis, nanquantile(np.where(valid, lik, np.nan), 0.1, axis=0))
        weak = np.isfinite(lik) & (lik < high)
        frames = np.arange(track.n_frames)
        for j in np.flatnonzero(cut.any(axis=0)):
            for a, b in true_runs(weak[:, j]):
                seeds = frames[a:b][cut[a:b, j]]
                if not seeds.size:
                    continue
                near = np.abs(frames[a:b, None] - seeds[None, :]).min(axis=1) <= hysteresis_frames
                extra = near & valid[a:b, j] & ~cut[a:b, j]
                grown += int(extra.sum())
                mask[a:b, j] |= extra
    track.xy[mask] = np.nan
    track.status[mask] = PointStatus.LOW_LIKELIHOOD
    n = int(mask.sum())
    track.record("remove_low_likelihood", {"p_cutoff": p_cutoff, "p_hysteresis": p_hysteresis,
                                           "hysteresis_frames": hysteresis_frames}, removed=n, removed_by_hysteresis=grown)
    return n


# -- step 3: geometry -----------------------------------------------------------------------------

def _running_median(x: np.ndarray, window: int) -> np.ndarray:
    """Centred running median along axis 0 of ``(frames, ...)``, ignoring NaN (needs more than half
    the window present)."""
    import pandas as pd

    f = x.shape[0]
    flat = pd.DataFrame(x.reshape(f, -1))
    return flat.rolling(window, center=True, min_periods=window // 2 + 1).median().to_numpy().reshape(x.shape)


def remove_geometry_outliers(track: PoseTrack, skeleton: Skeleton, settings: CleaningSettings | None = None) -> int:
    """Remove landmarks whose bones are too long or change length impossibly fast; return how many.

    One-sided: a bone shorter than its full length is what a limb lifted towards the camera looks like
    (foreshortening) and is never a reason to remove a point.
    """
    s = settings or CleaningSettings()
    params = {"ref_quantile": s.bone_ref_quantile, "max_rel": s.bone_max_rel, "change_k": s.bone_change_k,
              "change_min_rel": s.bone_change_min_rel, "window": s.smooth_window, "max_iter": s.bone_max_iter}
    e = skeleton.edge_index
    n_e = len(e)
    if n_e == 0:
        track.record("remove_geometry_outliers", params, removed=0, note="skeleton has no bones")
        return 0
    incidence = np.zeros((n_e, skeleton.n_landmarks))
    incidence[np.arange(n_e), e[:, 0]] = 1
    incidence[np.arange(n_e), e[:, 1]] = 1
    lengths = bone_lengths(track.xy, skeleton)
    ref = nanquantile(lengths, s.bone_ref_quantile, axis=0)
    longest = longest_bones(lengths, s)
    resid = np.abs(lengths - _running_median(lengths, s.smooth_window))
    med = nanmedian(resid, axis=0)
    mad = nanmedian(np.abs(resid - med), axis=0)
    change = np.maximum(med + s.bone_change_k * MAD_TO_SD * mad, s.bone_change_min_rel * ref)
    editable = editable_points(track)
    depth = skeleton.depth / max(1, int(skeleton.depth.max()))
    removed = 0
    frames = np.arange(track.n_frames)
    jumpy = np.isfinite(resid) & (resid > change)
    for _ in range(s.bone_max_iter):
        lengths = bone_lengths(track.xy, skeleton)
        finite = np.isfinite(lengths) & np.isfinite(ref)
        bad = finite & ((lengths > longest) | jumpy)
        if not bad.any():
            break
        bad_count = bad.astype(float) @ incidence
        n_bones = finite.astype(float) @ incidence
        frac = bad_count / np.maximum(n_bones, 1)
        score = bad_count + 0.5 * frac + 0.01 * depth
        eligible = (bad_count >= 1) & (frac >= 0.5) & editable
        score[~eligible] = -np.inf
        j = np.argmax(score, axis=1)
        hit = np.isfinite(score[frames, j])
        if not hit.any():
            break
        f, j = frames[hit], j[hit]
        track.xy[f, j] = np.nan
        track.status[f, j] = PointStatus.OUTLIER
        jumpy[f] &= ~(incidence[:, j].T > 0)  # bones of a removed point are no longer evidence
        removed += len(f)
    track.record(
        "remove_geometry_outliers", params, removed=removed, bone_full_length_px=np.round(ref, 3).tolist(),
        bone_longest_px=np.round(longest, 3).tolist(), bone_change_px=np.round(change, 3).tolist(),
    )
    return removed


# -- step 4: trajectories -------------------------------------------------------------------------

def _trajectory_reference(xy: np.ndarray, window: int) -> np.ndarray:
    """Where each point is expected from its neighbours: the centred running median, except in the
    first and last ``window // 2`` frames, where a truncated median lags a moving point; there, a
    straight line through the ``window - 1`` nearest other frames."""
    ref = _running_median(xy, window)
    n, h = len(xy), window // 2
    if n < window:
        return ref
    for t in [*range(h), *range(n - h, n)]:
        lo = 0 if t < h else n - window
        others = [u for u in range(lo, lo + window) if u != t]
        pts = xy[others]  # (window-1, L, 2)
        ok = np.isfinite(pts).all(axis=-1)  # (window-1, L)
        u = np.asarray(others, float)[:, None]
        w = ok.astype(float)
        cnt = w.sum(0)
        um = (w * u).sum(0) / np.maximum(cnt, 1)
        p0 = np.where(ok[..., None], pts, 0.0)
        pm = p0.sum(0) / np.maximum(cnt, 1)[:, None]
        du = np.where(ok, u - um, 0.0)
        slope = (du[..., None] * (p0 - pm)).sum(0) / np.maximum((du**2).sum(0), 1e-9)[:, None]
        line = pm + slope * (t - um)[:, None]
        ref[t] = np.where((cnt >= 3)[:, None], line, ref[t])
    return ref


#: How many times farther a point in a recording's first or last ``window // 2`` frames must jump to count.
EDGE_FACTOR = 2.0


def remove_trajectory_jumps(
    track: PoseTrack, skeleton: Skeleton, window: int = 7, k: float = 8.0, min_rel: float = 0.35
) -> int:
    """Remove points that jump away from their own trajectory and return; return how many."""
    ref = _trajectory_reference(track.xy, window)
    resid = np.linalg.norm(track.xy - ref, axis=2)
    med = nanmedian(resid, axis=0)
    mad = nanmedian(np.abs(resid - med), axis=0)
    scale = body_scale(track.xy, skeleton)
    floor = min_rel * scale if np.isfinite(scale) else 0.0
    landmark_thr = np.maximum(med + k * MAD_TO_SD * mad, floor)
    thr = np.broadcast_to(landmark_thr, resid.shape).copy()
    # At the recording's edges the reference is extrapolated from one side (a moving point curves away from the
    # line) and a removed point cannot be filled again: there, only a jump EDGE_FACTOR times as far counts.
    h = window // 2
    thr[:h] *= EDGE_FACTOR
    thr[len(thr) - h:] *= EDGE_FACTOR
    mask = np.isfinite(resid) & (resid > thr) & editable_points(track)
    track.xy[mask] = np.nan
    track.status[mask] = PointStatus.OUTLIER
    removed = int(mask.sum())
    track.record(
        "remove_trajectory_jumps", {"window": window, "k": k, "min_rel": min_rel},
        removed=removed, body_scale_px=round(float(scale), 3) if np.isfinite(scale) else None,
        threshold_px=np.round(landmark_thr, 3).tolist(), edge_factor=EDGE_FACTOR,
    )
    return removed


# -- the whole cleaning -------------------------------------------------------------------------------

def clean_track(
    track: PoseTrack,
    skeleton: Skeleton,
    settings: CleaningSettings | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> tuple[PoseTrack, CleaningReport]:
    """Clean a pose track (likelihood, swap repair, geometry, smoothness, makima imputation).

    Parameters
    ----------
    track : PoseTrack
        Raw track; it is not modified.
    skeleton : Skeleton
        Must have the track's landmarks in the same order.
    settings : CleaningSettings, optional
        Defaults documented on :class:`CleaningSettings`.
    progress, cancel : callable, optional
        See :mod:`gmdesk.progress`.

    Returns
    -------
    PoseTrack
        Cleaned copy; its provenance lists every step with its parameters.
    CleaningReport
        Counts per step, the swaps repaired and the gaps left for manual review.
    """
    if tuple(track.landmarks) != tuple(skeleton.landmarks):
        raise ValueError(f"track landmarks do not match skeleton {skeleton.name!r}")
    s = settings or CleaningSettings()
    out = track.copy()
    out.record("clean_track", asdict(s) | {"skeleton": skeleton.name})
    rep = CleaningReport()
    steps = 5
    report(progress, 0, steps, "likelihood")
    rep.low_likelihood = remove_low_likelihood(out, s.p_cutoff, s.p_hysteresis, s.hysteresis_frames)
    check_cancel(cancel, "cleaning")
    report(progress, 1, steps, "left/right swaps")
    if s.swaps:
        rep.swap_repaired, rep.swaps = repair_left_right_swaps(out, skeleton, s)
    check_cancel(cancel, "cleaning")
    report(progress, 2, steps, "geometry")
    if s.geometry:
        rep.geometry_outliers = remove_geometry_outliers(out, skeleton, s)
    check_cancel(cancel, "cleaning")
    report(progress, 3, steps, "smoothness")
    if s.smoothness:
        rep.smoothness_outliers = remove_trajectory_jumps(out, skeleton, s.smooth_window, s.smooth_k, s.smooth_min_rel)
    check_cancel(cancel, "cleaning")
    report(progress, 4, steps, "imputation")
    rep.removed_status = out.status.copy()
    if s.impute:
        rep.imputed, rep.gaps, rep.long_fills = impute_with_long_fills(out, s.max_gap, skeleton, s.max_gap_distal)
    else:
        rep.gaps = missing_runs(out)
    report(progress, 5, steps, "done")
    return out, rep
