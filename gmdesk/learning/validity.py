"""Whether a model is validated on its cohort: the rule, and the record a bundle keeps of it.

A model no better than chance must never give a plain normal/abnormal verdict. A model is
**validated on its cohort** only when all of these hold:

* an infant-level validation was run (infants outside training: ``gmdesk train --cv infant``);
* a test against chance was run on it and its p-value is below :data:`ALPHA`;
* the 95 % interval of the infant-level AUC lies entirely above 0.5 (an AUC is known);
* the snippet scores' Platt calibration, if one was fitted, has a positive slope (a slope ≤ 0 means the
  out-of-fold scores ran against the labels).

Otherwise it is **not validated — research only**, and the status lists every reason. The status is a
plain dict (JSON), written into the bundle's manifest and carried by every assessment made with it.
Pure functions: no heavy imports.
"""

from __future__ import annotations

import logging
import math
from typing import Any

logger = logging.getLogger(__name__)

#: p-values at or above this are no evidence against chance.
ALPHA = 0.05
#: The reason given for bundles made before gmdesk recorded a validation status.
LEGACY_REASON = "made before gmdesk checked models against chance"
#: What the verdict of a model that is not validated is shown as.
RESEARCH_ONLY = "research only — model not validated on its cohort"
#: The keys of a status and what their values must be (checked when a bundle is loaded).
STATUS_KEYS = ("validated", "reasons", "p_value", "auc", "auc_ci", "test", "scheme")


def _number(v: Any) -> float | None:
    """``v`` as a finite float, or None."""
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def _auc(infant_level: dict[str, Any]) -> tuple[float | None, list[float | None]]:
    auc = infant_level.get("auc") if isinstance(infant_level.get("auc"), dict) else {}
    ci = auc.get("ci") if isinstance(auc.get("ci"), list | tuple) else []
    ci = [_number(c) for c in (list(ci) + [None, None])[:2]]
    return _number(auc.get("value")), ci


def _calibration_slope(calibration: dict[str, Any] | None) -> float | None:
    """The slope of a Platt calibration, fitted and kept or fitted and refused (None without one)."""
    if not isinstance(calibration, dict):
        return None
    if calibration.get("method") == "platt":
        return _number(calibration.get("a"))
    refused = calibration.get("refused")
    return _number(refused.get("a")) if isinstance(refused, dict) else None


def validation_status(infant_level: dict[str, Any] | None, significance: dict[str, Any] | None,
                      calibration: dict[str, Any] | None) -> dict[str, Any]:
    """Whether a model is validated on its cohort, with every reason it is not.

    Parameters
    ----------
    infant_level : dict or None
        The infant-level figures of a validation on infants outside training
        (:func:`gmdesk.evaluation.metrics.infant_level`, with ``scheme``); None when none was run.
    significance : dict or None
        The test against chance: ``{"p_value", "test", "n_permutations", "statistic", "observed"}``;
        None when none was run.
    calibration : dict or None
        The bundle's calibration entry: ``{"method": "platt", "a", "b", ...}``, a refused one
        ``{"method": "none", "refused": {"a", "b"}, "reason"}``, or None.

    Returns
    -------
    dict
        ``validated`` (bool), ``reasons`` (texts; empty when validated), ``p_value``, ``auc``, ``auc_ci``
        (``[lo, hi]``), ``test`` (what test against chance), ``scheme`` (which validation).
    """
    reasons: list[str] = []
    lvl = infant_level if isinstance(infant_level, dict) and infant_level else None
    sig = significance if isinstance(significance, dict) and significance else None
    auc, ci = _auc(lvl) if lvl else (None, [None, None])
    p = _number(sig.get("p_value")) if sig else None
    if lvl is None:
        reasons.append("no validation on infants outside training was run")
    if sig is None:
        reasons.append("no test against chance was run")
    elif p is None:
        reasons.append("the test against chance gave no p-value")
    elif p >= ALPHA:
        reasons.append(f"no better than chance: p = {p:.3g} (not below {ALPHA:g})")
    if lvl is not None:
        if auc is None or None in ci:
            reasons.append("no infant-level AUC with a 95 % interval")
        elif ci[0] <= 0.5:
            reasons.append(f"the infant-level AUC's 95 % interval {ci[0]:.2f}-{ci[1]:.2f} "
                           + ("contains 0.5 (chance)" if ci[1] >= 0.5 else "lies below 0.5 (worse than chance)"))
    slope = _calibration_slope(calibration)
    if slope is not None and slope <= 0:
        reasons.append(f"calibration slope {slope:.3g} ≤ 0: the out-of-fold scores ran against the labels")
    return {"validated": not reasons, "reasons": reasons, "p_value": p, "auc": auc, "auc_ci": ci,
            "test": str(sig.get("test")) if sig and sig.get("test") else None,
            "scheme": str(lvl.get("scheme")) if lvl and lvl.get("scheme") else None}


def legacy_status() -> dict[str, Any]:
    """The status of a bundle (or a stored result) that records none: not validated."""
    return {"validated": False, "reasons": [LEGACY_REASON], "p_value": None, "auc": None, "auc_ci": [None, None],
            "test": None, "scheme": None}


def status_problem(status: Any) -> str | None:
    """None when ``status`` has the form of :func:`validation_status`'s result, else what it must be."""
    if not isinstance(status, dict):
        return "a table {validated, reasons, p_value, auc, auc_ci, test, scheme}"
    if not isinstance(status.get("validated"), bool):
        return "a table whose 'validated' is true or false"
    reasons = status.get("reasons")
    if not isinstance(reasons, list) or not all(isinstance(r, str) and len(r) <= 1000 for r in reasons):
        return "a table whose 'reasons' is a list of texts"
    if status["validated"] == bool(reasons):
        return "a table that is validated exactly when it gives no reasons"
    for key in ("p_value", "auc"):
        if status.get(key) is not None and _number(status[key]) is None:
            return f"a table whose {key!r} is a number or null"
    ci = status.get("auc_ci", [None, None])
    if not isinstance(ci, list) or len(ci) != 2 or any(c is not None and _number(c) is None for c in ci):
        return "a table whose 'auc_ci' is [lo, hi] (numbers or null)"
    for key in ("test", "scheme"):
        if status.get(key) is not None and not isinstance(status[key], str):
            return f"a table whose {key!r} is text or null"
    return None


def _figures(status: dict[str, Any]) -> str:
    """``p = 0.31; infant AUC 0.55 (95 % CI 0.30-0.80)`` as far as they are known."""
    parts = []
    if status.get("p_value") is not None:
        parts.append(f"p = {status['p_value']:.3g}")
    ci = status.get("auc_ci") or [None, None]
    if status.get("auc") is not None:
        parts.append(f"infant AUC {status['auc']:.2f}"
                     + (f" (95 % CI {ci[0]:.2f}-{ci[1]:.2f})" if None not in ci else ""))
    return "; ".join(parts)


def status_text(status: dict[str, Any] | None) -> str:
    """One line: ``VALIDATED on its cohort: …`` or ``NOT VALIDATED on its cohort — research only: <reasons>``."""
    status = status if isinstance(status, dict) else legacy_status()
    figures = _figures(status)
    if status.get("validated"):
        return (f"VALIDATED on its cohort: {status.get('test') or 'test against chance'}, {figures}"
                + (f" ({status['scheme']})" if status.get("scheme") else ""))
    reasons = "; ".join(status.get("reasons") or [LEGACY_REASON])
    return f"NOT VALIDATED on its cohort — research only: {reasons}" + (f" ({figures})" if figures else "")


def verdict_note(status: dict[str, Any] | None) -> str:
    """What follows a verdict of a model that is not validated: ``research only: model NOT VALIDATED on
    its cohort (p = …)``; empty for a validated model."""
    status = status if isinstance(status, dict) else legacy_status()
    if status.get("validated"):
        return ""
    p = status.get("p_value")
    why = f"p = {p:.3g}" if p is not None else "; ".join(status.get("reasons") or [LEGACY_REASON])
    return f"research only: model NOT VALIDATED on its cohort ({why})"


def model_validation(metrics: dict[str, Any] | None, calibration: dict[str, Any] | None) -> dict[str, Any]:
    """The status of a trained model from the metrics a bundle keeps (``infant_level`` and ``significance``,
    as ``gmdesk train`` writes them) and its calibration entry."""
    metrics = metrics if isinstance(metrics, dict) else {}
    return validation_status(metrics.get("infant_level"), metrics.get("significance"), calibration)
