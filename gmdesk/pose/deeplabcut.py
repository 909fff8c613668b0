"""Pose estimation with a site's own DeepLabCut model (DLC 3): OpenVINO or ONNX Runtime on the CPU, torch on request.

Runtimes: ``onnx`` runs the model's network exported once to ONNX (:mod:`gmdesk.pose.onnx`; cached beside the
model, tied to its snapshot's SHA-256) in ONNX Runtime on the CPU and decodes the heatmaps in NumPy exactly as
DeepLabCut does; ``openvino`` runs the same export in OpenVINO (:mod:`gmdesk.pose.openvino_runtime`) with the
same decoding; ``torch`` runs DeepLabCut's own inference runner (CPU or CUDA). ``auto`` (default) is torch on
a CUDA device, else OpenVINO where it is installed (ONNX Runtime where it is not, or where OpenVINO cannot load:
the provenance says so); a model the ONNX route does not support (multi-animal, top-down, resizing transforms)
falls back to torch where torch is installed, and says so in the provenance.

Frames come from :class:`gmdesk.video.reader.VideoReader` in displayed orientation (the same frames
the GUI shows), optionally downscaled so the longest side is ``max_size``; coordinates are
returned in full-frame pixels. Progress reports frames done / total, fps and ETA; ``cancel`` is checked
between batches and nothing is written unless inference finishes (the DLC ``.h5`` is written atomically).
A model whose body parts lack a landmark of the skeleton (after the name mapping) is refused before
inference. DeepLabCut and torch are imported only for the torch runtime or an export; nothing is downloaded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gmdesk.core.posetrack import PointStatus, PoseTrack
from gmdesk.core.skeleton import Skeleton
from gmdesk.errors import CancelledError, GmdeskError
from gmdesk.io.dlc import write_dlc
from gmdesk.pose.model import (
    PoseModel,
    PoseModelError,
    import_torch,
    installed,
    landmark_columns,
    load_pose_model,
    locate_pose_model,
    resolve_device,
    torch_available,
)
from gmdesk.pose.onnx import OnnxExportError, OnnxPoseModel, onnx_pose_model
from gmdesk.pose.openvino_runtime import OpenVinoPoseModel
from gmdesk.progress import CancelFn, ProgressFn
from gmdesk.video.reader import VideoReader

logger = logging.getLogger(__name__)

__all__ = ["PoseModel", "PoseModelError", "estimate_pose", "import_torch", "load_pose_model", "locate_pose_model",
           "resolve_device"]

RUNTIMES = ("auto", "openvino", "onnx", "torch")
#: Runtimes that run the model's ONNX export on the CPU.
CPU_RUNTIMES = ("openvino", "onnx")
#: A batch of RGB frames → (n, model body parts, 3): x, y (pixels of the frames given), score.
Predict = Callable[[list[np.ndarray]], np.ndarray]


def _torch_predict(pm: PoseModel, device: str, batch_size: int) -> Predict:
    pm = load_pose_model(pm)
    import_torch()
    from deeplabcut.pose_estimation_pytorch.apis.utils import get_pose_inference_runner

    runner = get_pose_inference_runner(pm.config, pm.snapshot, batch_size=batch_size, device=device, max_individuals=1)
    return lambda batch: np.stack([np.asarray(p["bodyparts"])[0] for p in runner.inference(batch)])


def cpu_runtime() -> str:
    """What ``auto`` runs on the CPU: ``openvino`` where OpenVINO is installed, else ``onnx`` (ONNX Runtime)."""
    return "openvino" if installed("openvino") else "onnx"


def _openvino_predictor(om: OnnxPoseModel, threads: int | None, auto: bool,
                        info: dict[str, object]) -> tuple[Predict, dict[str, object]]:
    """OpenVINO running the export ``om``; where it cannot and the runtime was ``auto``, ONNX Runtime (said in
    ``info``)."""
    try:
        ovm = OpenVinoPoseModel(om, threads)
    except (ImportError, OSError, PoseModelError) as exc:
        why = f"OpenVINO cannot run {om.path.name} here ({exc})"
        if not auto:
            raise PoseModelError(f"{why}; use --runtime onnx") from None
        logger.warning("%s; using ONNX Runtime", why)
        return om.predict, info | {"runtime": "onnx", "openvino_fallback": why}
    info = info | {"openvino": ovm.version(), "performance_hint": ovm.hint, "inference_precision": "f32"}
    if info["precision"] != "fp32":  # OpenVINO's own int8 kernels: the difference measured through OpenVINO
        measured = (om.record.get("difference_from_fp32_by_runtime") or {}).get("openvino")
        info["difference_from_fp32"] = measured or om.record.get("difference_from_fp32")
        info["difference_measured_with"] = "openvino" if measured else "onnxruntime"
    return ovm.predict, info


def pose_predictor(pm: PoseModel, runtime: str, device: str, batch_size: int,
                   threads: int | None = None, precision: str = "fp32") -> tuple[Predict, dict[str, object]]:
    """The inference function for ``runtime`` and what it is (for provenance).

    Raises
    ------
    PoseModelError
        When the runtime is unknown or cannot run the model here.
    """
    if runtime not in RUNTIMES:
        raise PoseModelError(f"runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}")
    auto = runtime == "auto"
    if auto:
        runtime = "torch" if device.startswith("cuda") else cpu_runtime()
    if runtime in CPU_RUNTIMES and device != "cpu":
        raise PoseModelError(f"runtime {runtime} runs on the CPU here; for device {device!r} use --runtime torch")
    info: dict[str, object] = {"runtime": runtime}
    if precision != "fp32" and runtime not in CPU_RUNTIMES:
        raise PoseModelError(f"precision {precision} runs in OpenVINO or ONNX Runtime only (--runtime openvino|onnx)")
    if runtime in CPU_RUNTIMES:
        try:
            om = onnx_pose_model(pm, precision=precision)
        except OnnxExportError as exc:
            if not torch_available():
                raise
            logger.warning("%s; using torch", exc)
            info = {"runtime": "torch", "onnx_fallback": str(exc)}
        else:
            info |= {"onnx": str(om.path), "onnx_sha256": om.record["onnx_sha256"], "threads": threads or "all cores",
                     "precision": precision}
            if precision != "fp32":
                info["difference_from_fp32"] = om.record.get("difference_from_fp32")
            om.threads = threads
            if runtime == "openvino":
                return _openvino_predictor(om, threads, auto, info)
            return om.predict, info
    if not torch_available():
        raise PoseModelError("runtime torch needs torch and DeepLabCut (pip install 'gmdesk[pose]'); this installation "
                             "runs pose through OpenVINO or ONNX Runtime (--runtime openvino|onnx)")
    return _torch_predict(pm, device, batch_size), info


def estimate_pose(
    video: str | Path,
    model: str | Path | PoseModel,
    skeleton: Skeleton,
    mapping: dict | str | Path | None = None,
    device: str = "auto",
    batch_size: int = 8,
    max_size: int | None = None,
    output: str | Path | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    runtime: str = "auto",
    threads: int | None = None,
    precision: str = "fp32",
) -> PoseTrack:
    """Run a DLC model on every frame of a video.

    Parameters
    ----------
    video : path
        .mp4 / .mov / .avi; frames in displayed orientation.
    model : path or PoseModel
        DLC project, training folder or exported ``.pt``.
    mapping : dict or path, optional
        Model body-part name → skeleton landmark.
    device : {"auto", "cpu", "cuda", ...}
    batch_size : int
        Frames per forward pass.
    max_size : int, optional
        Downscale frames so the longest side is at most this (coordinates are scaled back).
    output : path, optional
        DLC ``.h5``/``.csv`` to write (atomically) when inference finishes.
    progress, cancel : callable, optional
        ``progress(done, total, "12.3 fps, ETA 40 s")``; ``cancel()`` → :class:`CancelledError`.
    runtime : {"auto", "openvino", "onnx", "torch"}
        OpenVINO or ONNX Runtime on the CPU (both run the ONNX export, made on first use where torch is installed)
        or DeepLabCut's torch runner; ``auto``: torch on CUDA, else OpenVINO (ONNX Runtime without it).
    threads : int, optional
        CPU inference threads of OpenVINO / ONNX Runtime (default: all cores).
    precision : {"fp32", "int8"}
        ``int8`` runs the model's quantised export (``gmdesk pose-export --int8``; its record carries its
        landmark difference from fp32 per runtime, which the provenance repeats).

    Returns
    -------
    PoseTrack
        Positions in full-frame pixels, likelihoods, status OBSERVED; provenance records the
        model, runtime, device, batch size and inference size.
    """
    import cv2

    pm = model if isinstance(model, PoseModel) else locate_pose_model(model)
    cols = landmark_columns(pm, skeleton, mapping)  # refuse before any work
    dev = resolve_device(device)
    predict, how = pose_predictor(pm, runtime, dev, batch_size, threads, precision)
    with VideoReader(video) as reader:
        info = reader.info
        n = info.frame_count
        scale = 1.0
        if max_size and max(info.width, info.height) > max_size:
            scale = max_size / max(info.width, info.height)
        xy = np.full((n, skeleton.n_landmarks, 2), np.nan)
        lik = np.full((n, skeleton.n_landmarks), np.nan)
        t0 = time.perf_counter()
        done = 0
        batch: list[np.ndarray] = []

        def flush() -> None:
            nonlocal done
            preds = predict(batch)
            for k, pred in enumerate(preds):
                arr = pred[cols]
                xy[done + k] = arr[:, :2] / scale
                lik[done + k] = arr[:, 2]
            done += len(batch)
            batch.clear()
            if progress is not None:
                el = time.perf_counter() - t0
                fps = done / el if el > 0 else 0.0
                eta = (n - done) / fps if fps > 0 else float("nan")
                progress(done, n, f"{fps:.1f} fps, ETA {eta:.0f} s")

        for i, frame in enumerate(reader):
            if i >= n:
                break
            if cancel is not None and cancel():
                raise CancelledError(f"pose estimation of {video} cancelled at frame {i}; nothing was written")
            img = frame if scale == 1.0 else cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            batch.append(np.ascontiguousarray(img[..., ::-1]))
            if len(batch) == batch_size:
                flush()
        if batch:
            flush()
    if done < n:
        raise GmdeskError(f"video {video}: only {done} of {n} frames could be decoded (truncated?)")
    status = np.where(np.isnan(xy).any(axis=2), PointStatus.MISSING, PointStatus.OBSERVED).astype(np.uint8)
    track = PoseTrack(xy, lik, status, info.fps, skeleton.landmarks)
    track.meta = {"source": str(Path(video).resolve()), "scorer": f"DLC_gmdesk_{pm.name}", "video": str(video),
                  "rotation": info.rotation, "skeleton": skeleton.name}
    track.record("estimate_pose", {"model": pm.source, "snapshot": str(pm.original), "device": dev, **how,
                                   "batch_size": batch_size, "max_size": max_size, "inference_scale": scale},
                 frames=n, seconds=round(time.perf_counter() - t0, 2))
    if output is not None:
        write_dlc(track, output, file_names=False)
    logger.info("pose of %s: %d frames with model %s", video, track.n_frames, pm.name)
    return track
