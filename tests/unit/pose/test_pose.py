"""DeepLabCut pose estimation: a tiny model trained offline in a session fixture."""

import importlib.util
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from gmdesk.cli.main import main
from gmdesk.errors import CancelledError
from gmdesk.io.dlc import read_dlc
from gmdesk.pose.deeplabcut import PoseModelError, estimate_pose, load_pose_model
from gmdesk.video.reader import VideoError, VideoReader, probe_video
from tests.conftest import HIDE_TRAINING_STACKS, decode_all_frames
from tests.dlc_fixture import train_tiny_dlc_model, unseen_video

# not importorskip: importing deeplabcut here would load torch before gmdesk.pose.deeplabcut.import_torch
if importlib.util.find_spec("deeplabcut") is None:
    pytest.skip("DeepLabCut is not installed (pip install -e '.[pose]')", allow_module_level=True)


@pytest.fixture(scope="session")
def dlc_project(tmp_path_factory, skeleton):
    t0 = time.perf_counter()
    cfg = train_tiny_dlc_model(tmp_path_factory.mktemp("dlc"), skeleton)
    print(f"\ntiny DLC model trained in {time.perf_counter() - t0:.1f} s")
    return cfg


@pytest.fixture(scope="session")
def unseen(tmp_path_factory, skeleton):
    return unseen_video(tmp_path_factory.mktemp("dlcvid") / "unseen.mp4", skeleton)


def test_gmdesk_pose_on_an_unseen_video(tmp_path, dlc_project, unseen, skeleton, capsys):
    video, truth = unseen
    out = tmp_path / "pose.h5"
    assert main(["pose", str(video), "--model", str(dlc_project), "--device", "cpu", "--batch", "4", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "fps" in printed and "openvino on cpu" in printed  # auto: OpenVINO on the CPU where it is installed
    track = read_dlc(out, skeleton)
    err = np.linalg.norm(track.xy - truth, axis=-1)
    print(f"\nlandmark error on an unseen video: median {np.median(err):.2f} px, p90 {np.percentile(err, 90):.2f} px")
    assert np.median(err) < 6.0  # frames are 160x120, the infant about 75 px tall
    assert np.isfinite(track.likelihood).all()


def test_cancel_stops_at_once_and_writes_nothing(tmp_path, dlc_project, unseen, skeleton):
    video, _ = unseen
    out = tmp_path / "never.h5"
    calls = []

    def cancel():
        calls.append(time.perf_counter())
        return len(calls) > 5

    t0 = time.perf_counter()
    with pytest.raises(CancelledError, match="nothing was written"):
        estimate_pose(video, dlc_project, skeleton, device="cpu", batch_size=2, output=out, cancel=cancel)
    assert time.perf_counter() - calls[-1] < 1.0 and time.perf_counter() - t0 < 60
    assert not out.exists() and not list(tmp_path.iterdir())


def _ffmpeg_frame(path, index: int) -> np.ndarray:
    """Frame ``index`` as FFmpeg's own player pipeline shows it (autorotation on): the reference."""
    out = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(path), "-vf", f"select=eq(n\\,{index})",
                          "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "bgr24", "-"], check=True, capture_output=True)
    info = probe_video(path)
    return np.frombuffer(out.stdout, np.uint8).reshape(info.height, info.width, 3)


@pytest.mark.parametrize("transpose,flag", [(1, 90), (2, 270)], ids=["stored-clockwise", "stored-counterclockwise"])
def test_rotated_video_gives_landmarks_in_displayed_orientation(tmp_path, dlc_project, unseen, skeleton, transpose, flag):
    """A phone stores sensor-oriented frames with a rotation flag: the displayed video is upright.
    Frames stored turned 90 degrees + a display-rotation flag that turns them back must give the
    landmarks of the upright clip, in the displayed (upright) frame's pixels. The displayed frame
    is what FFmpeg's own pipeline shows (its autorotation), not an assumption about the flag's sign."""
    if shutil.which("ffmpeg") is None:
        if os.environ.get("CI"):
            pytest.fail("ffmpeg is required in CI")
        pytest.skip("ffmpeg not installed")
    video, truth = unseen
    enc = ["-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p"]
    upright = tmp_path / "upright.mp4"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(video), *enc, str(upright)], check=True)
    sensor = tmp_path / "sensor.mp4"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(video), "-vf", f"transpose={transpose}", *enc,
                    str(sensor)], check=True)
    flagged = tmp_path / "phone.mov"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(sensor), "-c", "copy",
                    "-metadata:s:v:0", f"rotate={flag}", str(flagged)], check=True)
    info = probe_video(flagged)
    assert info.rotation in (90, 270) and (info.width, info.height) == (160, 120)  # displayed upright
    shown = _ffmpeg_frame(flagged, 7)
    upright_ref = decode_all_frames(upright)[7]
    # the clip is what we meant: FFmpeg shows it upright (lossless 4:4:4; YUV->BGR rounding only)
    assert np.abs(shown.astype(int) - upright_ref.astype(int)).mean() < 0.5
    with VideoReader(flagged) as r:
        assert np.abs(r.frame(7).astype(int) - shown.astype(int)).max() <= 1  # gmdesk shows what FFmpeg shows
    plain = estimate_pose(upright, dlc_project, skeleton, device="cpu")
    phone = estimate_pose(flagged, dlc_project, skeleton, device="cpu")
    diff = np.linalg.norm(phone.xy - plain.xy, axis=-1)
    err = np.linalg.norm(phone.xy - truth, axis=-1)
    print(f"\nrotation-flagged vs upright: median {np.median(diff):.3f} px; vs truth median {np.median(err):.2f} px")
    assert np.median(diff) < 0.5 and np.median(err) < 6.0


def test_bad_inputs_are_refused_before_inference(tmp_path, dlc_project, unseen, skeleton):
    video, _ = unseen
    mapping = tmp_path / "map.toml"
    mapping.write_text('[bodyparts]\nleft_foot = "l_foot"\nnose = "snout"\n')
    with pytest.raises(PoseModelError, match=r"lacks 2 landmark.*\['nose', 'left_foot'\]"):
        estimate_pose(video, dlc_project, skeleton, mapping=mapping, device="cpu")
    with pytest.raises(PoseModelError, match="is not a DeepLabCut project"):
        load_pose_model(tmp_path)
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(VideoError, match="broken.mp4"):
        estimate_pose(bad, dlc_project, skeleton, device="cpu")
    assert main(["pose", str(bad), "--model", str(dlc_project)]) == 1


def test_app_estimates_pose_in_a_child_process_and_opens_the_case(qtbot, tmp_path, monkeypatch, dlc_project, unseen):
    """The annotator's route: File > Estimate pose… runs ``gmdesk pose`` in a child process with
    progress; the result opens as a cleaned case beside the video; a second run never overwrites
    the first file; cancel leaves nothing."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    pytest.importorskip("PySide6")
    from app.pose_dialog import PoseDialog, pose_output_for
    from app.window import MainWindow

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    src, truth = unseen
    video = tmp_path / "visit1.mp4"
    shutil.copy(src, video)
    win = MainWindow()
    qtbot.addWidget(win)
    dlg = PoseDialog(video, win)
    assert "does not exist" in dlg.problem()  # no model chosen yet (fresh settings)
    dlg.model.setText(str(dlc_project))
    dlg.device.setCurrentText("cpu")
    dlg.batch.setValue(4)
    assert dlg.problem() is None
    out, args = dlg.args()
    assert out == tmp_path / "visit1.gmdesk_pose.h5" and "--max-size" not in args
    seen = []
    job = win.start_pose_estimation(video, args, out)
    job.progress.connect(lambda d, t, text: seen.append((d, t)))
    with qtbot.waitSignal(job.finished, timeout=180_000):
        pass
    assert seen and seen[-1] == (90, 90)
    assert win.session is not None and win.session.case.path == tmp_path / "visit1.gmdesk_pose.gmcase"
    assert win.session.video is not None and win.session.n_frames == 90
    err = np.linalg.norm(win.session.track.xy - truth, axis=-1)
    assert np.nanmedian(err) < 6.0
    assert pose_output_for(video) == tmp_path / "visit1.gmdesk_pose-2.h5"  # the first file is never reused

    before = sorted(tmp_path.iterdir())
    out2, args2 = dlg.args()
    job = win.start_pose_estimation(video, args2, out2)
    job.progress.connect(lambda d, t, text: job.cancel())
    with qtbot.waitSignal(job.failed, timeout=180_000) as blocker:
        pass
    assert blocker.args == ["cancelled"] and "nothing was written" in win.status.currentMessage()
    assert sorted(tmp_path.iterdir()) == before and not out2.exists()


def _analyze_videos(cfg, video, tmp_path):
    """Landmarks of ``video`` by DeepLabCut's own ``analyze_videos`` (the reference for parity)."""
    from gmdesk.pose.deeplabcut import import_torch

    import_torch()
    import deeplabcut

    folder = tmp_path / f"dlc-{video.stem}"
    folder.mkdir()
    shutil.copy(video, folder / video.name)
    deeplabcut.analyze_videos(str(cfg), [str(folder / video.name)], device="cpu", save_as_csv=False, batch_size=8)
    (h5,) = [p for p in folder.glob("*.h5")]
    return h5


def _phone_clip(video, tmp_path):
    """The clip as an iPad stores it: frames turned 90 degrees clockwise and a rotate=270 display flag."""
    sensor = tmp_path / "sensor.mp4"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(video), "-vf", "transpose=2", "-c:v", "libx264",
                    "-qp", "0", "-pix_fmt", "yuv444p", str(sensor)], check=True)
    flagged = tmp_path / "ipad.mov"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(sensor), "-c", "copy", "-metadata:s:v:0", "rotate=270",
                    str(flagged)], check=True)
    return flagged


@pytest.mark.parametrize("clip", ["upright", "ipad-rotated"])
def test_cpu_runtimes_equal_deeplabcut_analyze_videos(tmp_path, dlc_project, unseen, skeleton, clip):
    """Parity: the landmarks of both CPU runtimes running the ONNX export, ONNX Runtime and OpenVINO, equal
    DeepLabCut's own analyze_videos with the same model (median <= 0.05 px), on the upright clip and on the
    rotation-flagged phone clip."""
    if clip == "ipad-rotated" and shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    video = unseen[0] if clip == "upright" else _phone_clip(unseen[0], tmp_path)
    theirs = read_dlc(_analyze_videos(dlc_project, video, tmp_path), skeleton)
    for runtime in ("onnx", "openvino"):
        ours = estimate_pose(video, dlc_project, skeleton, device="cpu", runtime=runtime)
        step = ours.provenance[-1]["params"]
        assert step["runtime"] == runtime
        if runtime == "openvino":
            assert step["openvino"] and step["inference_precision"] == "f32" and step["onnx"].endswith(".onnx")
        diff = np.linalg.norm(ours.xy - theirs.xy, axis=-1)
        print(f"\n{clip}: {runtime} vs analyze_videos median {np.median(diff):.2e} px, max {diff.max():.2e} px")
        assert np.median(diff) <= 0.05 and np.abs(ours.likelihood - theirs.likelihood).max() < 1e-3, runtime


def test_openvino_compiles_once_per_input_shape_and_falls_back_to_onnx_runtime(dlc_project, unseen, skeleton,
                                                                            monkeypatch):
    """OpenVINO compiles the network once per input shape and reuses it (THROUGHPUT: one shape per frame size;
    LATENCY: one per batch shape, a short last batch included), with ONNX Runtime's landmarks at every size;
    `auto` falls back to ONNX Runtime (said in the provenance) where OpenVINO cannot load, `--runtime openvino`
    then says so."""
    import gmdesk.pose.deeplabcut as dlc
    from gmdesk.pose.model import locate_pose_model
    from gmdesk.pose.onnx import onnx_pose_model
    from gmdesk.pose.openvino_runtime import OpenVinoPoseModel

    video = unseen[0]
    om = onnx_pose_model(locate_pose_model(dlc_project))
    with VideoReader(video) as r:
        frames = [np.ascontiguousarray(f[..., ::-1]) for f in r][:10]
    small = [f[::2, ::2].copy() for f in frames]
    for hint, compiles in (("THROUGHPUT", 2), ("LATENCY", 3)):
        ov = OpenVinoPoseModel(om, threads=1, hint=hint)
        for batch in (frames[:4], frames[4:8], frames[8:], small[:4], small[4:8], frames[:4]):
            got, want = ov.predict(batch), om.predict(batch)
            assert np.abs(got - want).max() < 1e-3, hint
        assert ov.compilations == compiles, hint  # 160x120 and 80x60 (THROUGHPUT); also 2 x 160x120 (LATENCY)

    def broken(*args, **kwargs):
        raise ImportError("libopenvino.so: cannot open shared object file")

    monkeypatch.setattr(dlc, "OpenVinoPoseModel", broken)
    track = estimate_pose(video, dlc_project, skeleton, device="cpu")
    step = track.provenance[-1]["params"]
    assert step["runtime"] == "onnx" and "cannot open shared object" in step["openvino_fallback"]
    with pytest.raises(PoseModelError, match="OpenVINO cannot run .*; use --runtime onnx"):
        estimate_pose(video, dlc_project, skeleton, device="cpu", runtime="openvino")


def test_a_workstation_without_torch_runs_the_cached_export(tmp_path, dlc_project, unseen, skeleton):
    """With torch, DeepLabCut and TensorFlow unavailable (a workstation), `gmdesk pose` runs the ONNX export cached
    beside the model and gives the same landmarks; a model never exported gives a message saying what to do; a
    changed export is not used."""
    from gmdesk.pose.model import locate_pose_model
    from gmdesk.pose.onnx import export_pose_model, find_export

    video = unseen[0]
    pm = locate_pose_model(dlc_project)
    om = find_export(pm) or export_pose_model(pm)
    assert om.record["snapshot_sha256"] and om.record["check"]["max_abs_difference"] < 0.01
    here = estimate_pose(video, dlc_project, skeleton, device="cpu", runtime="openvino")
    fresh = tmp_path / "never-exported"
    shutil.copytree(dlc_project.parent, fresh)
    for p in fresh.rglob("*.onnx*"):
        p.unlink()
    out = tmp_path / "ws.h5"
    code = (
        f"{HIDE_TRAINING_STACKS}\n"
        "from gmdesk.cli.main import main\n"
        f"rc = main(['pose', {str(video)!r}, '--model', {str(dlc_project)!r}, '-o', {str(out)!r}])\n"
        f"rc2 = main(['pose', {str(video)!r}, '--model', {str(fresh / 'config.yaml')!r}, '-o', {str(tmp_path / 'no.h5')!r}])\n"
        "print('RC', rc, rc2)\n")
    env = {**os.environ, "GMDESK_HOME": str(tmp_path / "home")}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert "RC 0 1" in res.stdout, res.stdout[-2000:] + res.stderr[-2000:]
    assert "has no ONNX export" in res.stderr and "gmdesk pose-export" in res.stderr and "Traceback" not in res.stderr
    assert "openvino on cpu" in res.stdout  # auto: OpenVINO runs the export without torch too
    assert np.abs(read_dlc(out, skeleton).xy - here.xy).max() < 1e-3
    assert not (tmp_path / "no.h5").exists()
    data = bytearray(om.path.read_bytes())
    data[-10] ^= 0xFF
    bad = tmp_path / "tampered"
    shutil.copytree(dlc_project.parent, bad)
    (tampered,) = bad.rglob("*.onnx")
    tampered.write_bytes(bytes(data))
    assert find_export(locate_pose_model(bad / "config.yaml")) is None  # does not match its record: not used


def test_int8_export_is_calibrated_on_a_recording_and_says_how_far_it_is_from_fp32(tmp_path, dlc_project, unseen, skeleton,
                                                                                    capsys):
    """`gmdesk pose-export --int8 VIDEO` writes a quantised export with its landmark difference from fp32 on the
    calibration frames; `gmdesk pose --precision int8` runs it and records that difference; without the int8
    export the message says how to make one."""
    video, truth = unseen
    project = tmp_path / "project"
    shutil.copytree(dlc_project.parent, project)
    cfg = project / "config.yaml"
    with pytest.raises(PoseModelError, match="no int8 export.*pose-export MODEL --int8 VIDEO"):
        estimate_pose(video, cfg, skeleton, device="cpu", runtime="onnx", precision="int8")
    calib = next(project.glob("videos/*.mp4"))  # the model's own training clip, not the video assessed
    assert main(["pose-export", str(cfg), "--int8", str(calib)]) == 0
    printed = capsys.readouterr().out
    assert "int8, calibrated on 16 frames" in printed and "openvino: median" in printed
    fp32 = estimate_pose(video, cfg, skeleton, device="cpu", runtime="onnx")
    int8 = estimate_pose(video, cfg, skeleton, device="cpu", runtime="onnx", precision="int8")
    step = int8.provenance[-1]["params"]
    assert step["precision"] == "int8" and step["onnx"].endswith(".int8.onnx")
    assert 0 <= step["difference_from_fp32"]["median_px"] < 2.0
    d = np.linalg.norm(int8.xy - fp32.xy, axis=-1)
    err = np.linalg.norm(int8.xy - truth, axis=-1)
    print(f"\nint8 vs fp32 on the unseen clip: median {np.median(d):.2f} px; vs truth median {np.median(err):.2f} px")
    assert np.median(d) < 2.0 and np.median(err) < 6.0
    # OpenVINO runs the same QDQ export with its own int8 kernels; its difference from fp32 was measured for it
    ov8 = estimate_pose(video, cfg, skeleton, device="cpu", runtime="openvino", precision="int8")
    step = ov8.provenance[-1]["params"]
    assert step["runtime"] == "openvino" and step["onnx"].endswith(".int8.onnx")
    assert step["difference_measured_with"] == "openvino" and 0 <= step["difference_from_fp32"]["median_px"] < 2.0
    d = np.linalg.norm(ov8.xy - fp32.xy, axis=-1)
    err = np.linalg.norm(ov8.xy - truth, axis=-1)
    print(f"OpenVINO int8 vs fp32: median {np.median(d):.2f} px; vs truth median {np.median(err):.2f} px")
    assert np.median(d) < 2.0 and np.median(err) < 6.0
