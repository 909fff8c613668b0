"""DeepLabCut pose estimation: a tiny model trained offline in a session fixture."""

import os
import shutil
import subprocess
import time

import numpy as np
import pytest

pytest.importorskip("deeplabcut")

from gmdesk.cli import main  # noqa: E402
from gmdesk.errors import CancelledError  # noqa: E402
from gmdesk.io.dlc import read_dlc  # noqa: E402
from gmdesk.pose import PoseModelError, estimate_pose, load_pose_model  # noqa: E402
from gmdesk.video import VideoError  # noqa: E402
from tests.dlc_fixture import train_tiny_dlc_model, unseen_video  # noqa: E402


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


def test_rotated_video_gives_landmarks_in_displayed_orientation(tmp_path, dlc_project, unseen, skeleton):
    """A phone stores sensor-oriented frames with a rotation flag: the displayed video is upright.
    Frames stored turned 90 degrees counter-clockwise + ``rotate=90`` must give the landmarks of
    the upright clip, in the displayed (upright) frame's pixels."""
    if shutil.which("ffmpeg") is None:
        if os.environ.get("CI"):
            pytest.fail("ffmpeg is required in CI")
        pytest.skip("ffmpeg not installed")
    video, truth = unseen
    enc = ["-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p"]
    upright = tmp_path / "upright.mp4"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(video), *enc, str(upright)], check=True)
    sensor = tmp_path / "sensor.mp4"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(video), "-vf", "transpose=2", *enc, str(sensor)],
                   check=True)
    flagged = tmp_path / "phone.mov"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(sensor), "-c", "copy",
                    "-metadata:s:v:0", "rotate=90", str(flagged)], check=True)
    from gmdesk.video import VideoReader, probe_video

    info = probe_video(flagged)
    assert info.rotation in (90, 270) and (info.width, info.height) == (160, 120)  # displayed upright
    with VideoReader(upright) as a, VideoReader(flagged) as b:
        # same picture (lossless 4:4:4, but YUV->BGR rounding may differ after the transpose)
        assert np.abs(a.frame(7).astype(int) - b.frame(7).astype(int)).mean() < 2.0
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
    assert main(["pose", str(bad), "--model", str(dlc_project)]) == 2
