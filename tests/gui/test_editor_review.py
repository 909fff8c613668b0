"""The annotator's editor driven with real mouse and key events (pytest-qt, offscreen): review navigation,
review marks, swap, copy-previous, interpolation range, playback, fast seeking, layout and shutdown."""

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

from PySide6 import QtCore  # noqa: E402

from gmdesk.core.posetrack import PointStatus  # noqa: E402
from gmdesk.record.case import open_case  # noqa: E402
from tests.conftest import REPO, decode_all_frames  # noqa: E402
from tests.gui.editor_support import CTRL, LEFT, SHIFT, answer_dialog, isolated_landmark, key, make_window  # noqa: E402

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
