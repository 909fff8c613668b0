"""Left-right asymmetry and cross-limb synchrony of a snippet.

Asymmetric movement (one side moving less) is an early sign of unilateral cerebral palsy (e.g. Guzzetta et
al. 2003; asymmetry features in Chambers et al. 2020, Ihlen et al. 2020); cramped-synchronised movements move
the limbs rigidly together (Prechtl 1997).

Per mirror pair: log ratio of the movement amount (path length, first over second), its absolute value, the
zero-lag Pearson correlation of the two speeds, and the largest speed cross-correlation within ±0.5 s. Over
the end effectors: the mean pairwise speed correlation and co-movement (log of the share of frames where both
move faster than their own 75th percentile, over the 1/16 expected by chance, averaged over pairs). Then
the means over the pairs of the absolute log ratio and the correlation.
"""

from __future__ import annotations

import logging

import numpy as np

from gmdesk.pipeline.body_frame import SnippetLayout, body_points, finite, speeds

logger = logging.getLogger(__name__)


def corr_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Pearson correlation of ``(n, T)`` arrays (0 where either is constant)."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return np.where(den > 1e-12, (a * b).sum(axis=1) / np.maximum(den, 1e-12), 0.0)


def max_lagged_corr(a: np.ndarray, b: np.ndarray, max_lag: int) -> np.ndarray:
    """Largest Pearson correlation of ``a`` and ``b`` shifted by up to ``max_lag`` frames either way."""
    T = a.shape[1]
    best = corr_rows(a, b)
    for lag in range(1, min(max_lag, T - 3) + 1):
        best = np.maximum(best, np.maximum(corr_rows(a[:, lag:], b[:, :-lag]), corr_rows(a[:, :-lag], b[:, lag:])))
    return best


def _co_movement(va: np.ndarray, vb: np.ndarray) -> np.ndarray:
    fa = va > np.percentile(va, 75, axis=1, keepdims=True)
    fb = vb > np.percentile(vb, 75, axis=1, keepdims=True)
    return np.log(((fa & fb).mean(axis=1) + 1e-3) / (1 / 16))


def asymmetry_descriptors(X: np.ndarray, layout: SnippetLayout) -> np.ndarray:
    """Mirror-pair asymmetry (4 per pair), end-effector synchrony (2) and pair means (2)."""
    X = np.asarray(X)
    n = len(X)
    if not layout.coord_columns:
        return np.zeros((n, 0))
    v = speeds(body_points(X, layout.coord_columns), layout.fps)
    max_lag = max(1, int(round(0.5 * layout.fps)))
    parts: list[np.ndarray] = []
    pairs = list(layout.mirror_landmarks)
    if pairs:
        amount = v.sum(axis=1)
        ratio = np.stack([np.log((amount[:, a] + 1e-6) / (amount[:, b] + 1e-6)) for a, b in pairs], axis=1)
        corr = np.stack([corr_rows(v[:, :, a], v[:, :, b]) for a, b in pairs], axis=1)
        lagged = np.stack([max_lagged_corr(v[:, :, a], v[:, :, b], max_lag) for a, b in pairs], axis=1)
        parts += [ratio, np.abs(ratio), corr, lagged, np.abs(ratio).mean(axis=1, keepdims=True),
                  corr.mean(axis=1, keepdims=True)]
    ee = list(layout.end_effectors)
    if len(ee) >= 2:
        ep = [(a, b) for i, a in enumerate(ee) for b in ee[i + 1:]]
        parts.append(np.mean([corr_rows(v[:, :, a], v[:, :, b]) for a, b in ep], axis=0)[:, None])
        parts.append(np.mean([_co_movement(v[:, :, a], v[:, :, b]) for a, b in ep], axis=0)[:, None])
    if not parts:
        return np.zeros((n, 0))
    return finite(np.concatenate(parts, axis=1))
