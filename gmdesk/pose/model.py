"""A site's DeepLabCut 3 (PyTorch engine) model: where its files are, what it detects, and loading its weights
safely.

Accepted models:

* a DLC project: its ``config.yaml`` (or folder); the latest iteration's shuffle 1 (or
  ``shuffle``) ``train/pytorch_config.yaml`` and its best (else latest) snapshot are used;
* a training folder holding ``pytorch_config.yaml`` and ``snapshot-*.pt``;
* an exported model ``.pt`` (``deeplabcut.export_model``: ``{"config", "pose"}``).

:func:`locate_pose_model` finds the files without torch (a workstation that runs pose through ONNX Runtime has
none); :func:`load_pose_model` also loads the weights (``weights_only``) into a sanitised copy for DeepLabCut's
own runner. torch is imported only here and only when needed, without Triton (:func:`import_torch`).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import importlib.util
import json
import logging
import os
import re
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType

from gmdesk.core.skeleton import Skeleton
from gmdesk.errors import GmdeskError
from gmdesk.io.dlc import landmark_sources, load_name_mapping
from gmdesk.io.paths import read_capped

logger = logging.getLogger(__name__)

#: Largest DeepLabCut configuration file read (real ones are a few kB).
MAX_YAML_BYTES = 4 * 1024 * 1024


class PoseModelError(GmdeskError):
    """A DeepLabCut model cannot be found, read, or used with this skeleton."""


@dataclass
class PoseModel:
    """A DLC PyTorch model: its configuration, weights file and body parts.

    ``original`` is the user's snapshot (or exported ``.pt``), whose SHA-256 ties an ONNX export to it;
    ``snapshot`` is the sanitised weights-only copy DeepLabCut's runner reads (None until
    :func:`load_pose_model` made it). ``config`` is None for an exported ``.pt`` located without torch
    (its ONNX export's record then describes it).
    """

    config: dict | None
    snapshot: Path | None
    bodyparts: list[str]
    source: str
    name: str
    original: Path | None = None


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

    class NoAliases(yaml.SafeLoader):
        """SafeLoader that refuses anchors/aliases: a few kB of nested aliases expand to billions of items."""

        def compose_node(self, parent, index):  # noqa: ANN001, ANN202 - yaml's API
            if self.check_event(yaml.AliasEvent):
                raise yaml.YAMLError(f"an alias ('*{self.peek_event().anchor}') at {self.peek_event().start_mark}: "
                                     "DeepLabCut configuration files do not use them")
            return super().compose_node(parent, index)

    try:
        text = read_capped(path, "configuration file", MAX_YAML_BYTES, PoseModelError).decode("utf-8")
        return yaml.load(text, Loader=NoAliases) or {}  # noqa: S506 - a SafeLoader subclass
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise PoseModelError(f"{path}: cannot read ({exc})") from None


def _best_snapshot(train_dir: Path) -> Path:
    snaps = sorted(train_dir.glob("snapshot-*.pt"))
    snaps = [s for s in snaps if "detector" not in s.name]
    if not snaps:
        raise PoseModelError(f"{train_dir}: no snapshot-*.pt (train the model first)")
    best = [s for s in snaps if "best" in s.name]
    if best:
        return best[-1]
    return max(snaps, key=lambda s: int(re.findall(r"(\d+)", s.stem)[-1] if re.findall(r"(\d+)", s.stem) else -1))


def _exported_bodyparts(p: Path) -> list[str] | None:
    """Body parts of an exported ``.pt`` from its ONNX export's record beside it (no torch needed), if any."""
    record = p.with_suffix(".onnx.json")
    if not record.is_file() or record.stat().st_size > 1_000_000:
        return None
    try:
        parts = json.loads(record.read_text(encoding="utf-8")).get("bodyparts")
    except (OSError, ValueError, AttributeError):
        return None
    return [str(b) for b in parts] if isinstance(parts, list) else None


def locate_pose_model(path: str | Path, shuffle: int = 1) -> PoseModel:
    """Find the config, snapshot and body parts of a DLC project, training folder or export, without torch.

    Raises
    ------
    PoseModelError
        Naming the path when it is not a DeepLabCut 3 model.
    """
    p = Path(path)
    if not p.exists():
        raise PoseModelError(f"DeepLabCut model {p} does not exist")
    if p.is_file() and p.suffix == ".pt":
        parts = _exported_bodyparts(p)
        if parts is None:  # the body parts are inside the export: read them with torch
            if not torch_available():
                raise PoseModelError(f"{p}: an exported DeepLabCut model is read with torch, which this installation "
                                     "does not have; export it to ONNX once where DeepLabCut is installed (gmdesk "
                                     "pose-export) and copy its .onnx and .onnx.json beside it")
            return load_pose_model(p, shuffle)
        return PoseModel(None, None, parts, str(p), p.stem, p)
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
        bodyparts = [str(b) for b in cfg["metadata"]["bodyparts"]]
    except (KeyError, TypeError):
        raise PoseModelError(f"{train / 'pytorch_config.yaml'}: no metadata.bodyparts") from None
    snap = _best_snapshot(train)
    return PoseModel(cfg, None, bodyparts, str(p), f"{train.parent.name}-{snap.stem}", snap)


def load_pose_model(path: str | Path | PoseModel, shuffle: int = 1) -> PoseModel:
    """Find the model (:func:`locate_pose_model`) and load its weights with torch (``weights_only``) into a
    sanitised copy for DeepLabCut's runner."""
    located: PoseModel | None = None
    if isinstance(path, PoseModel):
        if path.snapshot is not None:
            return path
        located = path if path.config is not None else None  # config None: an exported .pt
        p = Path(path.original if path.original is not None else path.source)
    else:
        p = Path(path)
    if located is None and p.is_file() and p.suffix == ".pt":
        data = _load_weights_only(p, "exported model")
        if not isinstance(data, dict) or "config" not in data or "pose" not in data:
            raise PoseModelError(f"{p}: not a DeepLabCut exported model (needs 'config' and 'pose')")
        cfg = data["config"]
        try:
            bodyparts = [str(b) for b in cfg["metadata"]["bodyparts"]]
        except (KeyError, TypeError):
            raise PoseModelError(f"{p}: exported model without metadata.bodyparts") from None
        return PoseModel(cfg, _sanitised_copy(data["pose"], p), bodyparts, str(p), p.stem, p)
    located = located or locate_pose_model(p, shuffle)
    snap = located.original
    data = _load_weights_only(snap, "snapshot")
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise PoseModelError(f"{snap}: not a DeepLabCut snapshot (no 'model' weights)")
    return replace(located, snapshot=_sanitised_copy(data["model"], snap))


def landmark_columns(model: PoseModel, skeleton: Skeleton, mapping: dict | str | Path | None = None) -> list[int]:
    """For each skeleton landmark, the model's body-part index (raises listing what is missing)."""
    if not isinstance(mapping, dict):
        mapping = load_name_mapping(mapping)
    sources = landmark_sources(model.bodyparts, skeleton, mapping, f"DeepLabCut model {model.source}", PoseModelError)
    return [model.bodyparts.index(bp) for bp in sources]


def resolve_device(device: str = "auto") -> str:
    """``auto`` → ``cuda`` when torch is installed and sees a GPU, else ``cpu`` (the workstation's CPU build has
    no torch: its pose estimation runs in ONNX Runtime on the CPU)."""
    if device != "auto":
        return device
    if not torch_available():
        return "cpu"
    return "cuda" if import_torch().cuda.is_available() else "cpu"


def torch_available() -> bool:
    """Whether torch and DeepLabCut are installed (a workstation build has neither)."""
    return installed("torch") and installed("deeplabcut")


def installed(module: str) -> bool:
    """Whether ``module`` can be imported here (found by the import system; not imported)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
