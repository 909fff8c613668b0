"""The model card of a bundle (``MODEL_CARD.md``): what the model is, what it was trained on, how it did
on infants outside training, and its limits, in Markdown for people."""

from __future__ import annotations

import logging
import math
from typing import Any

from gmdesk.constants import WINDOW
from gmdesk.learning.architectures import ARCHITECTURES
from gmdesk.learning.validity import status_text, validation_status

logger = logging.getLogger(__name__)

#: The proportions of infant-level figures, in the card's order, with their names.
PROPORTIONS = (("accuracy", "infant verdict accuracy"), ("sensitivity", "sensitivity (abnormal found)"),
               ("specificity", "specificity"), ("npv", "NPV"), ("ppv", "PPV"))
#: The AUCs of infant-level figures, with their names.
AUCS = (("auc", "infant-level AUC (share of abnormal snippets)"), ("snippet_auc", "pooled snippet AUC"))


def percent_mean_sd(mu_sd: tuple[float | None, float]) -> str:
    """A share's mean ± sd over folds, in per cent, 9 characters wide (``   n/a   `` without a mean)."""
    mu, sd = mu_sd
    return "   n/a   " if mu is None or not math.isfinite(mu) else f"{100 * mu:5.1f}±{100 * sd:4.1f}"


def proportion_text(d: dict[str, Any]) -> str:
    """A proportion of infant-level figures (``{value, ci, k, n}``) as ``75 % (3/4; 95 % CI 30-95)``."""
    if not d["n"]:
        return "n/a"
    lo, hi = d["ci"]
    return f"{100 * d['k'] / d['n']:.0f} % ({d['k']}/{d['n']}; 95 % CI {100 * lo:.0f}-{100 * hi:.0f})"


def figure_lines(lvl: dict[str, Any]) -> list[str]:
    """Markdown list items of infant-level figures: the proportions, then the AUCs that could be computed."""
    lines = [f"- {name}: {proportion_text(lvl[key])}" for key, name in PROPORTIONS]
    for key, name in AUCS:
        d = lvl[key]
        if d.get("value") is not None:
            ci = d.get("ci") or [None, None]
            lines.append(f"- {name}: {d['value']:.2f}" + (f" (95 % CI {ci[0]:.2f}-{ci[1]:.2f})" if ci[0] is not None else ""))
    return lines


def model_card(model_id: str, classifier: str, *, feature_set: str, normalisation: str, overlap: int, threshold: float,
               min_snippets: int, seed: int, flip: bool, augment: int, epochs: int, patience: int,
               cohort: dict[str, Any], metrics: dict[str, Any], calibrated: bool, window: int = WINDOW,
               validation: dict[str, Any] | None = None, calibration: dict[str, Any] | None = None) -> str:
    """The Markdown of a model card.

    ``cohort`` is the training cohort's summary (infants and snippets by label, ``synthetic``);
    ``metrics`` holds the figures of training time: ``infant_level`` (the headline, from a cross-validation
    on infants outside training), ``significance`` (its test against chance), ``external`` (the cohort's
    external set) and ``snippet_cv`` (the paper's protocol), each optional; ``calibrated``: snippet scores are
    Platt-calibrated on out-of-fold scores; ``calibration``: the bundle's calibration entry (a refused fit is
    named). ``validation`` is the model's status (:func:`~gmdesk.learning.validity.validation_status`; default:
    that of ``metrics`` and ``calibration``): the card's first lines say whether the model is validated on its
    cohort, and why not.
    """
    synthetic = cohort.get("synthetic")
    if validation is None:
        validation = validation_status(metrics.get("infant_level"), metrics.get("significance"), calibration)
    lines = [f"# Model card: {model_id}", "", *validation_lines(validation), ""]
    if synthetic:
        lines += ["**Trained on SYNTHETIC data (simulated infants from `gmdesk synth`). Not for clinical use.** "
                  "It exists to demonstrate and test gmdesk.", ""]
    lines += [
        "## What it is",
        f"- classifier: `{classifier}`; feature set `{feature_set}`; normalisation `{normalisation}`; {window}-frame "
        f"snippets, overlap {overlap}",
        f"- output: P(abnormal) per snippet{_calibration_words(calibrated, calibration)}; infant "
        f"verdict normal if more than {100 * threshold:.0f} % of snippets are classified normal (P < 0.5), else "
        f"abnormal; **indeterminate — review** when the 95 % interval of that share straddles the threshold or fewer "
        f"than {min_snippets} valid snippets exist",
        f"- seed {seed}; flip augmentation {'on' if flip else 'off'}; extra augmented copies {augment}"
        + (f"; up to {epochs} epochs, early stopping patience {patience}"
           if ARCHITECTURES[classifier]["family"] in ("lstm", "cnn1d", "vit") else ""),
        "", "## Training data",
        f"- {cohort['infants']} infants ({cohort['normal_infants']} normal, {cohort['abnormal_infants']} abnormal); "
        f"{cohort['snippets']} snippets ({cohort['normal_snippets']} normal, {cohort['abnormal_snippets']} abnormal)",
        "", "## Validation on infants outside training (headline)",
    ]
    lines += _validation(metrics) + _limits(bool(synthetic))
    return "\n".join(lines) + "\n"


def validation_lines(status: dict[str, Any]) -> list[str]:
    """The card's first lines: whether the model is validated on its cohort, with the test, its p-value and
    the infant AUC's interval, and every reason when it is not."""
    if status.get("validated"):
        return [f"**{status_text(status)}.**"]
    ci = status.get("auc_ci") or [None, None]
    p = status.get("p_value")
    test = f"p = {p:.3g} ({status.get('test') or 'test not named'})" if p is not None else "none run"
    return ["**NOT VALIDATED on its cohort — research only.** Its verdicts are shown as research only, never as a "
            "plain normal/abnormal. Why:", *[f"- {r}" for r in status.get("reasons") or []],
            f"- test against chance: {test}",
            "- infant-level AUC: " + (f"{status['auc']:.2f} (95 % CI {ci[0]:.2f}-{ci[1]:.2f})"
                                      if status.get("auc") is not None and None not in ci else "not known")]


def _calibration_words(calibrated: bool, calibration: dict[str, Any] | None) -> str:
    if calibrated:
        return " (Platt-calibrated on out-of-fold scores)"
    if isinstance(calibration, dict) and calibration.get("refused"):
        r = calibration["refused"]
        return (f" (uncalibrated: the Platt fit on out-of-fold scores, a = {r.get('a')}, b = {r.get('b')}, was "
                f"refused: {calibration.get('reason', '')})")
    if isinstance(calibration, dict) and calibration.get("method") == "none" and calibration.get("reason"):
        return f" (no Platt step: {calibration['reason']})"
    return ""


def _validation(metrics: dict[str, Any]) -> list[str]:
    """The card's figures: the headline cross-validation, the external set, the paper's protocol."""
    lvl = metrics.get("infant_level")
    if not lvl:
        lines = ["- none run at training time (`--cv infant` or `gmdesk evaluate`)"]
    else:
        lines = [f"- {lvl['scheme']}, out-of-fold predictions pooled over folds, {lvl['infants']} infants, "
                 f"{lvl['snippets']} snippets (95 % intervals: Wilson for proportions, bootstrap over infants for AUC)"
                 + ("; scores calibrated as the bundle applies them" if lvl.get("calibrated") else ""),
                 *figure_lines(lvl)]
    sig = metrics.get("significance")
    if isinstance(sig, dict) and sig.get("p_value") is not None:
        n = sig.get("n_permutations")
        lines.append(f"- test against chance: {sig.get('test', '?')} of the {sig.get('statistic', 'infant AUC')}"
                     + (f" ({n} permutations)" if n else "") + f": p = {sig['p_value']:.3g}")
    ext = metrics.get("external")
    if ext:
        lines += ["", "## External validation (the cohort's external set: infants never trained on)",
                  f"- the final model on {ext['infants']} infants, {ext['snippets']} snippets", *figure_lines(ext)]
    snip = metrics.get("snippet_cv")
    if snip:
        s = snip["summary"]
        lines += ["", "## The paper's protocol, for comparison",
                  f"- snippet CV (snippets of one infant in train and test: leaks infants, not an estimate for new "
                  f"infants): snippet accuracy {percent_mean_sd(s['accuracy'])} %, ROC AUC {percent_mean_sd(s['roc_auc'])} %"]
    return lines


def _limits(synthetic: bool) -> list[str]:
    return ["", "## Limits", "- Screening aid only; every result is reviewed by a GMA-certified clinician. "
            "Not a medical device.",
            *(["- Figures on simulated infants say how the method behaves on the simulator's phenotypes (absent, "
               "sporadic and abnormal fidgety movements, cramped-synchronised movement), not what real recordings "
               "give: validate on the site's own infants before any use."] if synthetic else []),
            "- A model is only as good as the phenotypes its cohort holds; the figures per phenotype (leave-one-"
            "phenotype-out, `gmdesk evaluate --cv lopo`) say which it finds.",
            "- The model knows only its site's global normal/abnormal labels; its verdict is not a GMA classification "
            "(a finding it names per snippet says how the movement departed from normal, measured, not which GMA "
            "category applies).",
            "- Valid only for the skeleton, feature set, normalisation, window and overlap in `manifest.json`."]
