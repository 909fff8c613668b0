"""DeepLabCut pose estimation: a tiny model trained offline in a session fixture."""

import importlib.util
import os
import shutil
import subprocess
import time

import numpy as np
import pytest

from gmdesk.cli.main import main
from gmdesk.errors import CancelledError
from gmdesk.io.dlc import read_dlc
from gmdesk.pose.deeplabcut import PoseModelError, estimate_pose, load_pose_model
from gmdesk.video.reader import VideoError, VideoReader, probe_video
from tests.conftest import decode_all_frames
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
    assert "fps" in capsys.readouterr().out
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
