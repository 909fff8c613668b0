"""Installation checks: ``gmdesk doctor``, the CPU-only switch of the workstation bundle, how the
app finds the CLI when frozen. The bundle itself is built and smoke-tested by scripts/build_bundle.sh."""

import importlib.util
import sys

import pytest

from gmdesk.cli import main
from gmdesk.pose import PoseModelError, resolve_device


def test_doctor_checks_every_stack_and_the_shipped_bundles(capsys):
    rc = main(["doctor"])
    out = capsys.readouterr().out
    assert "ok   shipped model bundles: demo-cnn1d-synthetic (hashes ok)" in out
    assert "ok   skeletons: infant24" in out and "demo_infant.mp4" in out
    if importlib.util.find_spec("deeplabcut") is None:  # a checkout without the pose extra says so
        assert rc == 1 and "FAIL pose estimation" in out
    else:
        assert rc == 0 and "all checks passed" in out


def test_cpu_build_never_picks_a_gpu(monkeypatch):
    monkeypatch.setenv("GMDESK_CPU_ONLY", "1")
    assert resolve_device("auto") == "cpu" and resolve_device("cpu") == "cpu"
    with pytest.raises(PoseModelError, match="CPU-only.*GMDESK_BUNDLE_GPU=1"):
        resolve_device("cuda")


def test_app_runs_jobs_through_the_bundles_cli_when_frozen(monkeypatch, tmp_path):
    pytest.importorskip("PySide6")
    from app.jobs import command_line

    assert command_line() == (sys.executable, ["-m", "gmdesk"])
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "gmdesk" / "gmdesk-app"))
    assert command_line() == (str(tmp_path / "gmdesk" / "gmdesk"), [])
