"""Support vector machines on flattened z-scored snippets (``svm-rbf``: RBF kernel; ``svm-poly``: polynomial
kernel of degree 3), with Platt scaling of the decision value into P(abnormal).

Learned: the support vectors, dual coefficients, intercept and kernel settings (``svm.npz`` + ``svm.json``);
snippets are scored with NumPy from them, so a bundle needs no pickle.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from gmdesk.errors import GmdeskError
from gmdesk.learning.base import SnippetClassifier, load_parts, save_parts
from gmdesk.learning.params import Constraint, OneOf
from gmdesk.progress import CancelFn, ProgressFn

logger = logging.getLogger(__name__)

_META = ("kernel", "degree", "gamma", "coef0", "intercept")


class SVMClassifier(SnippetClassifier):
    """SVC on the flattened z-scored snippet (``C``, default 1.0; ``gamma="scale"``); P(abnormal) by Platt
    scaling fitted on 5-fold out-of-fold decision values, as libsvm does. ``embed`` returns the flattened
    z-scored snippet (an SVM has no hidden layer). Network parameters (epochs ...) are not used."""

    architectures: ClassVar[tuple[str, ...]] = ("svm-rbf", "svm-poly")
    _parameter_constraints: ClassVar[dict[str, list[Constraint | None]]] = {
        **SnippetClassifier._parameter_constraints, "architecture": [OneOf(architectures)]}

    def _fit_model(self, X_tr: np.ndarray, y_tr: np.ndarray, X_va: np.ndarray, y_va: np.ndarray,
                   progress: ProgressFn | None, cancel: CancelFn | None) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
        from sklearn.svm import SVC

        spec = self.spec
        Xs = self.standardise(X_tr)
        flat = Xs.reshape(len(Xs), -1).astype(np.float64)
        svc = SVC(kernel=spec["kernel"], degree=spec.get("degree", 3), C=self.C if self.C is not None else 1.0,
                  gamma="scale", random_state=self.seed)
        folds = StratifiedKFold(5, shuffle=True, random_state=self.seed)
        oof = cross_val_predict(svc, flat, y_tr, cv=folds, method="decision_function")
        lr = LogisticRegression(C=1e6).fit(oof.reshape(-1, 1), y_tr)
        svc.fit(flat, y_tr)
        self.svm_ = {
            "kernel": spec["kernel"], "degree": int(spec.get("degree", 3)), "gamma": float(svc._gamma),
            "coef0": float(svc.coef0), "support_vectors": np.asarray(svc.support_vectors_),
            "dual_coef": np.asarray(svc.dual_coef_).ravel(), "intercept": float(svc.intercept_[0]),
        }
        # P(abnormal) = 1 / (1 + exp(A f + B))
        self.platt_ = (-float(lr.coef_[0, 0]), -float(lr.intercept_[0]))
        if not np.allclose(self._decision(Xs[:5]), svc.decision_function(flat[:5]), atol=1e-6):
            raise GmdeskError("internal: SVM decision function does not match scikit-learn")

    def _decision(self, Xs: np.ndarray) -> np.ndarray:
        s = self.svm_
        flat = Xs.reshape(len(Xs), -1).astype(np.float64)
        sv = s["support_vectors"]
        if s["kernel"] == "rbf":
            d2 = (flat**2).sum(1)[:, None] + (sv**2).sum(1)[None, :] - 2 * flat @ sv.T
            k = np.exp(-s["gamma"] * np.maximum(d2, 0))
        else:
            k = (s["gamma"] * flat @ sv.T + s["coef0"]) ** s["degree"]
        return k @ s["dual_coef"] + s["intercept"]

    def _p_abnormal(self, X: np.ndarray) -> np.ndarray:
        f = self._decision(self.standardise(X))
        return 1.0 / (1.0 + np.exp(self.platt_[0] * f + self.platt_[1]))

    def _embedding(self, X: np.ndarray) -> np.ndarray:
        Xs = self.standardise(X)
        return Xs.reshape(len(Xs), -1)

    def _save_model(self, folder: Path) -> list[str]:
        s = self.svm_
        meta: dict[str, Any] = {k: s[k] for k in _META} | {"platt": list(self.platt_)}
        return save_parts(folder, "svm", {"support_vectors": s["support_vectors"], "dual_coef": s["dual_coef"]}, meta)

    def _load_model(self, folder: Path) -> None:
        arrays, meta = load_parts(folder, "svm")
        self.svm_ = {**{k: meta[k] for k in _META},
                     "support_vectors": arrays["support_vectors"], "dual_coef": arrays["dual_coef"]}
        self.platt_ = tuple(meta["platt"])
