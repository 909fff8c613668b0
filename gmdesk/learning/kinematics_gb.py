"""``kinematics-gb``: scikit-learn's GradientBoostingClassifier on the standardised movement descriptors
(150 trees, depth 2, learning rate 0.05, subsample 0.8, at least 5 snippets a leaf).

The trees are kept as plain arrays (:func:`export_trees`, in ``kinematics.npz`` + ``kinematics.json``, see
:mod:`gmdesk.learning.descriptors`) and walked with NumPy (:func:`trees_decision`): no pickle.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np

from gmdesk.learning.descriptors import DescriptorClassifier
from gmdesk.learning.params import Constraint, OneOf

logger = logging.getLogger(__name__)


def export_trees(gb: Any) -> dict[str, Any]:
    """A fitted binary GradientBoostingClassifier as plain arrays (no pickle): every tree's nodes one
    after another, ``offsets`` where each tree starts, the initial raw score and the learning rate."""
    trees = [est[0].tree_ for est in gb.estimators_]
    sizes = [t.node_count for t in trees]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    prior = float(np.clip(np.mean(gb.init_.class_prior_[1]), 1e-12, 1 - 1e-12))
    return {"model": "gb", "left": np.concatenate([t.children_left for t in trees]).astype(np.int64),
            "right": np.concatenate([t.children_right for t in trees]).astype(np.int64),
            "feature": np.concatenate([t.feature for t in trees]).astype(np.int64),
            "threshold": np.concatenate([t.threshold for t in trees]).astype(np.float64),
            "value": np.concatenate([t.value[:, 0, 0] for t in trees]).astype(np.float64),
            "offsets": offsets, "init": float(np.log(prior / (1 - prior))), "learning_rate": float(gb.learning_rate)}


def trees_decision(k: dict[str, Any], Ds: np.ndarray) -> np.ndarray:
    """The raw score (log-odds of abnormal) of trees exported by :func:`export_trees` for rows ``Ds``."""
    out = np.full(len(Ds), float(k["init"]))
    left, right, feat, thr, val, offsets = k["left"], k["right"], k["feature"], k["threshold"], k["value"], k["offsets"]
    for t in range(len(offsets) - 1):
        node = np.full(len(Ds), offsets[t])
        for _ in range(64):
            leaf = left[node] < 0
            if leaf.all():
                break
            go = Ds[np.arange(len(Ds)), np.maximum(feat[node], 0)] <= thr[node]
            nxt = np.where(go, left[node], right[node]) + offsets[t]
            node = np.where(leaf, node, nxt)
        out += float(k["learning_rate"]) * val[node]
    return out


class KinematicsGradientBoosting(DescriptorClassifier):
    """Gradient-boosted trees on standardised movement descriptors (``C`` is not used)."""

    architectures: ClassVar[tuple[str, ...]] = ("kinematics-gb",)
    model: ClassVar[str] = "gb"
    _parameter_constraints: ClassVar[dict[str, list[Constraint | None]]] = {
        **DescriptorClassifier._parameter_constraints, "architecture": [OneOf(architectures)]}

    def _fit_descriptors(self, Ds: np.ndarray, y: np.ndarray) -> tuple[dict[str, Any], Any]:
        from sklearn.ensemble import GradientBoostingClassifier

        gb = GradientBoostingClassifier(n_estimators=150, max_depth=2, learning_rate=0.05, subsample=0.8,
                                        min_samples_leaf=5, random_state=self.seed).fit(Ds, y)
        return export_trees(gb), gb.decision_function

    def _decision(self, Ds: np.ndarray) -> np.ndarray:
        return trees_decision(self.kin_, Ds)
