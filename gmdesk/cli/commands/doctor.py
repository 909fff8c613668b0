"""``gmdesk doctor``: check an installation (a workstation bundle or a checkout): every stack imports, the
shipped resources and model bundles are intact, and which device pose estimation would use.

Inference needs ONNX Runtime (networks and DeepLabCut models exported to ONNX) and OpenVINO (those DeepLabCut
models, faster, on the CPU). TensorFlow (training the networks) and torch with DeepLabCut (training pose models,
the torch runtime, exporting a model to ONNX) are optional: the workstation's CPU build carries neither, and
doctor says what is then not available rather than failing."""

from __future__ import annotations

import argparse
import importlib
import logging
import platform
import sys
import time
from collections.abc import Callable

from gmdesk import __version__
from gmdesk.cli.args import command_parser
from gmdesk.errors import GmdeskError

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "doctor", "check this installation: libraries, shipped resources and models (hashes), GPU")
    return p


def run(args: argparse.Namespace) -> int:
    print(f"gmdesk {__version__} on Python {platform.python_version()} ({platform.system()} {platform.machine()})"
          f"{', bundle' if getattr(sys, 'frozen', False) else ''}")
    problems = [p for label, fn in CHECKS if (p := _check(label, fn))]
    if problems:
        print(f"{len(problems)} problem(s):", *problems, sep="\n  ")
        return 1
    print("all checks passed")
    return 0


def _check(label: str, fn: Callable[[], str]) -> str | None:
    """Run one check and print its line; the problem, or None when it passed."""
    t0 = time.perf_counter()
    try:
        text = fn()
    except Exception as exc:  # report every failure, keep checking
        print(f"  FAIL {label}: {type(exc).__name__}: {exc}")
        return f"{label}: {type(exc).__name__}: {exc}"
    print(f"  ok   {label}: {text} ({time.perf_counter() - t0:.1f} s)")
    return None


def _version(mod: str) -> str:
    return getattr(importlib.import_module(mod), "__version__", "?")


def _opencv() -> str:
    import cv2

    build = cv2.getBuildInformation()
    ffmpeg = "FFMPEG:" in build and "YES" in build.split("FFMPEG:")[1][:40]
    return f"{cv2.__version__}, FFmpeg {'yes' if ffmpeg else 'NO'}"


def _onnxruntime() -> str:
    import onnxruntime

    return f"{onnxruntime.__version__}, providers {', '.join(onnxruntime.get_available_providers())}"


def _openvino() -> str:
    from gmdesk.pose.openvino_runtime import OpenVinoPoseModel, import_openvino

    core = import_openvino().Core()  # loads the CPU plugin only (a bundle carries no GPU/NPU plugin)
    return f"{OpenVinoPoseModel.version()}, CPU plugin: {core.get_property('CPU', 'FULL_DEVICE_NAME')}"


def _training_stack() -> str:
    from gmdesk.pose.model import installed

    if not installed("tensorflow"):
        return "not installed: networks cannot be trained here (bundles still assess through ONNX Runtime)"
    return f"{_version('tensorflow')} / {_version('keras')}"


def _pose_stack() -> str:
    from gmdesk.pose.model import import_torch, torch_available

    if not torch_available():
        return ("torch / DeepLabCut not installed: pose runs through ONNX Runtime on models exported with "
                "`gmdesk pose-export` (needs DeepLabCut, once, elsewhere)")
    torch = import_torch()
    dlc = _version("deeplabcut")
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU: pose estimation on CPU"
    return f"torch {torch.__version__}, DeepLabCut {dlc}; {gpu}"


def _shipped_files() -> str:
    from gmdesk.io import resources

    bad = resources.check_resources()
    if bad:
        raise GmdeskError(f"{len(bad)} shipped file(s) missing or damaged: " + "; ".join(bad[:5]))
    return f"{len(resources.expected_hashes())} files in {resources.resource_root()} (hashes ok)"


def _each(items: list, missing: str, describe: Callable[[object], str]) -> str:
    """What ``describe`` says of each item, comma-separated; ``missing`` is the problem when there is none."""
    if not items:
        raise GmdeskError(missing)
    return ", ".join(describe(x) for x in items)


def _skeletons() -> str:
    from gmdesk.io import resources
    from gmdesk.io.skeletons import load_skeleton

    return _each(resources.skeleton_names(), f"no skeletons in {resources.skeleton_dir()}",
                 lambda n: f"{load_skeleton(resources.skeleton_path(n)).name} ({n}.toml parses)")


def _demo_data() -> str:
    from gmdesk.io import resources
    from gmdesk.io.dlc import read_dlc

    t = read_dlc(resources.demo_path("demo_infant.h5"))
    video = resources.demo_path("demo_infant.mp4")
    if not video.is_file():
        raise GmdeskError(f"{video} is missing")
    return f"demo_infant.h5 ({t.n_frames} frames read), demo_infant.mp4"


def _bundles() -> str:
    from gmdesk.io import resources
    from gmdesk.learning.bundle import load_bundle

    return _each(resources.shipped_bundles(), f"no model bundles in {resources.models_root()}",
                 lambda p: f"{load_bundle(p).manifest['model_id']} (hashes ok)")


#: The checks in the order they run: what is checked, and the function that checks it (its result
#: says what was found; an exception is the problem).
CHECKS: tuple[tuple[str, Callable[[], str]], ...] = (
    ("numpy / scipy / pandas / PyTables", lambda: " / ".join(_version(m) for m in ("numpy", "scipy", "pandas", "tables"))),
    ("OpenCV", _opencv),
    ("scikit-learn", lambda: _version("sklearn")),
    ("ONNX Runtime (inference: networks, pose)", _onnxruntime),
    ("OpenVINO (pose on the CPU)", _openvino),
    ("skops (scikit-learn models without pickle)", lambda: _version("skops")),
    ("TensorFlow / Keras (training networks; optional)", _training_stack),
    ("pose estimation with torch (DeepLabCut; optional)", _pose_stack),
    ("shipped files", _shipped_files),
    ("skeletons", _skeletons),
    ("demo data", _demo_data),
    ("shipped model bundles", _bundles),
)
