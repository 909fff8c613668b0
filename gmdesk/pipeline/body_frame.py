"""What every movement-descriptor family starts from: a snippet's landmarks in body sizes and its body axis.

The descriptor families (:mod:`~gmdesk.pipeline.kinematics`, :mod:`~gmdesk.pipeline.histograms`,
:mod:`~gmdesk.pipeline.joint_stats`, :mod:`~gmdesk.pipeline.spectral`, :mod:`~gmdesk.pipeline.complexity`,
:mod:`~gmdesk.pipeline.asymmetry`) take the same inputs, described by :class:`SnippetLayout`: the snippet's
coordinate columns (x, y per landmark, relative to the skeleton's origin), joint-angle columns, mirror pairs,
end effectors, limb segments and frame rate.

* Body size: the median over the snippet of the landmarks' distance from the origin (so descriptors do not
  depend on the camera's distance or zoom; Chambers et al. 2020 divide by trunk length to the same end).
* Body axis: the direction from the origin to the snippet's mean landmark centroid (for ``infant24`` the
  sternum towards the pelvis and legs). Directions measured from it do not depend on the camera's roll
  (McCay et al. 2019 measure orientations from the shoulder-hip axis for the same reason).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SnippetLayout:
    """Where a snippet's descriptors find their inputs (positions refer to ``coord_columns``).

    Parameters
    ----------
    coord_columns : tuple of int
        Column of each landmark's x (y is the next column); coordinates relative to the skeleton's origin.
    angle_columns : tuple of int
        Columns of joint angles (degrees).
    mirror_landmarks : tuple of (int, int)
        Left/right landmark pairs.
    end_effectors : tuple of int
        Hands and feet (leaves of the skeleton).
    fps : float
        Frame rate.
    segments : tuple of (int, int)
        Limb segments (the skeleton's edges between landmarks with coordinates); empty: each landmark's
        vector from the origin stands in for a segment.
    limbs : tuple of (int, int)
        The limbs whose fidgety movements are read, each (landmark before the end, end); empty: found from
        ``segments`` (:func:`gmdesk.pipeline.fidgety.limb_groups`).
    """

    coord_columns: tuple[int, ...] = ()
    angle_columns: tuple[int, ...] = ()
    mirror_landmarks: tuple[tuple[int, int], ...] = ()
    end_effectors: tuple[int, ...] = ()
    fps: float = 29.97
    segments: tuple[tuple[int, int], ...] = ()
    limbs: tuple[tuple[int, int], ...] = ()

    @property
    def key(self) -> str:
        """A short text that differs when any field differs (cache keys)."""
        return repr((self.coord_columns, self.angle_columns, self.mirror_landmarks, self.end_effectors,
                     round(float(self.fps), 6), self.segments, self.limbs))


def body_points(X: np.ndarray, coord_columns: tuple[int, ...] | np.ndarray) -> np.ndarray:
    """Landmarks ``(n, frames, landmarks, 2)`` of snippets ``X`` in the snippet's body sizes (float64)."""
    X = np.asarray(X, dtype=np.float64)
    cc = np.asarray(coord_columns, dtype=int)
    p = np.stack([X[:, :, cc], X[:, :, cc + 1]], axis=-1)
    scale = np.median(np.linalg.norm(p, axis=-1), axis=(1, 2)) if cc.size else np.ones(len(X))
    return p / np.maximum(scale, 1e-9)[:, None, None, None]


def body_axis_angle(p: np.ndarray) -> np.ndarray:
    """Angle (radians) of each snippet's body axis, shape ``(n,)``, from :func:`body_points` output."""
    c = p.mean(axis=(1, 2))
    return np.where(np.hypot(c[:, 0], c[:, 1]) > 1e-6, np.arctan2(c[:, 1], c[:, 0]), np.pi / 2)


def relative_angle(dx: np.ndarray, dy: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Direction of vectors (dx, dy) ``(n, ...)`` from each snippet's body ``axis`` ``(n,)``, in [0, 2π)."""
    shape = (len(axis),) + (1,) * (np.ndim(dx) - 1)
    return np.mod(np.arctan2(dy, dx) - axis.reshape(shape), 2 * np.pi)


def speeds(p: np.ndarray, fps: float) -> np.ndarray:
    """Speed of each landmark, body sizes per second, shape ``(n, frames - 1, landmarks)``."""
    return np.linalg.norm(np.diff(p, axis=1), axis=-1) * fps


def hist_entropy(values: np.ndarray, bins: int = 16) -> np.ndarray:
    """Shannon entropy of the histogram of ``values`` along axis 1 (``bins`` equal bins from 0 to the row's
    largest value), divided by log(bins): 0 for a constant row, 1 for a uniform one."""
    v = np.moveaxis(np.asarray(values, dtype=np.float64), 1, -1)
    top = v.max(axis=-1, keepdims=True)
    idx = np.clip((v / np.maximum(top, 1e-12) * bins).astype(int), 0, bins - 1)
    counts = (idx[..., None] == np.arange(bins)).sum(axis=-2).astype(np.float64)
    q = counts / np.maximum(counts.sum(axis=-1, keepdims=True), 1)
    h = -(q * np.log(np.where(q > 0, q, 1.0))).sum(axis=-1) / np.log(bins)
    return np.where(top[..., 0] > 1e-12, h, 0.0)


def finite(a: np.ndarray) -> np.ndarray:
    """``a`` with NaN and infinities replaced by 0."""
    return np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
