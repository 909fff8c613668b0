"""What the cleaning steps measure on a track: bone lengths, the recording's body scale and each bone's
longest plausible length, NaN-quiet robust statistics, and which points cleaning may change."""

from __future__ import annotations

import logging
import warnings

import numpy as np

from gmdesk.core.posetrack import PointStatus, PoseTrack
from gmdesk.core.skeleton import Skeleton
from gmdesk.pipeline.cleaning_settings import CleaningSettings

logger = logging.getLogger(__name__)


def editable_points(track: PoseTrack) -> np.ndarray:
    """Boolean ``(frames, landmarks)``: points cleaning may remove, move or swap (all but those a person EDITED)."""
    return track.status != PointStatus.EDITED


def nanquantile(a: np.ndarray, q: float, axis: int = 0) -> np.ndarray:
    """:func:`numpy.nanquantile` without warnings for all-NaN slices (they give NaN)."""
    with np.errstate(all="ignore"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanquantile(a, q, axis=axis)


def nanmedian(a: np.ndarray, axis: int | None = 0) -> np.ndarray:
    """:func:`numpy.nanmedian` without warnings for all-NaN slices (they give NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(a, axis=axis)


def bone_lengths(xy: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """Bone lengths ``(frames, bones)`` in pixels (NaN where an end is missing)."""
    e = skeleton.edge_index
    return np.linalg.norm(xy[:, e[:, 0]] - xy[:, e[:, 1]], axis=-1)


def body_scale(xy: np.ndarray, skeleton: Skeleton) -> float:
    """Median over bones of each bone's median length: the recording's size in pixels."""
    lengths = bone_lengths(xy, skeleton)
    med = nanmedian(lengths, axis=0) if lengths.size else np.array([])
    med = med[np.isfinite(med)]
    return float(np.median(med)) if med.size else float("nan")


def longest_bones(lengths: np.ndarray, s: CleaningSettings) -> np.ndarray:
    """Largest plausible projected length of each bone in this recording (see ``bone_max_rel``)."""
    full = nanquantile(lengths, s.bone_ref_quantile, axis=0)
    high = nanquantile(lengths, 0.995, axis=0)
    return np.fmax(full * (1 + s.bone_max_rel), high * (1 + s.bone_max_rel / 2))
