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
early stopping after 10 epochs without validation-loss improvement restoring the best weights.

Files: the trained network is kept twice. ``model.keras`` (Keras 3, for further training and inspection; read
with ``safe_mode``) and ``model.onnx``, written from it when the bundle is saved (Keras' ONNX export, which runs
tf2onnx) with two outputs, P(abnormal) and the ``embedding`` layer, and checked against Keras on (up to 64 of)
the training snippets before the bundle is written (the largest difference is recorded in the manifest's
``training.onnx``). Assessment runs ``model.onnx`` through ONNX Runtime, so a workstation needs neither
TensorFlow nor torch; only a bundle without ``model.onnx`` (written before ONNX) falls back to Keras.
TensorFlow is imported only when a network is built, trained or exported; gmdesk's own layer
(``gmdesk>FramePositionEmbedding``) is registered under that name so that bundles load.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
from collections.abc import Collection
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

#: Largest |P(abnormal) or embedding difference| between ONNX Runtime and Keras that a bundle may be written with.
ONNX_TOLERANCE = 1e-4
#: How many training snippets the ONNX export is checked on.
ONNX_CHECK_SNIPPETS = 64


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
        self.onnx_check_snippets_ = Xs_tr[:ONNX_CHECK_SNIPPETS]
        if getattr(callbacks[-1], "cancelled", False):
            raise CancelledError("training cancelled")

    def _outputs(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """P(abnormal) and the embedding of checked snippets, from ONNX Runtime when the bundle has
        ``model.onnx`` (else Keras)."""
        Xs = self.standardise(X)
        session = getattr(self, "onnx_session_", None)
        if session is not None:
            p, emb = [], []
            for i in range(0, len(Xs), 256):
                out = session.run(None, {session.get_inputs()[0].name: Xs[i:i + 256]})
                p.append(out[0])
                emb.append(out[1])
            if not p:
                return np.zeros(0), np.zeros((0, session.get_outputs()[1].shape[-1]), np.float32)
            return np.concatenate(p).ravel().astype(np.float64), np.concatenate(emb)
        p, emb = _two_output_model(self.model_).predict(Xs, batch_size=256, verbose=0)
        return np.asarray(p).ravel().astype(np.float64), np.asarray(emb)

    def _p_abnormal(self, X: np.ndarray) -> np.ndarray:
        return self._outputs(X)[0]

    def _embedding(self, X: np.ndarray) -> np.ndarray:
        return self._outputs(X)[1]

    def _save_model(self, folder: Path) -> list[str]:
        self.model_.save(folder / "model.keras")
        check = getattr(self, "onnx_check_snippets_", None)
        if check is None or not len(check):  # a model loaded from a bundle has no training part
            check = np.random.default_rng(self.seed).standard_normal((8, self.n_frames_, self.n_features_)).astype(np.float32)
        diff = export_network_onnx(self.model_, folder / "model.onnx", check)
        self.train_info_ = getattr(self, "train_info_", {}) | {
            "onnx": {"max_abs_difference_vs_keras": diff, "checked_on_training_snippets": int(len(check)),
                     "tolerance": ONNX_TOLERANCE}}
        return ["model.keras", "model.onnx"]

    def _load_model(self, folder: Path, files: Collection[str] | None = None) -> None:
        if (folder / "model.onnx").is_file() and (files is None or "model.onnx" in files):
            self.onnx_session_ = onnx_session(folder / "model.onnx")
            self.model_ = None
            return
        import keras

        register_custom_layers()
        self.model_ = keras.saving.load_model(folder / "model.keras", safe_mode=True, compile=False)


def _two_output_model(model: Any) -> Any:
    """The network with two outputs: P(abnormal) and its ``embedding`` layer."""
    import keras

    return keras.Model(model.inputs, [model.outputs[0], model.get_layer("embedding").output])


def onnx_session(path: Path) -> Any:
    """An ONNX Runtime CPU session for a bundle's network (graph optimisations on, one session per model)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise GmdeskError(f"{path}: not a readable ONNX network ({str(exc).splitlines()[0][:200]})") from None


def export_network_onnx(model: Any, path: Path, check: np.ndarray) -> float:
    """Write ``model`` (P(abnormal) and embedding outputs) as ONNX and check it against Keras.

    Parameters
    ----------
    model : keras.Model
        A trained network of :func:`build_network`.
    path : Path
        The ``.onnx`` file to write.
    check : ndarray
        Standardised snippets (n, frames, features) both runtimes score.

    Returns
    -------
    float
        The largest absolute difference between ONNX Runtime's and Keras' outputs (both outputs).

    Raises
    ------
    GmdeskError
        When the export fails or differs from Keras by more than :data:`ONNX_TOLERANCE`.
    """
    two = _two_output_model(model)
    want = [np.asarray(a) for a in two.predict(check, batch_size=256, verbose=0)]
    _register_erfc_for_tf2onnx()
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Keras prints "Saved artifact at ..."
            two.export(str(path), format="onnx", verbose=False)
    except Exception as exc:
        raise GmdeskError(f"cannot convert the {model.name} network to ONNX ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:200] if str(exc) else ''})") from exc
    session = onnx_session(path)
    got = session.run(None, {session.get_inputs()[0].name: check.astype(np.float32)})
    diff = float(max(np.max(np.abs(g.reshape(w.shape) - w)) for g, w in zip(got, want, strict=True)))
    if not diff <= ONNX_TOLERANCE:
        raise GmdeskError(f"the ONNX export of the {model.name} network differs from Keras by {diff:.2e} "
                          f"(> {ONNX_TOLERANCE:g}) on the training snippets; not writing the bundle")
    logger.info("ONNX export of %s: max |difference| vs Keras %.2e on %d snippets", model.name, diff, len(check))
    return diff


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


@functools.cache
def _register_erfc_for_tf2onnx() -> None:
    """Teach tf2onnx TensorFlow's ``Erfc`` (exact GELU, in the transformers) as ``1 - Erf(x)``: ONNX has
    ``Erf`` but no ``Erfc``, and tf2onnx 1.17 converts only the former."""
    from tf2onnx import utils
    from tf2onnx.handler import tf_op

    @tf_op("Erfc")
    class Erfc:
        @classmethod
        def version_9(cls, ctx, node, **kwargs):
            dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(node.input[0]))
            node.type = "Erf"
            one = ctx.make_const(utils.make_name(f"{node.name}_one"), np.array(1, dtype=dtype))
            ctx.insert_new_node_on_output("Sub", node.output[0], name=utils.make_name(f"{node.name}_erfc"),
                                          inputs=[one.output[0], node.output[0]])


def register_custom_layers() -> None:
    """Make gmdesk's own layers known to Keras before a model is loaded."""
    frame_position_embedding()
