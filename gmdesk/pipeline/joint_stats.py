"""Per-joint position, velocity and acceleration statistics of a snippet (Chambers et al. 2020 style).

Source: Chambers C., Seethapathi N., Saluja R., et al. (2020) "Computer vision to automatically assess
infant neuromotor risk", IEEE Trans. Neural Syst. Rehabil. Eng. 28(11), 2431-2442,
doi:10.1109/TNSRE.2020.3029121: per joint, the mean and variability of position, velocity and
acceleration, and the entropy of velocity and acceleration, normalised by body size (they use trunk length;
here the snippet's body size, :mod:`gmdesk.pipeline.body_frame`).

Per landmark (body sizes, seconds): mean distance from the origin and position sd (root of the summed x, y
variances); speed mean, sd and histogram entropy; acceleration magnitude mean, sd and histogram entropy
(:func:`~gmdesk.pipeline.body_frame.hist_entropy`, 16 bins). Per joint angle (degrees): mean, sd, angular
speed mean, sd and entropy. Then the mean of each per-landmark statistic over the end effectors.
"""

from __future__ import annotations

import logging

import numpy as np

from gmdesk.pipeline.body_frame import SnippetLayout, body_points, finite, hist_entropy, speeds

logger = logging.getLogger(__name__)


def _stats(p: np.ndarray, fps: float) -> list[np.ndarray]:
    v = speeds(p, fps)
    acc = np.linalg.norm(np.diff(p, n=2, axis=1), axis=-1) * fps * fps
    pos_sd = np.sqrt(p.var(axis=1).sum(axis=-1))
    return [np.linalg.norm(p, axis=-1).mean(axis=1), pos_sd, v.mean(axis=1), v.std(axis=1), hist_entropy(v),
            acc.mean(axis=1), acc.std(axis=1), hist_entropy(acc)]


def joint_stat_descriptors(X: np.ndarray, layout: SnippetLayout) -> np.ndarray:
    """Per-landmark statistics (8 per landmark), per-angle statistics (5 per angle) and the end-effector means."""
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    parts: list[np.ndarray] = []
    if layout.coord_columns:
        per = _stats(body_points(X, layout.coord_columns), layout.fps)
        parts += per
        ee = list(layout.end_effectors)
        if ee:
            parts.append(np.stack([s[:, ee].mean(axis=1) for s in per], axis=1))
    if layout.angle_columns:
        ang = X[:, :, list(layout.angle_columns)]
        w = np.abs(np.diff(ang, axis=1)) * layout.fps
        parts += [ang.mean(axis=1), ang.std(axis=1), w.mean(axis=1), w.std(axis=1), hist_entropy(w)]
    if not parts:
        return np.zeros((n, 0))
    return finite(np.concatenate([q.reshape(n, -1) for q in parts], axis=1))
