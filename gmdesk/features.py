"""Normalisation and feature sets (paper section 3.1).

* Normalisation translates every frame so the skeleton's origin landmark (the sternum for
  ``infant24``) is at (0, 0). Nothing else: no scaling, no rotation.
* Feature sets: ``coords`` (x, y of every landmark: 48 for infant24), ``angles`` (the joint
  angles in degrees: 12), ``both`` (coords then angles: 60).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gmdesk.posetrack import PoseTrack
from gmdesk.skeleton import Skeleton

FEATURE_SETS = ("coords", "angles", "both")


def normalise(xy: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Translate each frame so the origin landmark is at (0, 0); frames without it become NaN."""
    xy = np.asarray(xy, dtype=np.float64)
    return xy - xy[:, skeleton.origin_index : skeleton.origin_index + 1, :]


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

    @property
    def n_features(self) -> int:
        """Number of columns."""
        return len(self.names)


def feature_layout(skeleton: Skeleton, feature_set: str = "both") -> FeatureLayout:
    """Columns of ``feature_set`` for ``skeleton`` (coords are ``<landmark>_x``/``_y``,
    angles ``<angle>_angle``) and their mirror permutation."""
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {feature_set!r}; choose one of {FEATURE_SETS}")
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
    return FeatureLayout(feature_set, tuple(names), np.array(cols, dtype=int), np.array(signs))


def compute_features(track: PoseTrack, skeleton: Skeleton, feature_set: str = "both") -> tuple[np.ndarray, FeatureLayout]:
    """Features of every frame, shape ``(frames, n_features)`` float64, and their layout.

    Parameters
    ----------
    track : PoseTrack
        Cleaned track in the skeleton's landmark order.
    skeleton : Skeleton
    feature_set : {"coords", "angles", "both"}
    """
    if tuple(track.landmarks) != tuple(skeleton.landmarks):
        raise ValueError(f"track landmarks do not match skeleton {skeleton.name!r}")
    layout = feature_layout(skeleton, feature_set)
    parts = []
    if feature_set in ("coords", "both"):
        parts.append(normalise(track.xy, skeleton).reshape(track.n_frames, -1))
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
