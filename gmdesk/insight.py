"""Insight analyses (paper section 3.5 / Fig. 3): ICA of the feature sets and cosine
similarity of 1D-CNN embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.decomposition import FastICA
from sklearn.model_selection import StratifiedKFold

from gmdesk.snippets import SnippetSet


def ica_components(snips: SnippetSet, n_splits: int = 5, seed: int = 42) -> list[dict[str, Any]]:
    """FastICA (2 components) per fold: fitted on the fold's training snippets (flattened,
    z-scored with training statistics), applied to its test snippets.

    Returns one row per test snippet: fold, infant, start, label, ic1, ic2.
    """
    rows = []
    folds = StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(snips.X, snips.label)
    for k, (tr, te) in enumerate(folds):
        Xtr = snips.X[tr].reshape(len(tr), -1).astype(np.float64)
        mu, sd = Xtr.mean(0), Xtr.std(0)
        sd[sd < 1e-8] = 1.0
        ica = FastICA(n_components=2, random_state=seed, max_iter=1000, whiten="unit-variance")
        ica.fit((Xtr - mu) / sd)
        comp = ica.transform((snips.X[te].reshape(len(te), -1) - mu) / sd)
        # orient the first component so abnormal has the larger median (sign of ICA is arbitrary)
        lab = snips.label[te]
        if (lab == 1).any() and (lab == 0).any() and np.median(comp[lab == 1, 0]) < np.median(comp[lab == 0, 0]):
            comp[:, 0] *= -1
        for i, idx in enumerate(te):
            rows.append({"feature_set": snips.feature_set, "fold": k + 1, "infant_id": str(snips.infant_id[idx]),
                         "start": int(snips.start[idx]), "label": int(snips.label[idx]),
                         "ic1": float(comp[i, 0]), "ic2": float(comp[i, 1])})
    return rows


def plot_ica(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Paper Fig. 3A: distributions of the first component, normal vs abnormal, per feature set
    (rows) and fold (columns)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(dict.fromkeys(r["feature_set"] for r in rows))
    folds = sorted({r["fold"] for r in rows})
    fig, axes = plt.subplots(len(sets), len(folds), figsize=(2.6 * len(folds), 2.2 * len(sets)), dpi=110,
                             squeeze=False)
    for i, fs in enumerate(sets):
        for j, f in enumerate(folds):
            ax = axes[i, j]
            sel = [r for r in rows if r["feature_set"] == fs and r["fold"] == f]
            vals = np.array([r["ic1"] for r in sel])
            lab = np.array([r["label"] for r in sel])
            bins = np.linspace(vals.min(), vals.max(), 20) if len(vals) else 10
            ax.hist(vals[lab == 0], bins=bins, alpha=0.6, color="tab:blue", label="normal", density=True)
            ax.hist(vals[lab == 1], bins=bins, alpha=0.6, color="tab:red", label="abnormal", density=True)
            ax.set_title(f"{fs} fold {f}", fontsize=8)
            ax.tick_params(labelsize=6)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("First independent component, normal vs abnormal (per fold)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def cosine_similarity_matrix(emb: np.ndarray, other: np.ndarray | None = None) -> np.ndarray:
    """Cosine similarity between every pair of embedding rows (of ``emb`` with ``other``, default
    ``emb`` itself); a zero row is similar to nothing (0)."""
    def unit(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=np.float64)
        norm = np.linalg.norm(a, axis=1, keepdims=True)
        return a / np.where(norm > 0, norm, 1.0)

    u = unit(emb)
    return u @ (u if other is None else unit(other)).T


def snippet_labels(snips: SnippetSet) -> list[str]:
    """Row/column labels ``Normal-N01@450``: label, infant and start frame of each snippet."""
    names = ("Normal", "Abnormal", "Unknown")
    return [f"{names[lab]}-{iid}@{start}" for iid, lab, start in
            zip(snips.infant_id.tolist(), snips.label.tolist(), snips.start.tolist(), strict=True)]


def abnormal_closer_to_normal(sim: np.ndarray, labels: np.ndarray, names: list[str]) -> list[dict[str, Any]]:
    """Abnormal-labelled snippets whose mean similarity to normal snippets exceeds their mean
    similarity to the other abnormal snippets."""
    labels = np.asarray(labels)
    out = []
    for i in np.flatnonzero(labels == 1):
        others = labels == 1
        others[i] = False
        to_n, to_a = sim[i, labels == 0].mean(), sim[i, others].mean() if others.any() else np.nan
        if to_n > to_a:
            out.append({"snippet": names[i], "mean_similarity_to_normal": float(to_n),
                        "mean_similarity_to_abnormal": float(to_a)})
    return sorted(out, key=lambda d: d["mean_similarity_to_abnormal"] - d["mean_similarity_to_normal"])


def plot_similarity(sim: np.ndarray, names: list[str], path: str | Path, title: str = "") -> Path:
    """Paper Fig. 3B: heatmap of cosine similarity with snippet labels on both axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(names)
    size = min(14, 3 + 0.16 * n)
    fig, ax = plt.subplots(figsize=(size + 1, size), dpi=110)
    im = ax.imshow(sim, cmap="viridis", vmin=-1, vmax=1)
    step = max(1, n // 60)
    ax.set_xticks(range(0, n, step), names[::step], rotation=90, fontsize=5)
    ax.set_yticks(range(0, n, step), names[::step], fontsize=5)
    fig.colorbar(im, ax=ax, fraction=0.04, label="cosine similarity")
    ax.set_title(title or "Cosine similarity of 1D-CNN embeddings")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
