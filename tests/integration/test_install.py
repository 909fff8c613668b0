"""Installation checks: ``gmdesk doctor``, an installation without the training stacks (the workstation's CPU
build), how the app finds the CLI when frozen. The bundle itself is built and smoke-tested by
scripts/build_bundle.sh (run by .ci/run)."""

import importlib.util
import sys

import pytest

from gmdesk.cli.main import main
from tests.conftest import HIDE_TRAINING_STACKS, REPO


def test_doctor_checks_every_stack_and_the_shipped_bundles(capsys):
    rc = main(["doctor"])
    out = capsys.readouterr().out
    assert "ok   shipped model bundles: demo-synthetic (hashes ok)" in out
    assert "ok   skeletons: infant24" in out and "demo_infant.mp4" in out
    assert rc == 0 and "all checks passed" in out and "ok   ONNX Runtime" in out
    if importlib.util.find_spec("deeplabcut") is None:  # a checkout without the pose extra says so
        assert "torch / DeepLabCut not installed: pose runs through ONNX Runtime" in out


def test_an_installation_without_torch_and_tensorflow_passes_doctor_and_refuses_a_gpu(tmp_path):
    """The workstation's CPU build has neither torch nor TensorFlow: doctor passes and says what is then not
    available, device auto is the CPU, asking for CUDA says which runtime needs what, and an exported DeepLabCut
    .pt without its ONNX export says what to do."""
    import subprocess

    exported = tmp_path / "model.pt"
    exported.write_bytes(b"PK\x03\x04 not read without torch")
    video = tmp_path / "v.mp4"
    video.write_bytes(b"\x00" * 100)  # the model is refused before the video is read

    code = (f"{HIDE_TRAINING_STACKS}\n"
            "from gmdesk.cli.main import main\n"
            "from gmdesk.pose.deeplabcut import PoseModelError, pose_predictor, resolve_device\n"
            "from gmdesk.pose.model import PoseModel\n"
            "rc = main(['doctor'])\n"
            "assert resolve_device('auto') == 'cpu'\n"
            "try:\n"
            "    pose_predictor(PoseModel(None, None, [], 'm', 'm'), 'auto', 'cuda', 1)\n"
            "except PoseModelError as e:\n"
            "    print('REFUSED', e)\n"
            f"print('PT', main(['pose', {str(video)!r}, '--model', {str(exported)!r}]))\n"
            "print('RC', rc)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    out = res.stdout
    assert "RC 0" in out and "all checks passed" in out, out
    assert "PT 1" in out and "export it to ONNX once where DeepLabCut is installed" in res.stderr
    assert "networks cannot be trained here" in out and "torch / DeepLabCut not installed" in out
    assert "REFUSED runtime torch needs torch and DeepLabCut" in out


def test_app_runs_jobs_through_the_bundles_cli_when_frozen(monkeypatch, tmp_path):
    pytest.importorskip("PySide6")
    from app.jobs import command_line

    assert command_line() == (sys.executable, ["-m", "gmdesk"])
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "gmdesk" / "gmdesk-app"))
    assert command_line() == (str(tmp_path / "gmdesk" / "gmdesk"), [])


def test_the_wheel_carries_resources_and_models_and_runs_the_demo(tmp_path):
    """`pip install gmdesk-*.whl` into a fresh environment gives a working `gmdesk demo` and `gmdesk
    doctor`, reading the skeletons, demo data and model from the wheel (not from a checkout)."""
    import os
    import site
    import subprocess
    import zipfile
    from pathlib import Path

    root = REPO
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(root), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheels)], check=True, capture_output=True)
    whl = next(wheels.glob("gmdesk-*.whl"))
    names = zipfile.ZipFile(whl).namelist()
    for needed in ("gmdesk_resources/skeletons/infant24.toml", "gmdesk_resources/demo/demo_infant.h5",
                   "gmdesk_resources/SHA256SUMS", "gmdesk_models/demo-synthetic/manifest.json",
                   "gmdesk_models/demo-synthetic/descriptors.npz", "gmdesk_models/demo-synthetic/model.skops",
                   "gmdesk/cli/main.py", "app/window.py"):
        assert needed in names, needed
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GMDESK_RESOURCES", "GMDESK_MODELS")}
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, env=env)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(whl)], check=True,
                   capture_output=True, env=env)
    # the dependencies come from this environment's site-packages (a path in a .pth file: .pth files found
    # there are not processed, so this checkout's editable install stays out)
    target = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True, env=env).stdout.strip())
    (target / "zz_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    where = subprocess.run([str(py), "-c", "import gmdesk, gmdesk.io.resources as r; print(gmdesk.__file__); "
                            "print(r.resource_root()); print(r.bundle_path())"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, check=True).stdout.split()
    assert all(str(env_dir) in w for w in where), where
    demo = subprocess.run([str(env_dir / "bin" / "gmdesk"), "demo", "--out", str(tmp_path / "demo")], cwd=tmp_path,
                          env=env, capture_output=True, text=True)
    print(f"\nwheel: {whl.name}, {len(names)} files, {whl.stat().st_size / 1e6:.1f} MB\n{demo.stdout}")
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "VERDICT:" in demo.stdout and (tmp_path / "demo" / "demo_assessment.json").is_file()
    doctor = subprocess.run([str(env_dir / "bin" / "gmdesk"), "doctor"], cwd=tmp_path, env=env, capture_output=True,
                            text=True)
    assert "ok   shipped files: 5 files" in doctor.stdout and "ok   shipped model bundles" in doctor.stdout, doctor.stdout


def test_doctor_finds_damaged_shipped_files(tmp_path, monkeypatch, capsys):
    import shutil

    from gmdesk.io.resources import resource_root

    copy = tmp_path / "resources"
    shutil.copytree(resource_root(), copy)
    (copy / "demo" / "demo_infant.h5").write_bytes(b"")
    (copy / "skeletons" / "infant24.toml").write_text("garbage = [")
    monkeypatch.setenv("GMDESK_RESOURCES", str(copy))
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL shipped files" in out and "demo/demo_infant.h5 is damaged or changed" in out
    assert "FAIL skeletons" in out and "not valid TOML" in out
    assert "FAIL demo data" in out


def test_the_shipped_hash_list_is_current():
    from gmdesk.io.resources import check_resources, expected_hashes, resource_files

    assert check_resources() == []
    assert sorted(expected_hashes()) == [p.as_posix() for p in resource_files()]


def test_the_lock_pins_every_requirement_and_matches_this_environment():
    """constraints.txt pins the tested versions; an environment that drifted from it fails here."""
    import re
    import tomllib
    from importlib import metadata

    root = REPO
    pins = {}
    for line in (root / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    names = {re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.\-]+", r).group()).lower() for r in reqs}
    assert names - set(pins) == set()
    drift = {}
    for name, version in pins.items():
        try:
            got = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # an extra this environment does not have (the pose stack, say)
        if got.split("+")[0] != version.split("+")[0]:
            drift[name] = (got, version)
    assert drift == {}, f"installed versions differ from constraints.txt: {drift}"
