"""Keras 3 networks on z-scored snippets: LSTM, 1-D CNN and a small vision transformer over frames.

========== ============================================================ =====================
name       architecture                                                 ``embed`` returns
========== ============================================================ =====================
lstm-2     LSTM(64) → LSTM(32)                                            last LSTM (32)
lstm-3     LSTM(128) → LSTM(64) → LSTM(32)                                last LSTM (32)
cnn1d-2    Conv1D 32, 64 → global average → dense 32                      dense 32
cnn1d-3    Conv1D 32, 64, 128 → global average → dense 64                 dense 64
vit-2      frame tokens + per-frame position embedding, 2 encoders,      dense 128
           8 heads → dense 128
vit-4      as vit-2 with 4 encoder layers                                 dense 128
========== ============================================================ =====================

Dropout 0.3, sigmoid output, Adam, class-balanced loss (Keras ``class_weight``), batch 16, up to 250 epochs,
early stopping after 10 epochs without validation-loss improvement restoring the best weights. The network is
kept as ``model.keras`` and loaded with Keras ``safe_mode``. TensorFlow is imported only when a network is
built or loaded; gmdesk's own layer (``gmdesk>FramePositionEmbedding``) is registered under that name so that
bundles load.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from gmdesk.errors import CancelledError, GmdeskError
from gmdesk.learning.architectures import ARCHITECTURES, resolve_architecture
from gmdesk.learning.base import SnippetClassifier
from gmdesk.learning.params import Constraint, OneOf
from gmdesk.progress import CancelFn, ProgressFn

logger = logging.getLogger(__name__)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out of the CLI

NETWORK_FAMILIES = ("lstm", "cnn1d", "vit")


class NetworkClassifier(SnippetClassifier):
    """An LSTM, 1-D CNN or vision transformer (:func:`build_network`) trained with Adam (``learning_rate``),
    ``batch_size``, ``dropout`` and early stopping (``patience``, at most ``epochs``) on the validation part.
    ``embed`` returns the layer named ``embedding`` (the last before the output). ``C`` is not used."""

    architectures: ClassVar[tuple[str, ...]] = tuple(a for a, s in ARCHITECTURES.items() if s["family"] in NETWORK_FAMILIES)
    _parameter_constraints: ClassVar[dict[str, list[Constraint | None]]] = {
        **SnippetClassifier._parameter_constraints, "architecture": [OneOf(architectures)]}

    def _fit_model(self, X_tr: np.ndarray, y_tr: np.ndarray, X_va: np.ndarray, y_va: np.ndarray,
                   progress: ProgressFn | None, cancel: CancelFn | None) -> None:
        import keras
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")  # per-fold predict shapes trigger harmless retracing warnings
        keras.utils.set_random_seed(self.seed)
        tf.config.experimental.enable_op_determinism()
        Xs_tr, Xs_va = self.standardise(X_tr), self.standardise(X_va)
        self.model_ = build_network(resolve_architecture(self.architecture), Xs_tr.shape[1], Xs_tr.shape[2], self.dropout)
        self.model_.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss="binary_crossentropy",
                            metrics=["accuracy"])
        callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=self.patience, restore_best_weights=True)]
        if progress is not None or cancel is not None:
            callbacks.append(epoch_reporter(self.epochs, progress, cancel))
        counts = np.bincount(y_tr.astype(int), minlength=2).astype(np.float64)
        class_weight = {c: float(len(y_tr) / (2 * max(counts[c], 1))) for c in (0, 1)}  # class-balanced
        hist = self.model_.fit(Xs_tr, y_tr.astype(np.float32), validation_data=(Xs_va, y_va.astype(np.float32)),
                               epochs=self.epochs, batch_size=self.batch_size, shuffle=True, verbose=0,
                               callbacks=callbacks, class_weight=class_weight)
        self.history_ = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
        if getattr(callbacks[-1], "cancelled", False):
            raise CancelledError("training cancelled")

    def _p_abnormal(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict(self.standardise(X), batch_size=256, verbose=0).ravel().astype(np.float64)

    def _embedding(self, X: np.ndarray) -> np.ndarray:
        import keras

        sub = keras.Model(self.model_.inputs, self.model_.get_layer("embedding").output)
        return np.asarray(sub.predict(self.standardise(X), batch_size=256, verbose=0))

    def _save_model(self, folder: Path) -> list[str]:
        self.model_.save(folder / "model.keras")
        return ["model.keras"]

    def _load_model(self, folder: Path) -> None:
        import keras

        register_custom_layers()
        self.model_ = keras.saving.load_model(folder / "model.keras", safe_mode=True, compile=False)


def epoch_reporter(epochs: int, progress: ProgressFn | None, cancel: CancelFn | None) -> Any:
    """A Keras callback that reports epochs and stops training when cancelled (its ``cancelled`` says so)."""
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


def _lstm_body(x: Any, spec: dict[str, Any], n_frames: int, dropout: float) -> Any:
    from keras import layers

    units = spec["units"]
    for i, u in enumerate(units):
        last = i == len(units) - 1
        x = layers.LSTM(u, return_sequences=not last, name="embedding" if last else f"lstm_{i}")(x)
        x = layers.Dropout(dropout)(x)
    return x


def _cnn1d_body(x: Any, spec: dict[str, Any], n_frames: int, dropout: float) -> Any:
    from keras import layers

    for i, f in enumerate(spec["filters"]):
        x = layers.Conv1D(f, 5, padding="same", activation="relu", name=f"conv_{i}")(x)
        x = layers.MaxPooling1D(2)(x)
        x = layers.Dropout(dropout)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dense(spec["dense"], activation="relu", name="embedding")(x)
    return layers.Dropout(dropout)(x)


def _vit_body(x: Any, spec: dict[str, Any], n_frames: int, dropout: float) -> Any:
    from keras import layers

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
    return layers.Dropout(dropout)(x)


#: The layers between the input and the output neuron, per network family.
_BODIES = {"lstm": _lstm_body, "cnn1d": _cnn1d_body, "vit": _vit_body}


def build_network(architecture: str, n_frames: int, n_features: int, dropout: float = 0.3) -> Any:
    """The Keras model of a network architecture (the hidden layer before the output is named
    ``embedding``)."""
    import keras
    from keras import layers

    spec = ARCHITECTURES[resolve_architecture(architecture)]
    if spec["family"] not in _BODIES:
        raise GmdeskError(f"{architecture} is not a network")
    inp = keras.Input((n_frames, n_features), name="snippet")
    x = _BODIES[spec["family"]](inp, spec, n_frames, dropout)
    out = layers.Dense(1, activation="sigmoid", name="p_abnormal")(x)
    return keras.Model(inp, out, name=architecture)


@functools.cache
def frame_position_embedding() -> type:
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
