"""Descriptor families from the General Movements literature, each a class-balanced standardised logistic
regression (L2, ``C``, default 0.05) on one descriptor set of :mod:`gmdesk.pipeline.descriptor_sets`:

=========== ==============================================================================================
name        descriptors
=========== ==============================================================================================
histograms  McCay et al. 2019/2020 HOJO2D + HOJD2D (:mod:`gmdesk.pipeline.histograms`)
joint-stats Chambers et al. 2020 per-joint position / velocity / acceleration statistics and entropies
spectral    band power of each joint's movement (<0.5, 0.5-1.5, 1.5-3, 3-6 Hz)
complexity  permutation entropy, distal curvature (Kanemaru), speed peaks, direction variability (Morais)
asymmetry   left-right movement ratio, speed correlation, cross-limb synchrony
movement    all five together
fidgety     the fidgety stream under the large movements (:mod:`gmdesk.pipeline.fidgety`)
=========== ==============================================================================================
"""

from __future__ import annotations

import logging
from typing import ClassVar

from gmdesk.learning.descriptors import DescriptorClassifier
from gmdesk.learning.params import Constraint, OneOf

logger = logging.getLogger(__name__)

class HistogramsLogisticRegression(DescriptorClassifier):
    """``histograms``: McCay HOJO2D + HOJD2D, class-balanced standardised logistic regression."""

    architectures: ClassVar[tuple[str, ...]] = ("histograms",)
    descriptor_set: ClassVar[str] = "histograms"
    model: ClassVar[str] = "logreg"
    _parameter_constraints: ClassVar[dict[str, list[Constraint | None]]] = {
        **DescriptorClassifier._parameter_constraints, "architecture": [OneOf(architectures)]}


class JointStatsLogisticRegression(DescriptorClassifier):
    """``joint-stats``: Chambers-style per-joint statistics, class-balanced standardised logistic regression."""

    architectures: ClassVar[tuple[str, ...]] = ("joint-stats",)
    descriptor_set: ClassVar[str] = "joint-stats"
    model: ClassVar[str] = "logreg"
    _parameter_constraints: ClassVar[dict[str, list[Constraint | None]]] = {
        **DescriptorClassifier._parameter_constraints, "architecture": [OneOf(architectures)]}


class SpectralLogisticRegression(DescriptorClassifier):
    """``spectral``: band power per joint, class-balanced standardised logistic regression."""

    architectures: ClassVar[tuple[str, ...]] = ("spectral",)
    descriptor_set: ClassVar[str] = "spectral"
    model: ClassVar[str] = "logreg"
    _parameter_constraints: ClassVar[dict[str, list[Constraint | None]]] = {
        **DescriptorClassifier._parameter_constraints, "architecture": [OneOf(architectures)]}


class ComplexityLogisticRegression(DescriptorClassifier):
    """``complexity``: movement complexity, class-balanced standardised logistic regression."""

    architectures: ClassVar[tuple[str, ...]] = ("complexity",)
    descriptor_set: ClassVar[str] = "complexity"
    model: ClassVar[str] = "logreg"
    _parameter_constraints: ClassVar[dict[str, list[Constraint | None]]] = {
        **DescriptorClassifier._parameter_constraints, "architecture": [OneOf(architectures)]}


class AsymmetryLogisticRegression(DescriptorClassifier):
    """``asymmetry``: left-right asymmetry and synchrony, class-balanced standardised logistic regression."""

    architectures: ClassVar[tuple[str, ...]] = ("asymmetry",)
    descriptor_set: ClassVar[str] = "asymmetry"
    model: ClassVar[str] = "logreg"
    _parameter_constraints: ClassVar[dict[str, list[Constraint | None]]] = {
        **DescriptorClassifier._parameter_constraints, "architecture": [OneOf(architectures)]}


class MovementLogisticRegression(DescriptorClassifier):
    """``movement``: all literature descriptors together, class-balanced standardised logistic regression."""

    architectures: ClassVar[tuple[str, ...]] = ("movement",)
    descriptor_set: ClassVar[str] = "movement"
    model: ClassVar[str] = "logreg"
    _parameter_constraints: ClassVar[dict[str, list[Constraint | None]]] = {
        **DescriptorClassifier._parameter_constraints, "architecture": [OneOf(architectures)]}


class FidgetyLogisticRegression(DescriptorClassifier):
    """``fidgety``: fidgety-movement descriptors, class-balanced standardised logistic regression."""

    architectures: ClassVar[tuple[str, ...]] = ("fidgety",)
    descriptor_set: ClassVar[str] = "fidgety"
    model: ClassVar[str] = "logreg"
    _parameter_constraints: ClassVar[dict[str, list[Constraint | None]]] = {
        **DescriptorClassifier._parameter_constraints, "architecture": [OneOf(architectures)]}


#: The classes of this module.
LITERATURE_CLASSIFIERS: tuple[type[DescriptorClassifier], ...] = (
    HistogramsLogisticRegression, JointStatsLogisticRegression, SpectralLogisticRegression,
    ComplexityLogisticRegression, AsymmetryLogisticRegression, MovementLogisticRegression, FidgetyLogisticRegression)
