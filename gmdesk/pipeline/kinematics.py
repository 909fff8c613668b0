"""Movement descriptors of a snippet, as General Movements research measures them.

From a snippet's feature columns (any skeleton: the coordinate columns, the joint-angle columns, the
mirror pairs and the end effectors are given by the caller), per snippet:

* per landmark, in body sizes per second (the snippet's own body size: the median distance of the
  landmarks from the origin, so the descriptors do not depend on the camera's distance or zoom, and
  speeds do not depend on its roll): speed mean, sd and 90th percentile; mean acceleration; number of
  speed peaks per second (movement complexity: fidgety movements are small and many, cramped ones
  few and large); log ratio of the spectral power of the landmark's displacement in 1-4 Hz to
  that below 1 Hz; range of movement (distance from its mean position, 5th-95th percentile);
* left/right speed correlation of each mirror pair, and the mean pairwise speed correlation of the
  end effectors (hands and feet: cramped-synchronised movement moves the limbs together);
* per joint angle: sd, range (5th-95th percentile) and mean angular speed;
* the means of each per-landmark descriptor over all landmarks and over the end effectors.

``descriptor_names`` gives the column names in the same order.
"""

from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger(__name__)

PER_LANDMARK = ("speed_mean", "speed_sd", "speed_p90", "accel_mean", "peaks_per_s", "power_1_4_vs_below_1",
                "range")
PER_ANGLE = ("sd", "range", "speed_mean")


def _corr_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Pearson correlation of (n, T) arrays (0 where either is constant)."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return np.where(den > 1e-12, (a * b).sum(axis=1) / np.maximum(den, 1e-12), 0.0)


def snippet_descriptors(X: np.ndarray, coord_columns: np.ndarray, angle_columns: np.ndarray,
                        mirror_landmarks: list[tuple[int, int]], end_effectors: list[int], fps: float) -> np.ndarray:
    """Descriptors ``(n, d)`` of snippets ``X`` ``(n, frames, features)``.

    Parameters
    ----------
    coord_columns : array of int
        Column of each landmark's x (y is the next column); coordinates relative to the skeleton's origin.
    angle_columns : array of int
        Columns of joint angles (degrees).
    mirror_landmarks : list of (int, int)
        Left/right pairs, as positions in ``coord_columns``.
    end_effectors : list of int
        End-effector landmarks (hands, feet: leaves of the skeleton), as positions in ``coord_columns``.
    fps : float
        Frame rate of the snippets.
    """
    X = np.asarray(X, dtype=np.float64)
    n, T, _ = X.shape
    parts: list[np.ndarray] = []
    cc = np.asarray(coord_columns, dtype=int)
    if cc.size:
        p = np.stack([X[:, :, cc], X[:, :, cc + 1]], axis=-1)  # (n, T, L, 2)
        scale = np.median(np.linalg.norm(p, axis=-1), axis=(1, 2))  # the snippet's body size
        p = p / np.maximum(scale, 1e-9)[:, None, None, None]
        v = np.linalg.norm(np.diff(p, axis=1), axis=-1) * fps  # (n, T-1, L) body sizes / s
        acc = np.linalg.norm(np.diff(p, n=2, axis=1), axis=-1) * fps * fps
        rising = (v[:, 1:-1] > v[:, :-2]) & (v[:, 1:-1] >= v[:, 2:]) & (v[:, 1:-1] > np.median(v, axis=1, keepdims=True))
        peaks = rising.sum(axis=1) / (T / fps)
        disp = p - p.mean(axis=1, keepdims=True)
        spec = (np.abs(np.fft.rfft(disp, axis=1)) ** 2).sum(axis=-1)  # (n, F, L)
        f = np.fft.rfftfreq(T, 1.0 / fps)
        hi = spec[:, (f >= 1) & (f <= 4)].sum(axis=1)
        lo = spec[:, (f > 0) & (f < 1)].sum(axis=1)
        ratio = np.log((hi + 1e-12) / (lo + 1e-12))
        dist = np.linalg.norm(disp, axis=-1)
        rng = np.percentile(dist, 95, axis=1) - np.percentile(dist, 5, axis=1)
        per = [v.mean(axis=1), v.std(axis=1), np.percentile(v, 90, axis=1), acc.mean(axis=1), peaks, ratio, rng]
        parts += per
        ee = list(end_effectors)
        parts.append(np.stack([d.mean(axis=1) for d in per], axis=1))
        parts.append(np.stack([d[:, ee].mean(axis=1) if ee else np.zeros(n) for d in per], axis=1))
        if mirror_landmarks:
            parts.append(np.stack([_corr_rows(v[:, :, a], v[:, :, b]) for a, b in mirror_landmarks], axis=1))
        if len(ee) >= 2:
            pairs = [(a, b) for i, a in enumerate(ee) for b in ee[i + 1:]]
            parts.append(np.mean([_corr_rows(v[:, :, a], v[:, :, b]) for a, b in pairs], axis=0)[:, None])
    ac = np.asarray(angle_columns, dtype=int)
    if ac.size:
        ang = X[:, :, ac]
        parts += [ang.std(axis=1), np.percentile(ang, 95, axis=1) - np.percentile(ang, 5, axis=1),
                  np.abs(np.diff(ang, axis=1)).mean(axis=1) * fps]
    if not parts:
        raise ValueError("kinematic descriptors need coordinate or angle columns")
    out = np.concatenate([q.reshape(n, -1) for q in parts], axis=1)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def descriptor_names(landmarks: list[str], angles: list[str], mirror_pairs: list[tuple[str, str]],
                     end_effectors: list[str]) -> list[str]:
    """Column names of :func:`snippet_descriptors` (same order)."""
    names: list[str] = []
    if landmarks:
        for d in PER_LANDMARK:
            names += [f"{lm}_{d}" for lm in landmarks]
        names += [f"all_{d}" for d in PER_LANDMARK] + [f"end_effectors_{d}" for d in PER_LANDMARK]
        names += [f"{a}_{b}_speed_corr" for a, b in mirror_pairs]
        if len(end_effectors) >= 2:
            names.append("end_effector_speed_corr")
    for d in PER_ANGLE:
        names += [f"{a}_{d}" for a in angles]
    return names
