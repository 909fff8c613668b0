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
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import LeaveOneGroupOut, StratifiedGroupKFold, StratifiedKFold

from gmdesk.classifiers import SnippetClassifier
from gmdesk.errors import GmdeskError
from gmdesk.progress import CancelFn, ProgressFn, check_cancel, report
from gmdesk.snippets import SnippetSet
from gmdesk.verdict import DEFAULT_DECISION, DEFAULT_THRESHOLD, verdicts_by_infant

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

    def __post_init__(self) -> None:
        for m in METRICS:
            vals = np.array([f[m] for f in self.folds], dtype=float)
            ok = vals[np.isfinite(vals)]
            self.summary[m] = (float(ok.mean()), float(ok.std())) if ok.size else (float("nan"), float("nan"))

    def row(self) -> dict[str, Any]:
        """One flat row for tables."""
        r: dict[str, Any] = {"scheme": self.scheme, "classifier": self.architecture, "feature_set": self.feature_set,
                             "overlap": self.overlap, "folds": len(self.folds), "seconds": round(self.seconds, 1)}
        for m, (mu, sd) in self.summary.items():
            r[f"{m}_mean"], r[f"{m}_sd"] = round(mu, 4), round(sd, 4)
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
        verdicts = verdicts_by_infant(p, snips.infant_id[te], threshold)
        truth = {i: int(snips.label[te][snips.infant_id[te] == i][0]) for i in verdicts}
        m["infant_accuracy"] = float(np.mean([verdicts[i].label == truth[i] for i in verdicts]))
        m |= {"fold": k + 1, "n_train": int(len(tr)), "n_test": int(len(te)),
              "test_infants": sorted(set(snips.infant_id[te].tolist())),
              "shared_infants": sorted(set(snips.infant_id[te]) & set(snips.infant_id[tr]))}
        folds.append(m)
    report(progress, len(splits), len(splits), "done")
    return CVResult(scheme, estimator.architecture, snips.feature_set, snips.overlap, folds, oof,
                    time.perf_counter() - t0)


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
    for iid, v in verdicts_by_infant(p, test.infant_id, threshold).items():
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
    from gmdesk.io.atomic import atomic_path

    path = Path(path)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    return path


def plot_overlap_sweep(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Paper Fig. 2: accuracy per classifier vs overlap; x labels give overlap and snippet count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    overlaps = sorted({r["overlap"] for r in rows}, reverse=True)
    counts = {r["overlap"]: r["n_snippets"] for r in rows}
    for (clf, scheme) in dict.fromkeys((r["classifier"], r["scheme"]) for r in rows):
        sel = sorted((r for r in rows if r["classifier"] == clf and r["scheme"] == scheme),
                     key=lambda r: -r["overlap"])
        xs = [overlaps.index(r["overlap"]) for r in sel]
        ax.errorbar(xs, [100 * r["accuracy_mean"] for r in sel], yerr=[100 * r["accuracy_sd"] for r in sel],
                    marker="o", capsize=3, linestyle="-" if scheme == "snippet" else "--",
                    label=f"{clf} ({scheme} CV)")
    ax.set_xticks(range(len(overlaps)), [f"{o}\n{counts[o]}" for o in overlaps])
    ax.set_xlabel("window overlap (frames) / number of snippets")
    ax.set_ylabel("snippet accuracy (%)")
    ax.set_ylim(0, 105)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Snippet-level accuracy across overlaps (synthetic data unless stated)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
