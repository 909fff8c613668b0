"""GUI tests (pytest-qt, offscreen)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import pyqtgraph as pg  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402

from app.shortcuts import SHORTCUTS  # noqa: E402
from app.window import MainWindow  # noqa: E402
from gmdesk.core.posetrack import PointStatus, PoseTrack  # noqa: E402
from gmdesk.io.dlc import write_dlc  # noqa: E402
from gmdesk.synthetic.cohorts import make_infant  # noqa: E402
from gmdesk.synthetic.video import render_video  # noqa: E402
from tests.conftest import decode_all_frames  # noqa: E402

pg.setConfigOption("mouseRateLimit", 0)
SCALE = 0.25  # 1920x1080 synthetic coordinates -> 480x270 test video


@pytest.fixture(scope="module")
def recording(tmp_path_factory, skeleton):
    d = tmp_path_factory.mktemp("app")
    inf = make_infant("G1", 1, [8, 8], skeleton=skeleton, n_frames=700)
    t = inf.track
    small = PoseTrack(t.xy * SCALE, t.likelihood, t.status, t.fps, t.landmarks, t.provenance, t.meta)
    pose = write_dlc(small, d / "g1.h5")
    video = render_video(inf.truth_xy * SCALE, skeleton, d / "g1.avi", size=(480, 270), codec="MJPG")
    return pose, video


@pytest.fixture(scope="module")
def model(tmp_path_factory, skeleton):
    from gmdesk.learning.bundle import save_bundle
    from gmdesk.learning.classifiers import classifier_for
    from gmdesk.pipeline.cohort import cohort_snippets, read_cohort
    from gmdesk.synthetic.cohorts import generate_cohort
    from gmdesk.synthetic.settings import SynthSettings

    d = tmp_path_factory.mktemp("appmodel")
    table = generate_cohort(d / "c", 2, 2, 0, 0, seed=3, settings=SynthSettings(duration_s=(25, 30)))
    snips = cohort_snippets(read_cohort(table), skeleton, "both", overlap=150)
    clf = classifier_for("svm-rbf").fit(snips.X, snips.label)
    return save_bundle(d / "svm", clf, skeleton, "both", 300, 150, "gui-test-svm", reference=snips, n_reference=20)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch, recording):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    pose, video = recording
    local = tmp_path / "g1.h5"
    local.write_bytes(pose.read_bytes())
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    assert win.open_path(local, video), getattr(win, "last_error", "")
    yield win
    win.close()


def test_random_seeks_show_the_right_frame(window, recording):
    ref = decode_all_frames(recording[1])
    assert window.session.video.info.frame_count == len(ref) == 700
    for f in (5, 650, 17, 300, 299, 0, 699):
        window.seek(f)
        assert np.array_equal(window.view.displayed_rgb(), ref[f][..., ::-1]), f"frame {f}"
        assert f"frame {f} /" in window.frame_label.text()


def _viewport_pos(win, x, y):
    scene = win.view.vb.mapViewToScene(QtCore.QPointF(x, y))
    return win.view.mapFromScene(scene)


def test_drag_a_landmark_stores_the_edit(window, qtbot):
    win = window
    win.seek(120)
    j = win.session.track.landmarks.index("left_foot")
    x, y = win.session.track.xy[120, j]
    if not np.isfinite([x, y]).all():
        win.seek(121)
        x, y = win.session.track.xy[121, j]
    frame = win.frame
    start = _viewport_pos(win, x, y)
    end = _viewport_pos(win, x + 25, y - 15)
    vp = win.view.viewport()
    qtbot.mousePress(vp, QtCore.Qt.MouseButton.LeftButton, pos=start)
    for k in range(1, 11):
        p = start + (end - start) * (k / 10)
        qtbot.mouseMove(vp, pos=p)
        qtbot.wait(2)
    qtbot.mouseRelease(vp, QtCore.Qt.MouseButton.LeftButton, pos=end)
    last = win.session.case.history()[-1]
    assert last.kind == "move" and last.landmark == "left_foot" and last.frame == frame
    nx, ny, st = last.new[0]
    assert abs(nx - (x + 25)) < 2.5 and abs(ny - (y - 15)) < 2.5 and st == PointStatus.EDITED
    assert win.session.track.status[frame, j] == PointStatus.EDITED
    # undo / redo through the QUndoStack map one-to-one onto the case log
    win.undo_stack.undo()
    assert win.session.case.history()[-1].kind == "undo"
    assert np.allclose(win.session.track.xy[frame, j], [x, y])
    win.undo_stack.redo()
    assert win.session.case.history()[-1].kind == "redo"
    assert np.allclose(win.session.track.xy[frame, j], [nx, ny])


def test_keyboard_shortcuts_drive_the_editor(window, qtbot):
    win = window
    win.seek(50)
    win.setFocus()
    qtbot.keyClick(win, "d")
    assert win.frame == 51
    qtbot.keyClick(win, QtCore.Qt.Key.Key_Left)
    assert win.frame == 50
    qtbot.keyClick(win, "s")
    assert win.selected == 1
    qtbot.keyClick(win, QtCore.Qt.Key.Key_Delete)
    assert np.isnan(win.session.track.xy[50, 1]).all()
    qtbot.keyClick(win, "z", QtCore.Qt.KeyboardModifier.ControlModifier)
    assert np.isfinite(win.session.track.xy[50, 1]).all()
    qtbot.keyClick(win, "c", QtCore.Qt.KeyboardModifier.ControlModifier)
    win.seek(60)
    qtbot.keyClick(win, "v", QtCore.Qt.KeyboardModifier.ControlModifier)
    assert np.allclose(win.session.track.xy[60], win.session.track.xy[50], equal_nan=True)
    assert [e.kind for e in win.session.case.history()] == ["delete", "undo", "move"]


def test_every_shortcut_is_bound_once(window):
    assert set(window.actions_by_name) == {s.action for s in SHORTCUTS}
    keys = [k for s in SHORTCUTS for k in s.keys]
    assert len(keys) == len(set(keys))


def test_assessment_timeline_verdict_and_heatmap(window, model):
    win = window
    win.set_model(model)
    win.run_assessment(block=True)
    res = win.result
    assert res is not None, getattr(win, "last_error", "")
    v = res.verdict
    text = win.verdict_label.text()
    assert v.verdict.upper() in text and f"{v.n_normal} of {v.n_snippets} snippets normal" in text
    assert len(win.timeline.snippets) == v.n_snippets >= 2
    assert win.session.case.results()[-1]["verdict"]["verdict"] == v.verdict
    n = v.n_snippets
    n_ref = len(res.reference_names)
    assert 10 <= n_ref <= 22 and win.similarity.img.image.shape == (n, n_ref)
    assert res.reference_names[0].startswith("Normal-") and res.reference_names[-1].startswith("Abnormal-")
    assert "×" in win.similarity.pair_text(0, n_ref - 1) and "Abnormal-" in win.similarity.pair_text(0, n_ref - 1)
    assert len(res.ica["infant_ic1"]) == n  # kept in the result for researchers; not a clinician tab
    win.play_snippet(1)
    assert win.frame == res.snippets[1]["start_frame"] and win.segment_end == res.snippets[1]["end_frame"]
    win.toggle_play()


def test_bad_file_shows_a_readable_error(qtbot, tmp_path):
    win = MainWindow()
    qtbot.addWidget(win)
    bad = tmp_path / "broken.h5"
    bad.write_bytes(b"nope")
    assert not win.open_path(bad)
    assert "broken.h5" in win.last_error


def test_app_logs_to_a_rotating_file_and_warnings_to_stderr(tmp_path):
    import logging
    import logging.handlers

    from app.main import configure_logging

    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        path = configure_logging(folder=tmp_path / "logs")
        assert path == tmp_path / "logs" / "app.log" and path.parent.is_dir()
        added = [h for h in root.handlers if h not in before]
        files = [h for h in added if isinstance(h, logging.handlers.RotatingFileHandler)]
        streams = [h for h in added if type(h) is logging.StreamHandler]
        assert len(added) == 2 and len(files) == 1 and len(streams) == 1
        assert (files[0].maxBytes, files[0].backupCount, files[0].level) == (1024 * 1024, 3, logging.INFO)
        assert streams[0].stream is sys.stderr and streams[0].level == logging.WARNING
        logging.getLogger("gmdesk.app").debug("not in the file")
        logging.getLogger("gmdesk.app").info("in the file")
        files[0].flush()
        text = path.read_text()
        assert "gmdesk.app INFO in the file" in text and "not in the file" not in text

        assert configure_logging(verbose=True, folder=tmp_path / "logs") == path  # replaces its handlers
        added = [h for h in root.handlers if h not in before]
        assert len(added) == 2 and root.level == logging.DEBUG and all(h.level == logging.DEBUG for h in added)
        logging.getLogger("gmdesk.app").debug("verbose: in the file")
        for h in added:
            h.flush()
        assert "gmdesk.app DEBUG verbose: in the file" in path.read_text()
    finally:
        for h in [h for h in root.handlers if h not in before]:
            root.removeHandler(h)
            h.close()
        root.setLevel(level)


def test_window_starts_without_tensorflow_or_torch():
    code = ("import os, sys, time; os.environ['QT_QPA_PLATFORM']='offscreen'; t=time.perf_counter();"
            "from PySide6 import QtWidgets; a=QtWidgets.QApplication([]); from app.window import MainWindow;"
            "w=MainWindow(); w.show(); a.processEvents(); print(round(time.perf_counter()-t,2), "
            "'tensorflow' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    print(f"\nwindow shown in {out[0]} s")
    assert out[1:] == ["False", "False"]


def test_training_runs_in_a_child_process_with_progress_and_cancel(qtbot, tmp_path):
    from gmdesk.synthetic.cohorts import generate_cohort
    from gmdesk.synthetic.settings import SynthSettings

    table = generate_cohort(tmp_path / "c", 2, 2, 0, 0, seed=9, settings=SynthSettings(duration_s=(40, 45)))
    win = MainWindow()
    qtbot.addWidget(win)
    seen = []
    out = tmp_path / "svm-bundle"
    job = win.start_training(str(table), "svm-rbf", str(out), ["--features", "angles"])
    job.progress.connect(lambda d, t, m: seen.append((d, t, m)))
    with qtbot.waitSignal(job.finished, timeout=120_000):
        pass
    assert (out / "manifest.json").is_file() and win.model_path == out
    assert "wrote model bundle" in "".join(job.output)
    # cancel: a long network training stops at once and leaves no bundle behind
    out2 = tmp_path / "cnn-bundle"
    job2 = win.start_training(str(table), "cnn1d-2", str(out2),
                              ["--features", "angles", "--epochs", "250", "--patience", "250", "--cv", "none"])
    job2.progress.connect(lambda d, t, m: seen.append((d, t, m)))
    job2.failed.connect(lambda m: m == "cancelled" or pytest.fail(f"training failed early: {m}"))
    with qtbot.waitSignal(job2.progress, timeout=90_000):
        pass
    with qtbot.waitSignal(job2.progress, timeout=30_000):  # a second epoch, so there is a rate for the ETA
        pass
    d, t, m = seen[-1]
    assert t == 250 and 1 <= d < 250 and "loss" in m and "left" in m
    with qtbot.waitSignal(job2.failed, timeout=20_000) as blocker:
        job2.cancel()
    assert blocker.args == ["cancelled"]
    assert not out2.exists() and not list(tmp_path.glob("cnn-bundle*"))


def test_the_train_dialogs_first_choice_lets_gmdesk_choose_the_recipe_on_the_cohort(qtbot, tmp_path, monkeypatch):
    """File > Train…: the first classifier offered is 'choose on the cohort's infants'; taking it runs ``gmdesk train``
    without ``--classifier`` (nested selection), and the bundle records the recipe chosen and its validation."""
    from app.pipeline_jobs import CHOOSE_ON_COHORT
    from gmdesk.learning.architectures import SELECTION_CLASSIFIERS
    from gmdesk.synthetic.cohorts import generate_cohort
    from gmdesk.synthetic.settings import SynthSettings

    table = generate_cohort(tmp_path / "c", 3, 3, 0, 0, seed=19, settings=SynthSettings(duration_s=(40, 45)))
    offered = []

    def get_item(parent, title, label, items, current, editable):
        offered.extend(items)
        return items[current], True

    # the operating system's file dialogs and the list dialog answer as a user would
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(table), "Cohort (*.csv)"))
    monkeypatch.setattr(QtWidgets.QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "models"))
    monkeypatch.setattr(QtWidgets.QInputDialog, "getItem", get_item)
    win = MainWindow()
    qtbot.addWidget(win)
    jobs = []
    monkeypatch.setattr(win.pipeline, "run", lambda args, what, done, _run=win.pipeline.run: jobs.append(
        (args, _run(args, what, done))) or jobs[-1][1])
    win.pipeline.train_dialog()
    assert offered[0] == CHOOSE_ON_COHORT
    args, job = jobs[0]
    assert args[0] == "train" and "--classifier" not in args
    with qtbot.waitSignal(job.finished, timeout=240_000):
        pass
    out = tmp_path / "models" / "selected-c"
    man = json.loads((out / "manifest.json").read_text())
    assert man["classifier"] in SELECTION_CLASSIFIERS and man["metrics"]["selection"]["final"]["recipe"]
    assert "validated" in man["validation"] and win.model_path == out


def test_demo_opens_with_its_video_and_the_overlay_sits_on_the_figure(qtbot, tmp_path, skeleton):
    """``gmdesk-app --demo``: the bundled demo pose opens with the bundled 1080p H.264 video, one
    frame per pose row, and the video shows the figure where the demo's true positions are."""
    import cv2

    from app.main import DEMO_POSE, demo_case
    from gmdesk.synthetic.cohorts import load_truth
    from gmdesk.synthetic.video import render_video

    pose, video = demo_case(tmp_path / "demo")
    assert video is not None and video.name == "demo_infant.mp4"
    win = MainWindow()
    qtbot.addWidget(win)
    assert win.open_path(pose, video)
    s = win.session
    assert s.video.info.frame_count == s.n_frames == 4495 and (s.video.info.width, s.video.info.height) == (1920, 1080)
    truth, _, _ = load_truth(DEMO_POSE.with_name("demo_infant.truth.npz"))
    for f in (0, 1234, 4494):
        win.seek(f)
        shown = s.video.frame(f)
        ref = render_video(truth, skeleton, tmp_path / f"ref{f}.avi", size=(1920, 1080), codec="MJPG",
                           frames=slice(f, f + 1))
        expected = cv2.VideoCapture(str(ref)).read()[1]
        other = cv2.VideoCapture(str(render_video(truth, skeleton, tmp_path / f"o{f}.avi", size=(1920, 1080),
                                                  codec="MJPG", frames=slice(f + 300, f + 301) if f < 4000
                                                  else slice(f - 300, f - 299)))).read()[1]
        shown, expected, other = (a.astype(int) for a in (shown, expected, other))
        moved = (np.abs(expected - other) > 40).any(axis=2)  # where this frame's figure and another's differ
        this_err, other_err = (np.abs(shown - a)[moved].mean() for a in (expected, other))
        assert moved.sum() > 1000 and this_err < 0.25 * other_err, (f, this_err, other_err)
    pose2, video2 = demo_case(tmp_path / "demo")  # reopening keeps the practice case
    assert (pose2, video2) == (pose, video)
