"""``kinematics-gb``: scikit-learn's GradientBoostingClassifier on the standardised movement descriptors
(150 trees, depth 2, learning rate 0.05, subsample 0.8, at least 5 snippets a leaf), fitted with balanced
sample weights.

The fitted model is kept with skops (``model.skops``, :mod:`gmdesk.learning.persist`) and scored by
scikit-learn itself.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np

from gmdesk.learning.descriptors import DescriptorClassifier, balanced_weights
from gmdesk.learning.params import Constraint, OneOf

logger = logging.getLogger(__name__)


class KinematicsGradientBoosting(DescriptorClassifier):
    """Gradient-boosted trees on standardised movement descriptors, class-balanced (``C`` is not used)."""

    architectures: ClassVar[tuple[str, ...]] = ("kinematics-gb",)
    descriptor_set: ClassVar[str] = "kinematics"
    estimator_kind: ClassVar[str] = "GradientBoostingClassifier"
    model: ClassVar[str] = "gb"
    _parameter_constraints: ClassVar[dict[str, list[Constraint | None]]] = {
        **DescriptorClassifier._parameter_constraints, "architecture": [OneOf(architectures)]}

    def _fit_descriptors(self, Ds: np.ndarray, y: np.ndarray) -> Any:
        from sklearn.ensemble import GradientBoostingClassifier

        return GradientBoostingClassifier(n_estimators=150, max_depth=2, learning_rate=0.05, subsample=0.8,
                                          min_samples_leaf=5, random_state=self.seed).fit(
            Ds, y, sample_weight=balanced_weights(y))
