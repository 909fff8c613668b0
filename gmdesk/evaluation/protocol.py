"""Validation protocol (paper sections 3.2–3.3) and what it lacks, beside it.

* **Snippet CV** (the paper's): 5-fold stratified over snippets, ``random_state=42``. Snippets
  of one infant land in both training and test folds, so it measures recognition of seen
  infants' movements (it leaks infants).
* **Infant-grouped CV**: ``StratifiedGroupKFold`` (or leave-one-infant-out) — no infant is in
  both training and test. Reported beside the paper's.
* Within each round the classifier's own ``fit`` splits 90 % train / 10 % validation (half per
  class), augments the training part with right–left flips and fits the z-score on it.
* **Overlap sweep** (paper Fig. 2) and **external validation** on unseen infants.
"""

from __future__ import annotations

import csv
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import LeaveOneGroupOut, StratifiedGroupKFold, StratifiedKFold

from gmdesk.constants import DEFAULT_DECISION, DEFAULT_THRESHOLD
from gmdesk.errors import GmdeskError
from gmdesk.evaluation.metrics import infant_level
from gmdesk.io.atomic import atomic_path
from gmdesk.learning.base import SnippetClassifier
from gmdesk.pipeline.snippets import SnippetSet
from gmdesk.progress import CancelFn, ProgressFn, check_cancel, report
from gmdesk.screening.verdict import verdicts_by_infant

logger = logging.getLogger(__name__)

CV_SCHEMES = ("snippet", "infant", "loio")
METRICS = ("accuracy", "balanced_accuracy", "sensitivity", "specificity", "roc_auc", "infant_accuracy")


def snippet_metrics(y: np.ndarray, p: np.ndarray, decision: float = DEFAULT_DECISION) -> dict[str, float]:
    """Accuracy, balanced accuracy, sensitivity (abnormal recall), specificity, ROC AUC (NaN
    when a class is absent)."""
    y = np.asarray(y).astype(int)
    pred = (np.asarray(p) >= decision).astype(int)
    pos, neg = y == 1, y == 0
    sens = float((pred[pos] == 1).mean()) if pos.any() else float("nan")
    spec = float((pred[neg] == 0).mean()) if neg.any() else float("nan")
    bal = float(np.nanmean([sens, spec])) if pos.any() or neg.any() else float("nan")
    auc = float(roc_auc_score(y, p)) if pos.any() and neg.any() else float("nan")
    return {"accuracy": float((pred == y).mean()), "balanced_accuracy": bal, "sensitivity": sens,
            "specificity": spec, "roc_auc": auc}


def _splits(snips: SnippetSet, scheme: str, n_splits: int, seed: int):
    y, groups = snips.label, snips.infant_id
    if scheme == "snippet":
        return list(StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(snips.X, y))
    if scheme == "infant":
        k = min(n_splits, len(set(groups)))
        return list(StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(snips.X, y, groups))
    if scheme == "loio":
        return list(LeaveOneGroupOut().split(snips.X, y, groups))
    raise GmdeskError(f"unknown CV scheme {scheme!r}; choose one of {CV_SCHEMES}")


@dataclass
class CVResult:
    """Per-fold metrics, their mean ± sd, and out-of-fold scores of one CV run."""

    scheme: str
    architecture: str
    feature_set: str
    overlap: int
    folds: list[dict[str, Any]]
    oof_scores: np.ndarray
    seconds: float
    summary: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: Infant-level figures with 95 % intervals from the pooled out-of-fold scores (:mod:`gmdesk.evaluation.metrics`).
    infant_level: dict[str, Any] = field(default_factory=dict)
    normalisation: str = "paper"

    @property
    def label(self) -> str:
        """What the scheme measures, for tables and plots."""
        return {"snippet": "snippet CV (snippets of one infant in train and test)",
                "infant": "infant-grouped CV (no infant in train and test)",
                "loio": "leave-one-infant-out CV"}.get(self.scheme, self.scheme)

    def __post_init__(self) -> None:
        for m in METRICS:
            vals = np.array([f[m] for f in self.folds], dtype=float)
            ok = vals[np.isfinite(vals)]
            self.summary[m] = (float(ok.mean()), float(ok.std())) if ok.size else (float("nan"), float("nan"))

    def row(self) -> dict[str, Any]:
        """One flat row for tables."""
        r: dict[str, Any] = {"scheme": self.scheme, "classifier": self.architecture, "feature_set": self.feature_set,
                             "normalisation": self.normalisation, "overlap": self.overlap, "folds": len(self.folds),
                             "seconds": round(self.seconds, 1)}
        for key in ("accuracy", "sensitivity", "specificity", "npv", "balanced_accuracy", "auc", "snippet_auc"):
            d = self.infant_level.get(key, {})
            lo, hi = d.get("ci", [None, None]) or [None, None]
            r[f"infant_{key}"], r[f"infant_{key}_lo"], r[f"infant_{key}_hi"] = d.get("value"), lo, hi
        for m, (mu, sd) in self.summary.items():
            r[f"fold_{m}_mean"], r[f"fold_{m}_sd"] = round(mu, 4), round(sd, 4)
        return r


def cross_validate(
    snips: SnippetSet,
    estimator: SnippetClassifier,
    scheme: str = "snippet",
    n_splits: int = 5,
    seed: int = 42,
    threshold: float = DEFAULT_THRESHOLD,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    fit_progress: ProgressFn | None = None,
) -> CVResult:
    """Cross-validate a classifier on labelled snippets.

    Parameters
    ----------
    snips : SnippetSet
        Labelled snippets (label 0/1).
    estimator : SnippetClassifier
        Unfitted template; cloned for every fold.
    scheme : {"snippet", "infant", "loio"}
        Paper's snippet-level stratified folds, infant-grouped stratified folds, or leave one
        infant out.
    """
    if np.any(snips.label < 0):
        raise GmdeskError("cross-validation needs every snippet labelled normal or abnormal")
    t0 = time.perf_counter()
    splits = _splits(snips, scheme, n_splits, seed)
    oof = np.full(len(snips), np.nan)
    folds = []
    for k, (tr, te) in enumerate(splits):
        check_cancel(cancel, "cross-validation")
        report(progress, k, len(splits), f"{scheme} fold {k + 1}/{len(splits)}")
        est = clone(estimator).fit(snips.X[tr], snips.label[tr], progress=fit_progress, cancel=cancel)
        p = est.score_snippets(snips.X[te])
        oof[te] = p
        m = snippet_metrics(snips.label[te], p)
        verdicts = verdicts_by_infant(p, snips.infant_id[te], threshold, window=snips.window, overlap=snips.overlap)
        truth = {i: int(snips.label[te][snips.infant_id[te] == i][0]) for i in verdicts}
        m["infant_accuracy"] = float(np.mean([verdicts[i].label == truth[i] for i in verdicts]))
        logger.debug("%s fold %d/%d: snippet accuracy %.3f, infant accuracy %.3f", scheme, k + 1, len(splits),
                     m.get("accuracy", float("nan")), m["infant_accuracy"])
        m |= {"fold": k + 1, "n_train": int(len(tr)), "n_test": int(len(te)),
              "test_infants": sorted(set(snips.infant_id[te].tolist())),
              "shared_infants": sorted(set(snips.infant_id[te]) & set(snips.infant_id[tr]))}
        folds.append(m)
    report(progress, len(splits), len(splits), "done")

    res = CVResult(scheme, estimator.architecture, snips.feature_set, snips.overlap, folds, oof,
                   time.perf_counter() - t0, normalisation=getattr(snips, "normalisation", "paper"))
    res.infant_level = infant_level(oof, snips.label, snips.infant_id, threshold, seed=seed)
    return res


def external_validation(train: SnippetSet, test: SnippetSet, estimator: SnippetClassifier,
                        threshold: float = DEFAULT_THRESHOLD) -> tuple[SnippetClassifier, dict[str, Any]]:
    """Train on one cohort, test on unseen infants: snippet metrics and per-infant verdicts."""
    overlap_ids = set(train.infant_id) & set(test.infant_id)
    if overlap_ids:
        raise GmdeskError(f"external infants also in training data: {sorted(overlap_ids)}")
    est = clone(estimator).fit(train.X, train.label)
    p = est.score_snippets(test.X)
    res: dict[str, Any] = snippet_metrics(test.label, p) | {"n_snippets": int(len(test))}
    infants = []
    for iid, v in verdicts_by_infant(p, test.infant_id, threshold, window=test.window, overlap=test.overlap).items():
        mask = test.infant_id == iid
        lab = int(test.label[mask][0])
        infants.append(v.to_dict() | {"label": ["normal", "abnormal"][lab], "correct": v.label == lab,
                                      "snippet_accuracy": float(((p[mask] >= 0.5) == lab).mean())})
    res["infants"] = infants
    res["infant_accuracy"] = float(np.mean([i["correct"] for i in infants]))
    res["scores"] = p.tolist()
    return est, res


def write_table(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write rows as CSV atomically."""

    path = Path(path)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    return path


@dataclass(frozen=True)
class Recipe:
    """What a model is made of, as the nested selection chooses it."""

    classifier: str
    feature_set: str
    normalisation: str
    overlap: int

    def name(self) -> str:
        return f"{self.classifier}/{self.feature_set}/{self.normalisation}/o{self.overlap}"


def nested_selection(
    data: dict[tuple[str, str, int], SnippetSet],
    recipes: list[Recipe],
    make: Any,
    n_splits: int = 5,
    inner_splits: int = 4,
    seed: int = 42,
    threshold: float = DEFAULT_THRESHOLD,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> dict[str, Any]:
    """Infant-grouped CV whose model selection happens inside each outer training fold.

    For every outer fold, each recipe is scored by an inner infant-grouped CV on the outer training
    infants only (the inner pooled infant-level balanced accuracy, ties broken by the infant AUC); the
    best recipe is refitted on all outer training infants and scores the outer test infants, which
    no choice ever looked at.

    Parameters
    ----------
    data : dict
        Snippets of the same infants for each (feature set, normalisation, overlap) a recipe uses.
    make : callable
        ``make(recipe) -> SnippetClassifier`` (unfitted).

    Returns
    -------
    dict
        ``chosen`` (the recipe per outer fold), ``infant_level`` (pooled outer out-of-fold figures),
        ``per_fold`` rows.
    """

    first = next(iter(data.values()))
    infants = np.array(first.infants)
    labels = np.array([int(first.label[first.infant_id == i][0]) for i in infants])
    outer = StratifiedGroupKFold(min(n_splits, len(infants)), shuffle=True, random_state=seed)
    scores: dict[str, float] = {}
    chosen, rows = [], []
    pooled_p, pooled_y, pooled_id = [], [], []
    for k, (tr_i, te_i) in enumerate(outer.split(infants, labels, infants)):
        check_cancel(cancel, "nested selection")
        train_inf, test_inf = set(infants[tr_i]), set(infants[te_i])
        best, best_key = None, (-1.0, -1.0)
        for r in recipes:
            s = data[(r.feature_set, r.normalisation, r.overlap)]
            sub = s.subset(np.isin(s.infant_id, list(train_inf)))
            res = cross_validate(sub, make(r), "infant", inner_splits, seed, threshold)
            key = (res.infant_level["balanced_accuracy"]["value"] or 0.0, res.infant_level["auc"]["value"] or 0.0)
            scores[f"{k}:{r.name()}"] = key[0]
            if key > best_key:
                best, best_key = r, key
        assert best is not None
        s = data[(best.feature_set, best.normalisation, best.overlap)]
        tr, te = np.isin(s.infant_id, list(train_inf)), np.isin(s.infant_id, list(test_inf))
        est = clone(make(best)).fit(s.X[tr], s.label[tr])
        p = est.score_snippets(s.X[te])
        pooled_p.append(p)
        pooled_y.append(s.label[te])
        pooled_id.append(s.infant_id[te])
        chosen.append(best.name())
        rows.append({"fold": k + 1, "chosen": best.name(), "inner_balanced_accuracy": best_key[0],
                     "test_infants": " ".join(sorted(test_inf))})
        report(progress, k + 1, outer.get_n_splits(), f"fold {k + 1}: {best.name()}")
    p, y, ids = np.concatenate(pooled_p), np.concatenate(pooled_y), np.concatenate(pooled_id)
    return {"chosen": chosen, "per_fold": rows, "infant_level": infant_level(p, y, ids, threshold, seed=seed),
            "oof_scores": p, "labels": y, "infant_ids": ids, "inner_scores": scores}
