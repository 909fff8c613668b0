"""Platt calibration of snippet scores: fitted on out-of-fold scores when a model is trained, stored in
its bundle and applied whenever the bundle scores snippets.

A bundle's rule counts calibrated P(abnormal) >= 0.5 as abnormal, so the figures a model card reports
are those of the calibrated out-of-fold scores (2 parameters fitted on them; the raw figures stay).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def fit_platt(scores: Any, labels: Any) -> dict[str, Any]:
    """Platt calibration ``P' = 1 / (1 + exp(-(a * logit(P) + b)))`` fitted, class-balanced, on out-of-fold
    scores (so a cohort's share of abnormal snippets does not move the calibrated 0.5)."""
    from sklearn.linear_model import LogisticRegression

    p = np.clip(np.asarray(scores, dtype=float), 1e-6, 1 - 1e-6)
    z = np.log(p / (1 - p)).reshape(-1, 1)
    lr = LogisticRegression(C=1e6, class_weight="balanced", max_iter=1000).fit(z, np.asarray(labels).astype(int))
    return {"method": "platt", "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0]), "n": int(len(p))}


def calibrate(scores: Any, calibration: dict[str, Any] | None) -> Any:
    """Apply a stored calibration to P(abnormal) scores (identity when there is none)."""

    scores = np.asarray(scores, dtype=float)
    if not calibration:
        return scores
    p = np.clip(scores, 1e-6, 1 - 1e-6)
    z = calibration["a"] * np.log(p / (1 - p)) + calibration["b"]
    return 1.0 / (1.0 + np.exp(-z))


def calibrate_out_of_fold(oof_scores: Any, labels: Any, fitted_on: str) -> tuple[dict[str, Any], np.ndarray]:
    """The calibration of a model fitted on its cross-validation's out-of-fold scores (``fitted_on`` says
    which cross-validation, for the manifest), and those scores calibrated as the bundle will apply it."""
    calibration = fit_platt(oof_scores, labels) | {"fitted_on": fitted_on}
    return calibration, calibrate(oof_scores, calibration)
