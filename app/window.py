"""The main window: frame view + editor, trajectories, assessment timeline and verdict,
similarity heatmap. Every computation goes through ``gmdesk``; every edit is a QUndoCommand
mapped one-to-one onto the case file's edit log (durable the moment it is made)."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.session import Session
from app.shortcuts import SHORTCUTS
from app.views import (
    STATUS_COLOURS,
    FrameView,
    IcaView,
    SimilarityView,
    SnippetTimeline,
    TrajectoryPlot,
    colour_icon,
)
from gmdesk.video import VIDEO_SUFFIXES

log = logging.getLogger("gmdesk.app")


class CaseEditCommand(QtGui.QUndoCommand):
    """One edit: the first redo() makes it in the case; later undo()/redo() append the case's
    undo/redo entries, so the QUndoStack and the case's log stay one-to-one."""

    def __init__(self, window: MainWindow, text: str, do) -> None:
        super().__init__(text)
        self.window, self.do, self.seq = window, do, None

    def redo(self) -> None:
        case = self.window.session.case
        if self.seq is None:
            self.seq = self.do(case)
        else:
            case.redo()
        self.window.after_edit()

    def undo(self) -> None:
        self.window.session.case.undo()
        self.window.after_edit()


class Worker(QtCore.QObject):
    """Runs a function on a thread; reports result or a readable error."""

    finished = QtCore.Signal(object)
    failed = QtCore.Signal(str)

    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    @QtCore.Slot()
    def run(self) -> None:
        try:
            self.finished.emit(self.fn())
        except Exception as exc:  # shown to the user, full trace in the log
            log.error("background job failed:\n%s", traceback.format_exc())
            self.failed.emit(f"{type(exc).__name__}: {exc}")


class MainWindow(QtWidgets.QMainWindow):
    """gmdesk main window."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("gmdesk — General Movements screening")
        self.resize(1400, 900)
        self.session: Session | None = None
        self.frame = 0
        self.selected = 0
        self.clipboard: dict[str, tuple[float, float]] | None = None
        self.segment_end: int | None = None
        self.model_path: Path | None = None
        self.result: dict | None = None
        self.undo_stack = QtGui.QUndoStack(self)
        self._threads: list[QtCore.QThread] = []

        self.view = FrameView()
        self.view.skeleton.moved.connect(self.drag_landmark)
        self.view.skeleton.clicked.connect(self.select_landmark)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.valueChanged.connect(self.seek)
        self.play_button = QtWidgets.QPushButton("Play")
        self.play_button.clicked.connect(self.toggle_play)
        self.frame_label = QtWidgets.QLabel("no recording")
        self.landmark_box = QtWidgets.QComboBox()
        self.landmark_box.currentIndexChanged.connect(self.select_landmark)
        controls = QtWidgets.QHBoxLayout()
        for w in (self.play_button, self.slider, self.frame_label, QtWidgets.QLabel("landmark"), self.landmark_box):
            controls.addWidget(w)
        legend = QtWidgets.QHBoxLayout()
        for st, rgb in STATUS_COLOURS.items():
            lab = QtWidgets.QLabel(st.name.lower().replace("_", "-"))
            icon = QtWidgets.QLabel()
            icon.setPixmap(colour_icon(rgb).pixmap(12, 12))
            legend.addWidget(icon)
            legend.addWidget(lab)
        legend.addStretch()

        self.trajectory = TrajectoryPlot()
        self.trajectory.seek = self.seek
        self.timeline = SnippetTimeline()
        self.timeline.open_snippet = self.play_snippet
        self.verdict_label = QtWidgets.QLabel("No assessment yet: choose a model and run it (Ctrl+R).")
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setStyleSheet("font-size: 15px; padding: 4px;")
        self.model_label = QtWidgets.QLabel("model: none")
        self.run_button = QtWidgets.QPushButton("Run assessment")
        self.run_button.clicked.connect(self.run_assessment)
        self.model_button = QtWidgets.QPushButton("Choose model…")
        self.model_button.clicked.connect(self.choose_model)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setVisible(False)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_job)
        self._cancelled = False
        top = QtWidgets.QHBoxLayout()
        for w in (self.model_button, self.model_label, self.run_button, self.progress, self.cancel_button):
            top.addWidget(w)
        top.addStretch()
        assess = QtWidgets.QWidget()
        al = QtWidgets.QVBoxLayout(assess)
        al.addLayout(top)
        al.addWidget(self.verdict_label)
        al.addWidget(self.timeline)
        self.similarity = SimilarityView()
        self.similarity.open_snippet = self.play_snippet
        self.ica = IcaView()
        self.ica.open_snippet = self.play_snippet
        self.angles = pg_angle_plot()
        self.angles.setXLink(self.trajectory)
        traj = QtWidgets.QWidget()
        tl = QtWidgets.QVBoxLayout(traj)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.trajectory, 3)
        tl.addWidget(self.angles, 2)

        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(traj, "Trajectories")
        self.tabs.addTab(assess, "Assessment")
        self.tabs.addTab(self.similarity, "Similarity")
        self.tabs.addTab(self.ica, "ICA")
        left = QtWidgets.QWidget()
        ll = QtWidgets.QVBoxLayout(left)
        ll.addWidget(self.view, 1)
        ll.addLayout(controls)
        ll.addLayout(legend)
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        split.addWidget(left)
        split.addWidget(self.tabs)
        split.setSizes([600, 300])
        self.setCentralWidget(split)
        self.status = self.statusBar()
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self._tick)
        self._build_actions()
        self.setAcceptDrops(True)

    # -- actions ------------------------------------------------------------------------
    def _build_actions(self) -> None:
        handlers = {
            "next_frame": lambda: self.seek(self.frame + 1), "prev_frame": lambda: self.seek(self.frame - 1),
            "next_landmark": lambda: self.select_landmark(self.selected + 1),
            "prev_landmark": lambda: self.select_landmark(self.selected - 1),
            "play": self.toggle_play, "next_flagged": lambda: self.jump_flagged(+1),
            "prev_flagged": lambda: self.jump_flagged(-1), "copy": self.copy_points, "paste": self.paste_points,
            "copy_previous": self.copy_previous, "copy_previous_point": lambda: self.copy_previous(single=True),
            "delete": self.delete_point, "restore": self.restore_point, "interpolate": self.interpolate_range,
            "undo": self.undo_stack.undo, "redo": self.undo_stack.redo, "assess": self.run_assessment,
            "open": self.open_dialog, "help": self.show_help,
        }
        self.actions_by_name: dict[str, QtGui.QAction] = {}
        menu = self.menuBar().addMenu("&File")
        edit = self.menuBar().addMenu("&Edit")
        helpm = self.menuBar().addMenu("&Help")
        for sc in SHORTCUTS:
            act = QtGui.QAction(sc.description, self)
            act.setShortcuts([QtGui.QKeySequence(k) for k in sc.keys])
            act.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
            act.triggered.connect(handlers[sc.action])
            self.addAction(act)
            self.actions_by_name[sc.action] = act
            (menu if sc.action in ("open", "assess") else helpm if sc.action == "help" else edit).addAction(act)
        pose = QtGui.QAction("Estimate pose in a video…", self)
        pose.triggered.connect(lambda: self.pose_dialog())
        menu.addAction(pose)
        train = QtGui.QAction("Train a model on a cohort…", self)
        train.triggered.connect(self.train_dialog)
        menu.addAction(train)
        self.recent_menu = menu.addMenu("Open recent")
        self._fill_recent()

    def show_help(self) -> None:
        """The keyboard shortcuts, from the one registry."""
        rows = "".join(f"<tr><td><b>{' / '.join(s.keys)}</b></td><td>{s.description}</td></tr>" for s in SHORTCUTS)
        QtWidgets.QMessageBox.information(self, "Keyboard shortcuts", f"<table cellspacing=6>{rows}</table>")

    def _settings(self) -> QtCore.QSettings:
        return QtCore.QSettings("gmdesk", "gmdesk")

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self._settings().value("recent", []) or []:
            self.recent_menu.addAction(p, lambda p=p: self.open_path(p))

    def _remember(self, path: Path) -> None:
        recent = [str(path)] + [p for p in (self._settings().value("recent", []) or []) if p != str(path)]
        self._settings().setValue("recent", recent[:10])
        self._fill_recent()

    def open_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open case, pose file or video", "", "gmdesk (*.gmcase *.h5 *.csv *.npz *.mp4 *.mov *.avi *.m4v *.mkv)")
        if path:
            self.open_path(path)

    def dragEnterEvent(self, ev) -> None:  # noqa: N802
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:  # noqa: N802
        paths = [Path(u.toLocalFile()) for u in ev.mimeData().urls()]
        videos = [p for p in paths if p.suffix.lower() in VIDEO_SUFFIXES]
        others = [p for p in paths if p not in videos]
        if others:
            self.open_path(others[0], videos[0] if videos else None)
        elif videos:
            self.open_path(videos[0])

    # -- opening ------------------------------------------------------------------------
    def open_path(self, path: str | Path, video: str | Path | None = None) -> bool:
        """Open a case or pose file (with an optional video). Errors show a dialog."""
        p = Path(path)
        if p.suffix.lower() in VIDEO_SUFFIXES and video is None:
            ask = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Question, "Open video",
                                        f"{p.name} needs landmarks: open a pose file made for it, or estimate "
                                        "them now with a DeepLabCut model?", parent=self)
            use_file = ask.addButton("Open pose file…", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
            estimate = ask.addButton("Estimate pose…", QtWidgets.QMessageBox.ButtonRole.ActionRole)
            ask.addButton(QtWidgets.QMessageBox.StandardButton.Cancel)
            ask.exec()
            if ask.clickedButton() is estimate:
                self.pose_dialog(p)
                return False
            if ask.clickedButton() is not use_file:
                return False
            pose, _ = QtWidgets.QFileDialog.getOpenFileName(self, f"Pose file for {p.name}", str(p.parent),
                                                            "Pose (*.h5 *.csv *.gmcase)")
            if not pose:
                return False
            p, video = Path(pose), p
        try:
            session = Session.open(p, video)
        except Exception as exc:
            self.error(f"Cannot open {p.name}", str(exc))
            return False
        if self.session:
            self.session.close()
        self.session = session
        self.undo_stack.clear()
        self.landmark_box.blockSignals(True)
        self.landmark_box.clear()
        self.landmark_box.addItems(list(session.track.landmarks))
        self.landmark_box.blockSignals(False)
        self.slider.setRange(0, session.n_frames - 1)
        chk = session.case.check_video()
        msg = f"{session.case.path.name}: {session.n_frames} frames"
        if session.video is not None and session.video.info.frame_count != session.n_frames:
            self.error("Frame counts differ",
                       f"the video {session.video.path.name} has {session.video.info.frame_count} frames but the pose "
                       f"has {session.n_frames}: the overlay may be on the wrong frames. Check that they belong together.")
        if session.video is None:
            msg += f" — no video ({chk.message})" if chk.status != "none" else " — no video: skeleton on a blank canvas"
        self.status.showMessage(msg)
        self._remember(session.case.path)
        self.result = None
        self.timeline.set_snippets([], 10)
        self.seek(0, force=True)
        self.select_landmark(0)
        return True

    # -- navigation ---------------------------------------------------------------------
    def seek(self, frame: int, force: bool = False) -> None:
        """Show frame ``frame`` (clamped) with its overlay."""
        s = self.session
        if s is None:
            return
        frame = int(np.clip(frame, 0, s.n_frames - 1))
        if frame == self.frame and not force:
            self.redraw()
            return
        self.frame = frame
        self.redraw()

    def redraw(self) -> None:
        s = self.session
        if s is None:
            return
        f = self.frame
        img = None
        if s.video is not None and f < len(s.video):
            try:
                img = s.video.frame(f)
            except Exception as exc:  # a damaged frame should not take the editor down
                self.status.showMessage(f"frame {f}: {exc}")
        size = (s.video.info.width, s.video.info.height) if s.video else _canvas(s.track.xy)
        self.view.show_frame(img, size)
        self.view.skeleton.set_pose(s.track.xy[f], s.track.status[f], s.skeleton.edge_index, self.selected)
        self.slider.blockSignals(True)
        self.slider.setValue(f)
        self.slider.blockSignals(False)
        flag = " ⚑ flagged" if s.flagged[f].any() else ""
        self.frame_label.setText(f"frame {f} / {s.n_frames - 1}   {f / s.fps:7.2f} s{flag}")
        self.trajectory.cursor.setValue(f)
        self.timeline.cursor.setValue(f / s.fps)

    def select_landmark(self, j: int) -> None:
        s = self.session
        if s is None:
            return
        self.selected = int(j) % s.track.n_landmarks
        if self.landmark_box.currentIndex() != self.selected:
            self.landmark_box.blockSignals(True)
            self.landmark_box.setCurrentIndex(self.selected)
            self.landmark_box.blockSignals(False)
        self.trajectory.set_series(s.track.xy[:, self.selected], s.flagged[:, self.selected])
        self.trajectory.setTitle(f"{s.track.landmarks[self.selected]}: x, y over time (red: flagged frames)")
        self._show_angles()
        self.redraw()

    def _show_angles(self) -> None:
        """Joint angles whose vertex is the selected landmark (e.g. the elbow angle for the elbow)."""
        from gmdesk.features import joint_angles

        s = self.session
        self.angles.clear()
        names = [a.name for a in s.skeleton.angles if a.points[1] == s.track.landmarks[self.selected]]
        if not names:
            self.angles.setTitle("no joint angle at this landmark")
            return
        idx = [i for i, a in enumerate(s.skeleton.angles) if a.name in names]
        ang = joint_angles(s.track.xy, s.skeleton)[:, idx]
        for k, name in enumerate(names):
            self.angles.plot(np.arange(len(ang)), ang[:, k], pen=(k, max(2, len(names))), name=name, connect="finite")
        self.angles.setTitle(f"joint angle (degrees): {', '.join(names)}")

    def jump_flagged(self, direction: int) -> None:
        s = self.session
        if s is None:
            return
        frames = s.flagged_frames()
        nxt = frames[frames > self.frame] if direction > 0 else frames[frames < self.frame][::-1]
        if len(nxt):
            self.seek(int(nxt[0]))
        else:
            self.status.showMessage("no more flagged frames in that direction")

    def toggle_play(self) -> None:
        if self.timer.isActive():
            self.timer.stop()
            self.segment_end = None
            self.play_button.setText("Play")
        elif self.session:
            self.timer.start(int(1000 / self.session.fps))
            self.play_button.setText("Pause")

    def _tick(self) -> None:
        s = self.session
        if s is None or self.frame >= s.n_frames - 1 or (self.segment_end is not None and self.frame >= self.segment_end):
            self.toggle_play()
            return
        self.seek(self.frame + 1)

    def play_snippet(self, index: int) -> None:
        """Play snippet ``index`` of the assessment (its 10 s) with the overlay: the evidence."""
        if not self.result or self.session is None:
            return
        sn = self.result["snippets"][index]
        self.seek(sn["start_frame"])
        self.segment_end = sn["end_frame"]
        self.status.showMessage(f"snippet {index + 1}: frames {sn['start_frame']}–{sn['end_frame']}, "
                                f"P(abnormal) {sn['p_abnormal']:.2f} ({sn['class']})")
        if not self.timer.isActive():
            self.timer.start(int(1000 / self.session.fps))
            self.play_button.setText("Pause")

    # -- edits --------------------------------------------------------------------------
    def _push(self, text: str, do) -> None:
        if self.session is None:
            return
        try:
            self.undo_stack.push(CaseEditCommand(self, text, do))
        except Exception as exc:
            self.error("Edit not made", str(exc))

    def after_edit(self) -> None:
        """Refresh views from the case after an edit, undo or redo."""
        self.session.refresh()
        self.select_landmark(self.selected)

    @property
    def _name(self) -> str:
        return self.session.track.landmarks[self.selected]

    def drag_landmark(self, j: int, x: float, y: float) -> None:
        f, name = self.frame, self.session.track.landmarks[j]
        self.selected = j
        self._push(f"move {name} @ {f}", lambda c: c.move(f, name, x, y))

    def delete_point(self) -> None:
        f, name = self.frame, self._name
        self._push(f"delete {name} @ {f}", lambda c: c.delete(f, name))

    def restore_point(self) -> None:
        f, name = self.frame, self._name
        self._push(f"restore {name} @ {f}", lambda c: c.restore(f, name))

    def copy_previous(self, single: bool = False) -> None:
        f, name = self.frame, self._name
        if f == 0:
            return
        self._push(f"copy previous frame @ {f}", lambda c: c.copy_from_previous(f, [name] if single else None))

    def copy_points(self) -> None:
        s = self.session
        if s is None:
            return
        self.clipboard = {n: tuple(map(float, s.track.xy[self.frame, j])) for j, n in enumerate(s.track.landmarks)}
        self.status.showMessage(f"copied {len(self.clipboard)} points of frame {self.frame}")

    def paste_points(self) -> None:
        if not self.clipboard:
            return
        f, pts = self.frame, dict(self.clipboard)
        self._push(f"paste points @ {f}", lambda c: c.set_points(f, pts))

    def interpolate_range(self) -> None:
        s = self.session
        if s is None:
            return
        j, f = self.selected, self.frame
        flagged = s.flagged[:, j]
        a = b = f
        while a > 1 and flagged[a - 1]:
            a -= 1
        while b < s.n_frames - 2 and flagged[b]:
            b += 1
        text, ok = QtWidgets.QInputDialog.getText(self, "Interpolate (makima)",
                                                  f"Frames of {self._name} to replace, start-stop:", text=f"{a}-{max(b, a + 1)}")
        if not ok:
            return
        try:
            start, stop = (int(v) for v in text.split("-"))
        except ValueError:
            self.error("Interpolate", f"{text!r} is not a range like 120-135")
            return
        name = self._name
        self._push(f"interpolate {name} {start}-{stop}", lambda c: c.interpolate_range(name, start, stop + 1))

    # -- assessment ---------------------------------------------------------------------
    def choose_model(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Model bundle folder", "models")
        if path:
            self.set_model(path)

    def set_model(self, path: str | Path) -> None:
        self.model_path = Path(path)
        self.model_label.setText(f"model: {self.model_path.name}")

    def run_assessment(self, block: bool = False) -> None:
        """Score the current track (edits included) on a worker thread."""
        s = self.session
        if s is None or self.model_path is None:
            self.error("Assessment", "Open a recording and choose a model bundle first.")
            return
        track, skeleton, model = s.track.copy(), s.skeleton, self.model_path
        infant = s.case.meta().get("infant_id", "")

        def job():
            from gmdesk.assess import assess_track
            from gmdesk.bundle import load_bundle

            bundle = load_bundle(model, skeleton)
            if self._cancelled:
                return None
            return assess_track(track, bundle, skeleton, infant)

        self._cancelled = False
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.run_button.setEnabled(False)
        self.status.showMessage("assessing…")
        self._start(job, self._assessed, block)

    def _start(self, fn, done, block: bool) -> None:
        thread = QtCore.QThread(self)
        worker = Worker(fn)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.finished.connect(done)
        worker.failed.connect(lambda m: (self._job_done(), self.error("Assessment failed", m)))
        worker.finished.connect(thread.quit)
        worker.failed.connect(thread.quit)
        thread.finished.connect(lambda: self._threads.remove(thread) if thread in self._threads else None)
        thread._worker = worker  # keep alive
        self._threads.append(thread)
        thread.start()
        if block:
            loop = QtCore.QEventLoop()
            thread.finished.connect(loop.quit)
            loop.exec()

    def _job_done(self) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.run_button.setEnabled(True)

    def cancel_job(self) -> None:
        """Cancel the running assessment: the window stays usable and its result is discarded."""
        self._cancelled = True
        self._job_done()
        self.status.showMessage("assessment cancelled")

    def _assessed(self, res: dict | None) -> None:
        if self._cancelled or res is None:
            return
        self._job_done()
        self.result = res
        v = res["verdict"]
        colour = "#c0392b" if v["verdict"] == "abnormal" else "#1e8449"
        extra = " — model trained on SYNTHETIC data, not for clinical use" if res.get("synthetic_model") else ""
        dropped = f"; {len(res['dropped'])} windows left out for missing data" if res["dropped"] else ""
        self.verdict_label.setText(f"<b style='color:{colour}'>{v['verdict'].upper()}</b>: {v['basis']}{dropped}."
                                   f"<br><small>model {res['model_id']}{extra}. Click a snippet to play it.</small>")
        self.timeline.set_snippets(res["snippets"], res["window"] / res["fps"],
                                   [d["start"] / res["fps"] for d in res["dropped"]])
        names = [f"{s['index'] + 1}@{s['start_frame']} ({s['class'][0].upper()})" for s in res["snippets"]]
        if "similarity_reference" in res:
            self.similarity.set_matrix(np.asarray(res["similarity_reference"]), names, res["reference_names"],
                                       f"This infant's {len(names)} snippets against the model's "
                                       f"{len(res['reference_names'])} reference snippets (cosine similarity)")
        elif "similarity_within" in res:  # bundles without reference snippets; short recordings only
            self.similarity.set_matrix(np.asarray(res["similarity_within"]), names)
        if "ica" in res:
            self.ica.set_data(np.asarray(res["ica"]["reference_ic1"]), np.asarray(res["ica"]["reference_labels"]),
                              np.asarray(res["ica"]["infant_ic1"]), [s["class"] for s in res["snippets"]])
        self.status.showMessage(f"assessment done: {v['basis']}")
        try:
            self.session.case.save_result(res["model_id"], v, res["snippets"], res["model_path"])
        except Exception as exc:
            self.error("Result not saved", str(exc))
        self.tabs.setCurrentIndex(1)

    # -- training (child process) -------------------------------------------------------
    def train_dialog(self) -> None:
        """Ask for a cohort table, classifier and output folder, then train in a child process."""
        cohort, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Cohort table", "", "Cohort (*.csv)")
        if not cohort:
            return
        arch, ok = QtWidgets.QInputDialog.getItem(self, "Classifier", "Architecture:",
                                                  ["cnn1d-2", "cnn1d-3", "svm-rbf", "svm-poly", "lstm-2", "lstm-3",
                                                   "vit-2", "vit-4"], 0, False)
        if not ok:
            return
        out = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder to write the model bundle in", "models")
        if out:
            self.start_training(cohort, arch, str(Path(out) / f"{arch}-{Path(cohort).parent.name}"))

    def start_training(self, cohort: str, architecture: str, output: str, extra: list[str] | None = None):
        """Train ``architecture`` on ``cohort`` into bundle ``output`` with progress, ETA and cancel."""

        def finished(last: str) -> None:
            self.set_model(output)
            self.status.showMessage(f"trained {output}: {last}")

        self.tabs.setCurrentIndex(1)
        return self._run_job(["train", cohort, "--model", architecture, "-o", output, *(extra or [])],
                             f"training {architecture}", finished)

    def pose_dialog(self, video: str | Path | None = None) -> None:
        """Ask for video, DeepLabCut model and settings, then estimate pose in a child process."""
        from app.pose_dialog import PoseDialog

        dlg = PoseDialog(video, self)
        if dlg.exec() == QtWidgets.QDialog.DialogCode.Accepted:
            out, args = dlg.args()
            self.start_pose_estimation(Path(dlg.video.text()), args, out)

    def start_pose_estimation(self, video: Path, args: list[str], output: Path):
        """Run ``gmdesk pose`` (``args``) in a child process; when it finishes, open ``output``
        with the video (a case is created beside it and cleaned). Cancel writes nothing."""

        def finished(last: str) -> None:
            if self.open_path(output, video):
                self.status.showMessage(f"pose estimated: {last}")

        return self._run_job(args, f"pose estimation of {video.name}", finished)

    def _run_job(self, args: list[str], label: str, on_finished):
        """A gmdesk CLI command in a child process with progress bar, ETA and cancel;
        ``on_finished(last line the command printed)`` when it succeeds."""
        from app.jobs import JobRunner

        job = JobRunner(args, self)
        self.job = job
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.cancel_button.clicked.disconnect()
        self.cancel_button.clicked.connect(job.cancel)

        def prog(done, total, text):
            if total:
                self.progress.setRange(0, total)
                self.progress.setValue(done)
            self.status.showMessage(f"{label}: {text}")

        def finished(code, out):
            self._job_over()
            on_finished(out.strip().splitlines()[-1] if out.strip() else "done")

        def failed(msg):
            self._job_over()
            if msg == "cancelled":
                self.status.showMessage(f"{label} cancelled; nothing was written")
            else:
                self.error(f"{label[0].upper()}{label[1:]} failed", msg)

        job.progress.connect(prog)
        job.finished.connect(finished)
        job.failed.connect(failed)
        job.start()
        return job

    def _job_over(self) -> None:
        self._job_done()
        self.cancel_button.clicked.disconnect()
        self.cancel_button.clicked.connect(self.cancel_job)

    # -- errors -------------------------------------------------------------------------
    def error(self, title: str, message: str) -> None:
        """Readable dialog + log entry (offscreen tests read ``last_error``)."""
        log.error("%s: %s", title, message)
        self.last_error = f"{title}: {message}"
        self.status.showMessage(self.last_error)
        if QtWidgets.QApplication.platformName() != "offscreen":
            QtWidgets.QMessageBox.warning(self, title, message)

    def closeEvent(self, ev) -> None:  # noqa: N802
        self.timer.stop()
        for t in list(self._threads):
            t.quit()
            t.wait(5000)
        if self.session:
            self.session.close()
        super().closeEvent(ev)


def pg_angle_plot():
    """Plot for joint angles under the trajectories."""
    import pyqtgraph as pg

    w = pg.PlotWidget(background=(250, 250, 250))
    w.addLegend(offset=(5, 5))
    w.setLabel("left", "degrees")
    return w


def _canvas(xy: np.ndarray) -> tuple[int, int]:
    """Blank canvas size covering the recording's points (when there is no video)."""
    hi = np.nanmax(xy.reshape(-1, 2), axis=0) if np.isfinite(xy).any() else np.array([640, 480])
    return int(max(640, hi[0] + 40)), int(max(480, hi[1] + 40))

