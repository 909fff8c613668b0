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
   and a confidence.
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
   Longer gaps and gaps at the recording's edges stay missing and are returned as :class:`Gap`
   entries for review. Nothing is extrapolated.

Every threshold is derived from the recording itself with robust statistics; the parameters scale them
and are documented on :class:`CleaningSettings`. Points a person EDITED are never removed, moved or
swapped by cleaning.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from gmdesk.core.arrays import true_runs
from gmdesk.core.body import axis_vectors, leaves, parents
from gmdesk.core.posetrack import PointStatus, PoseTrack
from gmdesk.core.skeleton import Skeleton
from gmdesk.progress import CancelFn, ProgressFn, check_cancel, report

logger = logging.getLogger(__name__)

MAD_TO_SD = 1.4826
#: Bins of the side-of-axis evidence (left-minus-right across the body axis, in units of its median).
_SIDE_BINS = np.linspace(-3, 3, 61)


@dataclass(frozen=True)
class CleaningSettings:
    """Parameters of :func:`clean_track`; every default is documented here.

    Attributes
    ----------
    p_cutoff : float
        Likelihood below which a point is removed (DLC's own default ``pcutoff`` is 0.6).
    p_hysteresis : float
        A point below this likelihood (and below its landmark's 10th-percentile likelihood in the
        recording) is also removed when its run of such frames contains a point below ``p_cutoff`` at
        most ``hysteresis_frames`` away (0.9; 0 switches hysteresis off): a detector losing a hidden hand
        flickers around the cut-off, and the points in between are no better.
    hysteresis_frames : int
        How far hysteresis reaches from a removed point (15 frames, half a second).
    swap_side_weight : float
        Weight of the side-of-body-axis evidence in the swap repair (1.0): per frame, the log-ratio of how
        often the recording shows the pair's left-minus-right offset across the body axis and its mirror
        image, divided by ``swap_side_frames``.
    swap_side_frames : int
        Frames over which posture (and so this evidence) stays correlated (10, a third of a second).
    swap_bone_weight : float
        Weight of the too-long-bone evidence in the swap repair (2.0 per 10 % of excess length).
    swap_prior : float
        Cost per frame of the swapped state: swaps are rarer than correct labels (0.05).
    swap_switch_cost : float
        Cost of a change between kept and swapped (5.0): a swap must show as a jump of both points onto
        each other's path, or be backed by much evidence.
    swap_motion_cap : float
        Largest continuity cost of one frame, in units of the pair's typical frame-to-frame motion (40).
    swap_carry : int
        A point missing for up to this many frames is continued from its last position for the
        continuity evidence (10).
    bone_ref_quantile : float
        A bone's full length seen flat: this quantile of its projected lengths in the recording (0.9;
        foreshortening only shortens bones, so the upper part of the distribution is the flat length).
    bone_max_rel : float
        A bone longer than the larger of its full length × (1 + this) and its 99.5th-percentile length ×
        (1 + this / 2) is wrong (0.3: perspective makes a limb near the camera look up to ~30 % larger at
        55 cm; a head's bones are seen shortened most of the time and full length only when it turns).
    bone_change_k : float
        A bone whose length is farther from its running median (``smooth_window`` frames) than the
        median of that distance plus this many robust sd is wrong (10).
    bone_change_min_rel : float
        Smallest such distance, as a fraction of the bone's full length (0.35).
    bone_max_iter : int
        Most landmarks removed per frame by the geometry check (6).
    smooth_window : int
        Frames of the centred running median that a trajectory is compared with (odd, 7).
    smooth_k : float
        Trajectory threshold in robust standard deviations of a landmark's distances from it (8).
    smooth_min_rel : float
        Smallest trajectory threshold as a fraction of the recording's median bone length (0.35).
    max_gap : int
        Longest gap in frames that is imputed (30 frames = 1 s at 29.97 fps).
    max_gap_distal : int
        Longest imputed gap of a leaf landmark (a hand or foot: nothing hangs on it) when its parent is
        known (60 frames = 2 s); such long fills are listed for review.
    geometry, smoothness, swaps, impute : bool
        Switch steps 2–5 on or off.
    """

    p_cutoff: float = 0.6
    p_hysteresis: float = 0.9
    hysteresis_frames: int = 15
    swap_side_weight: float = 1.0
    swap_side_frames: int = 10
    swap_bone_weight: float = 2.0
    swap_prior: float = 0.05
    swap_switch_cost: float = 5.0
    swap_motion_cap: float = 40.0
    swap_carry: int = 10
    bone_ref_quantile: float = 0.9
    bone_max_rel: float = 0.3
    bone_change_k: float = 10.0
    bone_change_min_rel: float = 0.35
    bone_max_iter: int = 6
    smooth_window: int = 7
    smooth_k: float = 8.0
    smooth_min_rel: float = 0.35
    max_gap: int = 30
    max_gap_distal: int = 60
    geometry: bool = True
    smoothness: bool = True
    swaps: bool = True
    impute: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.p_cutoff <= 1.0:
            raise ValueError(f"p_cutoff must be in [0, 1], got {self.p_cutoff}")
        if not 0.0 <= self.p_hysteresis <= 1.0:
            raise ValueError(f"p_hysteresis must be in [0, 1], got {self.p_hysteresis}")
        if self.smooth_window < 3 or self.smooth_window % 2 == 0:
            raise ValueError(f"smooth_window must be odd and >= 3, got {self.smooth_window}")
        if not 0.5 <= self.bone_ref_quantile < 1.0:
            raise ValueError(f"bone_ref_quantile must be in [0.5, 1), got {self.bone_ref_quantile}")
        if self.max_gap < 0 or self.max_gap_distal < 0:
            raise ValueError(f"max_gap and max_gap_distal must be >= 0, got {self.max_gap}, {self.max_gap_distal}")
        for name in ("swap_side_weight", "swap_bone_weight", "swap_prior", "swap_switch_cost", "swap_motion_cap",
                     "bone_max_rel", "bone_change_k", "bone_change_min_rel", "smooth_k", "smooth_min_rel"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {v}")
        if self.swap_carry < 0 or self.bone_max_iter < 0 or self.swap_side_frames < 1 or self.hysteresis_frames < 0:
            raise ValueError("swap_carry, bone_max_iter and hysteresis_frames must be >= 0 and swap_side_frames >= 1")


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


@dataclass(frozen=True)
class SwapEvent:
    """Frames ``[start, stop)`` where the labels of a mirror pair were exchanged and put back."""

    left: str
    right: str
    start: int
    stop: int
    confidence: float  #: 0–1, from the Viterbi margin: how much better the repair explains the data

    @property
    def length(self) -> int:
        """Number of frames."""
        return self.stop - self.start


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


def _editable(track: PoseTrack) -> np.ndarray:
    return track.status != PointStatus.EDITED




def _nanquantile(a: np.ndarray, q: float, axis: int = 0) -> np.ndarray:
    with np.errstate(all="ignore"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanquantile(a, q, axis=axis)


def _nanmedian(a: np.ndarray, axis: int | None = 0) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(a, axis=axis)


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
    valid = np.isfinite(lik) & ~track.missing & _editable(track)
    cut = valid & (lik < p_cutoff)
    mask = cut.copy()
    grown = 0
    if p_hysteresis > p_cutoff:
        high = np.fmin(p_hysteresis, _nanquantile(np.where(valid, lik, np.nan), 0.1, axis=0))
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


# -- skeleton helpers -------------------------------------------------------------------------------

def bone_lengths(xy: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Bone lengths ``(frames, bones)`` in pixels (NaN where an end is missing)."""
    e = skeleton.edge_index
    return np.linalg.norm(xy[:, e[:, 0]] - xy[:, e[:, 1]], axis=-1)


def body_scale(xy: np.ndarray, skeleton: Skeleton) -> float:
    """Median over bones of each bone's median length: the recording's size in pixels."""
    lengths = bone_lengths(xy, skeleton)
    med = _nanmedian(lengths, axis=0) if lengths.size else np.array([])
    med = med[np.isfinite(med)]
    return float(np.median(med)) if med.size else float("nan")








# -- step 2: left/right swaps -------------------------------------------------------------------------

def _carried(x: np.ndarray, carry: int) -> np.ndarray:
    """Positions ``(frames, 2)`` where each missing frame takes the last observed position if it is at
    most ``carry`` frames old (else NaN)."""
    ok = np.isfinite(x).all(axis=1)
    idx = np.where(ok, np.arange(len(x)), -1)
    idx = np.maximum.accumulate(idx)
    age = np.arange(len(x)) - idx
    out = np.full_like(x, np.nan)
    use = (idx >= 0) & (age <= carry)
    out[use] = x[idx[use]]
    return out


def _viterbi2(u0: np.ndarray, u1: np.ndarray, stay: np.ndarray, switch: np.ndarray) -> np.ndarray:
    """Lowest-cost path of a two-state chain: unary costs ``u0, u1`` per frame, ``stay[t]``/``switch[t]``
    the cost of keeping / changing state between frames t−1 and t."""
    n = len(u0)
    back = np.zeros((n, 2), dtype=np.int8)
    d0, d1 = float(u0[0]), float(u1[0])
    u0l, u1l, stl, swl = u0.tolist(), u1.tolist(), stay.tolist(), switch.tolist()
    b0 = [0] * n
    b1 = [0] * n
    for t in range(1, n):
        s, w = stl[t], swl[t]
        a0, c0 = d0 + s, d1 + w
        a1, c1 = d1 + s, d0 + w
        if a0 <= c0:
            n0 = a0
        else:
            n0, b0[t] = c0, 1
        if a1 <= c1:
            n1, b1[t] = a1, 1
        else:
            n1 = c1
        d0, d1 = n0 + u0l[t], n1 + u1l[t]
    back[:, 0], back[:, 1] = b0, b1
    z = np.zeros(n, dtype=np.int8)
    z[-1] = 0 if d0 <= d1 else 1
    for t in range(n - 1, 0, -1):
        z[t - 1] = back[t, z[t]]
    return z


def repair_left_right_swaps(track: PoseTrack, skeleton: Skeleton, settings: CleaningSettings | None = None
                            ) -> tuple[int, list[SwapEvent]]:
    """Find and undo confident left/right label swaps in place (status REPAIRED).

    Mirror pairs are processed from the origin outwards, so a pair's bones are checked against parents
    already put right. Returns the number of points repaired and one :class:`SwapEvent` per repaired
    run of frames and pair (see the module docstring for the evidence used).
    """
    s = settings or CleaningSettings()
    params = {k: getattr(s, k) for k in ("swap_side_weight", "swap_side_frames", "swap_bone_weight", "swap_prior",
                                          "swap_switch_cost", "swap_motion_cap", "swap_carry", "bone_ref_quantile",
                                          "bone_max_rel")}
    pairs = [(skeleton.index(a), skeleton.index(b)) for a, b in skeleton.mirror_pairs]
    n = track.n_frames
    if not pairs or n < 2:
        track.record("repair_left_right_swaps", params, repaired=0, events=0)
        return 0, []
    xy = track.xy
    par = parents(skeleton)
    depth = skeleton.depth
    pairs.sort(key=lambda p: (min(depth[p[0]], depth[p[1]]), p))
    axis = axis_vectors(xy, skeleton)
    lateral = None if axis is None else np.stack([-axis[:, 1], axis[:, 0]], axis=1)
    locked = ~_editable(track)
    # a bone's full length and its largest plausible length, from the recording itself
    e = skeleton.edge_index
    bone_of = {(int(a), int(b)): k for k, (a, b) in enumerate(e)} | {(int(b), int(a)): k for k, (a, b) in enumerate(e)}
    longest = _longest_bones(bone_lengths(xy, skeleton), s) if len(e) else np.zeros(0)
    repaired = 0
    events: list[SwapEvent] = []
    for a, b in pairs:
        A, B = xy[:, a], xy[:, b]
        u0 = np.zeros(n)
        u1 = np.full(n, s.swap_prior)
        # side of the body axis: which way the pair's left-minus-right vector points across the body.
        # Evidence is the log-ratio of how often this recording shows that value vs its mirror image
        # (points that really cross the axis, like eyes of a head turned far, give little evidence),
        # divided by the frames over which postures stay correlated.
        if lateral is not None and s.swap_side_weight > 0:
            d = ((A - B) * lateral).sum(axis=1)
            ok = np.isfinite(d)
            if ok.sum() >= 30:
                sign = np.sign(np.median(d[ok])) or 1.0
                spread = float(np.median(np.abs(d[ok]))) + 1e-9
                ev = np.clip(sign * d[ok] / spread, -2.999, 2.999)
                hist = np.histogram(ev, bins=_SIDE_BINS)[0].astype(float) + 0.5
                logf = np.log(hist / hist.sum())
                k = np.digitize(ev, _SIDE_BINS[1:-1])
                w = s.swap_side_weight / max(s.swap_side_frames, 1)
                u0[ok] += w * -logf[k]
                u1[ok] += w * -logf[len(hist) - 1 - k]
                base = np.minimum(u0[ok], u1[ok])
                u0[ok] -= base
                u1[ok] -= base
        # bones to the same-side parents (already repaired), when the two sides have different parents
        pa, pb = par[a], par[b]
        if pa >= 0 and pb >= 0 and pa != pb and s.swap_bone_weight > 0:
            ka, kb = bone_of.get((int(pa), int(a))), bone_of.get((int(pb), int(b)))
            if ka is not None and kb is not None and np.isfinite(longest[[ka, kb]]).all() and (longest[[ka, kb]] > 0).all():
                lim_a, lim_b = longest[ka], longest[kb]
                PA, PB = xy[:, pa], xy[:, pb]

                def excess(p: np.ndarray, q: np.ndarray, lim: float) -> np.ndarray:
                    ex = np.linalg.norm(p - q, axis=1) / lim - 1
                    return np.where(np.isfinite(ex), np.clip(ex, 0, 3), 0.0)

                u0 += s.swap_bone_weight * 10 * (excess(A, PA, lim_a) + excess(B, PB, lim_b))
                u1 += s.swap_bone_weight * 10 * (excess(B, PA, lim_a) + excess(A, PB, lim_b))
        # continuity between frames
        Ac, Bc = _carried(A, s.swap_carry), _carried(B, s.swap_carry)
        Ap, Bp = np.roll(Ac, 1, axis=0), np.roll(Bc, 1, axis=0)
        step = np.concatenate([np.linalg.norm(np.diff(A, axis=0), axis=1), np.linalg.norm(np.diff(B, axis=0), axis=1)])
        step = step[np.isfinite(step)]
        sigma = max(float(np.median(step)) if step.size else 1.0, 1.0)
        same = (np.linalg.norm(A - Ap, axis=1) + np.linalg.norm(B - Bp, axis=1)) / sigma
        cross = (np.linalg.norm(A - Bp, axis=1) + np.linalg.norm(B - Ap, axis=1)) / sigma
        known = np.isfinite(same) & np.isfinite(cross)
        stay = np.where(known, np.minimum(same, s.swap_motion_cap), 0.0)
        switch = np.where(known, np.minimum(cross, s.swap_motion_cap), 0.0) + s.swap_switch_cost
        stay[0] = switch[0] = 0.0
        lock = locked[:, a] | locked[:, b]
        u1[lock] = np.inf
        z = _viterbi2(u0, u1, stay, switch).astype(bool)
        if not z.any():
            continue
        for start, stop in true_runs(z):
            margin = float((u0[start:stop] - u1[start:stop]).sum())
            margin += stay[start] - switch[start] if start > 0 else 0.0
            margin += stay[stop] - switch[stop] if stop < n else 0.0
            events.append(SwapEvent(skeleton.landmarks[a], skeleton.landmarks[b], int(start), int(stop),
                                    round(float(margin / (abs(margin) + 5.0)), 3)))
        rows = np.flatnonzero(z)
        xy[np.ix_(rows, [a, b])] = xy[np.ix_(rows, [b, a])]
        track.likelihood[np.ix_(rows, [a, b])] = track.likelihood[np.ix_(rows, [b, a])]
        st = track.status[np.ix_(rows, [b, a])]
        fin = np.isfinite(xy[np.ix_(rows, [a, b])]).all(axis=-1)
        track.status[np.ix_(rows, [a, b])] = np.where(fin, PointStatus.REPAIRED, st)
        repaired += int(fin.sum())
    events.sort(key=lambda ev: (ev.start, ev.left))
    track.record("repair_left_right_swaps", params, repaired=repaired, events=len(events),
                 runs=[[ev.left, ev.right, ev.start, ev.stop, ev.confidence] for ev in events])
    return repaired, events


# -- step 3: geometry -----------------------------------------------------------------------------

def _longest_bones(lengths: np.ndarray, s: CleaningSettings) -> np.ndarray:
    """Largest plausible projected length of each bone in this recording (see ``bone_max_rel``)."""
    full = _nanquantile(lengths, s.bone_ref_quantile, axis=0)
    high = _nanquantile(lengths, 0.995, axis=0)
    return np.fmax(full * (1 + s.bone_max_rel), high * (1 + s.bone_max_rel / 2))


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
    ref = _nanquantile(lengths, s.bone_ref_quantile, axis=0)
    longest = _longest_bones(lengths, s)
    resid = np.abs(lengths - _running_median(lengths, s.smooth_window))
    med = _nanmedian(resid, axis=0)
    mad = _nanmedian(np.abs(resid - med), axis=0)
    change = np.maximum(med + s.bone_change_k * MAD_TO_SD * mad, s.bone_change_min_rel * ref)
    editable = _editable(track)
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


def remove_trajectory_jumps(
    track: PoseTrack, skeleton: Skeleton, window: int = 7, k: float = 8.0, min_rel: float = 0.35
) -> int:
    """Remove points that jump away from their own trajectory and return; return how many."""
    ref = _trajectory_reference(track.xy, window)
    resid = np.linalg.norm(track.xy - ref, axis=2)
    med = _nanmedian(resid, axis=0)
    mad = _nanmedian(np.abs(resid - med), axis=0)
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


# -- step 5: imputation ---------------------------------------------------------------------------

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
    imputed, left, _ = _impute(track, max_gap, skeleton, max_gap_distal)
    return imputed, left


def _impute(track: PoseTrack, max_gap: int, skeleton: Skeleton | None,
            max_gap_distal: int | None) -> tuple[int, list[Gap], list[tuple[str, int, int]]]:
    """:func:`impute_gaps`, also returning the fills longer than ``max_gap`` (landmark, start, stop)."""
    from scipy.interpolate import Akima1DInterpolator

    t = np.arange(track.n_frames, dtype=float)
    imputed = 0
    left: list[Gap] = []
    long_fills: list[tuple[str, int, int]] = []
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
        if direct:
            interp = Akima1DInterpolator(t[valid], track.xy[valid, j, :], axis=0, method="makima", extrapolate=False)
            idx = np.concatenate([np.arange(a, b) for a, b in direct])
            track.xy[idx, j, :] = interp(t[idx])
            track.status[idx, j] = PointStatus.IMPUTED
            imputed += len(idx)
        if relative:
            off = track.xy[both, j, :] - track.xy[both, p, :]
            interp = Akima1DInterpolator(t[both], off, axis=0, method="makima", extrapolate=False)
            idx = np.concatenate([np.arange(a, b) for a, b in relative])
            track.xy[idx, j, :] = track.xy[idx, p, :] + interp(t[idx])
            track.status[idx, j] = PointStatus.IMPUTED
            imputed += len(idx)
    track.record(
        "impute_gaps", {"method": "makima", "max_gap": max_gap, "max_gap_distal": max_gap_distal,
                        "in_parent_frame": skeleton is not None},
        imputed=imputed, gaps_left=len(left), frames_left=int(sum(g.length for g in left)),
        long_fills=[list(f) for f in long_fills],
    )
    return imputed, left, long_fills


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
        rep.imputed, rep.gaps, rep.long_fills = _impute(out, s.max_gap, skeleton, s.max_gap_distal)
    else:
        rep.gaps = missing_runs(out)
    report(progress, 5, steps, "done")
    return out, rep
