"""``kinematics``: standardised logistic regression (L2, ``C``, default 0.05) on the movement descriptors.

Learned: the coefficients and intercept (``kinematics.npz`` + ``kinematics.json``, see
:mod:`gmdesk.learning.descriptors`).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np

from gmdesk.learning.descriptors import DescriptorClassifier
from gmdesk.learning.params import Constraint, OneOf

logger = logging.getLogger(__name__)


class KinematicsLogisticRegression(DescriptorClassifier):
    """Logistic regression on standardised movement descriptors (``C``, default 0.05)."""

    architectures: ClassVar[tuple[str, ...]] = ("kinematics",)
    model: ClassVar[str] = "logreg"
    _parameter_constraints: ClassVar[dict[str, list[Constraint | None]]] = {
        **DescriptorClassifier._parameter_constraints, "architecture": [OneOf(architectures)]}

    def _fit_descriptors(self, Ds: np.ndarray, y: np.ndarray) -> tuple[dict[str, Any], Any]:
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=self.C if self.C is not None else 0.05, max_iter=5000).fit(Ds, y)
        kin = {"model": self.model, "coef": lr.coef_.ravel().astype(np.float64), "intercept": float(lr.intercept_[0])}
        return kin, lr.decision_function

    def _decision(self, Ds: np.ndarray) -> np.ndarray:
        return Ds @ self.kin_["coef"] + self.kin_["intercept"]
