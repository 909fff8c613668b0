"""The annotator's editor driven with real mouse and key events (pytest-qt, offscreen): selection,
dragging overlapping points, undo integrity, reopening, atomic opening, recent files."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtCore  # noqa: E402

from gmdesk.core.posetrack import PointStatus  # noqa: E402
from tests.conftest import REPO  # noqa: E402
from tests.gui.editor_support import CTRL, LEFT, SHIFT, drag, isolated_landmark, key, make_window, px_per_image_px, vp_pos  # noqa: E402

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
