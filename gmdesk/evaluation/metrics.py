"""Infant-level figures with 95 % intervals: what a clinician needs to know about a model.

A clinician only sees infants the model never saw, so a model is judged on out-of-fold predictions
pooled over the folds of an infant-grouped cross-validation (or on an external set): each infant's
snippets are scored by a model that never saw that infant. From them:

* per infant: the share of snippets classified abnormal (its **infant score**) and the verdict of the
  bundle's rule (normal if more than ``threshold`` of its snippets are normal);
* infant verdict accuracy, sensitivity (abnormal infants found), specificity, PPV, NPV and balanced
  accuracy, each with a 95 % **Wilson** interval (proportions over infants);
* the pooled snippet ROC AUC and the infant-level AUC (infant score vs label), each with a 95 %
  **bootstrap** interval over infants (infants are resampled, with all their snippets: snippets of one
  infant are not independent);
* calibration: a reliability table of pooled snippet probabilities.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from gmdesk.constants import DEFAULT_THRESHOLD
from gmdesk.screening.intervals import wilson_interval
from gmdesk.screening.verdict import infant_verdict

logger = logging.getLogger(__name__)


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    """ROC AUC by the rank statistic (ties count half); NaN when a class is absent."""
    y = np.asarray(y).astype(int)
    s = np.asarray(s, dtype=float)
    pos, neg = s[y == 1], s[y == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    from scipy.stats import rankdata

    r = rankdata(np.concatenate([pos, neg]))
    return float((r[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


@dataclass(frozen=True)
class Proportion:
    """A proportion with its counts and 95 % Wilson interval."""

    k: int
    n: int

    @property
    def value(self) -> float:
        return self.k / self.n if self.n else float("nan")

    @property
    def ci(self) -> tuple[float, float]:
        return wilson_interval(self.k, self.n)

    def to_dict(self) -> dict[str, Any]:
        return {"value": _clean(self.value), "ci": [_clean(c) for c in self.ci], "k": self.k, "n": self.n}

    def text(self) -> str:
        lo, hi = self.ci
        return "n/a" if not self.n else f"{100 * self.value:.0f} % ({self.k}/{self.n}; 95 % CI {100 * lo:.0f}-{100 * hi:.0f})"


def _clean(v: float) -> float | None:
    return None if v is None or not np.isfinite(v) else round(float(v), 6)


def infant_table(scores: np.ndarray, labels: np.ndarray, infant_ids: np.ndarray, threshold: float = DEFAULT_THRESHOLD,
                 decision: float = 0.5) -> list[dict[str, Any]]:
    """One row per infant from pooled out-of-fold snippet scores: label, snippets, share abnormal (the
    infant score), verdict by the bundle's rule, and whether it is right."""

    scores, labels, ids = np.asarray(scores, float), np.asarray(labels).astype(int), np.asarray(infant_ids)
    rows = []
    for iid in dict.fromkeys(ids.tolist()):
        m = ids == iid
        s = scores[m]
        v = infant_verdict(s, str(iid), threshold, decision)  # the bundle's rule, in one place
        rows.append({"infant_id": iid, "label": int(labels[m][0]), "snippets": int(m.sum()),
                     "share_abnormal": 1 - v.fraction_normal, "mean_p": float(s.mean()), "verdict": v.label,
                     "correct": v.label == int(labels[m][0])})
    return rows


def infant_level(scores: np.ndarray, labels: np.ndarray, infant_ids: np.ndarray, threshold: float = DEFAULT_THRESHOLD,
                 decision: float = 0.5, n_boot: int = 2000, seed: int = 42) -> dict[str, Any]:
    """Infant-level figures with 95 % intervals from pooled out-of-fold snippet scores.

    Returns
    -------
    dict
        ``accuracy``, ``sensitivity``, ``specificity``, ``ppv``, ``npv`` (each ``{value, ci, k, n}``),
        ``balanced_accuracy`` (value and the interval of the mean of the two Wilson intervals' bounds),
        ``snippet_auc`` and ``auc`` (infant-level, score = share of abnormal snippets), each
        ``{value, ci}`` with a bootstrap over infants, ``infants`` and ``snippets`` counts and the
        per-infant table.
    """
    rows = infant_table(scores, labels, infant_ids, threshold, decision)
    y = np.array([r["label"] for r in rows])
    v = np.array([r["verdict"] for r in rows])
    out: dict[str, Any] = {
        "accuracy": Proportion(int((v == y).sum()), len(y)),
        "sensitivity": Proportion(int(((v == 1) & (y == 1)).sum()), int((y == 1).sum())),
        "specificity": Proportion(int(((v == 0) & (y == 0)).sum()), int((y == 0).sum())),
        "ppv": Proportion(int(((v == 1) & (y == 1)).sum()), int((v == 1).sum())),
        "npv": Proportion(int(((v == 0) & (y == 0)).sum()), int((v == 0).sum())),
    }
    sens, spec = out["sensitivity"], out["specificity"]
    bal = np.nanmean([sens.value, spec.value]) if sens.n or spec.n else float("nan")
    out = {k: p.to_dict() for k, p in out.items()}
    out["balanced_accuracy"] = {"value": _clean(bal), "ci": [_clean(np.nanmean([sens.ci[i], spec.ci[i]])) for i in (0, 1)]}
    scores, labels, ids = np.asarray(scores, float), np.asarray(labels).astype(int), np.asarray(infant_ids)
    share = np.array([r["share_abnormal"] for r in rows])
    out["auc"] = {"value": _clean(_auc(y, share))}
    out["snippet_auc"] = {"value": _clean(_auc(labels, scores))}
    # bootstrap over infants: resample infants (with their snippets), stratified by label
    rng = np.random.default_rng(seed)
    names = [r["infant_id"] for r in rows]
    by_infant = {iid: np.flatnonzero(ids == iid) for iid in names}
    pos, neg = [i for i, r in enumerate(rows) if r["label"] == 1], [i for i, r in enumerate(rows) if r["label"] == 0]
    boot_inf, boot_snip = [], []
    if pos and neg:
        for _ in range(n_boot):
            pick = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
            boot_inf.append(_auc(y[pick], share[pick]))
            idx = np.concatenate([by_infant[names[i]] for i in pick])
            boot_snip.append(_auc(labels[idx], scores[idx]))
    for key, vals in (("auc", boot_inf), ("snippet_auc", boot_snip)):
        vals = np.asarray([b for b in vals if np.isfinite(b)])
        out[key]["ci"] = [_clean(np.percentile(vals, 2.5)), _clean(np.percentile(vals, 97.5))] if vals.size else [None, None]
    out["infants"] = len(rows)
    out["snippets"] = int(len(scores))
    out["threshold"] = threshold
    out["decision"] = decision
    out["per_infant"] = rows
    return out


def per_phenotype(per_infant: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Infant verdict accuracy per phenotype (rows of :func:`infant_table` with a ``phenotype``; rows without
    one count under their label's name): ``{phenotype: {label, accuracy {value, ci, k, n}, called_abnormal}}``
    in order of first appearance. For an abnormal phenotype the accuracy is its sensitivity; for normal
    infants, the specificity."""
    out: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(r.get("phenotype") or ("normal" if r["label"] == 0 else "abnormal") for r in per_infant):
        rows = [r for r in per_infant if (r.get("phenotype") or ("normal" if r["label"] == 0 else "abnormal")) == name]
        out[name] = {"label": int(rows[0]["label"]),
                     "accuracy": Proportion(sum(bool(r["correct"]) for r in rows), len(rows)).to_dict(),
                     "called_abnormal": sum(r["verdict"] == 1 for r in rows)}
    return out


def phenotype_lines(per_infant: list[dict[str, Any]]) -> list[str]:
    """One line per phenotype: ``absent-fm (abnormal): 5/6 right, 83 % [44-97]``."""
    lines = []
    for name, d in per_phenotype(per_infant).items():
        a = d["accuracy"]
        lo, hi = a["ci"]
        lines.append(f"{name} ({['normal', 'abnormal'][d['label']]}): {a['k']}/{a['n']} right, "
                     f"{100 * (a['value'] or 0):.0f} % [{100 * (lo or 0):.0f}-{100 * (hi or 0):.0f}]")
    return lines


def reliability(scores: np.ndarray, labels: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """Calibration table: for each probability bin, the mean predicted P(abnormal), the observed share
    of abnormal-labelled snippets and the count."""
    s, y = np.asarray(scores, float), np.asarray(labels).astype(int)
    edges = np.linspace(0, 1, bins + 1)
    k = np.clip(np.digitize(s, edges[1:-1]), 0, bins - 1)
    return [{"lo": float(edges[b]), "hi": float(edges[b + 1]), "mean_p": float(s[k == b].mean()) if (k == b).any() else None,
             "observed": float(y[k == b].mean()) if (k == b).any() else None, "n": int((k == b).sum())} for b in range(bins)]


def headline(fig: dict[str, Any]) -> str:
    """One line of the infant-level figures with intervals."""
    def p(key: str) -> str:
        d = fig[key]
        if d.get("value") is None:
            return f"{key} n/a"
        lo, hi = d["ci"]
        ci = f" [{100 * lo:.0f}-{100 * hi:.0f}]" if lo is not None and hi is not None else ""
        return f"{key} {100 * d['value']:.0f} %{ci}"

    return (f"{fig['infants']} infants: " + ", ".join(p(k) for k in ("accuracy", "sensitivity", "specificity", "npv"))
            + f"; infant AUC {_fmt_auc(fig['auc'])}; snippet AUC {_fmt_auc(fig['snippet_auc'])}")


def _fmt_auc(d: dict[str, Any]) -> str:
    if d.get("value") is None:
        return "n/a"
    lo, hi = d.get("ci", [None, None])
    return f"{d['value']:.2f}" + (f" [{lo:.2f}-{hi:.2f}]" if lo is not None else "")
