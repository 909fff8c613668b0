"""Movement complexity of a snippet: how varied, curved and fragmented the joints' movement is.

Sources:

* permutation entropy (Bandt & Pompe 2002, Phys. Rev. Lett. 88) of each joint's speed, order 4, delay 1,
  divided by log(4!): movement variability is lower in infants at risk (e.g. Philippi et al. 2014,
  Dev. Med. Child Neurol. 56; sample/permutation entropy in Chambers et al. 2020);
* trajectory curvature of the distal joints (Kanemaru et al. 2017/2019: curvature of hand and foot
  trajectories is lower when fidgety movements are absent): per end effector, log of the median curvature
  ``|x'y'' - y'x''| / |v|³`` (body sizes⁻¹) over the frames where it moves faster than its median speed;
* number of speed peaks per second (local maxima above the joint's median speed);
* direction variability of small displacements (Morais et al. 2023: fidgety movements are small movements in
  all directions): per joint, over the frame-to-frame displacements smaller than its median, 1 - |mean of
  exp(i × change of direction)| (0: straight on, 1: no preferred turn).

Then the mean of each per-landmark measure over all landmarks.
"""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np

from gmdesk.pipeline.body_frame import SnippetLayout, body_points, finite, speeds

logger = logging.getLogger(__name__)

ORDER = 4


def permutation_entropy(s: np.ndarray, order: int = ORDER) -> np.ndarray:
    """Normalised permutation entropy along axis 1 of ``s`` ``(n, T, ...)`` (0 monotone, 1 random)."""
    T = s.shape[1]
    if T <= order:
        return np.zeros((s.shape[0],) + s.shape[2:])
    win = np.stack([s[:, k:T - order + 1 + k] for k in range(order)], axis=-1)  # (n, T', ..., order)
    ranks = np.argsort(np.argsort(win, axis=-1, kind="stable"), axis=-1, kind="stable")
    code = (ranks * order ** np.arange(order)).sum(axis=-1)  # (n, T', ...)
    n_codes = order**order
    code = np.moveaxis(code, 1, -1).reshape(-1, code.shape[1])  # (rows, T')
    flat = (code + n_codes * np.arange(len(code))[:, None]).ravel()
    counts = np.bincount(flat, minlength=n_codes * len(code)).reshape(s.shape[:1] + s.shape[2:] + (n_codes,))
    counts = counts.astype(np.float64)
    q = counts / counts.sum(axis=-1, keepdims=True)
    return -(q * np.log(np.where(q > 0, q, 1.0))).sum(axis=-1) / math.log(math.factorial(order))


def curvature(p: np.ndarray, fps: float) -> np.ndarray:
    """Log median curvature ``(n, landmarks)`` of trajectories ``p`` over the frames faster than the median."""
    d1 = np.gradient(p, axis=1) * fps
    d2 = np.gradient(d1, axis=1) * fps
    sp = np.linalg.norm(d1, axis=-1)
    k = np.abs(d1[..., 0] * d2[..., 1] - d1[..., 1] * d2[..., 0]) / np.maximum(sp, 1e-9) ** 3
    fast = sp > np.median(sp, axis=1, keepdims=True)
    k = np.where(fast, k, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a joint with no fast frame: all-NaN row
        med = np.nanmedian(k, axis=1)
    return np.log(np.clip(np.nan_to_num(med, nan=0.0), 0, 1e6) + 1e-3)


def direction_variability(p: np.ndarray) -> np.ndarray:
    """1 - mean resultant length of the turn between successive small displacements, ``(n, landmarks)``."""
    d = np.diff(p, axis=1)
    mag = np.linalg.norm(d, axis=-1)
    th = np.arctan2(d[..., 1], d[..., 0])
    turn = np.diff(th, axis=1)
    small = (mag[:, 1:] < np.median(mag, axis=1, keepdims=True)) & (mag[:, 1:] > 1e-12) & (mag[:, :-1] > 1e-12)
    w = small.astype(np.float64)
    cnt = w.sum(axis=1)
    re = (np.cos(turn) * w).sum(axis=1) / np.maximum(cnt, 1)
    im = (np.sin(turn) * w).sum(axis=1) / np.maximum(cnt, 1)
    return np.where(cnt > 0, 1 - np.hypot(re, im), 0.0)


def peaks_per_second(v: np.ndarray, fps: float) -> np.ndarray:
    """Speed peaks (local maxima above the median) per second, ``(n, landmarks)``."""
    rising = (v[:, 1:-1] > v[:, :-2]) & (v[:, 1:-1] >= v[:, 2:]) & (v[:, 1:-1] > np.median(v, axis=1, keepdims=True))
    return rising.sum(axis=1) / (v.shape[1] / fps)


def complexity_descriptors(X: np.ndarray, layout: SnippetLayout) -> np.ndarray:
    """Per landmark: permutation entropy of speed, speed peaks per second, small-displacement direction
    variability; per end effector: log curvature; then the per-landmark means over all landmarks."""
    X = np.asarray(X)
    n = len(X)
    if not layout.coord_columns:
        return np.zeros((n, 0))
    p = body_points(X, layout.coord_columns)
    v = speeds(p, layout.fps)
    per = [permutation_entropy(v), peaks_per_second(v, layout.fps), direction_variability(p)]
    ee = list(layout.end_effectors)
    parts = [*per, curvature(p[:, :, ee], layout.fps) if ee else np.zeros((n, 0)),
             np.stack([q.mean(axis=1) for q in per], axis=1)]
    return finite(np.concatenate([q.reshape(n, -1) for q in parts], axis=1))
