"""The annotator's editor driven with real mouse and key events (pytest-qt, offscreen): selection,
dragging overlapping points, undo integrity, reopening, atomic opening, recent files, review
navigation, review marks, swap, copy-previous, interpolation range, playback, fast seeking,
layout and shutdown."""

import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import pyqtgraph as pg  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402

from app.window import MainWindow  # noqa: E402
from gmdesk.core.posetrack import PointStatus, PoseTrack  # noqa: E402
from gmdesk.io.dlc import write_dlc  # noqa: E402
from gmdesk.record.case import open_case  # noqa: E402
from gmdesk.synthetic.cohorts import make_infant  # noqa: E402
from gmdesk.synthetic.video import render_video  # noqa: E402
from tests.conftest import REPO, decode_all_frames  # noqa: E402

pg.setConfigOption("mouseRateLimit", 0)
SCALE = 0.25
LEFT = QtCore.Qt.MouseButton.LeftButton
CTRL = QtCore.Qt.KeyboardModifier.ControlModifier
SHIFT = QtCore.Qt.KeyboardModifier.ShiftModifier


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


def make_window(qtbot, tmp_path, size=(1200, 800)):
    win = MainWindow(settings_file=tmp_path / "settings.ini")
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    activate(qtbot, win)
    return win


def activate(qtbot, win):
    """Make ``win`` the active window: keyboard shortcuts go to the active window."""
    if QtWidgets.QApplication.activeWindow() is not win:
        win.activateWindow()
        qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is win, timeout=3000)


@pytest.fixture
def win(qtbot, tmp_path, files):
    w = make_window(qtbot, tmp_path)
    assert w.open_path(*files), w.last_error
    yield w
    w.close()
    assert w.wait_closed(20)


def vp_pos(win, x, y):
    """Viewport position of image point (x, y)."""
    return win.view.mapFromScene(win.view.vb.mapViewToScene(QtCore.QPointF(float(x), float(y))))


def px_per_image_px(win):
    a, b = vp_pos(win, 0, 0), vp_pos(win, 100, 0)
    return (b.x() - a.x()) / 100


def isolated_landmark(win, clearance_px=30, exclude=()):
    """A landmark shown in this frame with no other point within ``clearance_px`` screen pixels."""
    pts = win.view.screen_points()
    for j in range(len(pts)):
        if j in exclude or not np.isfinite(pts[j]).all():
            continue
        d = np.hypot(*(pts - pts[j]).T)
        d[j] = np.inf
        if np.nanmin(np.where(np.isfinite(d), d, np.inf)) > clearance_px:
            return j
    raise AssertionError("no isolated landmark in this frame")


def drag(qtbot, win, start, end, steps=10):
    vp = win.view.viewport()
    qtbot.mousePress(vp, LEFT, pos=start)
    for k in range(1, steps + 1):
        qtbot.mouseMove(vp, pos=start + (end - start) * (k / steps))
    qtbot.mouseRelease(vp, LEFT, pos=end)


def answer_dialog(text=None):
    """Accept the next modal input dialog (optionally typing ``text``); returns what it proposed."""
    seen = {}

    def go():
        dlg = QtWidgets.QApplication.activeModalWidget()
        if not isinstance(dlg, QtWidgets.QInputDialog):
            QtCore.QTimer.singleShot(10, go)
            return
        seen["default"] = dlg.textValue()
        if text is not None:
            dlg.setTextValue(text)
        dlg.accept()

    QtCore.QTimer.singleShot(0, go)
    return seen


def key(qtbot, win, k, mod=QtCore.Qt.KeyboardModifier.NoModifier):
    activate(qtbot, win)
    qtbot.keyClick(win, k, mod)


# -- 1. selection and dragging -----------------------------------------------------------------------------

def test_click_selects_the_point_under_the_cursor_and_delete_deletes_it(win, qtbot):
    win.seek(200)
    assert win.selected == 0
    j = isolated_landmark(win, exclude=(0,))
    x, y = win.session.track.xy[200, j]
    other = win.session.track.xy[200, 0].copy()
    qtbot.mouseClick(win.view.viewport(), LEFT, pos=vp_pos(win, x + 2 / px_per_image_px(win), y))  # 2 px off centre
    assert win.selected == j and win.landmark_box.currentText() == win.session.track.landmarks[j]
    key(qtbot, win, QtCore.Qt.Key.Key_Delete)
    last = win.session.case.history()[-1]
    assert (last.kind, last.landmark, last.frame) == ("delete", win.session.track.landmarks[j], 200)
    assert np.isnan(win.session.track.xy[200, j]).all()
    assert np.array_equal(win.session.track.xy[200, 0], other)  # the previously selected point is untouched


def test_click_away_from_points_keeps_the_selection(win, qtbot):
    win.seek(200)
    pts = win.view.screen_points()
    j = isolated_landmark(win)
    win.select_landmark(j)
    far = np.nanmax(pts[:, 0]) + 60, np.nanmax(pts[:, 1]) + 40  # empty blanket
    qtbot.mouseClick(win.view.viewport(), LEFT, pos=QtCore.QPoint(int(far[0]), int(far[1])))
    assert win.selected == j and win.session.case.history() == []  # observed point: nothing placed


def test_drag_moves_the_pressed_one_of_two_points_8px_apart(win, qtbot):
    s = win.session
    f = 300
    win.seek(f)
    lf, rf = s.track.landmarks.index("left_foot"), s.track.landmarks.index("right_foot")
    k = px_per_image_px(win)
    # put the feet 8 screen pixels apart, away from the other points, in one (pasted) edit
    ax, ay = 240.0, 60.0
    win.editor.set_points(f, {"left_foot": (ax, ay), "right_foot": (ax + 8 / k, ay)})
    n_edits = len(s.case.history())
    win.select_landmark(0)
    # press on the left foot (2 px left of it: nearest is the left foot), drag 40 px down
    start = vp_pos(win, ax - 2 / k, ay)
    drag(qtbot, win, start, start + QtCore.QPoint(0, 40))
    hist = s.case.history()
    assert len(hist) == n_edits + 1 and hist[-1].kind == "move" and hist[-1].landmark == "left_foot"
    assert s.track.xy[f, lf, 1] == pytest.approx(ay + 40 / k, abs=1.5 / k)
    assert np.allclose(s.track.xy[f, rf], (ax + 8 / k, ay))  # the right foot did not move
    assert win.selected == lf
    # now press on the right foot: it moves, the left one stays
    start = vp_pos(win, ax + 8 / k + 1 / k, ay)
    drag(qtbot, win, start, start + QtCore.QPoint(30, 0))
    assert s.case.history()[-1].landmark == "right_foot" and win.selected == rf
    assert s.track.xy[f, rf, 0] == pytest.approx(ax + 38 / k, abs=1.5 / k)
    assert s.track.xy[f, lf, 1] == pytest.approx(ay + 40 / k, abs=1.5 / k)


def test_on_identical_points_the_selected_one_is_dragged(win, qtbot):
    s = win.session
    f = 310
    win.seek(f)
    ax, ay = 250.0, 70.0
    win.editor.set_points(f, {"left_hand": (ax, ay), "right_hand": (ax, ay)})
    for name in ("right_hand", "left_hand"):
        j = s.track.landmarks.index(name)
        win.select_landmark(j)
        start = vp_pos(win, s.track.xy[f, j, 0], s.track.xy[f, j, 1])
        drag(qtbot, win, start, start + QtCore.QPoint(0, 25))
        assert s.case.history()[-1].landmark == name


def test_hover_names_the_landmark(win, qtbot):
    win.seek(150)
    j = isolated_landmark(win)
    x, y = win.session.track.xy[150, j]
    qtbot.mouseMove(win.view.viewport(), pos=vp_pos(win, x, y))
    assert win.view.hovered == j
    assert win.view.hover.isVisible() and win.session.track.landmarks[j] in win.view.hover.textItem.toPlainText()
    assert win.view.toolTip() == win.session.track.landmarks[j]


def test_points_are_coloured_by_side_and_ringed_by_status(win):
    from app.frame_view import SIDE_COLOURS, STATUS_COLOURS

    win.seek(100)
    s = win.session
    spots = win.view.skeleton.points.data
    shown = np.flatnonzero(np.isfinite(s.track.xy[100]).all(axis=1))
    assert len(spots) == len(shown)
    for spot, j in zip(spots, shown, strict=True):
        fill = spot["brush"].color().getRgb()[:3]
        ring = spot["pen"].color().getRgb()[:3]
        side = win.sides[j]
        assert fill == SIDE_COLOURS[side] and ring == STATUS_COLOURS[PointStatus(int(s.track.status[100, j]))]
    assert win.sides[s.track.landmarks.index("left_knee")] == "left"
    assert win.sides[s.track.landmarks.index("right_knee")] == "right"
    assert win.sides[s.track.landmarks.index("nose")] == "centre"


def test_click_on_an_empty_spot_places_the_missing_selected_landmark(win, qtbot):
    s = win.session
    f = 120
    win.seek(f)
    j = isolated_landmark(win)
    win.select_landmark(j)
    key(qtbot, win, QtCore.Qt.Key.Key_Delete)
    assert np.isnan(s.track.xy[f, j]).all()
    qtbot.mouseClick(win.view.viewport(), LEFT, pos=vp_pos(win, 30, 240))
    last = s.case.history()[-1]
    assert (last.kind, last.landmark, last.frame) == ("move", s.track.landmarks[j], f)
    assert np.allclose(s.track.xy[f, j], (30, 240), atol=1.0 / px_per_image_px(win))
    assert s.track.status[f, j] == PointStatus.EDITED
    key(qtbot, win, "z", CTRL)  # one undo step takes the placement back
    assert np.isnan(s.track.xy[f, j]).all()


# -- 2. undo integrity -----------------------------------------------------------------------------------

def test_a_refused_edit_pushes_nothing_and_ctrl_z_undoes_the_previous_real_edit(win, qtbot):
    s = win.session
    win.seek(50)
    j = s.track.landmarks.index("left_elbow")
    win.select_landmark(j)
    before = s.track.xy[50, j].copy()
    key(qtbot, win, QtCore.Qt.Key.Key_Delete)
    deleted = s.case.history()[-1]
    assert deleted.kind == "delete" and win.undo_stack.count() == 1
    win.seek(51)
    key(qtbot, win, "p")  # copy left_elbow from frame 50, where it is missing: refused
    assert "Edit not made" in win.last_error and "frame 50 has no point of left_elbow" in win.last_error
    assert win.undo_stack.count() == 1 and s.case.history()[-1].seq == deleted.seq
    key(qtbot, win, "z", CTRL)
    undo = s.case.history()[-1]
    assert undo.kind == "undo" and undo.reverts == deleted.seq
    assert np.array_equal(s.track.xy[50, j], before)
    assert win.undo_stack.index() == 0 and not win.undo_stack.canUndo()


def test_reopening_a_case_rebuilds_undo_and_redo_from_its_log(qtbot, tmp_path, files):
    w1 = make_window(qtbot, tmp_path)
    assert w1.open_path(*files)
    s = w1.session
    lh = s.track.landmarks.index("left_hand")
    w1.seek(40)
    w1.select_landmark(lh)
    start_xy = s.track.xy[40, lh].copy()
    w1.drag_landmark(lh, float(start_xy[0]) + 10, float(start_xy[1]))
    w1.drag_landmark(lh, float(start_xy[0]) + 20, float(start_xy[1]))
    key(qtbot, w1, "z", CTRL)  # the second move is undone: one undo, one redo pending
    case_path = s.case.path
    w1.close()
    assert w1.wait_closed(10)

    w2 = make_window(qtbot, tmp_path)
    assert w2.open_path(case_path), w2.last_error
    st = w2.undo_stack
    assert (st.count(), st.index()) == (2, 1) and st.canUndo() and st.canRedo()
    assert st.text(0).startswith("move left_hand @ 40")
    xy = lambda: w2.session.track.xy[40, lh]  # noqa: E731
    assert xy()[0] == pytest.approx(start_xy[0] + 10)
    key(qtbot, w2, "z", CTRL | SHIFT)  # redo across sessions
    assert xy()[0] == pytest.approx(start_xy[0] + 20) and w2.session.case.history()[-1].kind == "redo"
    key(qtbot, w2, "z", CTRL)
    key(qtbot, w2, "z", CTRL)
    assert np.array_equal(xy(), start_xy)
    assert [e.kind for e in w2.session.case.history()] == ["move", "move", "undo", "redo", "undo", "undo"]
    w2.close()
    assert w2.wait_closed(10)


# -- 3. opening -------------------------------------------------------------------------------------------

def test_a_failed_open_leaves_no_case_and_no_lock(qtbot, tmp_path, files):
    pose, video = files
    fake = tmp_path / "fake.mp4"
    fake.write_text("this is a text file, not a video\n")
    w = make_window(qtbot, tmp_path)
    assert not w.open_path(pose, fake)
    assert "fake.mp4" in w.last_error and w.session is None
    assert list(tmp_path.glob("*.gmcase*")) == []
    # nothing locked: the same pose opens at once with its real video
    assert w.open_path(pose, video), w.last_error
    assert w.session.video is not None and w.session.case.path == tmp_path / "e1.gmcase"
    w.close()
    assert w.wait_closed(10)


def test_a_locked_case_says_so_and_the_open_case_stays(qtbot, tmp_path, files):
    w = make_window(qtbot, tmp_path)
    assert w.open_path(*files)
    case_path = w.session.case.path
    other = tmp_path / "other" / "o.h5"
    other.parent.mkdir()
    other.write_bytes(files[0].read_bytes())
    w2 = make_window(qtbot, tmp_path)
    assert not w2.open_path(case_path)
    assert w2.last_error.startswith("Case is open elsewhere") and "this program (another window)" in w2.last_error
    assert w.session is not None and w.session.case.path == case_path  # the first window is unaffected
    w.close()
    assert w.wait_closed(10)
    assert w2.open_path(case_path), w2.last_error  # released on close
    w2.close()
    assert w2.wait_closed(10)


RECENT_SCRIPT = textwrap.dedent("""
    import json, sys
    from PySide6 import QtWidgets
    from app.window import MainWindow
    app = QtWidgets.QApplication([])
    w = MainWindow()
    before = w.recent_paths()
    ok = w.open_path(sys.argv[1])
    after = w.recent_paths()
    w.close()
    print(json.dumps({"before": before, "ok": ok, "after": after}))
""")


def test_recent_files_survive_two_launches_as_a_list(tmp_path, files):
    """Two real launches (processes) sharing the user's settings file."""
    first = files[0]
    second = tmp_path / "b" / "e1b.h5"
    second.parent.mkdir()
    second.write_bytes(first.read_bytes())
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": str(REPO)}

    def launch(path):
        out = subprocess.run([sys.executable, "-c", RECENT_SCRIPT, str(path)], env=env, capture_output=True, text=True,
                             timeout=120, cwd=str(tmp_path))
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    a = launch(first)
    assert a["ok"] and a["before"] == [] and a["after"] == [str(tmp_path / "e1.gmcase")]
    b = launch(second)
    assert b["before"] == [str(tmp_path / "e1.gmcase")]  # one path, not one entry per character
    assert b["ok"] and b["after"] == [str(second.with_suffix(".gmcase")), str(tmp_path / "e1.gmcase")]


# -- 4. review ----------------------------------------------------------------------------------------------

def test_n_and_shift_n_visit_the_review_items(win, qtbot):
    s = win.session
    items = sorted(s.open_items(), key=lambda it: (it.start, -it.importance, it.landmark, it.kind))
    assert len(items) >= 4, "the synthetic recording should give several review items"
    assert {it.key for it in items} == {d["key"] for d in s.case.cleaning()[1]["review"]}
    visited = []
    for _ in range(len(items)):
        key(qtbot, win, "n")
        it = win.current_item
        visited.append(it.key)
        assert win.frame == it.start and s.track.landmarks[win.selected] == it.landmarks[0]
        assert win.review.current is it
    assert visited == [it.key for it in items]
    key(qtbot, win, "n")  # past the last: stays, says so
    assert win.current_item.key == items[-1].key and "no more review items" in win.status.currentMessage()
    key(qtbot, win, "n", SHIFT)
    assert win.current_item.key == items[-2].key and win.frame == items[-2].start
    key(qtbot, win, "n", SHIFT)
    assert win.current_item.key == items[-3].key


def test_clicking_a_review_row_seeks_to_it(win, qtbot):
    table = win.review.table
    row = 2
    item = win.review.item_for_row(row)
    rect = table.visualItemRect(table.item(row, 1))
    qtbot.mouseClick(table.viewport(), LEFT, pos=rect.center())
    assert win.frame == item.start and win.current_item is item
    assert win.session.track.landmarks[win.selected] == item.landmarks[0]


def test_mark_reviewed_clears_the_item_and_is_in_the_case_log(win, qtbot):
    s = win.session
    n_open = len(s.open_items())
    key(qtbot, win, "n")
    item = win.current_item
    j = s.track.landmarks.index(item.landmarks[0])
    assert s.flagged[item.start:item.stop, j].all()  # red in the trajectory plot until reviewed
    key(qtbot, win, "m")
    missing = np.isnan(s.track.xy[item.start:item.stop, j]).any(axis=1)
    assert not s.flagged[item.start:item.stop, j][~missing].any()
    marks = s.case.annotations("review_item")
    assert [(a["subject"]["key"], a["value"]["reviewed"]) for a in marks] == [(item.key, True)]
    assert len(s.open_items()) == n_open - 1 and item.key not in {it.key for it in s.open_items()}
    assert win.review.table.rowCount() == n_open - 1
    assert f"{n_open - 1} of {n_open} items left" in win.review.title.text()
    win.seek(0)
    win.review.set_current(None)
    key(qtbot, win, "n")
    assert win.current_item.key != item.key  # navigation skips it
    path = s.case.path
    win.close()
    assert win.wait_closed(10)
    with open_case(path) as c:  # durable
        assert c.latest_annotations("review_item")[item.key]["value"]["reviewed"] is True


def test_swap_left_right_over_a_frame_range_is_one_edit(win, qtbot):
    s = win.session
    lh, rh = s.track.landmarks.index("left_hand"), s.track.landmarks.index("right_hand")
    win.seek(220)
    win.select_landmark(rh)
    before = s.track.xy.copy()
    answer_dialog("220-229")
    key(qtbot, win, "x")
    last = s.case.history()[-1]
    assert (last.kind, last.landmark, last.frame, last.frame_stop) == ("swap", "left_hand/right_hand", 220, 230)
    assert np.array_equal(s.track.xy[220:230, lh], before[220:230, rh], equal_nan=True)
    assert np.array_equal(s.track.xy[220:230, rh], before[220:230, lh], equal_nan=True)
    assert np.array_equal(s.track.xy[230:, lh], before[230:, lh], equal_nan=True)
    key(qtbot, win, "z", CTRL)
    assert np.array_equal(s.track.xy, before, equal_nan=True)


def test_swap_defaults_to_the_swap_item_under_review(win, qtbot):
    s = win.session
    item = next(it for it in s.open_items() if it.kind == "swap")
    win.go_to_item(item)
    seen = answer_dialog()
    key(qtbot, win, "x")
    assert seen["default"] == f"{item.start}-{item.stop - 1}"
    last = s.case.history()[-1]
    assert last.kind == "swap" and (last.frame, last.frame_stop) == (item.start, item.stop)


def test_copy_previous_skips_points_missing_in_the_previous_frame(win, qtbot):
    s = win.session
    win.seek(80)
    j = isolated_landmark(win)
    win.select_landmark(j)
    key(qtbot, win, QtCore.Qt.Key.Key_Delete)
    win.seek(81)
    own = s.track.xy[81, j].copy()
    prev = s.track.xy[80].copy()
    key(qtbot, win, "v", CTRL | SHIFT)
    last = s.case.history()[-1]
    assert last.kind == "copy-from-previous" and len(last.points) == s.track.n_landmarks - 1
    others = np.arange(s.track.n_landmarks) != j
    assert np.array_equal(s.track.xy[81, others], prev[others], equal_nan=True)
    assert np.array_equal(s.track.xy[81, j], own)  # not overwritten by "missing"


def test_interpolation_defaults_to_the_gap_itself(win, qtbot):
    s = win.session
    j = s.track.landmarks.index("left_knee")
    win.select_landmark(j)
    for f in range(280, 290):
        win.seek(f)
        key(qtbot, win, QtCore.Qt.Key.Key_Delete)
    observed_290 = s.track.xy[290, j].copy()
    assert np.isfinite(observed_290).all()
    win.seek(285)
    seen = answer_dialog()
    key(qtbot, win, "i")
    assert seen["default"] == "280-289"
    last = s.case.history()[-1]
    assert (last.kind, last.frame, last.frame_stop) == ("interpolate-range", 280, 290)
    assert np.isfinite(s.track.xy[280:290, j]).all() and (s.track.status[280:290, j] == PointStatus.IMPUTED).all()
    assert np.array_equal(s.track.xy[290, j], observed_290)  # frame 290 is left as observed


# -- 5. playback ----------------------------------------------------------------------------------------------

def test_playback_follows_the_clock_and_loops_a_snippet(win, qtbot):
    p = win.player
    fps = win.session.fps
    win.seek(0)
    t0 = time.perf_counter()
    key(qtbot, win, QtCore.Qt.Key.Key_Space)
    qtbot.wait(1000)
    shown, elapsed = win.frame, time.perf_counter() - t0
    key(qtbot, win, QtCore.Qt.Key.Key_Space)
    assert not p.is_playing
    # the frame shown is the one due by the clock when it was shown (frames are dropped, never slowed down)
    due_s, due = p.last_due
    assert shown == due == int(due_s * fps) and 0.5 < due_s <= elapsed, (shown, due_s, elapsed)
    assert p.shown_rate > 0 and "fps" in win.rate_label.text()
    # 2x and loop over a segment
    key(qtbot, win, "]")
    key(qtbot, win, "]")
    assert p.speed == 2.0
    key(qtbot, win, "l")
    assert p.loop
    seen = []
    win.state.frame_changed.connect(seen.append)
    p.play((100, 129))  # one second of video: half a second at 2x
    qtbot.wait(1300)
    p.stop()
    assert seen and min(seen) >= 100 and max(seen) <= 129
    wraps = sum(1 for a, b in zip(seen, seen[1:], strict=False) if b < a)
    assert wraps >= 1  # it looped
    # Space with "loop snippet" on loops the 10-s window at the cursor (no assessment yet)
    win.seek(200)
    seen.clear()
    key(qtbot, win, QtCore.Qt.Key.Key_Space)
    assert p.segment == (200, 200 + round(10 * fps) - 1)
    qtbot.wait(300)
    key(qtbot, win, QtCore.Qt.Key.Key_Space)
    assert seen and min(seen) >= 200 and not p.is_playing


# -- 6. fast seeking -----------------------------------------------------------------------------------------

def test_seek_proxy_then_exact_frame(win, qtbot, recording):
    from gmdesk.video.proxy import proxy_path

    ref = decode_all_frames(recording[1])
    job = win.make_proxy(force=True, block=True)
    assert job is not None and proxy_path(win.session.case.path).is_file()
    r = win.session.video
    assert r.proxy is not None and r.proxy.frames == len(ref)
    for f in (531, 17, 402):
        win.seek(f)
        if not win.view.exact:  # the proxy's frame first (a JPEG of it: close, not equal) ...
            diff = np.abs(win.view.displayed_rgb().astype(int) - ref[f][..., ::-1]).mean()
            assert 0 < diff < 4, diff
            qtbot.waitUntil(lambda: win.view.exact, timeout=5000)
        # ... then the exact frame
        assert np.array_equal(win.view.displayed_rgb(), ref[f][..., ::-1]), f
    rect = win.view.image.mapRectToParent(win.view.image.boundingRect())
    assert (rect.width(), rect.height()) == (480, 270)


# -- 7. layout -------------------------------------------------------------------------------------------------

def test_layout_at_1366x768_keeps_plots_readable_and_splitters_remembered(qtbot, tmp_path, files):
    w = make_window(qtbot, tmp_path, (1366, 768))
    assert w.open_path(*files)
    qtbot.wait(50)
    assert w.trajectory.height() >= 130 and w.angles.height() >= 90 and w.view.height() >= 200
    box = w.landmark_box
    assert box.width() >= box.minimumSizeHint().width()
    right_edge = box.mapTo(w, QtCore.QPoint(box.width(), box.height()))
    assert right_edge.x() <= w.width() and right_edge.y() <= w.height()
    w.main_split.setSizes([300, 400])
    w.top_split.setSizes([900, 466])
    sizes = (w.main_split.sizes(), w.top_split.sizes())
    w.close()
    assert w.wait_closed(10)
    w2 = make_window(qtbot, tmp_path, (1366, 768))
    assert (w2.main_split.sizes(), w2.top_split.sizes()) == sizes
    w2.close()
    assert w2.wait_closed(10)


# -- 8. shutdown while jobs run ------------------------------------------------------------------------------

SHUTDOWN_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from PySide6 import QtCore, QtWidgets
    from app.main import DEMO_MODEL
    from app.window import MainWindow
    app = QtWidgets.QApplication([])
    w = MainWindow(settings_file=sys.argv[3] + "/s.ini")
    w.show()
    assert w.open_path(sys.argv[1], sys.argv[2]), w.last_error
    w.set_model(DEMO_MODEL)
    w.run_assessment()                     # a thread job: loads TensorFlow, scores
    w.make_proxy(force=True)               # a background thread job
    assert len(w.jobs.jobs) >= 2
    t = {}
    def close():
        t["close"] = time.perf_counter()
        w.close()
    QtCore.QTimer.singleShot(300, close)
    code = app.exec()
    print("closed after", round(time.perf_counter() - t["close"], 2), "s; jobs left", len(w.jobs.jobs), "exit", code)
""")


def test_closing_while_jobs_run_cancels_them_and_exits_cleanly(tmp_path, files):
    pose, video = files
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", SHUTDOWN_SCRIPT, str(pose), str(video), str(tmp_path)], env=env,
                         capture_output=True, text=True, timeout=180, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "jobs left 0 exit 0" in out.stdout, out.stdout + out.stderr[-2000:]
    assert "QThread: Destroyed" not in out.stderr and "Fatal" not in out.stderr
    assert list(tmp_path.glob("*.part")) == []  # the cancelled proxy left nothing behind
    print(out.stdout.strip())
