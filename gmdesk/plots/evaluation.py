"""Evaluation figures: the overlap sweep (paper Fig. 2) and the infant-level ROC / strip / reliability figure."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from gmdesk.evaluation.metrics import reliability
from gmdesk.evaluation.protocol import CVResult
from gmdesk.pipeline.snippets import SnippetSet
from gmdesk.plots.backend import pyplot

logger = logging.getLogger(__name__)


def plot_overlap_sweep(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Paper Fig. 2: accuracy per classifier vs overlap; x labels give overlap and snippet count."""
    plt = pyplot()

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
    plt = pyplot()
    from sklearn.metrics import roc_curve

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
