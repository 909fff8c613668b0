"""Validation protocol (paper sections 3.2–3.3) and what it lacks, beside it.

* **Snippet CV** (the paper's): 5-fold stratified over snippets, ``random_state=42``. Snippets
  of one infant land in both training and test folds, so it measures recognition of seen
  infants' movements (it leaks infants).
* **Infant-grouped CV**: ``StratifiedGroupKFold`` (or leave-one-infant-out) — no infant is in
  both training and test. Reported beside the paper's.
* **Leave-one-phenotype-out** (``lopo``): when the cohort says which movement finding lies behind each
  abnormal label (``phenotype``), each abnormal phenotype is held out in turn — the model is trained on
  the other phenotypes and tested on one it never saw (with a share of the normal infants, each tested
  once). A recipe that holds only on the phenotypes it was trained on is a recipe for those phenotypes.
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
from gmdesk.evaluation.parallel import parallel_map
from gmdesk.io.atomic import atomic_path
from gmdesk.learning.base import SnippetClassifier
from gmdesk.learning.calibration import calibrate, is_platt, out_of_fold_calibration
from gmdesk.pipeline.snippets import SnippetSet
from gmdesk.progress import CancelFn, ProgressFn, check_cancel
from gmdesk.screening.verdict import verdicts_by_infant

logger = logging.getLogger(__name__)

CV_SCHEMES = ("snippet", "infant", "loio", "lopo")
#: Schemes whose folds never share an infant between training and test.
INFANT_SCHEMES = ("infant", "loio", "lopo")
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


def phenotype_folds(infants: list[str], labels: dict[str, int], phenotypes: dict[str, str],
                    seed: int = 42) -> list[tuple[list[str], list[str], str]]:
    """Leave-one-phenotype-out folds: ``(train infants, test infants, held-out phenotype)``.

    Each abnormal phenotype is one fold's test set together with a share of the normal infants (the normal
    infants are dealt out over the folds, shuffled with ``seed``, so each is tested once); the training set
    is everyone else. Needs at least two abnormal phenotypes (a model must learn from another one).
    """
    abnormal = sorted({phenotypes.get(i, "") or "unspecified" for i in infants if labels[i] == 1})
    if len(abnormal) < 2:
        raise GmdeskError(f"leave-one-phenotype-out needs at least two abnormal phenotypes in the cohort's "
                          f"phenotype column; it has {abnormal or 'none'}")
    normals = [i for i in infants if labels[i] == 0]
    order = np.random.default_rng(seed).permutation(len(normals))
    share = {normals[j]: r % len(abnormal) for r, j in enumerate(order)}
    folds = []
    for k, ph in enumerate(abnormal):
        test = [i for i in infants if (labels[i] == 1 and (phenotypes.get(i, "") or "unspecified") == ph)
                or (labels[i] == 0 and share[i] == k)]
        folds.append(([i for i in infants if i not in set(test)], test, ph))
    return folds


def infant_folds(infants: list[str], labels: dict[str, int], scheme: str, n_splits: int = 5, seed: int = 42,
                 phenotypes: dict[str, str] | None = None) -> list[tuple[list[str], list[str], str]]:
    """Folds over infants for an infant-level scheme: ``(train infants, test infants, fold name)``.

    ``infant``: stratified k-fold (``n_splits``, at most one fold per infant of the smaller class);
    ``loio``: leave one infant out; ``lopo``: :func:`phenotype_folds`.
    """
    names = np.array(infants)
    y = np.array([labels[i] for i in infants])
    if scheme == "lopo":
        if not phenotypes:
            raise GmdeskError("leave-one-phenotype-out needs the cohort's phenotype column")
        return phenotype_folds(list(infants), labels, phenotypes, seed)
    if scheme == "loio":
        return [([str(j) for j in names if j != i], [str(i)], str(i)) for i in names]
    if scheme == "infant":
        k = max(2, min(n_splits, len(names), int(min(np.sum(y == 0), np.sum(y == 1))) or len(names)))
        split = StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(names, y, names)
        return [(names[tr].tolist(), names[te].tolist(), f"fold {f + 1}") for f, (tr, te) in enumerate(split)]
    raise GmdeskError(f"unknown infant-level scheme {scheme!r}; choose one of {INFANT_SCHEMES}")


def _labels_by_infant(snips: SnippetSet) -> dict[str, int]:
    return {str(i): int(snips.label[snips.infant_id == i][0]) for i in snips.infants}


def _splits(snips: SnippetSet, scheme: str, n_splits: int, seed: int, phenotypes: dict[str, str] | None = None):
    y, groups = snips.label, snips.infant_id
    if scheme == "snippet":
        return list(StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(snips.X, y))
    if scheme == "infant":
        k = min(n_splits, len(set(groups)))
        return list(StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(snips.X, y, groups))
    if scheme == "loio":
        return list(LeaveOneGroupOut().split(snips.X, y, groups))
    if scheme == "lopo":
        folds = infant_folds([str(i) for i in snips.infants], _labels_by_infant(snips), scheme, n_splits, seed, phenotypes)
        return [(np.flatnonzero(np.isin(groups, tr)), np.flatnonzero(np.isin(groups, te))) for tr, te, _ in folds]
    raise GmdeskError(f"unknown CV scheme {scheme!r}; choose one of {CV_SCHEMES}")


#: What each scheme measures, for tables and plots.
SCHEME_LABELS = {"snippet": "snippet CV (snippets of one infant in train and test)",
                 "infant": "infant-grouped CV (no infant in train and test)",
                 "loio": "leave-one-infant-out CV",
                 "lopo": "leave-one-phenotype-out CV (each abnormal phenotype held out in turn)"}


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
    #: The infant-level test against chance (:mod:`gmdesk.evaluation.significance`), when one was run.
    significance: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        """What the scheme measures, for tables and plots."""
        return SCHEME_LABELS.get(self.scheme, self.scheme)

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
    phenotypes: dict[str, str] | None = None,
    bootstrap: int = 2000,
    n_jobs: int = 1,
) -> CVResult:
    """Cross-validate a classifier on labelled snippets.

    Parameters
    ----------
    snips : SnippetSet
        Labelled snippets (label 0/1).
    estimator : SnippetClassifier
        Unfitted template; cloned for every fold.
    scheme : {"snippet", "infant", "loio", "lopo"}
        Paper's snippet-level stratified folds, infant-grouped stratified folds, leave one infant out,
        or leave one (abnormal) phenotype out.
    phenotypes : dict, optional
        Phenotype of each infant (``lopo`` needs it; the per-infant table gets it).
    bootstrap : int
        Bootstrap resamples of the AUC intervals (0: none, as inner selection loops use).
    n_jobs : int
        Folds fitted at a time (:func:`gmdesk.evaluation.parallel.parallel_map`; 1: here, one after another,
        with ``fit_progress``; otherwise in joblib's workers, without it). Same seed, same numbers either way.
    """
    if np.any(snips.label < 0):
        raise GmdeskError("cross-validation needs every snippet labelled normal or abnormal")
    t0 = time.perf_counter()
    splits = _splits(snips, scheme, n_splits, seed, phenotypes)
    oof = np.full(len(snips), np.nan)
    folds = []
    local = n_jobs == 1
    scores = parallel_map(_fit_fold, [(estimator, snips.X, snips.label, tr, te, fit_progress if local else None,
                                       cancel if local else None) for tr, te in splits],
                          n_jobs, progress, cancel, "cross-validation",
                          describe=lambda k: f"{scheme} fold {k + 1}/{len(splits)}")
    for k, ((tr, te), p) in enumerate(zip(splits, scores, strict=True)):
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

    res = CVResult(scheme, estimator.architecture, snips.feature_set, snips.overlap, folds, oof,
                   time.perf_counter() - t0, normalisation=getattr(snips, "normalisation", "paper"))
    res.infant_level = infant_level(oof, snips.label, snips.infant_id, threshold, seed=seed, n_boot=bootstrap)
    if phenotypes:
        for r in res.infant_level["per_infant"]:
            r["phenotype"] = phenotypes.get(str(r["infant_id"]), "")
    return res


def _fit_fold(estimator: SnippetClassifier, X: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray,
              fit_progress: ProgressFn | None, cancel: CancelFn | None) -> np.ndarray:
    """One fold: a clone of the estimator fitted on ``tr``, its scores of ``te``."""
    est = clone(estimator).fit(X[tr], y[tr], progress=fit_progress, cancel=cancel)
    return est.score_snippets(X[te])


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


def _inner_scheme(inner: str, train: list[str], labels: dict[str, int], phenotypes: dict[str, str] | None) -> str:
    """``auto``: leave-one-phenotype-out when the training infants hold two or more abnormal phenotypes, else
    infant-grouped folds."""
    if inner != "auto":
        return inner
    kinds = {(phenotypes or {}).get(i, "") for i in train if labels[i] == 1}
    return "lopo" if phenotypes and len(kinds - {""}) >= 2 and "" not in kinds else "infant"


@dataclass
class Selection:
    """The recipe an inner cross-validation chose on some infants, with its out-of-fold result there."""

    recipe: Recipe
    key: tuple[float, float]
    result: CVResult
    scheme: str
    scores: dict[str, tuple[float, float]]
    calibration: dict[str, Any] | None


def select_recipe(data: dict[tuple[str, str, int], SnippetSet], recipes: list[Recipe], make: Any, infants: list[str],
                  n_splits: int = 4, seed: int = 42, threshold: float = DEFAULT_THRESHOLD,
                  phenotypes: dict[str, str] | None = None, scheme: str = "auto",
                  cancel: CancelFn | None = None) -> Selection:
    """Choose the recipe with the best pooled infant-level AUC (ties: balanced accuracy; the AUC does not depend on
    a threshold, which the calibration sets afterwards) in a cross-validation on ``infants`` only (``scheme``
    ``auto``: leave-one-phenotype-out when they hold two or more abnormal phenotypes, else infant-grouped
    ``n_splits`` folds); the chosen recipe's out-of-fold scores there give its Platt calibration (recorded as
    refused, and not applied, when its slope is not positive; none for a family calibrated as it is fitted)."""
    first = next(iter(data.values()))
    labels = _labels_by_infant(first)
    scheme = _inner_scheme(scheme, infants, labels, phenotypes)
    best: Selection | None = None
    scores = {}
    for r in recipes:
        check_cancel(cancel, "model selection")
        s = data[(r.feature_set, r.normalisation, r.overlap)]
        sub = s.subset(np.isin(s.infant_id, list(infants)))
        res = cross_validate(sub, make(r), scheme, n_splits, seed, threshold, phenotypes=phenotypes, bootstrap=0,
                             cancel=cancel)
        key = (res.infant_level["auc"]["value"] or 0.0, res.infant_level["balanced_accuracy"]["value"] or 0.0)
        scores[r.name()] = key
        if best is None or key > best.key:
            best = Selection(r, key, res, scheme, scores, None)
    assert best is not None
    chosen = data[(best.recipe.feature_set, best.recipe.normalisation, best.recipe.overlap)]
    sub = chosen.subset(np.isin(chosen.infant_id, list(infants)))
    best.calibration, _ = out_of_fold_calibration(make(best.recipe), best.result.oof_scores, sub.label, sub.infant_id,
                                                  threshold, f"out-of-fold scores of the selection's {scheme} CV")
    return best


def _outer_fold(data: dict[tuple[str, str, int], SnippetSet], recipes: list[Recipe], make: Any, train_inf: list[str],
                test_inf: list[str], inner_splits: int, seed: int, threshold: float, phenotypes: dict[str, str] | None,
                inner: str, cancel: CancelFn | None) -> tuple[Selection, np.ndarray, SnippetSet]:
    """One outer fold of :func:`nested_selection`: the recipe chosen on the training infants, refitted on them,
    its raw scores of the test infants, and those infants' snippets."""
    sel = select_recipe(data, recipes, make, train_inf, inner_splits, seed, threshold, phenotypes, inner, cancel)
    best = sel.recipe
    s = data[(best.feature_set, best.normalisation, best.overlap)]
    tr, te = np.isin(s.infant_id, train_inf), np.isin(s.infant_id, test_inf)
    est = clone(make(best)).fit(s.X[tr], s.label[tr])
    return sel, est.score_snippets(s.X[te]), s.subset(te)


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
    scheme: str = "infant",
    phenotypes: dict[str, str] | None = None,
    inner: str = "auto",
    n_jobs: int = 1,
) -> dict[str, Any]:
    """Cross-validation whose model selection happens inside each outer training fold.

    For every outer fold (``scheme``: infant-grouped ``n_splits`` folds, leave-one-infant-out or
    leave-one-phenotype-out), :func:`select_recipe` scores each recipe by an inner cross-validation on the
    outer training infants only; the best recipe is refitted on all outer training infants, calibrated on its
    inner out-of-fold scores (as :func:`select_recipe` does for a final model) and scores the outer test
    infants, which no choice ever looked at.

    Parameters
    ----------
    data : dict
        Snippets of the same infants for each (feature set, normalisation, overlap) a recipe uses.
    make : callable
        ``make(recipe) -> SnippetClassifier`` (unfitted).
    phenotypes : dict, optional
        Phenotype of each infant (``lopo`` needs it; ``inner="auto"`` uses it).
    n_jobs : int
        Outer folds run at a time (:func:`gmdesk.evaluation.parallel.parallel_map`); same seed, same numbers.

    Returns
    -------
    dict
        ``chosen`` (the recipe per outer fold), ``infant_level`` (pooled calibrated outer out-of-fold
        figures), ``uncalibrated_infant_level``, ``per_fold`` rows, ``oof_scores`` (calibrated),
        ``labels``, ``infant_ids``, ``inner_scores``, ``scheme``.
    """
    first = next(iter(data.values()))
    labels = _labels_by_infant(first)
    infants = [str(i) for i in first.infants]
    folds = infant_folds(infants, labels, scheme, n_splits, seed, phenotypes)
    scores: dict[str, float] = {}
    chosen, rows = [], []
    pooled_p, pooled_raw, pooled_y, pooled_id = [], [], [], []
    outer = parallel_map(_outer_fold, [(data, recipes, make, train_inf, test_inf, inner_splits, seed, threshold, phenotypes,
                                        inner, cancel if n_jobs == 1 else None) for train_inf, test_inf, _ in folds],
                         n_jobs, progress, cancel, "nested selection", describe=lambda k: folds[k][2])
    for k, ((_, test_inf, name), (sel, raw, s_te)) in enumerate(zip(folds, outer, strict=True)):
        scores |= {f"{k}:{n}": v[0] for n, v in sel.scores.items()}
        best = sel.recipe
        pooled_raw.append(raw)
        pooled_p.append(calibrate(raw, sel.calibration))
        pooled_y.append(s_te.label)
        pooled_id.append(s_te.infant_id)
        chosen.append(best.name())
        rows.append({"fold": k + 1, "held_out": name, "chosen": best.name(), "inner_scheme": sel.scheme,
                     "inner_auc": sel.key[0], "inner_balanced_accuracy": sel.key[1],
                     "calibrated": is_platt(sel.calibration), "test_infants": " ".join(sorted(test_inf))})
    p, raw, y, ids = (np.concatenate(a) for a in (pooled_p, pooled_raw, pooled_y, pooled_id))
    lvl = infant_level(p, y, ids, threshold, seed=seed)
    if phenotypes:
        for r in lvl["per_infant"]:
            r["phenotype"] = phenotypes.get(str(r["infant_id"]), "")
    return {"chosen": chosen, "per_fold": rows, "infant_level": lvl, "scheme": scheme,
            "uncalibrated_infant_level": infant_level(raw, y, ids, threshold, seed=seed, n_boot=0),
            "oof_scores": p, "labels": y, "infant_ids": ids, "inner_scores": scores}
