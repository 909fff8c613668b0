"""Named sets of snippet descriptors, each a function ``(X, layout) -> (n, d)`` (see :mod:`~gmdesk.pipeline.
body_frame` for the inputs). The classifier families of :mod:`gmdesk.learning.descriptors` name one.

================ ==================================================================================
name             descriptors
================ ==================================================================================
kinematics       :func:`gmdesk.pipeline.kinematics.snippet_descriptors` (the kinematics family's set)
histograms       McCay HOJO2D + HOJD2D (:mod:`~gmdesk.pipeline.histograms`)
joint-stats      Chambers-style per-joint statistics (:mod:`~gmdesk.pipeline.joint_stats`)
spectral         band power per joint (:mod:`~gmdesk.pipeline.spectral`)
complexity       entropy, curvature, peaks, direction variability (:mod:`~gmdesk.pipeline.complexity`)
asymmetry        left-right asymmetry and synchrony (:mod:`~gmdesk.pipeline.asymmetry`)
movement         all five literature sets above, one after another
fidgety          the fidgety stream under the large movements (:mod:`~gmdesk.pipeline.fidgety`)
fidgety-core     one descriptor per finding (:func:`~gmdesk.pipeline.fidgety.fidgety_core_descriptors`)
fidgety-findings the stream's presence in every limb, the circularity of its small paths, its jerkiness
                 and its level and jerkiness where it is
                 (:func:`~gmdesk.pipeline.fidgety.fidgety_findings_descriptors`)
================ ==================================================================================

Every set gives finite numbers for finite input and does not change when the snippet is scaled or
rotated about the origin (to rounding; histogram bins up to ties at bin edges).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from gmdesk.pipeline.asymmetry import asymmetry_descriptors
from gmdesk.pipeline.body_frame import SnippetLayout
from gmdesk.pipeline.complexity import complexity_descriptors
from gmdesk.pipeline.fidgety import fidgety_core_descriptors, fidgety_descriptors, fidgety_findings_descriptors
from gmdesk.pipeline.histograms import histogram_descriptors
from gmdesk.pipeline.joint_stats import joint_stat_descriptors
from gmdesk.pipeline.kinematics import snippet_descriptors
from gmdesk.pipeline.spectral import spectral_descriptors

logger = logging.getLogger(__name__)

DescriptorFn = Callable[[np.ndarray, SnippetLayout], np.ndarray]


def kinematic_descriptors(X: np.ndarray, layout: SnippetLayout) -> np.ndarray:
    """:func:`~gmdesk.pipeline.kinematics.snippet_descriptors` with a :class:`SnippetLayout`."""
    return snippet_descriptors(X, np.asarray(layout.coord_columns, dtype=int), np.asarray(layout.angle_columns, dtype=int),
                               list(layout.mirror_landmarks), list(layout.end_effectors), layout.fps)


#: The literature sets that ``movement`` joins, in order.
MOVEMENT_PARTS: tuple[str, ...] = ("histograms", "joint-stats", "spectral", "complexity", "asymmetry")

DESCRIPTOR_SETS: dict[str, DescriptorFn] = {
    "kinematics": kinematic_descriptors,
    "histograms": histogram_descriptors,
    "joint-stats": joint_stat_descriptors,
    "spectral": spectral_descriptors,
    "complexity": complexity_descriptors,
    "asymmetry": asymmetry_descriptors,
    "fidgety": fidgety_descriptors,
    "fidgety-core": fidgety_core_descriptors,
    "fidgety-findings": fidgety_findings_descriptors,
}


def movement_descriptors(X: np.ndarray, layout: SnippetLayout) -> np.ndarray:
    """All literature descriptor sets (:data:`MOVEMENT_PARTS`) side by side."""
    return np.concatenate([DESCRIPTOR_SETS[k](X, layout) for k in MOVEMENT_PARTS], axis=1)


DESCRIPTOR_SETS["movement"] = movement_descriptors


def compute_descriptors(name: str, X: np.ndarray, layout: SnippetLayout) -> np.ndarray:
    """Descriptor set ``name`` of snippets ``X`` ``(n, frames, features)``, float64 ``(n, d)``."""
    if name not in DESCRIPTOR_SETS:
        raise ValueError(f"unknown descriptor set {name!r}; choose one of {sorted(DESCRIPTOR_SETS)}")
    if not layout.coord_columns and not layout.angle_columns:
        raise ValueError("descriptors need coordinate or angle columns")
    return np.asarray(DESCRIPTOR_SETS[name](X, layout), dtype=np.float64)
