"""A video can always be linked (pytest-qt, real mouse events, offscreen): opening a pose file offers the
video with its name beside it; File ▸ Link video… links one to any case; opening the case already open in
this window shows it (its lock is this window's own, not "open elsewhere")."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtWidgets  # noqa: E402

from app.main import demo_case  # noqa: E402
from app.session import video_beside  # noqa: E402
from gmdesk.record.case import open_case  # noqa: E402
from tests.gui.editor_support import LEFT, make_window  # noqa: E402


def close(win):
    win.close()
    assert win.wait_closed(20)


def blank(win):
    img = win.view.displayed_rgb()
    return img.size == 0 or int(img.max()) == int(img.min())


def test_video_beside_finds_the_same_stem_and_deeplabcut_names(tmp_path):
    (tmp_path / "inf1.mov").write_bytes(b"x")
    assert video_beside(tmp_path / "inf1.h5") == tmp_path / "inf1.mov"
    assert video_beside(tmp_path / "inf1DLC_resnet50_gmJan1shuffle1_100000.h5") == tmp_path / "inf1.mov"
    assert video_beside(tmp_path / "other.h5") is None


def test_opening_a_pose_file_offers_its_video_and_a_click_links_it(qtbot, tmp_path):
    pose, video = demo_case(tmp_path)
    win = make_window(qtbot, tmp_path, size=(1366, 768))
    assert win.open_path(pose), win.last_error
    assert win.session.video is None and blank(win)
    offer = win.video_offer
    assert offer.isVisible() and video.name in offer.label.text()
    qtbot.mouseClick(offer.link_button, LEFT)
    assert win.session.video is not None and not offer.isVisible(), win.last_error
    win.seek(10)
    qtbot.waitUntil(lambda: not blank(win), timeout=5000)
    case_path = win.session.case.path
    assert win.session.case.check_video().status == "ok"
    close(win)
    win2 = make_window(qtbot, tmp_path, size=(1366, 768))
    assert win2.open_path(case_path), win2.last_error
    assert win2.session.video is not None and not win2.video_offer.isVisible()
    close(win2)


def test_link_video_menu_for_any_case_and_reopening_the_open_case_shows_it(qtbot, tmp_path, monkeypatch):
    pose, video = demo_case(tmp_path)
    elsewhere = tmp_path / "videos"
    elsewhere.mkdir()
    moved = elsewhere / "recording.mp4"
    video.rename(moved)  # no video beside: nothing is offered
    win = make_window(qtbot, tmp_path, size=(1366, 768))
    assert not win.link_video_action.isEnabled()  # no case: nothing to link to
    assert win.open_path(pose), win.last_error
    assert not win.video_offer.isVisible() and win.link_video_action.isEnabled()
    session = win.session
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(moved), ""))
    file_menu = win.menuBar().actions()[0].menu()
    assert win.link_video_action in file_menu.actions()
    win.link_video_action.trigger()
    assert win.session.video is not None and win.session.case.check_video().status == "ok", win.last_error
    assert win.session is session  # the same case, now with its video

    # opening the same case again (its pose file, the case file, Open recent) shows it: no "open elsewhere"
    win.last_error = ""
    for again in (pose, session.case.path):
        assert win.open_path(again) and win.session is session and win.last_error == ""
    recent = [a for a in win.recent_menu.actions() if a.text() == str(session.case.path)]
    recent[0].trigger()
    assert win.session is session and win.last_error == ""
    close(win)


def test_opening_a_video_then_the_open_cases_pose_file_links_it(qtbot, tmp_path, monkeypatch):
    pose, video = demo_case(tmp_path)
    win = make_window(qtbot, tmp_path, size=(1366, 768))
    assert win.open_path(pose), win.last_error
    qtbot.mouseClick(win.video_offer.findChildren(QtWidgets.QPushButton)[-1], LEFT)  # "Not now"
    assert not win.video_offer.isVisible() and win.session.video is None
    session = win.session
    monkeypatch.setattr(type(win), "_ask_pose_for", lambda self, v: pose)
    assert win.open_path(video), win.last_error
    assert win.session is session and session.video is not None and "elsewhere" not in win.last_error
    n = session.n_frames
    close(win)
    with open_case(session.case.path, read_only=True) as c:
        assert c.check_video().status == "ok" and c.raw_track().n_frames == n
