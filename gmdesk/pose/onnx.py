"""A site's DeepLabCut model run by ONNX Runtime: exported once, cached beside the model, decoded in NumPy.

DeepLabCut 3 has no ONNX export of its own. gmdesk exports the *network* only (backbone and heatmap head:
image → heatmaps and location-refinement maps) with ``torch.onnx.export``, and decodes the maps in NumPy as
DeepLabCut's ``HeatmapPredictor`` does (optional sigmoid, arg-max per body part, ``locref × locref_std``
offset, ``index × stride + stride / 2``), so the landmarks equal DeepLabCut's. The image is prepared as
DeepLabCut's bottom-up inference transform does (RGB, ImageNet normalisation).

The export is cached beside the snapshot (``snapshot-NNN.onnx`` + ``snapshot-NNN.onnx.json``; a read-only
model folder: ``~/.gmdesk/pose-onnx/``) and tied to the snapshot's SHA-256: a retrained or changed snapshot
is exported again, a cache whose files do not match their record is ignored. The record also carries the
body parts, stride, predictor and preprocessing, so a workstation without torch or DeepLabCut runs pose from
the ``.onnx`` alone. Models whose heads or preprocessing the decoder does not reproduce (multi-animal,
top-down, resize/padding transforms) are refused with a message; :func:`gmdesk.pose.deeplabcut.estimate_pose`
then falls back to torch where it is installed.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gmdesk.io.atomic import atomic_path
from gmdesk.io.hashing import file_sha256
from gmdesk.pose.model import PoseModel, PoseModelError, import_torch, load_pose_model, torch_available
from gmdesk.video.reader import VideoReader

logger = logging.getLogger(__name__)

RECORD_FORMAT = "gmdesk-pose-onnx-1"
OPSET = 17
#: ImageNet statistics of DeepLabCut's ``normalize_images`` transform (albumentations ``Normalize``).
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
#: Inference transforms the NumPy preprocessing reproduces; any other one set in the model config is refused.
_SUPPORTED_TRANSFORMS = {"normalize_images", "scale_to_unit_range"}


class OnnxExportError(PoseModelError):
    """The model cannot be exported to (or run by) ONNX Runtime as gmdesk decodes it."""


@dataclass
class OnnxPoseModel:
    """A DeepLabCut network exported to ONNX with the record of how to prepare images and decode its maps."""

    path: Path
    record: dict[str, Any]
    threads: int | None = None
    _session: Any = None

    @property
    def bodyparts(self) -> list[str]:
        """The model's body parts, in output order."""
        return list(self.record["bodyparts"])

    @property
    def session(self) -> Any:
        """The ONNX Runtime CPU session (made on first use; all graph optimisations)."""
        if self._session is None:
            self._session = pose_session(self.path, self.threads)
        return self._session

    def predict(self, frames_rgb: list[np.ndarray]) -> np.ndarray:
        """Landmarks of a batch of equally sized RGB frames: ``(n, bodyparts, 3)`` = x, y, score (pixels of the
        frames given)."""
        x = preprocess(np.stack(frames_rgb), self.record["preprocess"])
        heatmap, locref = self.session.run(None, {"image": x})
        return decode_outputs(heatmap, locref, self.record)


def pose_session(path: Path, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session for an exported pose network."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = int(threads)
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise PoseModelError(f"{path}: not a readable ONNX pose network ({str(exc).splitlines()[0][:200]})") from None


def preprocess(frames_rgb: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """``(n, h, w, 3)`` uint8 RGB → ``(n, 3, h, w)`` float32 as DeepLabCut's inference transform makes it."""
    x = frames_rgb.astype(np.float32)
    if spec.get("normalize_images"):
        x = (x - IMAGENET_MEAN * 255.0) / (IMAGENET_STD * 255.0)
    elif spec.get("scale_to_unit_range"):
        x = x / 255.0
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def decode_heatmaps(heatmap: np.ndarray, locref: np.ndarray | None, stride: float, apply_sigmoid: bool,
                    clip_scores: bool, locref_std: float) -> np.ndarray:
    """DeepLabCut's ``HeatmapPredictor`` in NumPy.

    Parameters
    ----------
    heatmap : ndarray
        ``(n, J, h, w)`` head output.
    locref : ndarray or None
        ``(n, 2J, h, w)`` location refinement (x, y interleaved per body part).
    stride : float
        Input pixels per heatmap cell.

    Returns
    -------
    ndarray
        ``(n, J, 3)``: x, y in input pixels and the score.
    """
    hm = heatmap.astype(np.float32)
    if apply_sigmoid:
        hm = 1.0 / (1.0 + np.exp(-hm))
    n, j, h, w = hm.shape
    top = hm.reshape(n, j, h * w).argmax(axis=2)  # first maximum in row-major (y, x) order, as torch.argmax
    y, x = top // w, top % w
    b_idx, j_idx = np.arange(n)[:, None], np.arange(j)[None, :]
    scores = hm[b_idx, j_idx, y, x]
    off = np.zeros((n, j, 2), np.float32)
    if locref is not None:
        lr = locref.astype(np.float32).reshape(n, j, 2, h, w)
        off = np.stack([lr[b_idx, j_idx, 0, y, x], lr[b_idx, j_idx, 1, y, x]], axis=-1) * np.float32(locref_std)
    s = np.float32(stride)
    px = x.astype(np.float32) * s + np.float32(0.5) * s + off[..., 0]
    py = y.astype(np.float32) * s + np.float32(0.5) * s + off[..., 1]
    if clip_scores:
        scores = np.clip(scores, 0.0, 1.0)
    return np.stack([px, py, scores], axis=-1).astype(np.float64)


def decode_outputs(heatmap: np.ndarray, locref: np.ndarray, record: dict[str, Any]) -> np.ndarray:
    """Landmarks from the exported network's two outputs, decoded as the export's record says (every runtime that
    runs the export, ONNX Runtime or OpenVINO, decodes here).

    Parameters
    ----------
    heatmap, locref : ndarray
        The network's ``heatmap`` and ``locref`` outputs (``locref`` is ignored when the predictor has no location
        refinement).
    record : dict
        The export's record (stride and predictor).

    Returns
    -------
    ndarray
        ``(n, bodyparts, 3)``: x, y in input pixels and the score.
    """
    pred = record["predictor"]
    return decode_heatmaps(heatmap, locref if pred["location_refinement"] else None, float(record["stride"]),
                           bool(pred["apply_sigmoid"]), bool(pred["clip_scores"]), float(pred["locref_std"]))


def cache_locations(pm: PoseModel, digest: str | None = None) -> list[Path]:
    """Where the export of ``pm`` is looked for and written: beside the snapshot, then the user's cache
    (``digest``: the snapshot's SHA-256 when the caller has it)."""
    if pm.original is None:
        raise PoseModelError(f"DeepLabCut model {pm.source}: no snapshot file to tie an ONNX export to")
    digest = digest or file_sha256(pm.original)
    home = Path(os.environ.get("GMDESK_HOME", Path.home() / ".gmdesk"))
    return [pm.original.with_suffix(".onnx"), home / "pose-onnx" / f"{digest[:24]}.onnx"]


PRECISIONS = ("fp32", "int8")


def _with_precision(path: Path, precision: str) -> Path:
    return path if precision == "fp32" else path.with_name(f"{path.stem}.{precision}.onnx")


def find_export(pm: PoseModel, precision: str = "fp32") -> OnnxPoseModel | None:
    """The cached export of ``pm`` (``fp32``, or its ``int8`` quantisation) whose record matches its snapshot's
    SHA-256 and the ``.onnx`` file (or None)."""
    if pm.original is None:
        return None
    digest = file_sha256(pm.original)
    for onnx_path in (_with_precision(c, precision) for c in cache_locations(pm, digest)):
        rec_path = onnx_path.with_suffix(".onnx.json")
        if not (onnx_path.is_file() and rec_path.is_file()) or rec_path.stat().st_size > 1_000_000:
            continue
        try:
            record = json.loads(rec_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            logger.warning("ignoring %s: not a readable export record", rec_path)
            continue
        if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
            continue
        if record.get("snapshot_sha256") != digest:
            logger.info("ONNX export %s is of another snapshot; exporting again", onnx_path)
            continue
        if record.get("onnx_sha256") != file_sha256(onnx_path):
            logger.warning("ignoring %s: it does not match its record (changed or half-copied)", onnx_path)
            continue
        return OnnxPoseModel(onnx_path, record)
    return None


def _check_exportable(cfg: dict, source: str) -> dict[str, Any]:
    """The predictor of a single-animal bottom-up heatmap model, or why it cannot be exported."""
    if cfg.get("method", "bu") not in ("bu", "BU"):
        raise OnnxExportError(f"DeepLabCut model {source}: method {cfg.get('method')!r} (top-down) is not exported "
                              "to ONNX by gmdesk")
    heads = cfg.get("model", {}).get("heads", {})
    if set(heads) != {"bodypart"} or heads["bodypart"].get("predictor", {}).get("type") != "HeatmapPredictor":
        raise OnnxExportError(f"DeepLabCut model {source}: heads {sorted(heads)} (a multi-animal or identity model) are "
                              "not exported to ONNX by gmdesk; only single-animal heatmap models are")
    inference = cfg.get("data", {}).get("inference", {}) or {}
    extra = sorted(k for k, v in inference.items() if v not in (None, False) and k not in _SUPPORTED_TRANSFORMS)
    if extra:
        raise OnnxExportError(f"DeepLabCut model {source}: its inference transform uses {extra}, which the ONNX "
                              "route does not reproduce")
    if inference.get("normalize_images") and inference.get("scale_to_unit_range"):
        raise OnnxExportError(f"DeepLabCut model {source}: both normalize_images and scale_to_unit_range are set")
    pred = heads["bodypart"]["predictor"]
    return {"apply_sigmoid": bool(pred.get("apply_sigmoid", True)), "clip_scores": bool(pred.get("clip_scores", False)),
            "location_refinement": bool(pred.get("location_refinement", True)),
            "locref_std": float(pred.get("locref_std", 7.2801))}


def export_pose_model(model: str | Path | PoseModel, check_size: tuple[int, int] = (320, 240),
                      seed: int = 0) -> OnnxPoseModel:
    """Export a DeepLabCut model's network to ONNX (needs torch and DeepLabCut), check it, and cache it.

    The check runs torch and ONNX Runtime on the same random images (``check_size`` = width, height) and
    compares the decoded landmarks; the largest difference (pixels) is kept in the record.

    Raises
    ------
    OnnxExportError
        When the model's kind is not supported, the export fails, or the check differs by more than 0.01 px.
    """
    if not torch_available():
        raise OnnxExportError(f"DeepLabCut model {model.source if isinstance(model, PoseModel) else model}: exporting "
                              "to ONNX needs torch and DeepLabCut (pip install 'gmdesk[pose]'); do it once where they "
                              "are installed (gmdesk pose-export MODEL) and copy the model folder with its .onnx")
    pm = load_pose_model(model)
    predictor = _check_exportable(pm.config, pm.source)
    torch = import_torch()
    from deeplabcut.pose_estimation_pytorch.models.model import PoseModel as DlcPoseModel

    t0 = time.perf_counter()
    net = DlcPoseModel.build(pm.config["model"], pretrained_backbone=False)
    net.load_state_dict(torch.load(pm.snapshot, map_location="cpu", weights_only=True)["model"])
    net.eval()
    stride = float(net.get_stride("bodypart"))

    class Network(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, image: Any) -> tuple[Any, Any]:
            out = self.inner(image)["bodypart"]
            return out["heatmap"], out.get("locref", out["heatmap"])

    wrapped = Network(net).eval()
    colour = str(pm.config.get("data", {}).get("colormode", "RGB")).upper()
    inference = pm.config.get("data", {}).get("inference", {}) or {}
    spec = {"colormode": colour, "normalize_images": bool(inference.get("normalize_images")),
            "scale_to_unit_range": bool(inference.get("scale_to_unit_range"))}
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (2, check_size[1], check_size[0], 3), dtype=np.uint8)
    x = torch.from_numpy(preprocess(frames, spec))
    last_error: Exception | None = None
    digest = file_sha256(pm.original)
    for target in cache_locations(pm, digest):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(target) as tmp:
                with torch.no_grad():
                    torch.onnx.export(wrapped, (x,), str(tmp), input_names=["image"], output_names=["heatmap", "locref"],
                                      dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                                                    "heatmap": {0: "batch", 2: "h", 3: "w"},
                                                    "locref": {0: "batch", 2: "h", 3: "w"}},
                                      opset_version=OPSET, dynamo=False)
                    want_hm, want_lr = (t.numpy() for t in wrapped(x))
                got_hm, got_lr = pose_session(tmp).run(None, {"image": x.numpy()})
                args = (stride, predictor["apply_sigmoid"], predictor["clip_scores"], predictor["locref_std"])
                lr_on = predictor["location_refinement"]
                want = decode_heatmaps(want_hm, want_lr if lr_on else None, *args)
                got = decode_heatmaps(got_hm, got_lr if lr_on else None, *args)
                diff = float(np.max(np.abs(got - want)))
                if not diff <= 0.01:
                    raise OnnxExportError(f"DeepLabCut model {pm.source}: the ONNX export differs from torch by "
                                          f"{diff:.3g} (landmark px or score) on check images; not using it")
                record = {
                    "format": RECORD_FORMAT, "model": pm.source, "name": pm.name, "snapshot": pm.original.name,
                    "snapshot_sha256": digest, "bodyparts": pm.bodyparts, "stride": stride,
                    "predictor": predictor, "preprocess": spec, "opset": OPSET,
                    "check": {"images": len(frames), "size": list(check_size), "max_abs_difference": diff},
                    "exported_with": {"torch": torch.__version__, "python": platform.python_version()},
                    "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds": round(time.perf_counter() - t0, 2),
                }
                record["onnx_sha256"] = file_sha256(tmp)
            with atomic_path(target.with_suffix(".onnx.json")) as rtmp:
                rtmp.write_text(json.dumps(record, indent=2), encoding="utf-8")
        except OnnxExportError:
            raise
        except OSError as exc:  # a read-only model folder: try the user's cache
            last_error = exc
            continue
        except Exception as exc:  # torch.onnx raises many kinds
            raise OnnxExportError(f"DeepLabCut model {pm.source}: ONNX export failed ({type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0][:200] if str(exc) else ''})") from exc
        logger.info("exported %s to %s (max |diff| vs torch %.2e, %.1f s)", pm.source, target, diff, record["seconds"])
        return OnnxPoseModel(target, record)
    raise OnnxExportError(f"DeepLabCut model {pm.source}: cannot write its ONNX export ({last_error})")


def calibration_frames(video: str | Path, n: int = 16, max_size: int | None = 640) -> tuple[list[np.ndarray], dict]:
    """``n`` RGB frames spread over ``video`` (displayed orientation, downscaled as ``gmdesk pose --max-size``
    would), and what they are."""
    import cv2

    with VideoReader(video) as r:
        total = r.info.frame_count
        idx = sorted({int(i) for i in np.linspace(0, total - 1, min(n, total))})
        scale = 1.0
        if max_size and max(r.info.width, r.info.height) > max_size:
            scale = max_size / max(r.info.width, r.info.height)
        frames = []
        for i in idx:
            f = r.frame(i)
            if scale != 1.0:
                f = cv2.resize(f, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            frames.append(np.ascontiguousarray(f[..., ::-1]))
    return frames, {"video": str(video), "video_sha256": file_sha256(video), "frames": idx, "scale": scale}


def _difference(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Median, 90th percentile and largest distance between two sets of landmarks (pixels)."""
    d = np.linalg.norm(a[..., :2] - b[..., :2], axis=-1)
    return {"median_px": round(float(np.median(d)), 3), "p90_px": round(float(np.percentile(d, 90)), 3),
            "max_px": round(float(d.max()), 3)}


def quantise_export(om: OnnxPoseModel, frames_rgb: list[np.ndarray], calibration: dict[str, Any],
                    other_runtimes: dict[str, Callable[[OnnxPoseModel], Callable[[list[np.ndarray]], np.ndarray]]]
                    | None = None) -> OnnxPoseModel:
    """An int8 version of an export (static quantisation, QDQ, per-channel weights), calibrated on frames of the
    site's own recordings, written beside it (``…int8.onnx`` + record) with its landmark difference from fp32 on
    those frames (median and 90th percentile, pixels). Needs the ``onnx`` package (the ``pose`` extra).

    Parameters
    ----------
    om : OnnxPoseModel
        The fp32 export.
    frames_rgb : list of ndarray
        Calibration frames (RGB, equal sizes), as the model will see them (after ``--max-size``).
    calibration : dict
        What the frames are (video, SHA-256, frame numbers, size) for the record.
    other_runtimes : dict, optional
        Other runtimes that run the int8 export (name → a function making its predictor from an export, e.g.
        OpenVINO's): their landmark difference from fp32 (ONNX Runtime) on the same frames is recorded too
        (``difference_from_fp32_by_runtime``), since each runtime's int8 kernels round in their own way.
    """
    try:
        from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as exc:
        raise OnnxExportError(f"int8 quantisation needs the onnx package (pip install 'gmdesk[pose]'): {exc}") from None

    spec = om.record["preprocess"]

    class Frames(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter([{"image": preprocess(f[None], spec)} for f in frames_rgb])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.items, None)

    target = _with_precision(om.path, "int8")
    t0 = time.perf_counter()
    try:
        with atomic_path(target.with_name(target.stem + ".pre.onnx")) as pre, atomic_path(target) as tmp:
            quant_pre_process(str(om.path), str(pre))
            quantize_static(str(pre), str(tmp), Frames(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
            q = OnnxPoseModel(tmp, om.record)
            a = np.concatenate([om.predict(frames_rgb[i:i + 4]) for i in range(0, len(frames_rgb), 4)])
            b = np.concatenate([q.predict(frames_rgb[i:i + 4]) for i in range(0, len(frames_rgb), 4)])
            by_runtime = {"onnxruntime": {"frames": len(frames_rgb)} | _difference(a, b)}
            for name, make in (other_runtimes or {}).items():
                run = make(q)
                c = np.concatenate([run(frames_rgb[i:i + 4]) for i in range(0, len(frames_rgb), 4)])
                by_runtime[name] = {"frames": len(frames_rgb)} | _difference(a, c)
            record = om.record | {
                "precision": "int8", "fp32_onnx_sha256": om.record["onnx_sha256"], "calibration": calibration,
                "difference_from_fp32": by_runtime["onnxruntime"], "difference_from_fp32_by_runtime": by_runtime,
                "quantised_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds": round(time.perf_counter() - t0, 2),
                "onnx_sha256": file_sha256(tmp)}
        target.with_name(target.stem + ".pre.onnx").unlink(missing_ok=True)
        with atomic_path(target.with_suffix(".onnx.json")) as rtmp:
            rtmp.write_text(json.dumps(record, indent=2), encoding="utf-8")
    except OnnxExportError:
        raise
    except Exception as exc:  # onnxruntime.quantization raises many kinds
        raise OnnxExportError(f"{om.path}: int8 quantisation failed ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:200] if str(exc) else ''})") from exc
    logger.info("int8 export %s: landmarks differ from fp32 by median %.2f px", target,
                record["difference_from_fp32"]["median_px"])
    return OnnxPoseModel(target, record)


def onnx_pose_model(pm: PoseModel, export: bool = True, precision: str = "fp32") -> OnnxPoseModel:
    """The cached export of ``pm``, exporting it now when there is none and ``export`` (and torch) allow
    (``int8`` is never made here: :func:`quantise_export` needs calibration frames).

    Raises
    ------
    PoseModelError
        When there is no export and none can be made here (the message says what to do).
    """
    if precision not in PRECISIONS:
        raise PoseModelError(f"precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    found = find_export(pm, precision)
    if found is not None:
        return found
    if precision != "fp32":
        raise PoseModelError(f"DeepLabCut model {pm.source} has no {precision} export for its snapshot: make one with "
                             f"`gmdesk pose-export MODEL --int8 VIDEO` (calibrated on one of your recordings)")
    if not export or not torch_available():
        raise PoseModelError(
            f"DeepLabCut model {pm.source} has no ONNX export for its snapshot "
            f"({pm.original.name if pm.original else '?'}) and this installation cannot make one (no torch/DeepLabCut): "
            "run `gmdesk pose-export MODEL` once where DeepLabCut is installed and copy the model folder with its .onnx")
    return export_pose_model(pm)
