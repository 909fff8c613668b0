"""Snippet classifiers trained with global (per-infant) labels (paper sections 3.3–3.4).

Five families behind one scikit-learn estimator API:

========== ============================================================ =====================
name       architecture                                                 ``embed`` returns
========== ============================================================ =====================
svm-rbf    SVC, RBF kernel, on flattened z-scored snippets               z-scored input
svm-poly   SVC, polynomial kernel of degree 3                             z-scored input
lstm-2     LSTM(64) → LSTM(32)                                            last LSTM (32)
lstm-3     LSTM(128) → LSTM(64) → LSTM(32)                                last LSTM (32)
cnn1d-2    Conv1D 32, 64 → global average → dense 32                      dense 32
cnn1d-3    Conv1D 32, 64, 128 → global average → dense 64                 dense 64
vit-2      frame tokens + per-frame position embedding, 2 encoders,      dense 128
           8 heads → dense 128
vit-4      as vit-2 with 4 encoder layers                                 dense 128
kinematics movement descriptors (:mod:`gmdesk.pipeline.kinematics`) →               standardised
           standardised logistic regression (L2, ``C``, default 0.05)      descriptors
kinematics scikit-learn GradientBoostingClassifier on the descriptors      standardised
-gb        (150 trees, depth 2, learning rate 0.05, subsample 0.8)         descriptors
========== ============================================================ =====================

Augmentation for small cohorts, beside the paper's flip (training part only, seeded; off by default,
``aug_copies`` > 0 switches it on): each copy of a training snippet gets a random scale (±``aug_scale``)
and rotation (±``aug_rotate_deg``) of its coordinates about the origin, a smooth time warp (up to
``aug_time_warp`` of the window) and per-column jitter (``aug_jitter`` × the column's sd).

Networks (Keras 3 on TensorFlow): dropout 0.3, sigmoid output, Adam, batch 16, up to 250
epochs, early stopping after 10 epochs without validation-loss improvement restoring the
best weights. Every ``fit`` follows the paper's round: the data given are split 90 % train /
10 % validation (half of the validation from each class), right–left flip augmentation is
added to the training part only, and the z-score is fitted on the training part only.

``predict_proba(X)[:, 1]`` is P(abnormal) per snippet (normal = 0, abnormal = 1).
TensorFlow is imported only when a network is built or loaded.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from gmdesk.constants import DEFAULT_FPS
from gmdesk.core.body import leaves
from gmdesk.errors import CancelledError, GmdeskError
from gmdesk.learning.architectures import ALIASES, ARCHITECTURES, FAMILIES, resolve_architecture  # noqa: F401 - re-exported
from gmdesk.pipeline.kinematics import snippet_descriptors

logger = logging.getLogger(__name__)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out of the CLI

def paper_validation_split(y: np.ndarray, fraction: float = 0.1, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, validation)``: the validation part is ``fraction`` of the snippets, half
    from each class (the paper's "10 %; 5 % from each class"), drawn with ``seed``."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    n_val = max(2, int(round(fraction * len(y))))
    per_class = n_val // 2
    val = []
    for c in (0, 1):
        idx = np.flatnonzero(y == c)
        if len(idx) < 2:
            raise GmdeskError(f"training data need at least 2 snippets of class {c} ({['normal', 'abnormal'][c]})")
        k = min(per_class, len(idx) - 1)
        val.append(rng.choice(idx, size=k, replace=False))
    val_idx = np.sort(np.concatenate(val))
    train_idx = np.setdiff1d(np.arange(len(y)), val_idx)
    return train_idx, val_idx


def _check_X(X: np.ndarray, n_features: int | None = None) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 3:
        raise GmdeskError(f"snippets must be (n, frames, features), got shape {X.shape}")
    if n_features is not None and X.shape[2] != n_features:
        raise GmdeskError(f"model expects {n_features} features per frame, snippets have {X.shape[2]}")
    if not np.isfinite(X).all():
        raise GmdeskError("snippets contain missing values (NaN): clean or drop them first")
    return X


class SnippetClassifier(ClassifierMixin, BaseEstimator):
    """Classifier of 300-frame snippets, P(abnormal) per snippet.

    Parameters
    ----------
    architecture : str
        One of :data:`ARCHITECTURES` (``svm-rbf``, ``svm-poly``, ``lstm-2``, ``lstm-3``,
        ``cnn1d-2``, ``cnn1d-3``, ``vit-2``, ``vit-4``).
    epochs : int
        Most training epochs (250).
    batch_size : int
        Mini-batch size (16).
    patience : int
        Early-stopping patience in epochs (10).
    dropout : float
        Dropout rate (0.3).
    learning_rate : float
        Adam learning rate (1e-3, Keras' default).
    validation_fraction : float
        Share of the training data held out for early stopping (0.1, half per class).
    mirror_columns, mirror_signs : tuple or None
        Flip augmentation (from :func:`gmdesk.pipeline.features.feature_layout`); None disables it.
    C : float, optional
        Regularisation: SVM (default 1.0), kinematics logistic regression (default 0.05).
    coord_columns, angle_columns : tuple of int, optional
        Feature layout for the kinematics family and augmentation: each landmark's x column (y next)
        and the joint-angle columns (from :class:`gmdesk.pipeline.features.FeatureLayout`).
    mirror_landmarks : tuple of int, optional
        Left/right landmark pairs, flattened (a0, b0, a1, b1, ...), as positions in ``coord_columns``.
    end_effectors : tuple of int, optional
        End-effector landmarks (hands, feet), as positions in ``coord_columns``.
    fps : float
        Frame rate of the snippets (29.97).
    aug_copies : int
        Augmented copies of each training snippet (0: no augmentation beside the flip).
    aug_scale, aug_rotate_deg, aug_time_warp, aug_jitter : float
        Largest relative scale change (0.1), rotation in degrees (15), time warp as a share of the
        window (0.05) and jitter in column sds (0.02) of an augmented copy.
    seed : int
        Seed of the split, initialisation and shuffling; same seed, same numbers.
    verbose : int
        0 silent; 1 one line per epoch to the progress callback.
    """

    def __init__(
        self,
        architecture: str = "cnn1d-2",
        epochs: int = 250,
        batch_size: int = 16,
        patience: int = 10,
        dropout: float = 0.3,
        learning_rate: float = 1e-3,
        validation_fraction: float = 0.1,
        mirror_columns: tuple[int, ...] | None = None,
        mirror_signs: tuple[float, ...] | None = None,
        C: float | None = None,
        coord_columns: tuple[int, ...] | None = None,
        angle_columns: tuple[int, ...] | None = None,
        mirror_landmarks: tuple[int, ...] | None = None,
        end_effectors: tuple[int, ...] | None = None,
        fps: float = DEFAULT_FPS,
        aug_copies: int = 0,
        aug_scale: float = 0.1,
        aug_rotate_deg: float = 15.0,
        aug_time_warp: float = 0.05,
        aug_jitter: float = 0.02,
        seed: int = 42,
        verbose: int = 0,
    ) -> None:
        self.architecture = architecture
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.mirror_columns = mirror_columns
        self.mirror_signs = mirror_signs
        self.C = C
        self.coord_columns = coord_columns
        self.angle_columns = angle_columns
        self.mirror_landmarks = mirror_landmarks
        self.end_effectors = end_effectors
        self.fps = fps
        self.aug_copies = aug_copies
        self.aug_scale = aug_scale
        self.aug_rotate_deg = aug_rotate_deg
        self.aug_time_warp = aug_time_warp
        self.aug_jitter = aug_jitter
        self.seed = seed
        self.verbose = verbose

    # -- helpers --------------------------------------------------------------------------
    @property
    def family(self) -> str:
        """svm, lstm, cnn1d or vit."""
        return ARCHITECTURES[resolve_architecture(self.architecture)]["family"]

    def _scale(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.scaler_mean_) / self.scaler_scale_).astype(np.float32)

    def _augment(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.mirror_columns is not None:
            cols = np.asarray(self.mirror_columns, dtype=int)
            signs = np.asarray(self.mirror_signs if self.mirror_signs is not None else np.ones(len(cols)), dtype=np.float32)
            if len(cols) != X.shape[2]:
                raise GmdeskError(f"mirror layout has {len(cols)} columns, snippets have {X.shape[2]} features")
            X, y = np.concatenate([X, X[..., cols] * signs]), np.concatenate([y, y])
        if self.aug_copies > 0:
            extra = [augment_snippets(X, np.random.default_rng([self.seed, 17, k]), self.coord_columns,
                                      self.aug_scale, self.aug_rotate_deg, self.aug_time_warp, self.aug_jitter)
                     for k in range(self.aug_copies)]
            X, y = np.concatenate([X, *extra]), np.concatenate([y] * (1 + self.aug_copies))
        return X, y

    # -- scikit-learn API -----------------------------------------------------------------
    def fit(self, X: np.ndarray, y: np.ndarray, progress: Callable[[int, int, str], None] | None = None,
            cancel: Callable[[], bool] | None = None) -> SnippetClassifier:
        """Train on snippets ``X`` (n, frames, features) with labels ``y`` (0 normal, 1 abnormal)."""
        arch = resolve_architecture(self.architecture)
        X = _check_X(X)
        y = np.asarray(y).astype(int).ravel()
        if set(np.unique(y)) != {0, 1}:
            raise GmdeskError("training needs snippets of both classes (normal 0 and abnormal 1)")
        t0 = time.perf_counter()
        tr, va = paper_validation_split(y, self.validation_fraction, self.seed)
        X_tr, y_tr = self._augment(X[tr], y[tr])
        self.scaler_mean_ = X_tr.reshape(-1, X.shape[2]).mean(axis=0)
        sd = X_tr.reshape(-1, X.shape[2]).std(axis=0)
        self.scaler_scale_ = np.where(sd > 1e-8, sd, 1.0)
        self.classes_ = np.array([0, 1])
        self.n_features_ = X.shape[2]
        self.n_frames_ = X.shape[1]
        Xs_tr, Xs_va = self._scale(X_tr), self._scale(X[va])
        if self.family == "kinematics":
            self._fit_kinematics(arch, X_tr, y_tr)
            self.history_ = {}
        elif self.family == "svm":
            self._fit_svm(arch, Xs_tr, y_tr)
            self.history_ = {}
        else:
            self._fit_network(arch, Xs_tr, y_tr, Xs_va, y[va], progress, cancel)
        self.train_info_ = {"n_train": int(len(tr)), "n_validation": int(len(va)), "n_train_augmented": int(len(y_tr)),
                            "seconds": round(time.perf_counter() - t0, 2)}
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """``(n, 2)``: columns P(normal), P(abnormal)."""
        p = self.score_snippets(X)
        return np.stack([1 - p, p], axis=1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class per snippet (1 where P(abnormal) ≥ 0.5)."""
        return (self.score_snippets(X) >= 0.5).astype(int)

    def score_snippets(self, X: np.ndarray) -> np.ndarray:
        """P(abnormal) per snippet, shape (n,)."""
        X = _check_X(X, getattr(self, "n_features_", None))
        if self.family == "kinematics":
            return 1.0 / (1.0 + np.exp(-self._kinematics_decision(self._descriptors(X))))
        Xs = self._scale(X)
        if self.family == "svm":
            f = self._svm_decision(Xs)
            return 1.0 / (1.0 + np.exp(self.platt_[0] * f + self.platt_[1]))
        return self.model_.predict(Xs, batch_size=256, verbose=0).ravel().astype(np.float64)

    def embed(self, X: np.ndarray) -> np.ndarray:
        """Output of the last layer before the classification neuron, shape (n, d).

        For the SVM (no hidden layer) it is the flattened z-scored snippet; for the kinematics family,
        the standardised movement descriptors.
        """
        X = _check_X(X, getattr(self, "n_features_", None))
        if self.family == "kinematics":
            return self._descriptors(X)
        Xs = self._scale(X)
        if self.family == "svm":
            return Xs.reshape(len(Xs), -1)
        import keras

        sub = keras.Model(self.model_.inputs, self.model_.get_layer("embedding").output)
        return np.asarray(sub.predict(Xs, batch_size=256, verbose=0))

    # -- kinematics -------------------------------------------------------------------------
    def _raw_descriptors(self, X: np.ndarray) -> np.ndarray:
        cc = np.asarray(self.coord_columns or (), dtype=int)
        ac = np.asarray(self.angle_columns or (), dtype=int)
        ml = list(self.mirror_landmarks or ())
        pairs = list(zip(ml[0::2], ml[1::2], strict=True))
        return snippet_descriptors(X, cc, ac, pairs, list(self.end_effectors or ()), self.fps)

    def _descriptors(self, X: np.ndarray) -> np.ndarray:
        return (self._raw_descriptors(X) - self.desc_mean_) / self.desc_scale_

    def _fit_kinematics(self, arch: str, X: np.ndarray, y: np.ndarray) -> None:
        if not self.coord_columns and not self.angle_columns:
            raise GmdeskError("the kinematics classifier needs the feature layout (coord_columns / angle_columns)")
        D = self._raw_descriptors(X)
        self.desc_mean_ = D.mean(axis=0)
        sd = D.std(axis=0)
        self.desc_scale_ = np.where(sd > 1e-9, sd, 1.0)
        Ds = (D - self.desc_mean_) / self.desc_scale_
        if ARCHITECTURES[arch]["model"] == "logreg":
            from sklearn.linear_model import LogisticRegression

            lr = LogisticRegression(C=self.C if self.C is not None else 0.05, max_iter=5000).fit(Ds, y)
            self.kin_ = {"model": "logreg", "coef": lr.coef_.ravel().astype(np.float64), "intercept": float(lr.intercept_[0])}
            ref = lr.decision_function(Ds[:5])
        else:
            from sklearn.ensemble import GradientBoostingClassifier

            gb = GradientBoostingClassifier(n_estimators=150, max_depth=2, learning_rate=0.05, subsample=0.8,
                                            min_samples_leaf=5, random_state=self.seed).fit(Ds, y)
            self.kin_ = _export_trees(gb)
            ref = gb.decision_function(Ds[:5])
        if not np.allclose(self._kinematics_decision(Ds[:5]), ref, atol=1e-8):
            raise GmdeskError("internal: kinematics decision function does not match scikit-learn")

    def _kinematics_decision(self, Ds: np.ndarray) -> np.ndarray:
        k = self.kin_
        if k["model"] == "logreg":
            return Ds @ k["coef"] + k["intercept"]
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

    # -- SVM ------------------------------------------------------------------------------
    def _fit_svm(self, arch: str, Xs: np.ndarray, y: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
        from sklearn.svm import SVC

        spec = ARCHITECTURES[arch]
        flat = Xs.reshape(len(Xs), -1).astype(np.float64)
        svc = SVC(kernel=spec["kernel"], degree=spec.get("degree", 3), C=self.C if self.C is not None else 1.0,
                  gamma="scale", random_state=self.seed)
        # Platt scaling on 5-fold out-of-fold decision values, as libsvm does
        folds = StratifiedKFold(5, shuffle=True, random_state=self.seed)
        oof = cross_val_predict(svc, flat, y, cv=folds, method="decision_function")
        lr = LogisticRegression(C=1e6).fit(oof.reshape(-1, 1), y)
        svc.fit(flat, y)
        self.svm_ = {
            "kernel": spec["kernel"], "degree": int(spec.get("degree", 3)), "gamma": float(svc._gamma),
            "coef0": float(svc.coef0), "support_vectors": np.asarray(svc.support_vectors_),
            "dual_coef": np.asarray(svc.dual_coef_).ravel(), "intercept": float(svc.intercept_[0]),
        }
        # P(abnormal) = 1 / (1 + exp(A f + B))
        self.platt_ = (-float(lr.coef_[0, 0]), -float(lr.intercept_[0]))
        ref = svc.decision_function(flat[:5])
        if not np.allclose(self._svm_decision(Xs[:5]), ref, atol=1e-6):
            raise GmdeskError("internal: SVM decision function does not match scikit-learn")

    def _svm_decision(self, Xs: np.ndarray) -> np.ndarray:
        s = self.svm_
        flat = Xs.reshape(len(Xs), -1).astype(np.float64)
        sv = s["support_vectors"]
        if s["kernel"] == "rbf":
            d2 = (flat**2).sum(1)[:, None] + (sv**2).sum(1)[None, :] - 2 * flat @ sv.T
            k = np.exp(-s["gamma"] * np.maximum(d2, 0))
        else:
            k = (s["gamma"] * flat @ sv.T + s["coef0"]) ** s["degree"]
        return k @ s["dual_coef"] + s["intercept"]

    # -- networks -------------------------------------------------------------------------
    def _fit_network(self, arch, X_tr, y_tr, X_va, y_va, progress, cancel) -> None:
        import keras
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")  # per-fold predict shapes trigger harmless retracing warnings
        keras.utils.set_random_seed(self.seed)
        tf.config.experimental.enable_op_determinism()
        self.model_ = build_network(arch, X_tr.shape[1], X_tr.shape[2], self.dropout)
        self.model_.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss="binary_crossentropy",
                            metrics=["accuracy"])
        callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=self.patience, restore_best_weights=True)]
        if progress is not None or cancel is not None:
            callbacks.append(_EpochReporter(self.epochs, progress, cancel))
        hist = self.model_.fit(X_tr, y_tr.astype(np.float32), validation_data=(X_va, y_va.astype(np.float32)),
                               epochs=self.epochs, batch_size=self.batch_size, shuffle=True, verbose=0,
                               callbacks=callbacks)
        self.history_ = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
        stopped = getattr(callbacks[-1], "cancelled", False)
        if stopped:
            raise CancelledError("training cancelled")

    # -- persistence (used by gmdesk.learning.bundle) ----------------------------------------------
    def save_weights(self, folder: Path) -> list[str]:
        """Write learned parameters into ``folder`` (no pickle); return the file names."""
        folder = Path(folder)
        np.savez(folder / "scaler.npz", mean=self.scaler_mean_, scale=self.scaler_scale_)
        names = ["scaler.npz"]
        if self.family == "kinematics":
            k = self.kin_
            arrays = {"desc_mean": self.desc_mean_, "desc_scale": self.desc_scale_}
            arrays |= {n: np.asarray(k[n]) for n in ("coef", "left", "right", "feature", "threshold", "value", "offsets")
                       if n in k}
            np.savez(folder / "kinematics.npz", **arrays)
            (folder / "kinematics.json").write_text(json.dumps(
                {n: k[n] for n in ("model", "intercept", "init", "learning_rate") if n in k}, indent=2), encoding="utf-8")
            return names + ["kinematics.npz", "kinematics.json"]
        if self.family == "svm":
            s = self.svm_
            np.savez(folder / "svm.npz", support_vectors=s["support_vectors"], dual_coef=s["dual_coef"])
            (folder / "svm.json").write_text(json.dumps(
                {k: s[k] for k in ("kernel", "degree", "gamma", "coef0", "intercept")} | {"platt": list(self.platt_)},
                indent=2), encoding="utf-8")
            names += ["svm.npz", "svm.json"]
        else:
            self.model_.save(folder / "model.keras")
            names.append("model.keras")
        return names

    def load_weights(self, folder: Path, n_frames: int, n_features: int) -> SnippetClassifier:
        """Read parameters written by :meth:`save_weights` (Keras ``safe_mode``; no pickle)."""
        folder = Path(folder)
        with np.load(folder / "scaler.npz", allow_pickle=False) as z:
            self.scaler_mean_, self.scaler_scale_ = z["mean"], z["scale"]
        self.classes_ = np.array([0, 1])
        self.n_features_, self.n_frames_ = n_features, n_frames
        if self.family == "kinematics":
            meta = json.loads((folder / "kinematics.json").read_text(encoding="utf-8"))
            with np.load(folder / "kinematics.npz", allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            self.desc_mean_, self.desc_scale_ = arrays.pop("desc_mean"), arrays.pop("desc_scale")
            self.kin_ = meta | arrays
            if self.kin_.get("model") not in ("logreg", "gb"):
                raise GmdeskError(f"{folder}: unknown kinematics model {self.kin_.get('model')!r}")
        elif self.family == "svm":
            meta = json.loads((folder / "svm.json").read_text(encoding="utf-8"))
            with np.load(folder / "svm.npz", allow_pickle=False) as z:
                self.svm_ = {**{k: meta[k] for k in ("kernel", "degree", "gamma", "coef0", "intercept")},
                             "support_vectors": z["support_vectors"], "dual_coef": z["dual_coef"]}
            self.platt_ = tuple(meta["platt"])
        else:
            import keras

            self.model_ = keras.saving.load_model(folder / "model.keras", safe_mode=True, compile=False)
        return self


def make_classifier(architecture: str, skeleton: Any, layout: Any, fps: float = DEFAULT_FPS, flip: bool = True,
                    augment: int = 0, **params: Any) -> SnippetClassifier:
    """A :class:`SnippetClassifier` for ``architecture`` that knows its feature layout: the flip's column
    permutation and signs, and the coordinate / angle columns, mirror pairs and end effectors that the
    kinematics family and augmentation need (end effectors: the skeleton's leaf landmarks).

    Parameters
    ----------
    skeleton : gmdesk.core.skeleton.Skeleton
    layout : gmdesk.pipeline.features.FeatureLayout
    augment : int
        Augmented copies per training snippet (0: only the flip).
    **params
        Other hyper-parameters (epochs, patience, seed, C ...).
    """

    arch = resolve_architecture(architecture)
    cc = [int(c) for c in layout.coord_columns]
    lm_of = {layout.names[c][:-2]: k for k, c in enumerate(cc)}
    pairs = [(lm_of[a], lm_of[b]) for a, b in skeleton.mirror_pairs if a in lm_of and b in lm_of]
    leaf = leaves(skeleton)
    ee = [lm_of[n] for j, n in enumerate(skeleton.landmarks) if leaf[j] and n in lm_of and skeleton.mirror_permutation[j] != j]
    return SnippetClassifier(
        arch,
        mirror_columns=tuple(int(c) for c in layout.mirror_columns) if flip else None,
        mirror_signs=tuple(float(v) for v in layout.mirror_signs) if flip else None,
        coord_columns=tuple(cc) or None, angle_columns=tuple(int(c) for c in layout.angle_columns) or None,
        mirror_landmarks=tuple(x for p in pairs for x in p) or None, end_effectors=tuple(ee) or None,
        fps=float(fps), aug_copies=int(augment), **params)


def _export_trees(gb) -> dict:
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


def augment_snippets(X: np.ndarray, rng: np.random.Generator, coord_columns: tuple[int, ...] | None, scale: float,
                     rotate_deg: float, time_warp: float, jitter: float) -> np.ndarray:
    """One augmented copy of snippets ``X`` (n, frames, features): a random scale and rotation of the
    coordinate pairs about the origin, a smooth monotone time warp and per-column jitter."""
    X = np.array(X, dtype=np.float32, copy=True)
    n, T, F = X.shape
    if coord_columns:
        cc = np.asarray(coord_columns, dtype=int)
        s = rng.uniform(1 - scale, 1 + scale, n)[:, None, None]
        th = np.radians(rng.uniform(-rotate_deg, rotate_deg, n))[:, None, None]
        x, yv = X[:, :, cc], X[:, :, cc + 1]
        X[:, :, cc] = (np.cos(th) * x - np.sin(th) * yv) * s
        X[:, :, cc + 1] = (np.sin(th) * x + np.cos(th) * yv) * s
    if time_warp > 0:
        t = np.arange(T, dtype=np.float64)
        for i in range(n):
            warped = t + time_warp * T / np.pi * rng.uniform(-1, 1) * np.sin(np.pi * t / (T - 1))
            warped = np.clip(np.maximum.accumulate(warped), 0, T - 1)
            X[i] = np.stack([np.interp(warped, t, X[i, :, f]) for f in range(F)], axis=1)
    if jitter > 0:
        X += (rng.standard_normal(X.shape) * jitter * X.std(axis=(0, 1), keepdims=True)).astype(np.float32)
    return X


class _EpochReporter:
    """Keras callback: reports epochs and stops training when cancelled (built lazily)."""

    def __new__(cls, epochs, progress, cancel):
        import keras

        class Reporter(keras.callbacks.Callback):
            cancelled = False

            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                if progress is not None:
                    progress(epoch + 1, epochs, f"loss {logs.get('loss', float('nan')):.3f} "
                                                f"val_loss {logs.get('val_loss', float('nan')):.3f}")
                if cancel is not None and cancel():
                    self.cancelled = True
                    self.model.stop_training = True

        return Reporter()


def build_network(architecture: str, n_frames: int, n_features: int, dropout: float = 0.3):
    """The Keras model of a network architecture (the hidden layer before the output is named
    ``embedding``)."""
    import keras
    from keras import layers

    spec = ARCHITECTURES[resolve_architecture(architecture)]
    inp = keras.Input((n_frames, n_features), name="snippet")
    x = inp
    if spec["family"] == "lstm":
        units = spec["units"]
        for i, u in enumerate(units):
            last = i == len(units) - 1
            x = layers.LSTM(u, return_sequences=not last, name="embedding" if last else f"lstm_{i}")(x)
            x = layers.Dropout(dropout)(x)
    elif spec["family"] == "cnn1d":
        for i, f in enumerate(spec["filters"]):
            x = layers.Conv1D(f, 5, padding="same", activation="relu", name=f"conv_{i}")(x)
            x = layers.MaxPooling1D(2)(x)
            x = layers.Dropout(dropout)(x)
        x = layers.GlobalAveragePooling1D()(x)
        x = layers.Dense(spec["dense"], activation="relu", name="embedding")(x)
        x = layers.Dropout(dropout)(x)
    elif spec["family"] == "vit":
        d_model = 64
        x = layers.Dense(d_model, name="frame_tokens")(x)  # one token per frame
        x = frame_position_embedding()(n_frames, d_model, name="position")(x)
        for i in range(spec["layers"]):
            h = layers.LayerNormalization(epsilon=1e-6)(x)
            h = layers.MultiHeadAttention(spec["heads"], d_model // spec["heads"], dropout=dropout, name=f"attention_{i}")(h, h)
            x = layers.Add()([x, h])
            h = layers.LayerNormalization(epsilon=1e-6)(x)
            h = layers.Dense(2 * d_model, activation="gelu")(h)
            h = layers.Dropout(dropout)(h)
            h = layers.Dense(d_model)(h)
            x = layers.Add()([x, h])
        x = layers.LayerNormalization(epsilon=1e-6)(x)
        x = layers.GlobalAveragePooling1D()(x)
        x = layers.Dense(spec["dense"], activation="gelu", name="embedding")(x)
        x = layers.Dropout(dropout)(x)
    else:
        raise GmdeskError(f"{architecture} is not a network")
    out = layers.Dense(1, activation="sigmoid", name="p_abnormal")(x)
    return keras.Model(inp, out, name=architecture)


@functools.cache
def frame_position_embedding():
    """The Keras layer class adding a learned positional encoding to each frame's token
    (built on first use so TensorFlow is imported lazily; registered so bundles load in
    ``safe_mode``)."""
    import keras

    @keras.saving.register_keras_serializable(package="gmdesk")
    class FramePositionEmbedding(keras.layers.Layer):
        def __init__(self, n_frames: int, d_model: int, **kw):
            super().__init__(**kw)
            self.n_frames, self.d_model = n_frames, d_model

        def build(self, input_shape):
            self.pos = self.add_weight(shape=(self.n_frames, self.d_model), initializer="random_normal", name="pos")

        def call(self, x):
            return x + self.pos

        def get_config(self):
            return super().get_config() | {"n_frames": self.n_frames, "d_model": self.d_model}

    return FramePositionEmbedding


def register_custom_layers() -> None:
    """Make gmdesk's own layers known to Keras before a model is loaded."""
    frame_position_embedding()
