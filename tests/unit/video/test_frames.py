"""Fast seeking: the background decoded-frame cache and the all-intra seek proxy stay frame-exact."""

import os
import shutil
import subprocess
import threading

import cv2
import numpy as np
import pytest

from gmdesk.errors import CancelledError
from gmdesk.io.hashing import file_sha256
from gmdesk.synthetic.cohorts import make_infant
from gmdesk.synthetic.video import render_video
from gmdesk.video.proxy import ProxyError, SeekProxy, make_proxy, proxy_path, proxy_size, proxy_worth_making, seek_cost_ms
from gmdesk.video.reader import PrefetchingReader
from tests.conftest import decode_all_frames


def need_ffmpeg():
    if shutil.which("ffmpeg") is None:
        if os.environ.get("CI"):
            pytest.fail("ffmpeg is required in CI (installed by .ci/run)")
        pytest.skip("ffmpeg not installed")


@pytest.fixture(scope="module")
def clips(tmp_path_factory, skeleton):
    """The same 150-frame clip as MJPEG and as H.264 with a 60-frame GOP and B-frames."""
    d = tmp_path_factory.mktemp("frames")
    inf = make_infant("F", 0, [2, 5], skeleton=skeleton, n_frames=150)
    mjpg = render_video(inf.truth_xy, skeleton, d / "clip.avi", size=(320, 240), scale=0.2, offset=(-30, 0), codec="MJPG")
    out = {"mjpeg": mjpg}
    if shutil.which("ffmpeg"):
        h264 = d / "clip_g60.mp4"
        subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(mjpg), "-c:v", "libx264", "-g", "60", "-bf", "2",
                        "-pix_fmt", "yuv420p", str(h264)], check=True)
        out["h264"] = h264
    return out


@pytest.mark.parametrize("kind", ["mjpeg", "h264"])
def test_prefetched_frames_equal_the_sequential_decode(clips, kind):
    if kind not in clips:
        need_ffmpeg()
    ref = decode_all_frames(clips[kind])
    stored = []
    with PrefetchingReader(clips[kind], ahead=20, behind=8, on_frame=stored.append) as r:
        assert len(r) == len(ref) == 150
        rng = np.random.default_rng(1)
        # random jumps while the worker races ahead of and behind the cursor
        for i in [*rng.integers(0, 150, 25).tolist(), 149, 0, 75]:
            r.set_cursor(i)
            assert np.array_equal(r.frame(i), ref[i]), f"frame {i}"
        r.set_cursor(100)
        assert r.wait_idle(20)
        for i in range(92, 121):  # the window the worker filled: 8 behind, the cursor, 20 ahead
            got = r.cached(i)
            assert got is not None and np.array_equal(got, ref[i]), f"cached frame {i}"
        assert r.cached(91) is None or np.array_equal(r.cached(91), ref[91])
        # stepping forward as playback does: every frame served from the cache, exact
        hits = r.hits
        for i in range(100, 120):
            r.set_cursor(i)
            img, exact = r.frame_for_display(i)
            assert exact and np.array_equal(img, ref[i])
        assert r.hits - hits == 20
    assert stored and threading.active_count() < 50  # the worker reported frames and stopped


@pytest.mark.parametrize("kind", ["mjpeg", "h264"])
def test_proxy_frames_are_the_source_frames_exactly_encoded(clips, kind, tmp_path):
    if kind not in clips:
        need_ffmpeg()
    video = clips[kind]
    ref = decode_all_frames(video)
    seen = []
    out = make_proxy(video, tmp_path / "c.gmcase.proxy", max_side=160, quality=80, progress=lambda d, t, m: seen.append(d))
    assert out == proxy_path(tmp_path / "c.gmcase") and seen[-1] == 150
    w, h = proxy_size(320, 240, 160)
    with SeekProxy(out, file_sha256(video)) as px:
        assert (px.frames, px.width, px.height, px.scale) == (150, w, h, 0.5)
        rng = np.random.default_rng(2)
        for i in [*rng.integers(0, 150, 20).tolist(), 0, 149]:
            small = cv2.resize(ref[i], (w, h), interpolation=cv2.INTER_AREA)
            expected = cv2.imdecode(cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])[1], cv2.IMREAD_COLOR)
            assert np.array_equal(px.frame(i), expected), f"proxy frame {i} is not source frame {i}"


def test_proxy_is_refused_for_another_video_or_damage(clips, tmp_path):
    video = clips["mjpeg"]
    out = make_proxy(video, tmp_path / "p.proxy", max_side=160)
    with pytest.raises(ProxyError, match="another video"):
        SeekProxy(out, "0" * 64)
    data = bytearray(out.read_bytes())
    with SeekProxy(out) as px:
        off = int(px._index["offset"][40])
    data[off + 200] ^= 0xFF
    bad = tmp_path / "bad.proxy"
    bad.write_bytes(bytes(data))
    with SeekProxy(bad) as px:
        px.frame(39)
        with pytest.raises(ProxyError, match="frame 40 is damaged"):
            px.frame(40)
    cut = tmp_path / "cut.proxy"
    cut.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(ProxyError, match="damaged or incomplete"):
        SeekProxy(cut)
    junk = tmp_path / "junk.proxy"
    junk.write_bytes(b"not a proxy at all, just some text" * 10)
    with pytest.raises(ProxyError, match="not a gmdesk seek proxy"):
        SeekProxy(junk)


def test_cancelled_proxy_leaves_nothing(clips, tmp_path):
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 20

    with pytest.raises(CancelledError):
        make_proxy(clips["mjpeg"], tmp_path / "x.proxy", cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_display_uses_the_proxy_on_a_miss_then_the_exact_frame(clips, tmp_path):
    video = clips["mjpeg"]
    ref = decode_all_frames(video)
    px = SeekProxy(make_proxy(video, tmp_path / "d.proxy", max_side=160), file_sha256(video))
    got = threading.Event()
    with PrefetchingReader(video, ahead=4, behind=0) as r:
        r.wait_idle(10)
        r.attach_proxy(px)
        r.on_frame = lambda i: i == 120 and got.set()
        img, exact = r.frame_for_display(120)
        assert not exact and img.shape[:2] == (120, 160)
        r.set_cursor(120)
        assert got.wait(10)
        img, exact = r.frame_for_display(120)
        assert exact and np.array_equal(img, ref[120])
    assert px._mm is None  # closed with the reader


def test_seek_cost_is_measured_and_small_videos_get_no_proxy(clips):
    assert 0 < seek_cost_ms(clips["mjpeg"], n=3) < 2000
    assert not proxy_worth_making(clips["mjpeg"])  # 320 x 240: decoding is cheap, a proxy would not help
