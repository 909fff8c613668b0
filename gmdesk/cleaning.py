"""Cleaning of estimated poses (paper section 3.1).

Four steps, in order, each recorded in the track's provenance:

1. **Likelihood**: points whose pose-estimator likelihood is below ``p_cutoff`` are removed
   (status LOW_LIKELIHOOD).
2. **Skeleton geometry**: for each bone the recording's robust length band is
   ``median ± max(bone_k · 1.4826 · MAD, bone_min_rel_band · median)``. In each frame the
   landmark most implicated in out-of-band bones (at least half of its measurable bones bad)
   is removed as an OUTLIER, and bones are re-checked, up to ``bone_max_iter`` landmarks per
   frame. Ties go to the landmark farther from the origin along the bones (pose estimators
   err more on distal points), so a leaf point that jumps is removed, not its neighbour.
3. **Trajectory smoothness**: a point that jumps away from its trajectory and comes back is an
   OUTLIER: its distance from the centred running median (``smooth_window`` frames) of its own
   trajectory exceeds ``max(median + smooth_k · 1.4826 · MAD, smooth_min_rel · body scale)``
   of that landmark's distances (body scale = median bone length of the recording).
   Then **left/right swaps**: for each mirror pair, against a wider running median
   (``swap_window`` frames), the swapped assignment fits better than the given one
   (``d_swap < swap_ratio · d_keep``, by more than ``smooth_min_rel`` · body scale): both
   points are OUTLIERs. This catches swaps lasting up to half of ``swap_window``.
4. **Imputation**: gaps of at most ``max_gap`` frames between observed points are filled by
   modified Akima interpolation (``Akima1DInterpolator(method="makima")``), status IMPUTED.
   Longer gaps, and gaps at the start or end of the recording, stay missing and are returned
   as :class:`Gap` entries for manual review. Nothing is extrapolated.

Points a person EDITED are never removed or changed by cleaning.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy.interpolate import Akima1DInterpolator

from gmdesk.posetrack import PointStatus, PoseTrack
from gmdesk.progress import CancelFn, ProgressFn, check_cancel, report
from gmdesk.skeleton import Skeleton

MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class CleaningSettings:
    """Parameters of :func:`clean_track`; every default is documented here.

    Attributes
    ----------
    p_cutoff : float
        Likelihood below which a point is removed (DLC's own default ``pcutoff`` is 0.6).
    bone_k : float
        Half-width of the bone-length band in robust standard deviations (5).
    bone_min_rel_band : float
        Smallest half-width of the band as a fraction of the median length (0.25), so bones
        that barely vary in a recording are not over-filtered.
    bone_max_iter : int
        Most landmarks removed per frame by the geometry filter (6).
    smooth_window : int
        Frames of the centred running median that a trajectory is compared with (odd, 7).
    smooth_k : float
        Threshold in robust standard deviations of a landmark's distances from it (8).
    smooth_min_rel : float
        Smallest threshold as a fraction of the recording's median bone length (0.35).
    swap_window : int
        Frames of the running median used by the left/right swap check (odd, 31).
    swap_ratio : float
        The swapped assignment must be this much closer to the reference (0.5).
    max_gap : int
        Longest gap in frames that is imputed (30 frames = 1 s at 29.97 fps).
    geometry, smoothness, impute : bool
        Switch steps 2–4 on or off.
    """

    p_cutoff: float = 0.6
    bone_k: float = 5.0
    bone_min_rel_band: float = 0.25
    bone_max_iter: int = 6
    smooth_window: int = 7
    smooth_k: float = 8.0
    smooth_min_rel: float = 0.35
    swap_window: int = 31
    swap_ratio: float = 0.5
    max_gap: int = 30
    geometry: bool = True
    smoothness: bool = True
    impute: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.p_cutoff <= 1.0:
            raise ValueError(f"p_cutoff must be in [0, 1], got {self.p_cutoff}")
        if self.smooth_window < 3 or self.smooth_window % 2 == 0:
            raise ValueError(f"smooth_window must be odd and >= 3, got {self.smooth_window}")
        if self.swap_window < 3 or self.swap_window % 2 == 0:
            raise ValueError(f"swap_window must be odd and >= 3, got {self.swap_window}")
        if self.max_gap < 0:
            raise ValueError(f"max_gap must be >= 0, got {self.max_gap}")


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


@dataclass
class CleaningReport:
    """What cleaning did: counts per step and the gaps left for review."""

    low_likelihood: int = 0
    geometry_outliers: int = 0
    smoothness_outliers: int = 0
    imputed: int = 0
    gaps: list[Gap] = field(default_factory=list)
    #: Status of every point after the removal steps and before imputation, so points that
    #: were removed and then imputed can still be found (``(frames, landmarks)`` uint8).
    removed_status: np.ndarray | None = field(default=None, repr=False)

    @property
    def flagged(self) -> np.ndarray:
        """Boolean ``(frames, landmarks)``: removed as low-likelihood or outlier."""
        if self.removed_status is None:
            raise ValueError("report has no removal statuses")
        return np.isin(self.removed_status, (PointStatus.LOW_LIKELIHOOD, PointStatus.OUTLIER))

    def to_dict(self) -> dict:
        """Plain-data form (without the per-point array)."""
        d = asdict(self)
        d.pop("removed_status")
        d["gaps"] = [asdict(g) | {"length": g.length} for g in self.gaps]
        return d


def _editable(track: PoseTrack) -> np.ndarray:
    return track.status != PointStatus.EDITED


def remove_low_likelihood(track: PoseTrack, p_cutoff: float = 0.6) -> int:
    """Remove points with likelihood below ``p_cutoff`` in place; return how many."""
    lik = track.likelihood
    mask = np.isfinite(lik) & (lik < p_cutoff) & ~track.missing & _editable(track)
    track.xy[mask] = np.nan
    track.status[mask] = PointStatus.LOW_LIKELIHOOD
    n = int(mask.sum())
    track.record("remove_low_likelihood", {"p_cutoff": p_cutoff}, removed=n)
    return n


def bone_lengths(xy: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Bone lengths ``(frames, bones)`` in pixels (NaN where an end is missing)."""
    e = skeleton.edge_index
    return np.linalg.norm(xy[:, e[:, 0]] - xy[:, e[:, 1]], axis=-1)


def body_scale(xy: np.ndarray, skeleton: Skeleton) -> float:
    """Median over bones of each bone's median length: the recording's size in pixels."""
    lengths = bone_lengths(xy, skeleton)
    with np.errstate(all="ignore"):
        med = np.nanmedian(lengths, axis=0) if lengths.size else np.array([])
    med = med[np.isfinite(med)]
    return float(np.median(med)) if med.size else float("nan")


def remove_geometry_outliers(
    track: PoseTrack, skeleton: Skeleton, k: float = 5.0, min_rel_band: float = 0.25, max_iter: int = 6
) -> int:
    """Remove landmarks whose bones leave the recording's robust length band; return how many."""
    e = skeleton.edge_index
    n_e = len(e)
    if n_e == 0:
        track.record("remove_geometry_outliers", {"k": k, "min_rel_band": min_rel_band, "max_iter": max_iter},
                     removed=0, note="skeleton has no bones")
        return 0
    incidence = np.zeros((n_e, skeleton.n_landmarks))
    incidence[np.arange(n_e), e[:, 0]] = 1
    incidence[np.arange(n_e), e[:, 1]] = 1
    lengths = bone_lengths(track.xy, skeleton)
    with np.errstate(all="ignore"):
        med = np.nanmedian(lengths, axis=0)
        mad = np.nanmedian(np.abs(lengths - med), axis=0)
    half = np.maximum(k * MAD_TO_SD * mad, min_rel_band * med)
    lo, hi = med - half, med + half
    editable = _editable(track)
    depth = skeleton.depth / max(1, int(skeleton.depth.max()))
    removed = 0
    frames = np.arange(track.n_frames)
    for _ in range(max_iter):
        lengths = bone_lengths(track.xy, skeleton)
        finite = np.isfinite(lengths) & np.isfinite(med)
        bad = finite & ((lengths < lo) | (lengths > hi))
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
        removed += len(f)
    track.record(
        "remove_geometry_outliers", {"k": k, "min_rel_band": min_rel_band, "max_iter": max_iter},
        removed=removed, bone_median_px=np.round(med, 3).tolist(), bone_band_halfwidth_px=np.round(half, 3).tolist(),
    )
    return removed


def remove_trajectory_jumps(
    track: PoseTrack, skeleton: Skeleton, window: int = 7, k: float = 8.0, min_rel: float = 0.35
) -> int:
    """Remove points that jump away from their own trajectory and return; return how many."""
    ref = _running_median(track.xy, window)
    resid = np.linalg.norm(track.xy - ref, axis=2)
    with np.errstate(all="ignore"):
        med = np.nanmedian(resid, axis=0)
        mad = np.nanmedian(np.abs(resid - med), axis=0)
    scale = body_scale(track.xy, skeleton)
    floor = min_rel * scale if np.isfinite(scale) else 0.0
    thr = np.maximum(med + k * MAD_TO_SD * mad, floor)
    mask = np.isfinite(resid) & (resid > thr) & _editable(track)
    track.xy[mask] = np.nan
    track.status[mask] = PointStatus.OUTLIER
    removed = int(mask.sum())
    track.record(
        "remove_trajectory_jumps", {"window": window, "k": k, "min_rel": min_rel},
        removed=removed, body_scale_px=round(float(scale), 3) if np.isfinite(scale) else None,
        threshold_px=np.round(thr, 3).tolist(),
    )
    return removed


def _running_median(xy: np.ndarray, window: int) -> np.ndarray:
    f, n = xy.shape[:2]
    flat = pd.DataFrame(xy.reshape(f, n * 2))
    return flat.rolling(window, center=True, min_periods=window // 2 + 1).median().to_numpy().reshape(f, n, 2)


def remove_left_right_swaps(
    track: PoseTrack, skeleton: Skeleton, window: int = 31, ratio: float = 0.5, min_rel: float = 0.35
) -> int:
    """Remove both points of a mirror pair where they look swapped; return how many points."""
    pairs = [(skeleton.index(a), skeleton.index(b)) for a, b in skeleton.mirror_pairs]
    if not pairs:
        track.record("remove_left_right_swaps", {"window": window, "ratio": ratio, "min_rel": min_rel}, removed=0)
        return 0
    ref = _running_median(track.xy, window)
    scale = body_scale(track.xy, skeleton)
    floor = min_rel * scale if np.isfinite(scale) else 0.0
    editable = _editable(track)
    li, ri = np.array(pairs).T
    d = lambda a, b: np.linalg.norm(track.xy[:, a] - ref[:, b], axis=-1)  # noqa: E731
    keep = d(li, li) + d(ri, ri)
    swap = d(li, ri) + d(ri, li)
    with np.errstate(invalid="ignore"):
        hit = np.isfinite(keep) & np.isfinite(swap) & (swap < ratio * keep) & (keep - swap > floor)
    mask = np.zeros_like(editable)
    mask[:, li] |= hit
    mask[:, ri] |= hit
    mask &= editable & ~track.missing
    track.xy[mask] = np.nan
    track.status[mask] = PointStatus.OUTLIER
    removed = int(mask.sum())
    track.record("remove_left_right_swaps", {"window": window, "ratio": ratio, "min_rel": min_rel}, removed=removed)
    return removed


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` runs of True in a 1-D boolean array."""
    if not mask.any():
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def missing_runs(track: PoseTrack) -> list[Gap]:
    """Every run of missing frames per landmark, classified for review."""
    gaps = []
    miss = track.missing
    for j, name in enumerate(track.landmarks):
        n_valid = int((~miss[:, j]).sum())
        for a, b in _runs(miss[:, j]):
            if n_valid < 3:
                reason = "too_few_points"
            elif a == 0 or b == track.n_frames:
                reason = "at_edge"
            else:
                reason = "too_long"
            gaps.append(Gap(name, a, b, reason))
    return gaps


def impute_gaps(track: PoseTrack, max_gap: int = 30) -> tuple[int, list[Gap]]:
    """Fill gaps of at most ``max_gap`` frames with modified Akima interpolation, in place.

    Returns
    -------
    imputed : int
        Points filled.
    gaps : list of Gap
        Gaps left missing (too long, at an edge, or too few points to interpolate).
    """
    miss = track.missing
    t = np.arange(track.n_frames, dtype=float)
    imputed = 0
    left: list[Gap] = []
    for j, name in enumerate(track.landmarks):
        valid = ~miss[:, j]
        runs = _runs(~valid)
        if not runs:
            continue
        if valid.sum() < 3:
            left.extend(Gap(name, a, b, "too_few_points") for a, b in runs)
            continue
        fill = []
        for a, b in runs:
            if a == 0 or b == track.n_frames:
                left.append(Gap(name, a, b, "at_edge"))
            elif b - a > max_gap:
                left.append(Gap(name, a, b, "too_long"))
            else:
                fill.append((a, b))
        if not fill:
            continue
        interp = Akima1DInterpolator(t[valid], track.xy[valid, j, :], axis=0, method="makima", extrapolate=False)
        idx = np.concatenate([np.arange(a, b) for a, b in fill])
        track.xy[idx, j, :] = interp(t[idx])
        track.status[idx, j] = PointStatus.IMPUTED
        imputed += len(idx)
    track.record(
        "impute_gaps", {"method": "makima", "max_gap": max_gap},
        imputed=imputed, gaps_left=len(left), frames_left=int(sum(g.length for g in left)),
    )
    return imputed, left


def clean_track(
    track: PoseTrack,
    skeleton: Skeleton,
    settings: CleaningSettings | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> tuple[PoseTrack, CleaningReport]:
    """Clean a pose track (likelihood, geometry, smoothness, makima imputation).

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
        Counts per step and the gaps left for manual review.
    """
    if tuple(track.landmarks) != tuple(skeleton.landmarks):
        raise ValueError(f"track landmarks do not match skeleton {skeleton.name!r}")
    s = settings or CleaningSettings()
    out = track.copy()
    out.record("clean_track", asdict(s) | {"skeleton": skeleton.name})
    rep = CleaningReport()
    steps = 4
    report(progress, 0, steps, "likelihood")
    rep.low_likelihood = remove_low_likelihood(out, s.p_cutoff)
    check_cancel(cancel, "cleaning")
    report(progress, 1, steps, "geometry")
    if s.geometry:
        rep.geometry_outliers = remove_geometry_outliers(out, skeleton, s.bone_k, s.bone_min_rel_band, s.bone_max_iter)
    check_cancel(cancel, "cleaning")
    report(progress, 2, steps, "smoothness")
    if s.smoothness:
        rep.smoothness_outliers = remove_trajectory_jumps(out, skeleton, s.smooth_window, s.smooth_k, s.smooth_min_rel)
        rep.smoothness_outliers += remove_left_right_swaps(out, skeleton, s.swap_window, s.swap_ratio, s.smooth_min_rel)
    check_cancel(cancel, "cleaning")
    report(progress, 3, steps, "imputation")
    rep.removed_status = out.status.copy()
    if s.impute:
        rep.imputed, rep.gaps = impute_gaps(out, s.max_gap)
    else:
        rep.gaps = missing_runs(out)
    report(progress, 4, steps, "done")
    return out, rep
