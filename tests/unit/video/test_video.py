import os
import shutil
import subprocess

import numpy as np
import pytest

from gmdesk.synthetic.video import render_video
from gmdesk.video.reader import VideoError, VideoReader, probe_video
from tests.conftest import decode_all_frames


def need_ffmpeg():
    if shutil.which("ffmpeg") is None:
        if os.environ.get("CI"):
            pytest.fail("ffmpeg is required in CI (installed by .ci/run)")
        pytest.skip("ffmpeg not installed")


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", *args], check=True)


@pytest.fixture(scope="module")
def clip(tmp_path_factory, skeleton):
    from gmdesk.synthetic.cohorts import make_infant

    inf = make_infant("V", 0, [5, 1], skeleton=skeleton, n_frames=120)
    d = tmp_path_factory.mktemp("video")
    p = render_video(inf.truth_xy, skeleton, d / "clip.avi", size=(320, 240), scale=0.2, offset=(-30, 0),
                     codec="MJPG")
    return p


def check_random_access(path, n_seeks=40, seed=0):
    ref = decode_all_frames(path)
    rng = np.random.default_rng(seed)
    with VideoReader(path, cache_frames=4) as r:
        assert len(r) == len(ref)
        for i in rng.integers(0, len(ref), n_seeks):
            assert np.array_equal(r.frame(int(i)), ref[int(i)]), f"frame {i} differs from the sequential decode"
        # backwards and far jumps
        for i in (len(ref) - 1, 0, len(ref) // 2, 1):
            assert np.array_equal(r.frame(i), ref[i])


def test_probe_and_random_access_mjpeg(clip):
    info = probe_video(clip, scan=True)
    assert (info.width, info.height, info.frame_count, info.rotation) == (320, 240, 120, 0)
    assert info.fps == pytest.approx(29.97, abs=0.01) and info.variable_frame_rate is False
    check_random_access(clip)


def test_random_access_h264_long_gop(tmp_path, clip):
    need_ffmpeg()
    h264 = tmp_path / "clip.mp4"
    ffmpeg("-i", str(clip), "-c:v", "libx264", "-g", "30", "-bf", "2", "-pix_fmt", "yuv420p", str(h264))
    assert probe_video(h264).codec.lower() in ("avc1", "h264")
    check_random_access(h264)


def test_rotation_flag_is_applied_and_reported(tmp_path, clip):
    need_ffmpeg()
    plain = tmp_path / "plain.mp4"
    ffmpeg("-i", str(clip), "-c:v", "libx264", "-pix_fmt", "yuv420p", str(plain))
    rotated = tmp_path / "rotated.mov"
    ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(rotated))
    info = probe_video(rotated)
    assert info.rotation in (90, 270)
    assert (info.width, info.height) == (240, 320)  # displayed orientation
    with VideoReader(plain) as a, VideoReader(rotated) as b:
        fa, fb = a.frame(10), b.frame(10)
    turned = np.rot90(fa, k=-1 if info.rotation == 90 else 1)
    assert np.array_equal(fb, turned)


def test_variable_frame_rate_is_detected(tmp_path, clip):
    need_ffmpeg()
    vfr = tmp_path / "vfr.mp4"
    ffmpeg("-i", str(clip), "-vf", r"setpts=N/(29.97*TB)+gte(N\,60)*0.5/TB", "-fps_mode", "vfr",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", str(vfr))
    assert probe_video(vfr, scan=True).variable_frame_rate is True


def test_bad_videos_give_clear_errors(tmp_path, clip):
    with pytest.raises(VideoError, match="does not exist"):
        probe_video(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(2000))
    with pytest.raises(VideoError, match=r"junk\.mp4"):
        probe_video(junk)
    empty = tmp_path / "empty.mov"
    empty.write_bytes(b"")
    with pytest.raises(VideoError, match=r"empty\.mov"):
        probe_video(empty)
    cut = tmp_path / "cut.avi"
    data = clip.read_bytes()
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(VideoError, match=r"cut\.avi.*(truncated|cannot be opened|no decodable)"):
        probe_video(cut, scan=True)


def test_a_clip_trimmed_with_an_edit_list_is_never_linked_with_the_containers_count(tmp_path):
    """An mp4 cut with `-c copy` keeps all 40 packets and an edit list: the container says 40 frames, 25 decode.
    The scan counts what decodes; linking such a clip is refused, saying why and what to do (nothing linked)."""
    need_ffmpeg()
    full, cut = tmp_path / "full.mp4", tmp_path / "trimmed.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=25", "-frames:v", "40", "-c:v", "libx264", "-g", "40",
           "-pix_fmt", "yuv420p", str(full))
    ffmpeg("-ss", "0.6", "-i", str(full), "-c", "copy", str(cut))
    assert probe_video(full, scan=True).frame_count == 40
    assert probe_video(cut).frame_count == 40  # what the container claims
    with pytest.raises(VideoError, match=r"trimmed\.mp4: only 25 frames decode of the 40 .*edit list.*re-encode"):
        probe_video(cut, scan=True)
