"""Insight analyses (paper section 3.5 / Fig. 3): ICA of the feature sets and cosine
similarity of 1D-CNN embeddings."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.decomposition import FastICA
from sklearn.model_selection import StratifiedKFold

from gmdesk.pipeline.snippets import SnippetSet

logger = logging.getLogger(__name__)


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


