"""Movement statistics of a track, to check what the synthetic phenotypes differ in (and what they do not).
**For checking synthetic data**; every statistic is in body-length units (crown–mid-hip length), so camera
distance and body size drop out.

Used by ``bench/bench_phenotypes.py`` and the generator's tests: distal speed, the small-amplitude 0.5–3 Hz
movement of wrists and ankles (median over 1-s windows, per landmark, so sparse large movements do not count), a 5–12 Hz jerk
proxy, inter-limb speed correlation, the variability of the centroid of motion [Stø17] and trajectory curvature
[Kan17, Kan19].
"""

from __future__ import annotations

import logging

import numpy as np

from gmdesk.core.skeleton import Skeleton

logger = logging.getLogger(__name__)

DISTAL = ("left_wrist", "right_wrist", "left_ankle", "right_ankle")


def _filled(x: np.ndarray) -> np.ndarray:
    """Positions (n, ..., 2) with NaN gaps filled by linear interpolation along time (all-NaN stays 0)."""
    out = np.array(x, float)
    flat = out.reshape(out.shape[0], -1)
    t = np.arange(flat.shape[0])
    for c in range(flat.shape[1]):
        ok = np.isfinite(flat[:, c])
        flat[:, c] = np.interp(t, t[ok], flat[ok, c]) if ok.any() else 0.0
    return flat.reshape(out.shape)


def body_length(xy: np.ndarray, skeleton: Skeleton) -> float:
    """Median crown–mid-hip length in the track's units."""
    top, lh, rh = (skeleton.index(q) for q in ("head_top", "left_hip", "right_hip"))
    return float(np.nanmedian(np.linalg.norm(xy[:, top] - (xy[:, lh] + xy[:, rh]) / 2, axis=-1)))


def _band(x: np.ndarray, lo: float, hi: float, fps: float) -> np.ndarray:
    """``x`` (n, ...) filtered to ``lo``–``hi`` Hz along time (FFT mask)."""
    spec = np.fft.rfft(x - x.mean(axis=0), axis=0)
    f = np.fft.rfftfreq(x.shape[0], 1.0 / fps)
    spec[(f < lo) | (f > hi)] = 0
    return np.fft.irfft(spec, n=x.shape[0], axis=0)


def movement_stats(xy: np.ndarray, skeleton: Skeleton, fps: float) -> dict[str, float]:
    """Statistics of one track ``(n, landmarks, 2)`` (NaN = missing), in body lengths (BL).

    Returns
    -------
    dict
        ``speed`` mean distal speed (BL/s); ``fm_band`` median over 1-s windows of the 0.5–3 Hz rms
        displacement of each wrist and ankle, averaged over the four (BL); ``fm_capped`` the mean of those
        window values capped at 0.03 BL (so short bouts of small movements count, large movements little);
        ``band_power`` overall 0.5–3 Hz rms of the same (BL);
        ``jerk`` 5–12 Hz rms (BL); ``sync`` mean correlation of the four distal speeds (0.5-s smoothed);
        ``csd`` sd of the speed-weighted centroid of motion (BL) [Stø17]; ``curvature`` median curvature of
        distal paths while moving (1/BL) [Kan17].
    """
    L = body_length(xy, skeleton)
    pos = _filled(xy) / L
    idx = [skeleton.index(q) for q in DISTAL]
    d = pos[:, idx]  # (n, 4, 2)
    vel = np.diff(d, axis=0) * fps
    speed = np.linalg.norm(vel, axis=-1)  # (n-1, 4)
    fm = _band(d, 0.5, 3.0, fps)
    w = int(fps)
    windows = [np.sqrt((fm[a : a + w] ** 2).sum(-1).mean(0)) for a in range(0, len(fm) - w + 1, w)]  # (4,) each
    jerk = _band(d, 5.0, 12.0, fps)
    k = max(1, int(0.5 * fps))
    sm = np.apply_along_axis(lambda v: np.convolve(v, np.ones(k) / k, mode="same"), 0, speed)
    c = np.corrcoef(sm.T)
    all_v = np.linalg.norm(np.diff(pos, axis=0), axis=-1)  # (n-1, L)
    wsum = all_v.sum(axis=1, keepdims=True) + 1e-12
    centroid = (all_v[..., None] * pos[1:]).sum(axis=1) / wsum
    moving = all_v.sum(axis=1) > np.quantile(all_v.sum(axis=1), 0.25)
    k9 = max(3, int(0.3 * fps))
    smooth = np.apply_along_axis(lambda v: np.convolve(v, np.ones(k9) / k9, mode="same"), 0, d.reshape(len(d), -1))
    smooth = smooth.reshape(d.shape)
    v1 = np.gradient(smooth, axis=0) * fps
    a1 = np.gradient(v1, axis=0) * fps
    sp = np.linalg.norm(v1, axis=-1)
    curv = np.abs(v1[..., 0] * a1[..., 1] - v1[..., 1] * a1[..., 0]) / np.maximum(sp, 1e-9) ** 3
    fast = sp > np.quantile(sp, 0.5, axis=0)
    return {"speed": float(speed.mean()), "fm_band": float(np.median(windows, axis=0).mean()) if windows else float("nan"),
            "fm_capped": float(np.minimum(windows, 0.03).mean()) if windows else float("nan"),
            "band_power": float(np.sqrt((fm**2).sum(-1).mean())), "jerk": float(np.sqrt((jerk**2).sum(-1).mean())),
            "sync": float(c[np.triu_indices(len(idx), 1)].mean()),
            "csd": float(centroid[moving].std(axis=0).mean()), "curvature": float(np.median(curv[fast]))}


def auc(neg: np.ndarray, pos: np.ndarray) -> float:
    """Area under the ROC curve of ``pos`` scoring above ``neg`` (ties count half)."""
    neg, pos = np.asarray(neg, float), np.asarray(pos, float)
    gt = (pos[:, None] > neg[None, :]).mean()
    eq = (pos[:, None] == neg[None, :]).mean()
    return float(gt + 0.5 * eq)
