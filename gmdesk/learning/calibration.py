"""Platt calibration of snippet scores: fitted on out-of-fold scores when a model is trained, stored in
its bundle and applied whenever the bundle scores snippets.

A bundle's rule counts calibrated P(abnormal) >= 0.5 as abnormal, so the figures a model card reports
are those of the calibrated out-of-fold scores (2 parameters fitted on them; the raw figures stay).

A fitted calibration a bundle could not apply (slope ``a <= 0``: the out-of-fold scores ran against the
labels; or a slope or intercept too large to be a calibration) is not kept: the bundle scores with the
classifier's own P(abnormal) and records ``{"method": "none", "refused": {a, b}, "reason"}``. A slope
``<= 0`` also makes the model not validated (:mod:`gmdesk.learning.validity`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def fit_platt(scores: Any, labels: Any, infant_ids: Any = None, threshold: float | None = None) -> dict[str, Any]:
    """Platt calibration ``P' = 1 / (1 + exp(-(a * logit(P) + b)))`` fitted, class-balanced, on out-of-fold
    scores (so a cohort's share of abnormal snippets does not move the calibrated 0.5).

    With ``infant_ids`` and the verdict ``threshold`` (an infant is normal when more than this share of its
    snippets has P' < 0.5), the intercept is then moved, on a grid of ±3 in steps of 0.1, to where the infant
    verdicts of the out-of-fold scores have the best balanced accuracy (ties: the smallest move; recorded as
    ``infant_shift``): snippets of normal infants are not all typical (pauses, fussing), and the verdict
    counts snippets, so the 0.5 that balances snippets need not balance infants.
    """
    from sklearn.linear_model import LogisticRegression

    p = np.clip(np.asarray(scores, dtype=float), 1e-6, 1 - 1e-6)
    z = np.log(p / (1 - p)).reshape(-1, 1)
    y = np.asarray(labels).astype(int)
    lr = LogisticRegression(C=1e6, class_weight="balanced", max_iter=1000).fit(z, y)
    out = {"method": "platt", "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0]), "n": int(len(p))}
    if infant_ids is not None and threshold is not None and out["a"] > 0:
        shift = _infant_shift(out["a"] * z[:, 0] + out["b"], y, np.asarray(infant_ids), threshold)
        out |= {"b": out["b"] + shift, "infant_shift": round(shift, 3)}
    return out


def _infant_shift(logit: np.ndarray, y: np.ndarray, ids: np.ndarray, threshold: float) -> float:
    """The move of the intercept (grid ±3, step 0.1) with the best infant balanced accuracy; ties: smallest."""
    names = list(dict.fromkeys(ids.tolist()))
    rows = [ids == i for i in names]
    truth = np.array([int(y[m][0]) for m in rows])
    if len(set(truth.tolist())) < 2:
        return 0.0
    best, best_key = 0.0, (-1.0, 0.0)
    for shift in np.round(np.arange(-3.0, 3.05, 0.1), 2):
        verdict = np.array([int(np.mean(logit[m] + shift < 0) <= threshold) for m in rows])
        bal = 0.5 * (np.mean(verdict[truth == 1] == 1) + np.mean(verdict[truth == 0] == 0))
        key = (bal, -abs(shift))
        if key > best_key:
            best, best_key = float(shift), key
    return best


def own_calibration(architecture: str, how: str) -> dict[str, Any]:
    """The calibration record of a family calibrated as it is fitted
    (:attr:`~gmdesk.learning.base.SnippetClassifier.calibrated_by_construction`; ``how``: its
    :attr:`~gmdesk.learning.base.SnippetClassifier.own_calibration_note`): no Platt step, and why."""
    return {"method": "none", "reason": f"{architecture} is calibrated as it is fitted ({how}); "
                                        "no second calibration on cross-validated scores"}


#: Largest slope and intercept a bundle's Platt calibration may have.
MAX_PARAMETER = 100.0


def platt_problem(calibration: Any) -> str | None:
    """None when ``calibration`` is a Platt calibration a bundle can apply, else why not."""
    if not isinstance(calibration, dict) or calibration.get("method") != "platt":
        return "not a Platt calibration"
    a, b = calibration.get("a"), calibration.get("b")
    for name, v in (("a", a), ("b", b)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
            return f"its {name} is not a finite number"
    if a <= 0:
        return "slope ≤ 0: out-of-fold scores ran against the labels"
    if a >= MAX_PARAMETER or abs(b) >= MAX_PARAMETER:
        return f"slope or intercept beyond ±{MAX_PARAMETER:g}: the out-of-fold scores separate the labels too " \
               "cleanly to calibrate"
    return None


def is_platt(calibration: Any) -> bool:
    """True when ``calibration`` is a Platt calibration that is applied (not a refused one, not None)."""
    return isinstance(calibration, dict) and calibration.get("method") == "platt"


def checked(calibration: dict[str, Any]) -> dict[str, Any]:
    """A fitted calibration as a bundle keeps it: itself when it can be applied, else the record of its
    refusal ``{"method": "none", "refused": {"a", "b"}, "reason", ...}`` (the other keys kept)."""
    why = platt_problem(calibration)
    if why is None:
        return calibration
    logger.warning("calibration refused (%s): a = %s, b = %s; scores stay uncalibrated", why,
                   calibration.get("a"), calibration.get("b"))
    rest = {k: v for k, v in calibration.items() if k not in ("method", "a", "b")}
    return {"method": "none", "refused": {"a": calibration.get("a"), "b": calibration.get("b")}, "reason": why} | rest


def calibrate(scores: Any, calibration: dict[str, Any] | None) -> Any:
    """Apply a stored calibration to P(abnormal) scores (identity when there is none, or it was refused)."""

    scores = np.asarray(scores, dtype=float)
    if not is_platt(calibration):
        return scores
    p = np.clip(scores, 1e-6, 1 - 1e-6)
    z = calibration["a"] * np.log(p / (1 - p)) + calibration["b"]
    return 1.0 / (1.0 + np.exp(-z))


def calibrate_out_of_fold(oof_scores: Any, labels: Any, fitted_on: str, infant_ids: Any = None,
                          threshold: float | None = None) -> tuple[dict[str, Any], np.ndarray]:
    """The calibration of a model fitted on its cross-validation's out-of-fold scores (``fitted_on`` says
    which cross-validation, for the manifest), and those scores calibrated as the bundle will apply it.

    A fit the bundle could not apply (:func:`platt_problem`) comes back as the record of its refusal
    (:func:`checked`), and the scores uncalibrated."""
    calibration = checked(fit_platt(oof_scores, labels, infant_ids, threshold) | {"fitted_on": fitted_on})
    return calibration, calibrate(oof_scores, calibration)


def out_of_fold_calibration(estimator: Any, oof_scores: Any, labels: Any, infant_ids: Any, threshold: float | None,
                            fitted_on: str) -> tuple[dict[str, Any] | None, np.ndarray]:
    """The calibration a bundle of ``estimator`` keeps, from its cross-validation's out-of-fold scores, and those
    scores as the bundle will decide on them: the family's own record (:func:`own_calibration`, scores unchanged)
    for a family calibrated as it is fitted; None (unchanged) when the labels hold one class only; else the Platt
    fit of :func:`calibrate_out_of_fold`."""
    scores = np.asarray(oof_scores, dtype=float)
    if getattr(estimator, "calibrated_by_construction", False):
        return own_calibration(estimator.architecture, estimator.own_calibration_note), scores
    if len(set(np.asarray(labels).astype(int).tolist())) < 2:
        return None, scores
    return calibrate_out_of_fold(scores, labels, fitted_on, infant_ids, threshold)
