"""OpenVINO as gmdesk imports it: no telemetry, nothing of the training stacks (no DeepLabCut needed)."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("gmdesk.pose.openvino_runtime")


def test_openvino_imports_without_telemetry_or_training_stacks(tmp_path):
    """`import openvino` alone reports the import to Intel's analytics and writes a client id under the home folder;
    gmdesk's import keeps its telemetry package out, so nothing is sent or written, and it loads neither torch nor
    TensorFlow (the workstation bundle carries neither)."""
    code = ("import sys\n"
            "from gmdesk.pose.openvino_runtime import OpenVinoPoseModel, import_openvino\n"
            "ov = import_openvino()\n"
            "print('CPU' in ov.Core().available_devices, OpenVinoPoseModel.version())\n"
            "print(sorted(m for m in ('openvino_telemetry', 'torch', 'tensorflow', 'keras', 'deeplabcut', 'onnx')\n"
            "             if sys.modules.get(m) is not None))\n")
    home = tmp_path / "home"
    home.mkdir()
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "HOME": str(home), "CI": ""})
    assert res.returncode == 0, res.stderr[-2000:]
    first, loaded = res.stdout.splitlines()[-2:]
    assert first.startswith("True 20") and loaded == "[]", res.stdout
    assert not list(home.rglob("*")), sorted(map(str, home.rglob("*")))  # no ~/intel/openvino_ga_cid
