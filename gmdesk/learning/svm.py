"""Support vector machines on flattened z-scored snippets (``svm-rbf``: RBF kernel; ``svm-poly``: polynomial
kernel of degree 3), class-balanced, with Platt scaling of the decision value into P(abnormal).

Learned: the fitted SVC, kept with skops (``svm.skops``, :mod:`gmdesk.learning.persist`: explicit trusted
types, no pickle), and the Platt parameters (``svm.json``). Snippets are scored by scikit-learn's own
``decision_function``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from pathlib import Path
from typing import ClassVar

import numpy as np

from gmdesk.errors import GmdeskError
from gmdesk.learning.base import SnippetClassifier
from gmdesk.learning.params import Constraint, OneOf
from gmdesk.learning.persist import load_estimator, save_estimator
from gmdesk.progress import CancelFn, ProgressFn

logger = logging.getLogger(__name__)


class SVMClassifier(SnippetClassifier):
    """SVC on the flattened z-scored snippet (``C``, default 1.0; ``gamma="scale"``; ``class_weight="balanced"``);
    P(abnormal) by Platt scaling fitted, class-balanced, on 5-fold out-of-fold decision values, as libsvm does.
    ``embed`` returns the flattened z-scored snippet (an SVM has no hidden layer). Network parameters (epochs
    ...) are not used."""

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
                  gamma="scale", class_weight="balanced", random_state=self.seed)
        folds = StratifiedKFold(min(5, int(np.bincount(y_tr).min())), shuffle=True, random_state=self.seed)
        oof = cross_val_predict(svc, flat, y_tr, cv=folds, method="decision_function")
        lr = LogisticRegression(C=1e6, class_weight="balanced").fit(oof.reshape(-1, 1), y_tr)
        self.svc_ = svc.fit(flat, y_tr)
        # P(abnormal) = 1 / (1 + exp(A f + B))
        self.platt_ = (-float(lr.coef_[0, 0]), -float(lr.intercept_[0]))

    def _p_abnormal(self, X: np.ndarray) -> np.ndarray:
        Xs = self.standardise(X)
        f = self.svc_.decision_function(Xs.reshape(len(Xs), -1).astype(np.float64))
        return 1.0 / (1.0 + np.exp(self.platt_[0] * f + self.platt_[1]))

    def _embedding(self, X: np.ndarray) -> np.ndarray:
        Xs = self.standardise(X)
        return Xs.reshape(len(Xs), -1)

    def _save_model(self, folder: Path) -> list[str]:
        meta = {"kernel": self.svc_.kernel, "platt": list(self.platt_)}
        (Path(folder) / "svm.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return [save_estimator(folder, "svm.skops", self.svc_), "svm.json"]

    def _load_model(self, folder: Path, files: Collection[str] | None = None) -> None:
        folder = Path(folder)
        if not (folder / "svm.skops").is_file() and (folder / "svm.npz").is_file():
            raise GmdeskError(f"{folder / 'svm.npz'}: an SVM in the format of an earlier gmdesk version; "
                              "retrain with this version")
        meta = json.loads((folder / "svm.json").read_text(encoding="utf-8"))
        platt = meta.get("platt")
        if not (isinstance(platt, list) and len(platt) == 2 and all(isinstance(v, int | float) for v in platt)):
            raise GmdeskError(f"{folder / 'svm.json'}: 'platt' must be two numbers")
        self.svc_ = load_estimator(folder / "svm.skops", "SVC")
        if self.svc_.kernel != self.spec["kernel"]:
            raise GmdeskError(f"{folder / 'svm.skops'}: kernel {self.svc_.kernel!r}, not the {self.spec['kernel']!r} "
                              f"of {self.architecture}")
        self.platt_ = (float(platt[0]), float(platt[1]))
