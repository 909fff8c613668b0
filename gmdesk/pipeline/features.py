"""Normalisation and feature sets (paper section 3.1), and a camera-invariant normalisation.

* ``paper`` normalisation translates every frame so the skeleton's origin landmark (the sternum for
  ``infant24``) is at (0, 0). Nothing else: no scaling, no rotation — so the coordinates carry the
  camera's distance, zoom and roll, and a model can learn the camera instead of the movement.
* ``body`` normalisation (beside the paper's): origin at the skeleton's origin, turned so the body
  axis points up (one rotation per recording: the mean direction of the axis over the recording),
  divided by the recording's body size (median over the recording of the skeleton's size segments:
  trunk length, shoulder and hip width for ``infant24``). The same movement filmed from another
  distance, roll or place gives the same features (to rounding). ``body-frame`` turns every frame by
  its own axis direction instead (trunk rotation no longer shows).
* Feature sets: ``coords`` (x, y of every landmark: 48 for infant24), ``angles`` (the joint
  angles in degrees: 12), ``both`` (coords then angles: 60). Angles do not depend on normalisation.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np

from gmdesk.core.body import axis_vectors
from gmdesk.core.posetrack import PoseTrack
from gmdesk.core.skeleton import Skeleton
from gmdesk.errors import GmdeskError

logger = logging.getLogger(__name__)

FEATURE_SETS = ("coords", "angles", "both")
NORMALISATIONS = ("paper", "body", "body-frame")


def normalise(xy: np.ndarray, skeleton: Skeleton, method: str = "paper") -> np.ndarray:
    """Coordinates relative to the origin landmark (frames without it become NaN); ``method`` ``body``
    or ``body-frame`` also turns the body axis up and divides by the recording's body size."""
    if method not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {method!r}; choose one of {NORMALISATIONS}")
    xy = np.asarray(xy, dtype=np.float64)
    centred = xy - xy[:, skeleton.origin_index : skeleton.origin_index + 1, :]
    if method == "paper":
        return centred
    axis = axis_vectors(xy, skeleton)
    size = body_size(xy, skeleton)
    if axis is None or not np.isfinite(size) or size <= 0:
        return np.full_like(centred, np.nan)
    if method == "body":
        mean = np.nanmean(axis, axis=0)
        axis = np.broadcast_to(mean / np.linalg.norm(mean), axis.shape)
    # rotate each frame so its axis u becomes (0, -1) (up in image coordinates): R = [[-uy, ux], [-ux, -uy]]
    ux, uy = axis[:, 0:1], axis[:, 1:2]
    x, y = centred[..., 0], centred[..., 1]
    rx = -uy * x + ux * y
    ry = -ux * x - uy * y
    return np.stack([rx, ry], axis=-1) / size


def body_size(xy: np.ndarray, skeleton: Skeleton) -> float:
    """The recording's body size in pixels: median over frames of the mean length of the skeleton's size
    segments (``normalisation.size``), else the median bone length."""

    xy = np.asarray(xy, dtype=np.float64)
    segs = skeleton.size_segments or tuple(skeleton.edges)
    if not segs:
        return float("nan")
    idx = np.array([[skeleton.index(a), skeleton.index(b)] for a, b in segs])
    lengths = np.linalg.norm(xy[:, idx[:, 0]] - xy[:, idx[:, 1]], axis=-1)  # (frames, segments)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        per_segment = np.nanmedian(lengths, axis=0)
    per_segment = per_segment[np.isfinite(per_segment)]
    return float(np.mean(per_segment)) if skeleton.size_segments and per_segment.size else (
        float(np.median(per_segment)) if per_segment.size else float("nan"))


def joint_angles(xy: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Unsigned joint angles in degrees, shape ``(frames, n_angles)``.

    The angle of triplet (a, b, c) is the angle at b between b→a and b→c, in [0, 180]:
    a straight limb is 180°, a right-angled elbow 90°. NaN where a point is missing or a
    segment has zero length. Mirroring x leaves each angle unchanged.
    """
    xy = np.asarray(xy, dtype=np.float64)
    idx = skeleton.angle_index
    if idx.size == 0:
        return np.empty((xy.shape[0], 0))
    u = xy[:, idx[:, 0]] - xy[:, idx[:, 1]]
    v = xy[:, idx[:, 2]] - xy[:, idx[:, 1]]
    cross = u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]
    dot = (u * v).sum(-1)
    ang = np.degrees(np.arctan2(np.abs(cross), dot))
    degenerate = (np.hypot(*np.moveaxis(u, -1, 0)) == 0) | (np.hypot(*np.moveaxis(v, -1, 0)) == 0)
    ang[degenerate] = np.nan
    return ang


@dataclass(frozen=True)
class FeatureLayout:
    """Column names of a feature set and how flip augmentation permutes and signs them."""

    feature_set: str
    names: tuple[str, ...]
    mirror_columns: np.ndarray
    mirror_signs: np.ndarray
    normalisation: str = "paper"

    @property
    def n_features(self) -> int:
        """Number of columns."""
        return len(self.names)

    @property
    def coord_columns(self) -> np.ndarray:
        """Column of each landmark's x (its y is the next column); empty without coordinates."""
        return np.array([i for i, n in enumerate(self.names) if n.endswith("_x")], dtype=int)

    @property
    def angle_columns(self) -> np.ndarray:
        """Columns of the joint angles."""
        return np.array([i for i, n in enumerate(self.names) if n.endswith("_angle")], dtype=int)


def feature_layout(skeleton: Skeleton, feature_set: str = "both", normalisation: str = "paper") -> FeatureLayout:
    """Columns of ``feature_set`` for ``skeleton`` (coords are ``<landmark>_x``/``_y``,
    angles ``<angle>_angle``) and their mirror permutation."""
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {feature_set!r}; choose one of {FEATURE_SETS}")
    if feature_set == "angles" and not skeleton.angles:
        raise GmdeskError(f"skeleton {skeleton.name!r} defines no joint angles, so the feature set 'angles' is empty; "
                          "add [[angles]] tables to the skeleton file or choose the coords feature set")
    names: list[str] = []
    cols: list[int] = []
    signs: list[float] = []
    if feature_set in ("coords", "both"):
        perm = skeleton.mirror_permutation
        for j, lm in enumerate(skeleton.landmarks):
            names += [f"{lm}_x", f"{lm}_y"]
            cols += [2 * perm[j], 2 * perm[j] + 1]
            signs += [-1.0, 1.0]
    offset = len(names)
    if feature_set in ("angles", "both"):
        aperm = skeleton.angle_mirror_permutation
        for i, a in enumerate(skeleton.angles):
            names.append(f"{a.name}_angle")
            cols.append(offset + aperm[i])
            signs.append(1.0)
    if normalisation not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {normalisation!r}; choose one of {NORMALISATIONS}")
    return FeatureLayout(feature_set, tuple(names), np.array(cols, dtype=int), np.array(signs), normalisation)


def compute_features(track: PoseTrack, skeleton: Skeleton, feature_set: str = "both",
                     normalisation: str = "paper") -> tuple[np.ndarray, FeatureLayout]:
    """Features of every frame, shape ``(frames, n_features)`` float64, and their layout.

    Parameters
    ----------
    track : PoseTrack
        Cleaned track in the skeleton's landmark order.
    skeleton : Skeleton
    feature_set : {"coords", "angles", "both"}
    normalisation : {"paper", "body", "body-frame"}
        Of the coordinates (see the module docstring); angles are the same for all.
    """
    if tuple(track.landmarks) != tuple(skeleton.landmarks):
        raise ValueError(f"track landmarks do not match skeleton {skeleton.name!r}")
    layout = feature_layout(skeleton, feature_set, normalisation)
    parts = []
    if feature_set in ("coords", "both"):
        parts.append(normalise(track.xy, skeleton, normalisation).reshape(track.n_frames, -1))
    if feature_set in ("angles", "both"):
        parts.append(joint_angles(track.xy, skeleton))
    return np.concatenate(parts, axis=1), layout


def mirror_features(x: np.ndarray, layout: FeatureLayout) -> np.ndarray:
    """Right–left flip of feature arrays (``(..., n_features)``): swap left/right landmarks and
    angles and negate normalised x. Applying it twice gives back the input."""
    x = np.asarray(x)
    if x.shape[-1] != layout.n_features:
        raise ValueError(f"expected {layout.n_features} features, got {x.shape[-1]}")
    return (x[..., layout.mirror_columns] * layout.mirror_signs).astype(x.dtype, copy=False)
