"""McCay histogram descriptors of a snippet: HOJO2D and HOJD2D.

Sources: McCay K.D., Ho E.S.L., Marcroft C., Embleton N.D. (2019) "Establishing pose based features using
histograms for the detection of abnormal infant movements", IEEE EMBC 2019, 5469-5472; McCay et al. (2020)
"Abnormal infant movements classification with deep learning on pose-based features", IEEE Access 8.

What was taken (the papers' definition, as reimplemented in public code):

* HOJO2D, histogram of joint orientation 2-D: per limb segment (a skeleton edge), the orientation of the
  segment vector in each frame, measured from the body axis, counted in 8 equal bins over 360°, the counts
  divided by the number of frames (so the bins sum to 1).
* HOJD2D, histogram of joint displacement 2-D: per joint, the displacement between frames a fixed step apart
  (the papers use 5 frames at 30 fps; here ``round(fps / 6)``, at least 1), its direction measured from the
  body axis in 8 bins, each displacement adding its magnitude to its bin; the histogram divided by its sum
  (all zeros for a still joint).

Differences: the body axis is the direction from the origin to the snippet's mean landmark centroid
(:func:`gmdesk.pipeline.body_frame.body_axis_angle`) instead of the shoulder-hip axis, so that any skeleton
works; without segments each landmark's vector from the origin stands in for one. Bins are half-open
``[k·45°, (k+1)·45°)`` from the body axis.
"""

from __future__ import annotations

import logging

import numpy as np

from gmdesk.pipeline.body_frame import SnippetLayout, body_axis_angle, body_points, finite, relative_angle

logger = logging.getLogger(__name__)

N_BINS = 8


def _bin_index(angle: np.ndarray) -> np.ndarray:
    return np.clip((angle / (2 * np.pi) * N_BINS).astype(int), 0, N_BINS - 1)


def hojo2d(p: np.ndarray, segments: tuple[tuple[int, int], ...], axis: np.ndarray) -> np.ndarray:
    """HOJO2D ``(n, segments, 8)`` of body points ``p`` ``(n, frames, landmarks, 2)``; rows sum to 1."""
    if segments:
        a = np.array([s[0] for s in segments])
        b = np.array([s[1] for s in segments])
        v = p[:, :, b] - p[:, :, a]
    else:
        v = p
    idx = _bin_index(relative_angle(v[..., 0], v[..., 1], axis))  # (n, T, S)
    counts = (idx[..., None] == np.arange(N_BINS)).sum(axis=1).astype(np.float64)
    return counts / max(p.shape[1], 1)


def hojd2d(p: np.ndarray, step: int, axis: np.ndarray) -> np.ndarray:
    """HOJD2D ``(n, landmarks, 8)``: magnitude-weighted displacement directions, rows summing to 1 (0 if still)."""
    d = np.diff(p[:, ::step], axis=1)  # (n, K, L, 2)
    mag = np.linalg.norm(d, axis=-1)
    idx = _bin_index(relative_angle(d[..., 0], d[..., 1], axis))
    h = ((idx[..., None] == np.arange(N_BINS)) * mag[..., None]).sum(axis=1)
    total = h.sum(axis=-1, keepdims=True)
    return np.where(total > 1e-12, h / np.maximum(total, 1e-12), 0.0)


def histogram_descriptors(X: np.ndarray, layout: SnippetLayout) -> np.ndarray:
    """HOJO2D of every segment then HOJD2D of every landmark, flattened: ``(n, 8 * (segments + landmarks))``."""
    X = np.asarray(X)
    n = len(X)
    if not layout.coord_columns:
        return np.zeros((n, 0))
    p = body_points(X, layout.coord_columns)
    axis = body_axis_angle(p)
    step = max(1, int(round(layout.fps / 6)))
    out = np.concatenate([hojo2d(p, layout.segments, axis).reshape(n, -1),
                          hojd2d(p, step, axis).reshape(n, -1)], axis=1)
    return finite(out)
