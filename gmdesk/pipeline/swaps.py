"""Step 2 of cleaning: left/right swap repair (see :mod:`gmdesk.pipeline.cleaning` for the evidence used).

For each mirror pair, from the body's centre outwards, the frames where the two labels are exchanged are
found by a two-state Viterbi path (kept / swapped) over the recording, and swapped back (status REPAIRED).
Each repaired run is a :class:`SwapEvent` with its frames, pair and a confidence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from gmdesk.core.arrays import true_runs
from gmdesk.core.body import axis_vectors, parents
from gmdesk.core.posetrack import PointStatus, PoseTrack
from gmdesk.core.skeleton import Skeleton
from gmdesk.pipeline.cleaning_settings import CleaningSettings
from gmdesk.pipeline.measures import bone_lengths, editable_points, longest_bones

logger = logging.getLogger(__name__)

#: Bins of the side-of-axis evidence (left-minus-right across the body axis, in units of its median).
_SIDE_BINS = np.linspace(-3, 3, 61)


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
    locked = ~editable_points(track)
    # a bone's full length and its largest plausible length, from the recording itself
    e = skeleton.edge_index
    bone_of = {(int(a), int(b)): k for k, (a, b) in enumerate(e)} | {(int(b), int(a)): k for k, (a, b) in enumerate(e)}
    longest = longest_bones(bone_lengths(xy, skeleton), s) if len(e) else np.zeros(0)
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
