"""``kinematics``: class-balanced standardised logistic regression (L2, ``C``, default 0.05) on the movement
descriptors of :mod:`gmdesk.pipeline.kinematics`.

Learned: the standardisation and the fitted LogisticRegression (``descriptors.npz``/``.json`` + ``model.skops``,
see :mod:`gmdesk.learning.descriptors`).
"""

from __future__ import annotations

import logging
from typing import ClassVar

from gmdesk.learning.descriptors import DescriptorClassifier
from gmdesk.learning.params import Constraint, OneOf

logger = logging.getLogger(__name__)


class KinematicsLogisticRegression(DescriptorClassifier):
    """Logistic regression on standardised movement descriptors (``C``, default 0.05), class-balanced."""

    architectures: ClassVar[tuple[str, ...]] = ("kinematics",)
    descriptor_set: ClassVar[str] = "kinematics"
    model: ClassVar[str] = "logreg"
    _parameter_constraints: ClassVar[dict[str, list[Constraint | None]]] = {
        **DescriptorClassifier._parameter_constraints, "architecture": [OneOf(architectures)]}
