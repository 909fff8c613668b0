"""Pose estimation with a site's own DeepLabCut model (PyTorch engine, DLC 3).

Accepted models:

* a DLC project: its ``config.yaml`` (or folder); the latest iteration's shuffle 1 (or
  ``shuffle``) ``train/pytorch_config.yaml`` and its best (else latest) snapshot are used;
* a training folder holding ``pytorch_config.yaml`` and ``snapshot-*.pt``;
* an exported model ``.pt`` (``deeplabcut.export_model``: ``{"config", "pose"}``).

Frames come from :class:`gmdesk.video.reader.VideoReader` in displayed orientation (the same frames
the GUI shows), optionally downscaled so the longest side is ``max_size``; coordinates are
returned in full-frame pixels. Device ``auto`` uses CUDA when torch sees a GPU. Progress
reports frames done / total, fps and ETA; ``cancel`` is checked between batches and nothing is
written unless inference finishes (the DLC ``.h5`` is written atomically). A model whose body
parts lack a landmark of the skeleton (after the name mapping) is refused before inference.
DeepLabCut and torch are imported only here, only when needed, and nothing is downloaded.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import logging
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from gmdesk.core.posetrack import PointStatus, PoseTrack
from gmdesk.core.skeleton import Skeleton
from gmdesk.errors import CancelledError, GmdeskError
from gmdesk.io.dlc import landmark_sources, load_name_mapping, write_dlc
from gmdesk.progress import CancelFn, ProgressFn
from gmdesk.video.reader import VideoReader

logger = logging.getLogger(__name__)


class PoseModelError(GmdeskError):
    """A DeepLabCut model cannot be found, read, or used with this skeleton."""


@dataclass
class PoseModel:
    """A DLC PyTorch model ready for inference."""

    config: dict
    snapshot: Path
    bodyparts: list[str]
    source: str
    name: str


def import_torch() -> ModuleType:
    """Import torch without Triton.

    Triton (brought by torch's CUDA build, used only by ``torch.compile``) links its own LLVM,
    which aborts the process ("Option 'bitcode-mdindex-threshold' registered more than once")
    when TensorFlow's LLVM is already loaded, as it is in the app and the test run. gmdesk never
    compiles models, so Triton is marked absent before torch looks for it (torch then treats it
    as not installed). Inference on GPU and CPU is unaffected. Also sets ``HF_HUB_OFFLINE=1``
    unless the caller set it: a missing weight file fails at once instead of being fetched.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is downloaded at run time (timm/DLC weights)
    if "torch" not in sys.modules and "triton" not in sys.modules:
        sys.modules["triton"] = None  # type: ignore[assignment]  # import triton -> ImportError
    import torch

    return torch


_TEMP_FILES: list[str] = []


def _remove_temp_files() -> None:
    for f in _TEMP_FILES:
        with contextlib.suppress(OSError):
            os.unlink(f)


atexit.register(_remove_temp_files)


def _load_weights_only(path: Path, what: str) -> object:
    """``torch.load(weights_only=True)``: tensors and plain containers only; a file that needs anything
    else (a pickled object that could run code) is refused."""
    torch = import_torch()
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise PoseModelError(f"{path}: refusing to load this DeepLabCut {what}: it contains executable content or is "
                             f"not a DeepLabCut file ({first})") from None


def _sanitised_copy(state: dict, source: Path) -> Path:
    """A temporary file holding only ``{"model": weights}`` (what DeepLabCut's runner reads), made from
    tensors loaded with ``weights_only``: DeepLabCut itself then never unpickles the user's file."""
    torch = import_torch()
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise PoseModelError(f"{source}: model weights are not a plain tensor table")
    fd, tmp = tempfile.mkstemp(suffix=".pt", prefix="gmdesk-dlc-")
    os.close(fd)
    _TEMP_FILES.append(tmp)
    torch.save({"model": state}, tmp)
    return Path(tmp)


def _yaml(path: Path) -> dict:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PoseModelError(f"{path}: cannot read ({exc})") from exc


def _best_snapshot(train_dir: Path) -> Path:
    snaps = sorted(train_dir.glob("snapshot-*.pt"))
    snaps = [s for s in snaps if "detector" not in s.name]
    if not snaps:
        raise PoseModelError(f"{train_dir}: no snapshot-*.pt (train the model first)")
    best = [s for s in snaps if "best" in s.name]
    if best:
        return best[-1]
    return max(snaps, key=lambda s: int(re.findall(r"(\d+)", s.stem)[-1] if re.findall(r"(\d+)", s.stem) else -1))


def load_pose_model(path: str | Path, shuffle: int = 1) -> PoseModel:
    """Find the model config and snapshot of a DLC project, training folder or export."""
    p = Path(path)
    if not p.exists():
        raise PoseModelError(f"DeepLabCut model {p} does not exist")
    if p.is_file() and p.suffix == ".pt":
        data = _load_weights_only(p, "exported model")
        if not isinstance(data, dict) or "config" not in data or "pose" not in data:
            raise PoseModelError(f"{p}: not a DeepLabCut exported model (needs 'config' and 'pose')")
        cfg = data["config"]
        try:
            bodyparts = [str(b) for b in cfg["metadata"]["bodyparts"]]
        except (KeyError, TypeError):
            raise PoseModelError(f"{p}: exported model without metadata.bodyparts") from None
        return PoseModel(cfg, _sanitised_copy(data["pose"], p), bodyparts, str(p), p.stem)
    if p.is_file() and p.name == "config.yaml":
        p = p.parent
    if (p / "pytorch_config.yaml").is_file():
        train = p
    elif (p / "config.yaml").is_file():
        proj = _yaml(p / "config.yaml")
        it = int(proj.get("iteration", 0))
        pattern = str(p / "dlc-models-pytorch" / f"iteration-{it}" / f"*shuffle{shuffle}" / "train")
        found = sorted(glob.glob(pattern))
        if not found:
            raise PoseModelError(f"{p}: no trained PyTorch model for iteration {it}, shuffle {shuffle} "
                                 "(dlc-models-pytorch/...); is this a DeepLabCut 3 project?")
        train = Path(found[-1])
    else:
        raise PoseModelError(f"{p} is not a DeepLabCut project (config.yaml), training folder "
                             "(pytorch_config.yaml) or exported model (.pt)")
    cfg = _yaml(train / "pytorch_config.yaml")
    try:
        bodyparts = list(cfg["metadata"]["bodyparts"])
    except (KeyError, TypeError):
        raise PoseModelError(f"{train / 'pytorch_config.yaml'}: no metadata.bodyparts") from None
    snap = _best_snapshot(train)
    data = _load_weights_only(snap, "snapshot")
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise PoseModelError(f"{snap}: not a DeepLabCut snapshot (no 'model' weights)")
    return PoseModel(cfg, _sanitised_copy(data["model"], snap), bodyparts, str(p), f"{train.parent.name}-{snap.stem}")


def landmark_columns(model: PoseModel, skeleton: Skeleton, mapping: dict | str | Path | None = None) -> list[int]:
    """For each skeleton landmark, the model's body-part index (raises listing what is missing)."""
    if not isinstance(mapping, dict):
        mapping = load_name_mapping(mapping)
    sources = landmark_sources(model.bodyparts, skeleton, mapping, f"DeepLabCut model {model.source}", PoseModelError)
    return [model.bodyparts.index(bp) for bp in sources]


def resolve_device(device: str = "auto") -> str:
    """``auto`` → ``cuda`` when torch sees a GPU, else ``cpu``.

    In the CPU build of the workstation bundle (``GMDESK_CPU_ONLY=1``) ``auto`` is the CPU and a
    GPU device is refused: that build lacks cuDNN's engine libraries.
    """
    if os.environ.get("GMDESK_CPU_ONLY") == "1":
        if device not in ("auto", "cpu"):
            raise PoseModelError(f"device {device!r}: this gmdesk build is CPU-only; install the GPU build "
                                 "(GMDESK_BUNDLE_GPU=1 scripts/build_bundle.sh) for GPU pose estimation")
        return "cpu"
    if device != "auto":
        return device
    return "cuda" if import_torch().cuda.is_available() else "cpu"


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

    Returns
    -------
    PoseTrack
        Positions in full-frame pixels, likelihoods, status OBSERVED; provenance records the
        model, device, batch size and inference size.
    """
    import cv2

    pm = model if isinstance(model, PoseModel) else load_pose_model(model)
    cols = landmark_columns(pm, skeleton, mapping)  # refuse before any work
    dev = resolve_device(device)
    import_torch()
    from deeplabcut.pose_estimation_pytorch.apis.utils import get_pose_inference_runner

    runner = get_pose_inference_runner(pm.config, pm.snapshot, batch_size=batch_size, device=dev, max_individuals=1)
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
            preds = runner.inference(batch)
            for k, pred in enumerate(preds):
                arr = np.asarray(pred["bodyparts"])[0][cols]
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
    track.record("estimate_pose", {"model": pm.source, "snapshot": str(pm.snapshot), "device": dev,
                                   "batch_size": batch_size, "max_size": max_size, "inference_scale": scale},
                 frames=n, seconds=round(time.perf_counter() - t0, 2))
    if output is not None:
        write_dlc(track, output, file_names=False)
    logger.info("pose of %s: %d frames with model %s", video, track.n_frames, pm.name)
    return track
