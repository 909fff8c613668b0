"""Fixtures of the editor tests: a small recording with its video, and a window with it open."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from gmdesk.core.posetrack import PoseTrack  # noqa: E402
from gmdesk.io.dlc import write_dlc  # noqa: E402
from gmdesk.synthetic.cohorts import make_infant  # noqa: E402
from gmdesk.synthetic.video import render_video  # noqa: E402
from tests.gui.editor_support import SCALE, make_window  # noqa: E402


@pytest.fixture(scope="module")
def recording(tmp_path_factory, skeleton):
    d = tmp_path_factory.mktemp("editor")
    inf = make_infant("E1", 1, [3, 4], skeleton=skeleton, n_frames=600)  # its review queue has a swap
    t = inf.track
    small = PoseTrack(t.xy * SCALE, t.likelihood, t.status, t.fps, t.landmarks, t.provenance, t.meta)
    pose = write_dlc(small, d / "e1.h5")
    video = render_video(inf.truth_xy * SCALE, skeleton, d / "e1.avi", size=(480, 270), codec="MJPG")
    return pose, video


@pytest.fixture
def files(tmp_path, recording):
    pose = tmp_path / "e1.h5"
    pose.write_bytes(recording[0].read_bytes())
    return pose, recording[1]


@pytest.fixture
def win(qtbot, tmp_path, files):
    w = make_window(qtbot, tmp_path)
    assert w.open_path(*files), w.last_error
    yield w
    w.close()
    assert w.wait_closed(20)
