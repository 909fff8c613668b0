"""Classifier families on movement descriptors: the common part.

A family names a descriptor set (:data:`gmdesk.pipeline.descriptor_sets.DESCRIPTOR_SETS`: ``kinematics``,
``histograms``, ``joint-stats``, ``spectral``, ``complexity``, ``asymmetry``, ``movement``), computed per
snippet from the feature layout, standardised on the training part, and a scikit-learn model fitted on
them class-balanced (each class weighs as much as the other whatever their numbers, so leaving an infant
out does not shift the prior against it). P(abnormal) is the estimator's decision value through a
class-balanced Platt scaling fitted on out-of-fold decision values; ``embed`` returns the standardised
descriptors.

Files: ``descriptors.npz`` (the standardisation), ``descriptors.json`` (set and model names, Platt) and the
fitted estimator as ``model.skops`` (:mod:`gmdesk.learning.persist`: skops, explicit trusted types, no
pickle). A bundle of an earlier version (``kinematics.npz`` + ``kinematics.json``) is read when it holds a
logistic regression (its coefficients are all there is to it); its gradient-boosting trees are refused:
retrain with this version.

Descriptors cost most of a cross-validation's time, and nested folds fit on overlapping subsets: a bounded
cache (:data:`DESCRIPTOR_CACHE`) keeps each snippet's descriptors under a hash of its bytes, the set's name and
the layout.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Collection
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from gmdesk.errors import GmdeskError
from gmdesk.learning.base import SnippetClassifier, load_parts, save_parts
from gmdesk.learning.persist import load_estimator, save_estimator
from gmdesk.pipeline.body_frame import SnippetLayout
from gmdesk.pipeline.descriptor_sets import compute_descriptors
from gmdesk.progress import CancelFn, ProgressFn

logger = logging.getLogger(__name__)


class DescriptorCache:
    """Descriptors per snippet, least recently used first out, at most ``max_bytes`` of rows kept.

    The key is a BLAKE2b digest of the snippet's float32 bytes with its shape, the set's name and the layout's
    :attr:`~gmdesk.pipeline.body_frame.SnippetLayout.key`; ``hits`` and ``misses`` count look-ups.
    """

    def __init__(self, max_bytes: int = 256 * 2**20) -> None:
        self.max_bytes = int(max_bytes)
        self._rows: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        """Forget every row and reset the counts."""
        self._rows.clear()
        self._bytes = self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._rows)

    def descriptors(self, name: str, X: np.ndarray, layout: SnippetLayout) -> np.ndarray:
        """Descriptor set ``name`` of snippets ``X`` (float32), computing only the rows not kept."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        if self.max_bytes <= 0:
            return compute_descriptors(name, X, layout)
        tag = f"{name}|{layout.key}|{X.shape[1:]}".encode()
        keys = [hashlib.blake2b(x.tobytes(), digest_size=16, key=hashlib.blake2b(tag, digest_size=16).digest()).digest()
                for x in X]
        missing = [i for i, k in enumerate(keys) if k not in self._rows]
        self.hits += len(X) - len(missing)
        self.misses += len(missing)
        fresh = compute_descriptors(name, X[missing], layout) if missing else None
        got = dict(zip([keys[i] for i in missing], fresh, strict=True)) if fresh is not None else {}
        rows = []
        for k in keys:
            row = got.get(k)
            if row is None:
                row = self._rows[k]
                self._rows.move_to_end(k)
            rows.append(row)
        for k, row in got.items():
            if k not in self._rows:
                self._rows[k] = row
                self._bytes += row.nbytes
        while self._bytes > self.max_bytes and self._rows:
            _, old = self._rows.popitem(last=False)
            self._bytes -= old.nbytes
        return np.stack(rows) if rows else np.zeros((0, 0))


#: The cache every descriptor classifier shares in this process.
DESCRIPTOR_CACHE = DescriptorCache()


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """Per-sample weights giving each class the same total weight (scikit-learn's "balanced")."""
    y = np.asarray(y).astype(int)
    counts = np.bincount(y, minlength=2).astype(np.float64)
    return (len(y) / (2 * np.maximum(counts, 1)))[y]


class DescriptorClassifier(SnippetClassifier):
    """Base of the descriptor families: descriptors named by :attr:`descriptor_set` from the feature layout
    (``coord_columns``, ``angle_columns``, ``mirror_landmarks``, ``end_effectors``, ``segments``, ``fps``),
    standardised; the subclass's :meth:`_fit_descriptors` fits a scikit-learn classifier on them, class-balanced.
    Network parameters are not used."""

    #: The descriptor set (a key of ``DESCRIPTOR_SETS``).
    descriptor_set: ClassVar[str] = "kinematics"
    #: The class name of the estimator kept in ``model.skops`` (a key of ``persist.TRUSTED_TYPES``).
    estimator_kind: ClassVar[str] = "LogisticRegression"
    #: The ``model`` name in descriptors.json.
    model: ClassVar[str] = ""

    def descriptor_layout(self) -> SnippetLayout:
        """Where the descriptors find their inputs (from the classifier's parameters)."""
        ml = [int(v) for v in self.mirror_landmarks or ()]
        sg = [int(v) for v in self.segments or ()]
        lb = [int(v) for v in self.limbs or ()]
        return SnippetLayout(tuple(int(c) for c in self.coord_columns or ()), tuple(int(c) for c in self.angle_columns or ()),
                             tuple(zip(ml[0::2], ml[1::2], strict=True)), tuple(int(e) for e in self.end_effectors or ()),
                             float(self.fps), tuple(zip(sg[0::2], sg[1::2], strict=True)),
                             tuple(zip(lb[0::2], lb[1::2], strict=True)))

    def _raw_descriptors(self, X: np.ndarray) -> np.ndarray:
        return DESCRIPTOR_CACHE.descriptors(self.descriptor_set, X, self.descriptor_layout())

    def _descriptors(self, X: np.ndarray) -> np.ndarray:
        return (self._raw_descriptors(X) - self.desc_mean_) / self.desc_scale_

    def _fit_model(self, X_tr: np.ndarray, y_tr: np.ndarray, X_va: np.ndarray, y_va: np.ndarray,
                   progress: ProgressFn | None, cancel: CancelFn | None) -> None:
        if not self.coord_columns and not self.angle_columns:
            raise GmdeskError(f"the {self.architecture} classifier needs the feature layout (coord_columns / angle_columns)")
        D = self._raw_descriptors(X_tr)
        if D.shape[1] == 0:
            raise GmdeskError(f"descriptor set {self.descriptor_set!r} is empty for this feature layout")
        self.desc_mean_ = D.mean(axis=0)
        sd = D.std(axis=0)
        self.desc_scale_ = np.where(sd > 1e-9, sd, 1.0)
        Ds = (D - self.desc_mean_) / self.desc_scale_
        self.estimator_ = self._fit_descriptors(Ds, y_tr)
        self.platt_ = self._fit_platt(Ds, y_tr)

    def _fit_platt(self, Ds: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Class-balanced Platt scaling of the decision value, fitted on out-of-fold decision values (5 folds;
        a snippet, its flipped and its augmented copies in one fold). An over-fitted model scores new snippets
        nearer its majority class than its training snippets; fitted out of fold, P(abnormal) of a snippet
        like neither class stays near 0.5 whatever the classes' numbers."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedGroupKFold

        copies = (2 if self.mirror_columns is not None else 1) * (1 + self.aug_copies)
        groups = np.arange(len(y)) % max(1, len(y) // copies)
        k = min(5, int(np.bincount(y, minlength=2).min()) // copies)
        if k < 2:
            return 1.0, 0.0
        oof = np.zeros(len(y))
        for tr, te in StratifiedGroupKFold(k, shuffle=True, random_state=self.seed).split(Ds, y, groups):
            if len(np.unique(y[tr])) < 2:
                return 1.0, 0.0
            oof[te] = self._fit_descriptors(Ds[tr], y[tr]).decision_function(Ds[te])
        lr = LogisticRegression(C=1e4, class_weight="balanced", max_iter=1000).fit(oof.reshape(-1, 1), y)
        return float(lr.coef_[0, 0]), float(lr.intercept_[0])

    def _fit_descriptors(self, Ds: np.ndarray, y: np.ndarray) -> Any:
        """A scikit-learn classifier fitted, class-balanced, on standardised descriptors (default: logistic
        regression, L2, ``C`` default 0.05)."""
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C if self.C is not None else 0.05, class_weight="balanced",
                                  max_iter=5000).fit(Ds, y)

    def _p_abnormal(self, X: np.ndarray) -> np.ndarray:
        from scipy.special import expit

        f = np.asarray(self.estimator_.decision_function(self._descriptors(X)), dtype=np.float64)
        return expit(self.platt_[0] * f + self.platt_[1])

    def _embedding(self, X: np.ndarray) -> np.ndarray:
        return self._descriptors(X)

    def _save_model(self, folder: Path) -> list[str]:
        meta = {"descriptor_set": self.descriptor_set, "model": self.model, "n_descriptors": int(len(self.desc_mean_)),
                "platt": list(self.platt_)}
        arrays = {"desc_mean": self.desc_mean_, "desc_scale": self.desc_scale_} | self._extra_arrays()
        names = save_parts(folder, "descriptors", arrays, meta)
        return [*names, save_estimator(folder, "model.skops", self.estimator_)]

    def _extra_arrays(self) -> dict[str, np.ndarray]:
        """Learned arrays of a subclass beside the descriptors' mean and scale (written to descriptors.npz)."""
        return {}

    def _read_extra_arrays(self, arrays: dict[str, np.ndarray], where: Path) -> None:
        """Take back what :meth:`_extra_arrays` wrote (``where`` names the file in errors)."""

    def _load_model(self, folder: Path, files: Collection[str] | None = None) -> None:
        folder = Path(folder)
        if not (folder / "descriptors.json").is_file() and (folder / "kinematics.json").is_file():
            self._load_earlier_version(folder)
            return
        arrays, meta = load_parts(folder, "descriptors")
        if meta.get("descriptor_set") != self.descriptor_set or meta.get("model") != self.model:
            raise GmdeskError(f"{folder / 'descriptors.json'}: descriptors {meta.get('descriptor_set')!r} and model "
                              f"{meta.get('model')!r}, not the {self.descriptor_set!r} and {self.model!r} of {self.architecture}")
        platt = meta.get("platt")
        if not (isinstance(platt, list) and len(platt) == 2 and all(isinstance(v, int | float) for v in platt)):
            raise GmdeskError(f"{folder / 'descriptors.json'}: 'platt' must be two numbers")
        self.platt_ = (float(platt[0]), float(platt[1]))
        self.desc_mean_, self.desc_scale_ = arrays["desc_mean"], arrays["desc_scale"]
        self._read_extra_arrays(arrays, folder / "descriptors.npz")
        self.estimator_ = load_estimator(folder / "model.skops", self.estimator_kind)
        n_in = getattr(self.estimator_, "n_features_in_", None)
        if n_in != self._n_estimator_inputs():
            raise GmdeskError(f"{folder / 'model.skops'}: the model takes {n_in} inputs, not the "
                              f"{self._n_estimator_inputs()} of {len(self.desc_mean_)} descriptors")

    def _n_estimator_inputs(self) -> int:
        """How many inputs the fitted estimator takes (one per descriptor)."""
        return len(self.desc_mean_)

    def _load_earlier_version(self, folder: Path) -> None:
        """A bundle of gmdesk before skops: its logistic regression's coefficients into a LogisticRegression."""
        from sklearn.linear_model import LogisticRegression

        arrays, meta = load_parts(folder, "kinematics")
        if meta.get("model") != "logreg" or self.model != "logreg" or self.descriptor_set != "kinematics":
            raise GmdeskError(f"{folder / 'kinematics.npz'}: a {meta.get('model')!r} model in the format of an earlier "
                              "gmdesk version (hand-exported trees); retrain with this version")
        lr = LogisticRegression()
        lr.coef_ = np.asarray(arrays["coef"], dtype=np.float64).reshape(1, -1)
        lr.intercept_ = np.array([float(meta["intercept"])])
        lr.classes_ = np.array([0, 1])
        lr.n_features_in_ = lr.coef_.shape[1]
        self.desc_mean_, self.desc_scale_ = arrays["desc_mean"], arrays["desc_scale"]
        if len(self.desc_mean_) != lr.n_features_in_:
            raise GmdeskError(f"{folder / 'kinematics.npz'}: {lr.n_features_in_} coefficients for "
                              f"{len(self.desc_mean_)} descriptors")
        self.estimator_, self.platt_ = lr, (1.0, 0.0)
