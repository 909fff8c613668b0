"""Insight figures: ICA densities per fold (paper Fig. 3A) and snippet-similarity heatmaps (Fig. 3B)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from gmdesk.plots.backend import pyplot

logger = logging.getLogger(__name__)


def plot_ica(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Paper Fig. 3A: distributions of the first component, normal vs abnormal, per feature set
    (rows) and fold (columns)."""
    plt = pyplot()

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


def plot_similarity(sim: np.ndarray, names: list[str], path: str | Path, title: str = "") -> Path:
    """Paper Fig. 3B: heatmap of cosine similarity with snippet labels on both axes."""
    plt = pyplot()

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
