"""A site's DeepLabCut model run by OpenVINO on the CPU: the same cached ONNX export as the ONNX Runtime route.

OpenVINO reads the export :mod:`gmdesk.pose.onnx` made (``snapshot-NNN.onnx``, or its int8 QDQ quantisation
``snapshot-NNN.int8.onnx``, which OpenVINO runs with its own int8 kernels) and compiles it for the CPU; images are
prepared and the heatmaps decoded by the same NumPy code as the ONNX Runtime route
(:func:`gmdesk.pose.onnx.preprocess`, :func:`gmdesk.pose.onnx.decode_outputs`), so the landmarks equal
DeepLabCut's.

Settings: ``INFERENCE_NUM_THREADS`` = ``threads`` (default: all cores); ``PERFORMANCE_HINT`` ``THROUGHPUT``:
the threads are split into parallel streams and each frame of a batch is one request (``bench/bench_pose.py``
measured it faster than ``LATENCY``, one request per batch on one stream, which stays selectable); and
``INFERENCE_PRECISION_HINT`` ``f32``: on CPUs with bfloat16 instructions OpenVINO's default is bf16, which would
change the landmarks of an fp32 model without saying so.

A network is compiled once per input shape (OpenVINO's kernels are fastest for a static shape; a compilation
takes seconds) and the last few compiled shapes are kept: a video's frames all have one size, so with
``THROUGHPUT`` (one frame per request) a video needs one compilation; with ``LATENCY`` a shorter last batch
needs a second.

``import openvino`` sends a usage event to Intel's telemetry service (``openvino_telemetry``, on unless a
consent file in the user's home says no) and writes files there: :func:`import_openvino` keeps that package out
of the process first, so OpenVINO falls back to its own no-op stub. Nothing leaves the machine.
"""

from __future__ import annotations

import logging
import sys
from collections import OrderedDict
from types import ModuleType
from typing import Any

import numpy as np

from gmdesk.pose.model import PoseModelError
from gmdesk.pose.onnx import OnnxPoseModel, decode_outputs, preprocess

logger = logging.getLogger(__name__)

#: OpenVINO performance hints gmdesk can use (the first is the default; see the module's notes).
HINTS = ("THROUGHPUT", "LATENCY")
#: Compiled input shapes kept per model.
MAX_SHAPES = 4


def import_openvino() -> ModuleType:
    """Import OpenVINO without its telemetry.

    ``openvino_telemetry`` is marked absent before OpenVINO looks for it (OpenVINO then uses its built-in stub):
    otherwise ``import openvino`` reports the import to Intel's analytics service and writes a client id under the
    user's home. Only the runtime is used here; nothing of OpenVINO's model conversion tools.

    Raises
    ------
    ImportError
        When OpenVINO is not installed or its libraries do not load.
    """
    if "openvino_telemetry" not in sys.modules:
        sys.modules["openvino_telemetry"] = None  # type: ignore[assignment]  # import openvino_telemetry -> ImportError
    import openvino

    return openvino


def _collect(request: Any, where: tuple[list[Any], int]) -> None:
    """A finished request's outputs into slot ``k`` of ``out`` (``where`` = (out, k))."""
    out, k = where
    out[k] = (request.get_output_tensor(0).data.copy(), request.get_output_tensor(1).data.copy())


class OpenVinoPoseModel:
    """An exported DeepLabCut network (:class:`gmdesk.pose.onnx.OnnxPoseModel`) compiled by OpenVINO for the CPU.

    Parameters
    ----------
    export : OnnxPoseModel
        The cached export (fp32 or int8) and its record.
    threads : int, optional
        ``INFERENCE_NUM_THREADS`` (default: OpenVINO's, all cores).
    hint : {"THROUGHPUT", "LATENCY"}
        OpenVINO's performance hint. ``THROUGHPUT`` (default) runs each frame of a batch as its own request on
        parallel streams (one compiled shape per frame size); ``LATENCY`` runs the batch as one request on one
        stream.
    """

    def __init__(self, export: OnnxPoseModel, threads: int | None = None, hint: str = "THROUGHPUT") -> None:
        if hint not in HINTS:
            raise PoseModelError(f"OpenVINO performance hint {hint!r}: choose one of {', '.join(HINTS)}")
        self.export = export
        self.threads = threads
        self.hint = hint
        self._core: Any = None
        self._model: Any = None
        self._compiled: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self._queues: dict[tuple[int, ...], Any] = {}
        self.compilations = 0  #: networks compiled so far (one per input shape, while kept)
        self.load()

    @property
    def path(self) -> Any:
        """The ``.onnx`` file OpenVINO reads."""
        return self.export.path

    @property
    def record(self) -> dict[str, Any]:
        """The export's record (body parts, stride, predictor, preprocessing, hashes)."""
        return self.export.record

    @property
    def bodyparts(self) -> list[str]:
        """The model's body parts, in output order."""
        return self.export.bodyparts

    @staticmethod
    def version() -> str:
        """OpenVINO's version (short form, e.g. ``2026.4.1``)."""
        return str(import_openvino().__version__).split("-")[0]

    def load(self) -> None:
        """Read the ONNX network into OpenVINO (once; compiling waits for the first input shape).

        Raises
        ------
        PoseModelError
            When OpenVINO cannot read the file.
        """
        if self._model is not None:
            return
        ov = import_openvino()
        self._core = ov.Core()
        try:
            self._model = self._core.read_model(str(self.path))
        except Exception as exc:  # OpenVINO raises RuntimeError and its own types
            raise PoseModelError(f"{self.path}: OpenVINO cannot read this ONNX pose network "
                                 f"({str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__})"
                                 ) from None

    def config(self) -> dict[str, str]:
        """The CPU plugin's settings used for every compilation."""
        cfg = {"PERFORMANCE_HINT": self.hint, "INFERENCE_PRECISION_HINT": "f32"}
        if self.threads:
            cfg["INFERENCE_NUM_THREADS"] = str(int(self.threads))
        return cfg

    def compiled(self, shape: tuple[int, ...]) -> Any:
        """The network compiled for input ``shape`` (n, 3, h, w): made once, the last :data:`MAX_SHAPES` kept."""
        key = tuple(int(d) for d in shape)
        if key in self._compiled:
            self._compiled.move_to_end(key)
            return self._compiled[key]
        self.load()
        ov = import_openvino()
        model = self._model.clone()
        model.reshape({model.input(0): ov.PartialShape(list(key))})
        try:
            compiled = self._core.compile_model(model, "CPU", self.config())
        except Exception as exc:  # OpenVINO raises RuntimeError and its own types
            raise PoseModelError(f"{self.path}: OpenVINO cannot compile this network for input {key} "
                                 f"({str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__})"
                                 ) from None
        self.compilations += 1
        self._compiled[key] = compiled
        while len(self._compiled) > MAX_SHAPES:
            old, _ = self._compiled.popitem(last=False)
            self._queues.pop(old, None)
        return compiled

    def _queue(self, shape: tuple[int, ...]) -> Any:
        """The request queue of the network compiled for one frame of ``shape`` (THROUGHPUT: one request per
        stream), made with it."""
        compiled = self.compiled(shape)
        key = tuple(int(d) for d in shape)
        if key not in self._queues:
            ov = import_openvino()
            queue = ov.AsyncInferQueue(compiled, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
            queue.set_callback(_collect)
            self._queues[key] = queue
        return self._queues[key]

    def run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The network's ``heatmap`` and ``locref`` outputs for a prepared batch ``x`` (n, 3, h, w): one request
        (``LATENCY``), or one request per frame spread over the streams (``THROUGHPUT``)."""
        if self.hint == "THROUGHPUT":
            queue = self._queue((1, *x.shape[1:]))
            out: list[Any] = [None] * len(x)
            for k in range(len(x)):
                queue.start_async({0: x[k:k + 1]}, (out, k))
            queue.wait_all()
            return np.concatenate([o[0] for o in out]), np.concatenate([o[1] for o in out])
        result = self.compiled(x.shape)({0: x})
        return np.asarray(result[0]), np.asarray(result[1])

    def predict(self, frames_rgb: list[np.ndarray]) -> np.ndarray:
        """Landmarks of a batch of equally sized RGB frames: ``(n, bodyparts, 3)`` = x, y, score (pixels of the
        frames given)."""
        x = preprocess(np.stack(frames_rgb), self.record["preprocess"])
        heatmap, locref = self.run(x)
        return decode_outputs(heatmap, locref, self.record)
