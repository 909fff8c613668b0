"""Snippet classifiers trained with global (per-infant) labels (paper sections 3.3–3.4).

Four families behind one scikit-learn estimator API:

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
========== ============================================================ =====================

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
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from gmdesk.architectures import ALIASES, ARCHITECTURES, FAMILIES, resolve_architecture  # noqa: F401 - re-exported
from gmdesk.errors import GmdeskError

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
        Flip augmentation (from :func:`gmdesk.features.feature_layout`); None disables it.
    C : float
        SVM regularisation (1.0).
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
        C: float = 1.0,
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
        if self.mirror_columns is None:
            return X, y
        cols = np.asarray(self.mirror_columns, dtype=int)
        signs = np.asarray(self.mirror_signs if self.mirror_signs is not None else np.ones(len(cols)), dtype=np.float32)
        if len(cols) != X.shape[2]:
            raise GmdeskError(f"mirror layout has {len(cols)} columns, snippets have {X.shape[2]} features")
        return np.concatenate([X, X[..., cols] * signs]), np.concatenate([y, y])

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
        if self.family == "svm":
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
        Xs = self._scale(_check_X(X, getattr(self, "n_features_", None)))
        if self.family == "svm":
            f = self._svm_decision(Xs)
            return 1.0 / (1.0 + np.exp(self.platt_[0] * f + self.platt_[1]))
        return self.model_.predict(Xs, batch_size=256, verbose=0).ravel().astype(np.float64)

    def embed(self, X: np.ndarray) -> np.ndarray:
        """Output of the last layer before the classification neuron, shape (n, d).

        For the SVM (no hidden layer) it is the flattened z-scored snippet.
        """
        Xs = self._scale(_check_X(X, getattr(self, "n_features_", None)))
        if self.family == "svm":
            return Xs.reshape(len(Xs), -1)
        import keras

        sub = keras.Model(self.model_.inputs, self.model_.get_layer("embedding").output)
        return np.asarray(sub.predict(Xs, batch_size=256, verbose=0))

    # -- SVM ------------------------------------------------------------------------------
    def _fit_svm(self, arch: str, Xs: np.ndarray, y: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
        from sklearn.svm import SVC

        spec = ARCHITECTURES[arch]
        flat = Xs.reshape(len(Xs), -1).astype(np.float64)
        svc = SVC(kernel=spec["kernel"], degree=spec.get("degree", 3), C=self.C, gamma="scale", random_state=self.seed)
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
            from gmdesk.errors import CancelledError

            raise CancelledError("training cancelled")

    # -- persistence (used by gmdesk.bundle) ----------------------------------------------
    def save_weights(self, folder: Path) -> list[str]:
        """Write learned parameters into ``folder`` (no pickle); return the file names."""
        folder = Path(folder)
        np.savez(folder / "scaler.npz", mean=self.scaler_mean_, scale=self.scaler_scale_)
        names = ["scaler.npz"]
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
        if self.family == "svm":
            meta = json.loads((folder / "svm.json").read_text(encoding="utf-8"))
            with np.load(folder / "svm.npz", allow_pickle=False) as z:
                self.svm_ = {**{k: meta[k] for k in ("kernel", "degree", "gamma", "coef0", "intercept")},
                             "support_vectors": z["support_vectors"], "dual_coef": z["dual_coef"]}
            self.platt_ = tuple(meta["platt"])
        else:
            import keras

            self.model_ = keras.saving.load_model(folder / "model.keras", safe_mode=True, compile=False)
        return self


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
