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
    #: Infant-level figures with 95 % intervals from the pooled out-of-fold scores (:mod:`gmdesk.metrics`).
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
        m |= {"fold": k + 1, "n_train": int(len(tr)), "n_test": int(len(te)),
              "test_infants": sorted(set(snips.infant_id[te].tolist())),
              "shared_infants": sorted(set(snips.infant_id[te]) & set(snips.infant_id[tr]))}
        folds.append(m)
    report(progress, len(splits), len(splits), "done")
    from gmdesk.metrics import infant_level

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
    for (clf, scheme) in dict.fromkeys((r["classifier"], r["scheme"]) for r in rows if "fold_accuracy_mean" in r):
        sel = sorted((r for r in rows if r["classifier"] == clf and r["scheme"] == scheme),
                     key=lambda r: -r["overlap"])
        xs = [overlaps.index(r["overlap"]) for r in sel]
        ax.errorbar(xs, [100 * r["fold_accuracy_mean"] for r in sel], yerr=[100 * r["fold_accuracy_sd"] for r in sel],
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


def plot_infant_level(result: CVResult, snips: SnippetSet, path: str | Path, title: str = "") -> Path:
    """One figure for a cross-validation: ROC curves (pooled snippets and infants, out of fold), the
    per-infant strip (share of abnormal snippets, coloured by the true label, with the verdict line) and
    the reliability diagram of the pooled snippet probabilities."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    from gmdesk.metrics import reliability

    fig = result.infant_level
    rows = fig["per_infant"]
    path = Path(path)
    f, axes = plt.subplots(1, 3, figsize=(13, 4.2), dpi=110)
    ax = axes[0]
    y, s = snips.label, result.oof_scores
    if len(set(y.tolist())) == 2:
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, color="0.5", label=f"snippets, AUC {fig['snippet_auc']['value']:.2f}")
    yi = np.array([r["label"] for r in rows])
    si = np.array([r["share_abnormal"] for r in rows])
    if len(set(yi.tolist())) == 2:
        fpr, tpr, _ = roc_curve(yi, si)
        auc = fig["auc"]
        ci = auc.get("ci") or [None, None]
        lab = f"infants, AUC {auc['value']:.2f}" + (f" [{ci[0]:.2f}-{ci[1]:.2f}]" if ci[0] is not None else "")
        ax.plot(fpr, tpr, color="black", lw=2, drawstyle="steps-post", label=lab)
    ax.plot([0, 1], [0, 1], ":", color="0.7")
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("ROC, out of fold", fontsize=9)
    ax = axes[1]
    rng = np.random.default_rng(0)
    for lab, colour, name in ((0, "tab:blue", "normal infants"), (1, "tab:red", "abnormal infants")):
        sel = yi == lab
        ax.scatter(si[sel], lab + rng.uniform(-0.15, 0.15, sel.sum()), color=colour, label=name, s=28, edgecolor="k")
    cut = 1 - fig["threshold"]
    ax.axvline(cut, color="k", ls="--", lw=1)
    ax.text(cut, 1.45, f" abnormal from {100 * cut:.0f} % abnormal", fontsize=7, va="top")
    ax.set_yticks([0, 1], ["normal", "abnormal"])
    ax.set_ylim(-0.5, 1.5)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("share of the infant's snippets classified abnormal")
    acc = fig["accuracy"]
    ax.set_title(f"per infant: {acc['k']}/{acc['n']} right (95 % CI {100 * acc['ci'][0]:.0f}-{100 * acc['ci'][1]:.0f} %)",
                 fontsize=9)
    ax = axes[2]
    rel = [b for b in reliability(s, y) if b["n"]]
    ax.plot([0, 1], [0, 1], ":", color="0.7")
    ax.plot([b["mean_p"] for b in rel], [b["observed"] for b in rel], "o-", color="black")
    for b in rel:
        ax.annotate(str(b["n"]), (b["mean_p"], b["observed"]), fontsize=6, xytext=(3, -8), textcoords="offset points")
    ax.set_xlabel("mean predicted P(abnormal)")
    ax.set_ylabel("share of abnormal-labelled snippets")
    ax.set_title("reliability (snippets, out of fold)", fontsize=9)
    f.suptitle(title or f"{result.architecture} {result.feature_set} ({result.normalisation}), overlap {result.overlap}: "
               f"{result.label}", fontsize=10)
    f.tight_layout()
    f.savefig(path)
    plt.close(f)
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
    from gmdesk.metrics import infant_level

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
