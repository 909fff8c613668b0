"""The main window: it lays out the views and panels and wires them together.

The jobs are elsewhere: :class:`~app.state.ViewState` (current frame, selected landmark — the
views follow it), :class:`~app.editing.Editor` (edits and the QUndoStack ↔ case-log mapping),
:class:`~app.playback.Player` (real-speed playback), :class:`~app.frames.FrameSource` (cached
and proxy frames), :class:`~app.jobs.JobOwner` (every thread or child-process job, one Cancel),
:class:`~app.assessment_panel.AssessmentPanel` and :class:`~app.review_panel.ReviewPanel`.
Every computation goes through ``gmdesk``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.assessment_panel import AssessmentPanel
from app.editing import Editor, run_around
from app.frames import FrameSource
from app.jobs import JobBusyError, JobOwner, JobRunner, ThreadJob
from app.playback import SPEEDS, Player
from app.recent import RecentFiles
from app.review_panel import ReviewPanel, step_item
from app.session import Session
from app.shortcuts import SHORTCUTS
from app.state import ViewState
from app.views import SIDE_COLOURS, STATUS_COLOURS, FrameView, TrajectoryPlot, colour_icon, landmark_sides
from gmdesk.case import CaseLockedError
from gmdesk.video import VIDEO_SUFFIXES

log = logging.getLogger("gmdesk.app")


class MainWindow(QtWidgets.QMainWindow):
    """gmdesk main window.

    Parameters
    ----------
    settings_file : str or Path, optional
        An INI file for the window's settings (recent files, layout, seek proxies); default the
        user's gmdesk settings.
    """

    def __init__(self, settings_file: str | Path | None = None) -> None:
        super().__init__()
        self.setWindowTitle("gmdesk — General Movements screening")
        self.resize(1400, 900)
        self.settings_file = settings_file
        self.session: Session | None = None
        self.frames: FrameSource | None = None
        self.clipboard: dict[str, tuple[float, float]] | None = None
        self.current_item = None
        self.last_error = ""
        self._closing = False
        self._drag_frame: int | None = None
        self._proxy_job: ThreadJob | None = None
        self.prefetch_frames = True  # the background frame cache (off only for comparisons)
        self.sides: list[str] = []

        self.state = ViewState(self)
        self.editor = Editor(self)
        self.jobs = JobOwner(self)
        self.player = Player(self.state, self)
        self.recent = RecentFiles(self._settings)

        # -- frame column ----------------------------------------------------------------------
        self.view = FrameView()
        self.view.setMinimumHeight(200)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.valueChanged.connect(self.seek)
        self.play_button = QtWidgets.QPushButton("Play")
        self.play_button.clicked.connect(self.toggle_play)
        self.speed_box = QtWidgets.QComboBox()
        self.speed_box.addItems([f"{s:g}×" for s in SPEEDS])
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.setToolTip("Playback speed")
        self.speed_box.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.speed_box.currentIndexChanged.connect(lambda i: self.player.set_speed(SPEEDS[i]))
        self.loop_box = QtWidgets.QCheckBox("loop snippet")
        self.loop_box.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.loop_box.toggled.connect(self._set_loop)
        self.frame_label = QtWidgets.QLabel("no recording")
        self.rate_label = QtWidgets.QLabel("")
        self.rate_label.setMinimumWidth(150)
        self.landmark_box = QtWidgets.QComboBox()
        self.landmark_box.setMinimumContentsLength(12)
        self.landmark_box.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.landmark_box.currentIndexChanged.connect(self.select_landmark)
        row1 = QtWidgets.QHBoxLayout()
        for w in (self.play_button, self.speed_box, self.loop_box):
            row1.addWidget(w)
        row1.addWidget(self.slider, 1)
        row2 = QtWidgets.QHBoxLayout()
        row2.addWidget(self.frame_label)
        row2.addWidget(self.rate_label)
        row2.addStretch()
        row2.addWidget(QtWidgets.QLabel("landmark"))
        row2.addWidget(self.landmark_box)
        frame_col = QtWidgets.QWidget()
        fl = QtWidgets.QVBoxLayout(frame_col)
        fl.setContentsMargins(2, 2, 2, 2)
        fl.setSpacing(3)
        fl.addWidget(self.view, 1)
        fl.addLayout(row1)
        fl.addLayout(row2)
        fl.addWidget(self._legend())

        self.review = ReviewPanel()
        self.review.activated.connect(self.go_to_item)
        self.review.mark_requested.connect(self.mark_reviewed)
        self.top_split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.top_split.setObjectName("top_split")
        self.top_split.addWidget(frame_col)
        self.top_split.addWidget(self.review)
        self.top_split.setStretchFactor(0, 1)
        self.top_split.setSizes([1050, 320])

        # -- tabs --------------------------------------------------------------------------------
        self.trajectory = TrajectoryPlot()
        self.trajectory.seek = self.seek
        self.angles = pg_angle_plot()
        self.angles.setXLink(self.trajectory)
        self.traj_split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.traj_split.setObjectName("traj_split")
        self.traj_split.addWidget(self.trajectory)
        self.traj_split.addWidget(self.angles)
        self.traj_split.setSizes([300, 180])
        self.traj_split.setChildrenCollapsible(False)
        self.assessment = AssessmentPanel(self.jobs)
        self.assessment.open_snippet.connect(self.play_snippet)
        self.assessment.failed.connect(self.error)
        self.assessment.assessed.connect(self._assessed)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self.traj_split, "Trajectories")
        self.tabs.addTab(self.assessment, "Assessment")
        self.tabs.addTab(self.assessment.similarity, "Similarity")
        self.tabs.addTab(self.assessment.ica, "ICA")
        self.tabs.setMinimumHeight(200)

        self.main_split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.main_split.setObjectName("main_split")
        self.main_split.addWidget(self.top_split)
        self.main_split.addWidget(self.tabs)
        self.main_split.setStretchFactor(0, 3)
        self.main_split.setStretchFactor(1, 2)
        self.main_split.setChildrenCollapsible(False)
        self.main_split.setSizes([560, 340])
        self.setCentralWidget(self.main_split)
        self.status = self.statusBar()
        for w in (self.jobs.text, self.jobs.bar, self.jobs.cancel_button):
            self.status.addPermanentWidget(w)
        self.jobs.message.connect(lambda m: self.status.showMessage(m, 8000))
        self._restore_layout()

        # -- wiring ------------------------------------------------------------------------------
        self.state.frame_changed.connect(self._frame_changed)
        self.state.selection_changed.connect(self._selection_changed)
        self.editor.changed.connect(self._track_changed)
        self.editor.refused.connect(lambda m: self.error("Edit not made", m))
        self.player.playing.connect(lambda on: self.play_button.setText("Pause" if on else "Play"))
        self.player.playing.connect(self._playing)
        self.player.rate.connect(self._show_rate)
        self.view.point_clicked.connect(self.select_landmark)
        self.view.point_pressed.connect(self._drag_started)
        self.view.point_moved.connect(self.drag_landmark)
        self.view.empty_clicked.connect(self._empty_clicked)
        self._build_actions()
        self.setAcceptDrops(True)
        app = QtWidgets.QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._about_to_quit)

    # -- small accessors (the rest of the app and its tests use these) ----------------------------
    @property
    def frame(self) -> int:
        return self.state.frame

    @property
    def selected(self) -> int:
        return self.state.selected

    @property
    def undo_stack(self) -> QtGui.QUndoStack:
        return self.editor.stack

    @property
    def result(self) -> dict | None:
        return self.assessment.result

    @property
    def model_path(self) -> Path | None:
        return self.assessment.model_path

    @property
    def timeline(self):
        return self.assessment.timeline

    @property
    def verdict_label(self) -> QtWidgets.QLabel:
        return self.assessment.verdict_label

    @property
    def similarity(self):
        return self.assessment.similarity

    @property
    def ica(self):
        return self.assessment.ica

    @property
    def segment_end(self) -> int | None:
        return self.player.segment[1] if self.player.segment else None

    # -- layout, settings ----------------------------------------------------------------------------
    def _legend(self) -> QtWidgets.QWidget:
        w = QtWidgets.QWidget()
        lay = QtWidgets.QHBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        small = "font-size: 11px;"

        def add(rgb, text, ring=False):
            icon = QtWidgets.QLabel()
            pm = QtGui.QPixmap(12, 12)
            pm.fill(QtGui.QColor(0, 0, 0, 0))
            if ring:
                p = QtGui.QPainter(pm)
                p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
                p.setPen(QtGui.QPen(QtGui.QColor(*rgb), 3))
                p.drawEllipse(2, 2, 8, 8)
                p.end()
            else:
                pm = colour_icon(rgb).pixmap(12, 12)
            icon.setPixmap(pm)
            lab = QtWidgets.QLabel(text)
            lab.setStyleSheet(small)
            lay.addWidget(icon)
            lay.addWidget(lab)

        head = QtWidgets.QLabel("fill:")
        head.setStyleSheet(small)
        lay.addWidget(head)
        for side, rgb in SIDE_COLOURS.items():
            add(rgb, side)
        head = QtWidgets.QLabel("  ring:")
        head.setStyleSheet(small)
        lay.addWidget(head)
        for st, rgb in STATUS_COLOURS.items():
            add(rgb, st.name.lower().replace("_", "-").replace("low-likelihood", "low-lik."), ring=True)
        lay.addStretch()
        return w

    def _settings(self) -> QtCore.QSettings:
        if self.settings_file is not None:
            return QtCore.QSettings(str(self.settings_file), QtCore.QSettings.Format.IniFormat)
        return QtCore.QSettings("gmdesk", "gmdesk")

    def _splitters(self) -> list[QtWidgets.QSplitter]:
        return [self.main_split, self.top_split, self.traj_split]

    def _restore_layout(self) -> None:
        st = self._settings()
        for sp in self._splitters():
            state = st.value(f"layout/{sp.objectName()}")
            if isinstance(state, QtCore.QByteArray) and not state.isEmpty():
                sp.restoreState(state)

    def save_layout(self) -> None:
        """Remember the splitters' sizes (restored by the next window)."""
        st = self._settings()
        for sp in self._splitters():
            st.setValue(f"layout/{sp.objectName()}", sp.saveState())
        st.sync()

    # -- actions ----------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        handlers = {
            "next_frame": lambda: self.seek(self.frame + 1), "prev_frame": lambda: self.seek(self.frame - 1),
            "next_landmark": lambda: self.select_landmark(self.selected + 1),
            "prev_landmark": lambda: self.select_landmark(self.selected - 1),
            "play": self.toggle_play, "slower": lambda: self._speed_step(-1), "faster": lambda: self._speed_step(+1),
            "loop": lambda: self.loop_box.toggle(),
            "next_review": lambda: self.jump_review(+1), "prev_review": lambda: self.jump_review(-1),
            "mark_reviewed": self.mark_reviewed,
            "copy": self.copy_points, "paste": self.paste_points,
            "copy_previous": self.copy_previous, "copy_previous_point": lambda: self.copy_previous(single=True),
            "delete": self.delete_point, "restore": self.restore_point, "interpolate": self.interpolate_range,
            "swap": self.swap_pair, "undo": self.editor.undo, "redo": self.editor.redo, "assess": self.run_assessment,
            "open": self.open_dialog, "help": self.show_help,
        }
        menus = {name: self.menuBar().addMenu(title) for name, title in
                 (("file", "&File"), ("edit", "&Edit"), ("review", "&Review"), ("video", "&Video"), ("help", "&Help"))}
        where = {"open": "file", "assess": "file", "help": "help", "next_review": "review", "prev_review": "review",
                 "mark_reviewed": "review", "play": "video", "slower": "video", "faster": "video", "loop": "video",
                 "next_frame": "video", "prev_frame": "video"}
        self.actions_by_name: dict[str, QtGui.QAction] = {}
        for sc in SHORTCUTS:
            act = QtGui.QAction(sc.description, self)
            act.setShortcuts([QtGui.QKeySequence(k) for k in sc.keys])
            act.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
            act.triggered.connect(handlers[sc.action])
            self.addAction(act)
            self.actions_by_name[sc.action] = act
            menus[where.get(sc.action, "edit")].addAction(act)
        file = menus["file"]
        pose = QtGui.QAction("Estimate pose in a video…", self)
        pose.triggered.connect(lambda: self.pose_dialog())
        file.addAction(pose)
        train = QtGui.QAction("Train a model on a cohort…", self)
        train.triggered.connect(self.train_dialog)
        file.addAction(train)
        self.recent_menu = file.addMenu("Open recent")
        self._fill_recent()
        video = menus["video"]
        video.addSeparator()
        self.proxy_auto = QtGui.QAction("Make seek proxies for slow-seeking videos", self, checkable=True)
        self.proxy_auto.setChecked(str(self._settings().value("video/seek_proxy", "auto")) != "never")
        self.proxy_auto.toggled.connect(lambda on: self._settings().setValue("video/seek_proxy", "auto" if on else "never"))
        video.addAction(self.proxy_auto)
        make = QtGui.QAction("Make a seek proxy now", self)
        make.triggered.connect(lambda: self.make_proxy(force=True))
        video.addAction(make)

    def show_help(self) -> None:
        """The keyboard shortcuts, from the one registry."""
        rows = "".join(f"<tr><td><b>{' / '.join(s.keys)}</b></td><td>{s.description}</td></tr>" for s in SHORTCUTS)
        QtWidgets.QMessageBox.information(self, "Keyboard shortcuts", f"<table cellspacing=6>{rows}</table>")

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.recent.paths():
            self.recent_menu.addAction(p, lambda p=p: self.open_path(p))

    def recent_paths(self) -> list[str]:
        """The "Open recent" entries, as shown."""
        return [a.text() for a in self.recent_menu.actions()]

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

    # -- opening ------------------------------------------------------------------------------------
    def open_path(self, path: str | Path, video: str | Path | None = None) -> bool:
        """Open a case or pose file (with an optional video). On failure an error dialog says why,
        nothing is created or locked, and what was open stays open."""
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
            session = Session.open(p, video, prefetch=self.prefetch_frames)
        except CaseLockedError as exc:
            self.error("Case is open elsewhere", str(exc))
            return False
        except Exception as exc:
            log.info("open failed", exc_info=True)
            self.error(f"Cannot open {p.name}", str(exc))
            return False
        self._close_session()
        self.session = session
        self.sides = landmark_sides(session.track.landmarks, session.skeleton.mirror_pairs)
        self.view.names = list(session.track.landmarks)
        if session.video is not None:
            self.frames = FrameSource(session.video, self)
            self.frames.refined.connect(self._refined)
        self.player.fps = session.fps
        self.editor.attach(session)
        self.assessment.set_session(session)
        self.landmark_box.blockSignals(True)
        self.landmark_box.clear()
        self.landmark_box.addItems(list(session.track.landmarks))
        self.landmark_box.blockSignals(False)
        self.slider.blockSignals(True)
        self.slider.setRange(0, session.n_frames - 1)
        self.slider.blockSignals(False)
        self.current_item = None
        self.review.set_current(None)
        self.review.set_items(session.review, session.reviewed_keys())
        msg = f"{session.case.path.name}: {session.n_frames} frames"
        if session.video is not None and session.video.info.frame_count != session.n_frames:
            self.error("Frame counts differ",
                       f"the video {session.video.path.name} has {session.video.info.frame_count} frames but the pose "
                       f"has {session.n_frames}: the overlay may be on the wrong frames. Check that they belong together.")
        if session.video is None:
            msg += f" — no video ({session.video_note})" if session.video_note else " — no video: skeleton on a blank canvas"
        self.status.showMessage(msg)
        self.recent.add(str(session.case.path))
        self._fill_recent()
        self.state.start(session.n_frames, session.track.n_landmarks)
        self.state.set_frame(0, force=True)
        self.state.set_selected(0, force=True)
        self.make_proxy()
        return True

    def _close_session(self) -> None:
        self.player.stop()
        if self._proxy_job is not None:  # the proxy of the case being closed is no longer wanted
            self._proxy_job.cancel()
            self._proxy_job = None
        if self.frames is not None:
            self.frames.detach()
            self.frames.deleteLater()
            self.frames = None
        if self.session is not None:
            self.session.close()
            self.session = None
        self.editor.attach(None)

    # -- seek proxy ------------------------------------------------------------------------------------
    def make_proxy(self, force: bool = False, block: bool = False):
        """Use the case's seek proxy if it is there and made from this video; else make one in the
        background — when ``force``, or when the setting allows and random seeks in the video are slow."""
        from gmdesk.proxy import SLOW_SEEK_MS, ProxyError, SeekProxy, make_proxy, proxy_path, seek_cost_ms

        s = self.session
        if s is None or s.video is None:
            return None
        row = s.case.conn.execute("SELECT sha256 FROM video WHERE id = 1").fetchone()
        sha = row[0] if row else None
        target = proxy_path(s.case.path)
        if target.exists() and not force:
            try:
                s.video.attach_proxy(SeekProxy(target, sha))
                return None
            except ProxyError as exc:
                log.info("seek proxy not used: %s", exc)
        if not force and not self.proxy_auto.isChecked():
            return None
        running = self._proxy_job
        if running is not None:
            if not force:
                return running
            running.cancel()  # a forced proxy replaces the automatic one still running
        else:
            for stale in target.parent.glob(f".{target.stem}.*{target.suffix}.part"):
                stale.unlink(missing_ok=True)  # left by a killed process (the case's lock says no one else writes)
        video, case_path = s.video.path, s.case.path

        def job(progress, cancel):
            if not force and seek_cost_ms(video) < SLOW_SEEK_MS:
                return None
            return make_proxy(video, target, sha, progress=progress, cancel=cancel)

        def failed(message):
            if self._proxy_job is job_obj:
                self._proxy_job = None
            if message != "cancelled":
                self.status.showMessage(f"seek proxy not made: {message}", 10000)

        def done(path):
            if self._proxy_job is job_obj:
                self._proxy_job = None
            if path is None or self.session is None or self.session.case.path != case_path or self.session.video is None:
                return
            try:
                self.session.video.attach_proxy(SeekProxy(path, sha))
                self.status.showMessage(f"seek proxy ready: {Path(path).name}", 8000)
            except ProxyError as exc:
                self.error("Seek proxy not used", str(exc))

        job_obj = ThreadJob(job)
        self._proxy_job = job_obj
        self.jobs.start(job_obj, "seek proxy", done, failed, background=True)
        if block:
            loop = QtCore.QEventLoop()
            job_obj.finished.connect(loop.quit)
            job_obj.failed.connect(loop.quit)
            if job_obj.is_running():
                loop.exec()
            QtCore.QCoreApplication.processEvents()
        return job_obj

    # -- navigation ------------------------------------------------------------------------------------
    def seek(self, frame: int, force: bool = False) -> None:
        """Show frame ``frame`` (clamped) with its overlay."""
        if self.session is not None:
            self.state.set_frame(frame, force=force)

    def select_landmark(self, j: int) -> None:
        """Select landmark ``j`` (wraps around)."""
        if self.session is not None:
            self.state.set_selected(j)

    def _frame_changed(self, f: int) -> None:
        s = self.session
        if s is None:
            return
        self._show_image(f)
        self._show_frame_state(f)

    def _show_image(self, f: int) -> None:
        s = self.session
        if self.frames is not None:
            try:
                img, exact = self.frames.image(f)
            except Exception as exc:  # a damaged frame should not take the editor down
                img, exact = None, True
                self.status.showMessage(f"frame {f}: {exc}")
            self.view.show_frame(img, (s.video.info.width, s.video.info.height), exact)
        else:
            self.view.show_frame(None, _canvas(s.track.xy))

    def _show_frame_state(self, f: int) -> None:
        """Overlay, slider, frame label and plot cursors for frame ``f``."""
        s = self.session
        self._draw_overlay()
        self.slider.blockSignals(True)
        self.slider.setValue(f)
        self.slider.blockSignals(False)
        flag = "  ⚑ review" if s.flagged[f].any() else ""
        self.frame_label.setText(f"frame {f} / {s.n_frames - 1}   {f / s.fps:7.2f} s{flag}")
        self.trajectory.cursor.setValue(f)
        self.timeline.cursor.setValue(f / s.fps)

    def _refined(self, index: int) -> None:
        """The exact frame arrived after the proxy's was shown."""
        s = self.session
        if s is None or s.video is None or index != self.state.frame:
            return
        img = s.video.cached(index)
        if img is not None:
            self.view.show_frame(img, (s.video.info.width, s.video.info.height), True)

    def _draw_overlay(self) -> None:
        s = self.session
        f = self.state.frame
        self.view.skeleton.set_pose(s.track.xy[f], s.track.status[f], s.skeleton.edge_index, self.state.selected, self.sides)
        self.view.refresh_hover()

    def _selection_changed(self, j: int) -> None:
        s = self.session
        if s is None:
            return
        if self.landmark_box.currentIndex() != j:
            self.landmark_box.blockSignals(True)
            self.landmark_box.setCurrentIndex(j)
            self.landmark_box.blockSignals(False)
        self._show_series()
        self._draw_overlay()
        if not np.isfinite(s.track.xy[self.frame, j]).all():
            self.status.showMessage(f"{s.track.landmarks[j]} is missing in frame {self.frame}: click where it is to place it",
                                    8000)

    def _show_series(self) -> None:
        s = self.session
        j = self.state.selected
        self.trajectory.set_series(s.track.xy[:, j], s.flagged[:, j])
        self.trajectory.setTitle(f"{s.track.landmarks[j]}: x, y over time (red: frames to review)")
        self._show_angles()

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

    def _track_changed(self) -> None:
        if self.session is None:
            return
        self._show_series()
        self._show_frame_state(self.state.frame)

    # -- review ------------------------------------------------------------------------------------------
    def jump_review(self, direction: int) -> None:
        """``N`` / ``Shift+N``: the next / previous open review item's first frame, its landmark selected."""
        s = self.session
        if s is None:
            return
        item = step_item(s.open_items(), self.frame, self.current_item, direction)
        if item is None:
            left = len(s.open_items())
            self.status.showMessage(f"no more review items {'after' if direction > 0 else 'before'} this frame"
                                    f" ({left} left to review)", 6000)
            return
        self.go_to_item(item)

    def go_to_item(self, item) -> None:
        """Show review item ``item``: its first frame, its (first) landmark selected."""
        s = self.session
        if s is None:
            return
        self.player.stop()
        self.current_item = item
        self.review.set_current(item)
        self.state.set_frame(item.start)
        if item.landmarks and item.landmarks[0] in s.track.landmarks:
            self.state.set_selected(s.track.landmarks.index(item.landmarks[0]))
        self.status.showMessage(f"{item.kind}: {item.detail}", 10000)

    def mark_reviewed(self) -> None:
        """Record that the current review item was checked (in the case's log); it leaves the queue."""
        s, item = self.session, self.current_item
        if s is None:
            return
        if item is None:
            self.status.showMessage("choose a review item first (N, or click one in the list)", 6000)
            return
        if item.key in s.reviewed_keys():
            return
        try:
            s.mark_reviewed(item)
        except Exception as exc:
            self.error("Not recorded", str(exc))
            return
        self.review.set_items(s.review, s.reviewed_keys())
        self._show_series()
        self._show_frame_state(self.frame)
        self.status.showMessage(f"reviewed: {item.landmark} {item.start}–{item.stop - 1} ({item.kind})", 6000)

    # -- playback ---------------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        """Play / pause at real speed; with "loop snippet" on, the snippet at the cursor loops."""
        if self.session is None:
            return
        if self.player.is_playing:
            self.player.stop()
        else:
            self.player.play(self.snippet_at(self.frame) if self.loop_box.isChecked() else None)

    def snippet_at(self, frame: int) -> tuple[int, int]:
        """Frames (inclusive) of the snippet to loop at ``frame``: the assessed snippet that holds it
        (the latest starting), else the 10-s window starting there."""
        n = self.session.n_frames
        res = self.result
        if res:
            hits = [sn for sn in res["snippets"] if sn["start_frame"] <= frame <= sn["end_frame"]]
            if hits:
                sn = hits[-1]
                return sn["start_frame"], min(sn["end_frame"], n - 1)
        window = int(res["window"]) if res else int(round(10 * self.session.fps))
        return frame, min(frame + window - 1, n - 1)

    def _set_loop(self, on: bool) -> None:
        self.player.loop = on

    def _speed_step(self, step: int) -> None:
        i = int(np.clip(self.speed_box.currentIndex() + step, 0, len(SPEEDS) - 1))
        self.speed_box.setCurrentIndex(i)

    def _playing(self, on: bool) -> None:
        if not on:
            self.rate_label.setText(f"played at {self.player.shown_rate:.1f} fps" if self.player.shown_rate else "")

    def _show_rate(self, shown: float, dropped: float) -> None:
        target = self.player.fps * self.player.speed
        self.rate_label.setText(f"▶ {shown:.1f} of {target:.1f} fps" + (f", {dropped:.0%} dropped" if dropped > 0.005 else ""))

    def play_snippet(self, index: int) -> None:
        """Play snippet ``index`` of the assessment (its 10 s) with the overlay: the evidence."""
        res = self.result
        if not res or self.session is None:
            return
        sn = res["snippets"][index]
        self.player.stop()
        self.state.set_frame(sn["start_frame"])
        self.status.showMessage(f"snippet {index + 1}: frames {sn['start_frame']}–{sn['end_frame']}, "
                                f"P(abnormal) {sn['p_abnormal']:.2f} ({sn['class']})")
        self.player.play((sn["start_frame"], min(sn["end_frame"], self.session.n_frames - 1)))

    # -- edits --------------------------------------------------------------------------------------------
    @property
    def _name(self) -> str:
        return self.session.track.landmarks[self.selected]

    def _drag_started(self, j: int) -> None:
        self.player.stop()
        self._drag_frame = self.frame
        self.state.set_selected(j)

    def drag_landmark(self, j: int, x: float, y: float) -> None:
        """A point was dragged to (x, y): one undoable edit in the frame where the drag started."""
        if self.session is None:
            return
        frame = self._drag_frame if self._drag_frame is not None else self.frame
        self.state.set_selected(j)
        if self.editor.move(frame, j, x, y) is None:
            self._draw_overlay()  # refused: the point goes back
        self._drag_frame = None

    def _empty_clicked(self, x: float, y: float) -> None:
        s = self.session
        if s is None:
            return
        j, f = self.selected, self.frame
        if not np.isfinite(s.track.xy[f, j]).all():
            self.editor.move(f, j, x, y)
            self.status.showMessage(f"placed {s.track.landmarks[j]} in frame {f}", 6000)

    def delete_point(self) -> None:
        if self.session is not None:
            self.editor.delete(self.frame, self.selected)

    def restore_point(self) -> None:
        if self.session is not None:
            self.editor.restore(self.frame, self.selected)

    def copy_previous(self, single: bool = False) -> None:
        if self.session is not None and self.frame > 0:
            self.editor.copy_previous(self.frame, self.selected if single else None)

    def copy_points(self) -> None:
        s = self.session
        if s is None:
            return
        self.clipboard = {n: tuple(map(float, s.track.xy[self.frame, j])) for j, n in enumerate(s.track.landmarks)}
        self.status.showMessage(f"copied {len(self.clipboard)} points of frame {self.frame}")

    def paste_points(self) -> None:
        if self.clipboard and self.session is not None:
            self.editor.set_points(self.frame, dict(self.clipboard))

    def gap_range(self, j: int | None = None, frame: int | None = None) -> tuple[int, int]:
        """Default range of interpolation for landmark ``j`` at ``frame`` (inclusive): the run of
        frames where it is missing, else the run flagged for review, else the frame itself."""
        s = self.session
        j = self.selected if j is None else j
        f = self.frame if frame is None else frame
        missing = ~np.isfinite(s.track.xy[:, j]).all(axis=1)
        return run_around(missing, f) or run_around(s.flagged[:, j], f) or (f, f)

    def ask_range(self, title: str, label: str, default: tuple[int, int]) -> tuple[int, int] | None:
        """Ask for an inclusive frame range "first-last" (None when cancelled or unreadable)."""
        text, ok = QtWidgets.QInputDialog.getText(self, title, label, text=f"{default[0]}-{default[1]}")
        if not ok:
            return None
        try:
            a, b = (int(v) for v in text.replace("–", "-").split("-"))
        except ValueError:
            self.error(title, f"{text!r} is not a frame range like 120-135")
            return None
        return (a, b) if a <= b else (b, a)

    def interpolate_range(self) -> None:
        """Interpolate the selected landmark over a range; the default is its gap here."""
        if self.session is None:
            return
        j = self.selected
        rng = self.ask_range("Interpolate (makima)", f"Frames of {self._name} to replace, first-last:", self.gap_range())
        if rng is not None:
            self.editor.interpolate(j, *rng)

    def partner(self, j: int) -> int | None:
        """The left/right partner of landmark ``j`` (None for centre landmarks)."""
        names = list(self.session.track.landmarks)
        for a, b in self.session.skeleton.mirror_pairs:
            if names[j] in (a, b):
                return names.index(b if names[j] == a else a)
        return None

    def swap_pair(self) -> None:
        """Swap the selected landmark with its left/right partner over a frame range (one edit);
        the default range is the review item the view is on, else the flagged run here."""
        s = self.session
        if s is None:
            return
        j, f = self.selected, self.frame
        k = self.partner(j)
        if k is None:
            self.error("Swap left/right", f"{self._name} has no left/right partner")
            return
        item = self.current_item
        names = {s.track.landmarks[j], s.track.landmarks[k]}
        if item is not None and item.start <= f < item.stop and names <= set(item.landmarks):
            default = (item.start, item.stop - 1)
        else:
            default = run_around(s.flagged[:, j] | s.flagged[:, k], f) or (f, f)
        rng = self.ask_range("Swap left/right", f"Frames where {s.track.landmarks[j]} and {s.track.landmarks[k]} "
                             "are exchanged, first-last:", default)
        if rng is not None:
            left, right = (j, k) if self.sides[j] == "left" else (k, j)
            self.editor.swap(left, right, *rng)

    # -- assessment ---------------------------------------------------------------------------------------
    def set_model(self, path: str | Path) -> None:
        self.assessment.set_model(path)

    def choose_model(self) -> None:
        self.assessment.choose_model()

    def run_assessment(self, block: bool = False):
        """Score the current track (edits included) on a worker thread."""
        return self.assessment.run(block)

    def _assessed(self, res: dict) -> None:
        self.status.showMessage(f"assessment done: {res['verdict']['basis']}")
        self.tabs.setCurrentIndex(1)

    # -- child-process jobs ----------------------------------------------------------------------------------
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
        """A gmdesk CLI command in a child process, run by the job owner (progress, ETA, the one
        Cancel button); ``on_finished(last line the command printed)`` when it succeeds."""

        def finished(out: str) -> None:
            out = (out or "").strip()
            on_finished(out.splitlines()[-1] if out else "done")

        def failed(msg: str) -> None:
            if msg == "cancelled":
                self.status.showMessage(f"{label} cancelled; nothing was written")
            else:
                self.error(f"{label[0].upper()}{label[1:]} failed", msg)

        job = JobRunner(args, self)
        try:
            return self.jobs.start(job, label, finished, failed)
        except JobBusyError as exc:
            job.deleteLater()
            self.error(f"{label[0].upper()}{label[1:]} not started", str(exc))
            return None

    # -- errors, shutdown ---------------------------------------------------------------------------------------
    def error(self, title: str, message: str) -> None:
        """Readable dialog + log entry (offscreen tests read ``last_error``)."""
        log.error("%s: %s", title, message)
        self.last_error = f"{title}: {message}"
        self.status.showMessage(self.last_error, 15000)
        if QtWidgets.QApplication.platformName() != "offscreen":
            QtWidgets.QMessageBox.warning(self, title, message)

    def closeEvent(self, ev) -> None:  # noqa: N802
        """Close cleanly: running jobs are cancelled first and the window closes once they stopped
        (it stays responsive meanwhile); then the case and video are closed."""
        if self.jobs.busy:
            ev.ignore()
            if not self._closing:
                self._closing = True
                self.player.stop()
                self.centralWidget().setEnabled(False)
                self.menuBar().setEnabled(False)
                self.status.showMessage("Stopping running jobs before closing…")
                self.jobs.idle.connect(self.close)
                self.jobs.cancel_all()
            return
        self.save_layout()
        self._close_session()
        super().closeEvent(ev)

    def wait_closed(self, timeout_s: float = 30.0) -> bool:
        """After :meth:`close`: process events until the window has closed (its jobs stopped)."""
        timer = QtCore.QElapsedTimer()
        timer.start()
        while self.isVisible() and timer.elapsed() < timeout_s * 1000:
            QtCore.QCoreApplication.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
            QtCore.QThread.msleep(5)
        return not self.isVisible()

    def _about_to_quit(self) -> None:
        """The application quits (e.g. the session ends): stop every job before Qt tears threads down."""
        if self.jobs.busy:
            self.jobs.wait_all()
        self._close_session()


def pg_angle_plot():
    """Plot for joint angles under the trajectories."""
    import pyqtgraph as pg

    w = pg.PlotWidget(background=(250, 250, 250))
    w.setMinimumHeight(90)
    w.addLegend(offset=(5, 5))
    w.setLabel("left", "degrees")
    return w


def _canvas(xy: np.ndarray) -> tuple[int, int]:
    """Blank canvas size covering the recording's points (when there is no video)."""
    hi = np.nanmax(xy.reshape(-1, 2), axis=0) if np.isfinite(xy).any() else np.array([640, 480])
    return int(max(640, hi[0] + 40)), int(max(480, hi[1] + 40))
