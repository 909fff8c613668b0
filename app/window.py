"""The main window: it lays out the views and panels, wires them together, opens and closes cases and shuts down.

Its menus, shortcuts and the commands behind them are in :class:`~app.window_actions.WindowActions` (mixed in).
The other jobs are elsewhere: :class:`~app.state.ViewState` (current frame, selected landmark — the
views follow it), :class:`~app.editing.Editor` (edits and the QUndoStack ↔ case-log mapping),
:class:`~app.edit_commands.EditCommands` (what keys and mouse gestures do), :class:`~app.playback.Player`
(real-speed playback), :class:`~app.frames.FrameSource` (cached and proxy frames, the seek proxy),
:class:`~app.jobs.JobOwner` (every thread or child-process job, one Cancel), :class:`~app.pipeline_jobs.PipelineJobs`
(training, pose estimation), :class:`~app.assessment_panel.AssessmentPanel` and :class:`~app.review_panel.ReviewPanel`.
Every computation goes through ``gmdesk``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.assessment_panel import AssessmentPanel
from app.edit_commands import EditCommands
from app.editing import Editor
from app.frame_column import FrameColumn
from app.frame_view import landmark_sides
from app.frames import FrameSource
from app.jobs import JobOwner, wait_for
from app.pipeline_jobs import PipelineJobs
from app.playback import SPEEDS, Player
from app.recent import RecentFiles
from app.review_panel import ReviewPanel
from app.session import Session, case_path_for, video_beside
from app.state import ViewState
from app.views import SeriesPanel, captioned
from app.window_actions import WindowActions
from gmdesk.record.store import CaseLockedError
from gmdesk.screening.result import AssessmentResult
from gmdesk.video.reader import VIDEO_SUFFIXES, PrefetchingReader

log = logging.getLogger("gmdesk.app")

TRAJECTORY_CAPTION = ("The selected landmark's x and y over the recording (red: frames the cleaning flagged for review; "
                      "click to go there) and, below, the joint angles at that landmark. Pick a landmark in the frame "
                      "or the landmark list.")


class MainWindow(WindowActions, QtWidgets.QMainWindow):
    """gmdesk main window.

    Parameters
    ----------
    settings_file : str or Path, optional
        An INI file for the window's settings (recent files, layout, seek proxies); default the
        user's gmdesk settings.
    """

    def __init__(self, settings_file: str | Path | None = None) -> None:
        super().__init__()
        import gmdesk.record.lock

        gmdesk.record.lock.PROGRAM = "gmdesk-app"  # what a refused second program is told holds the case
        self.setWindowTitle("gmdesk — General Movements screening")
        self.settings_file = settings_file
        self.session: Session | None = None
        self.frames: FrameSource | None = None
        self.sides: list[str] = []
        self.last_error = ""
        self.write_failed = False  # a write was refused by the disk: edits are no longer offered
        self.prefetch_frames = True  # the background frame cache (off only for comparisons)
        self._closing = False

        self.state = ViewState(self)
        self.editor = Editor(self)
        self.commands = EditCommands(self, self.state, self.editor)
        self.jobs = JobOwner(self)
        self.pipeline = PipelineJobs(self)
        self.player = Player(self.state, self)
        self.recent = RecentFiles(self._settings)

        # -- frame column and review list --------------------------------------------------------
        frame_col = FrameColumn()
        self.view, self.slider, self.play_button = frame_col.view, frame_col.slider, frame_col.play_button
        self.speed_box, self.loop_box, self.landmark_box = frame_col.speed_box, frame_col.loop_box, frame_col.landmark_box
        self.frame_label, self.rate_label = frame_col.frame_label, frame_col.rate_label
        self.slider.valueChanged.connect(self.seek)
        self.play_button.clicked.connect(self.toggle_play)
        self.speed_box.currentIndexChanged.connect(lambda i: self.player.set_speed(SPEEDS[i]))
        self.loop_box.toggled.connect(lambda on: setattr(self.player, "loop", on))
        self.landmark_box.currentIndexChanged.connect(self.select_landmark)
        self.review = ReviewPanel()
        self.review.activated.connect(self.go_to_item)
        self.review.mark_requested.connect(self.mark_reviewed)
        self.top_split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.top_split.setObjectName("top_split")
        self.top_split.addWidget(frame_col)
        self.top_split.addWidget(self.review)
        self.top_split.setStretchFactor(0, 1)
        self.top_split.setSizes([1050, 320])

        # -- tabs ------------------------------------------------------------------------------------
        self.series = SeriesPanel()
        self.series.trajectory.seek = self.seek
        self.trajectory, self.angles, self.traj_split = self.series.trajectory, self.series.angles, self.series
        self.assessment = AssessmentPanel(self.jobs)
        self.assessment.open_snippet.connect(self.play_snippet)
        self.assessment.failed.connect(self.error)
        self.assessment.assessed.connect(self._assessed)
        self.assessment.message.connect(lambda m: self.status.showMessage(m, 10000))
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(captioned(self.series, TRAJECTORY_CAPTION), "Trajectories")
        self.tabs.addTab(self.assessment, "Assessment")
        self.tabs.addTab(self.assessment.similarity_tab, "Similarity")
        self.tabs.setMinimumHeight(310)  # the Assessment tab whole (verdict, quality, timeline + axis, review row)
        self.main_split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.main_split.setObjectName("main_split")
        self.main_split.addWidget(self.top_split)
        self.main_split.addWidget(self.tabs)
        self.main_split.setStretchFactor(0, 3)
        self.main_split.setStretchFactor(1, 2)
        self.main_split.setChildrenCollapsible(False)
        self.main_split.setSizes([560, 340])
        self.video_offer = VideoOffer()
        self.video_offer.link_button.clicked.connect(lambda: self.video_offer.offered is not None
                                                     and self.link_video(self.video_offer.offered))
        central = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.video_offer)
        lay.addWidget(self.main_split, 1)
        self.setCentralWidget(central)
        self.status = self.statusBar()
        for w in (self.jobs.text, self.jobs.bar, self.jobs.cancel_button):
            self.status.addPermanentWidget(w)
        self._restore_layout()
        self.fit_to_screen()

        # -- wiring ------------------------------------------------------------------------------------
        self.jobs.message.connect(lambda m: self.status.showMessage(m, 8000))
        self.state.frame_changed.connect(self._frame_changed)
        self.state.selection_changed.connect(self._selection_changed)
        self.editor.changed.connect(self._track_changed)
        self.editor.refused.connect(self._edit_refused)
        self.assessment.enabled_changed.connect(self._enable_case_actions)
        self.player.playing.connect(self._playing)
        self.player.rate.connect(self._show_rate)
        self.view.point_clicked.connect(self.select_landmark)
        self.view.point_pressed.connect(self.commands.drag_started)
        self.view.point_moved.connect(self.drag_landmark)
        self.view.empty_clicked.connect(self.commands.place)
        self._build_actions()
        self.setAcceptDrops(True)
        app = QtWidgets.QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._about_to_quit)

    # -- what the rest of the app, the scripts and the tests read -----------------------------------------
    frame = property(lambda self: self.state.frame)
    selected = property(lambda self: self.state.selected)
    current_item = property(lambda self: self.review.current)
    undo_stack = property(lambda self: self.editor.stack)
    result = property(lambda self: self.assessment.result)
    model_path = property(lambda self: self.assessment.model_path)
    timeline = property(lambda self: self.assessment.timeline)
    verdict_label = property(lambda self: self.assessment.verdict_label)
    similarity = property(lambda self: self.assessment.similarity)
    segment_end = property(lambda self: self.player.segment[1] if self.player.segment else None)

    # -- settings and layout --------------------------------------------------------------------------------
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
        """Remember the splitters' sizes and the window's size (restored by the next window)."""
        st = self._settings()
        for sp in self._splitters():
            st.setValue(f"layout/{sp.objectName()}", sp.saveState())
        st.setValue("layout/window_size", f"{self.width()}x{self.height()}")
        st.sync()

    def fit_to_screen(self, available: QtCore.QRect | None = None) -> QtCore.QSize:
        """Size the window as it was last (default 1400x900), clamped to the available geometry of its screen
        (``available``; default the screen's, taskbars excluded) less room for the title bar, so the timeline
        and the Sign off button are never off-screen. Returns the size set."""
        if available is None:
            screen = self.screen() or QtGui.QGuiApplication.primaryScreen()
            available = screen.availableGeometry() if screen is not None else QtCore.QRect(0, 0, 1400, 900)
        want = str(self._settings().value("layout/window_size", "1400x900"))
        try:
            w, h = (int(v) for v in want.lower().split("x"))
        except ValueError:
            w, h = 1400, 900
        frame_w, frame_h = 16, 48  # window-manager border and title bar, not part of the window's size
        size = QtCore.QSize(max(320, min(w, available.width() - frame_w)), max(240, min(h, available.height() - frame_h)))
        self.resize(size)
        self.move(available.left() + max(0, (available.width() - size.width() - frame_w) // 2),
                  available.top() + max(0, (available.height() - size.height() - frame_h) // 2))
        return size

    # -- opening and closing a case -----------------------------------------------------------------------------
    def open_path(self, path: str | Path, video: str | Path | None = None) -> bool:
        """Open a case or pose file (with an optional video). On failure an error dialog says why,
        nothing is created or locked, and what was open stays open."""
        p = Path(path)
        if p.suffix.lower() in VIDEO_SUFFIXES and video is None:
            pose = self._ask_pose_for(p)
            if pose is None:
                return False
            p, video = pose, p
        if self._is_open_here(p):  # this window holds its lock: show it (and link the video it came with)
            self.raise_()
            self.activateWindow()
            if video is not None and self.session.video is None:
                return self.link_video(video)
            self.status.showMessage(f"{self.session.case.path.name} is already open in this window", 8000)
            return True
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
        self.write_failed = False
        self.sides = landmark_sides(session.track.landmarks, session.skeleton.mirror_pairs)
        self.view.names = list(session.track.landmarks)
        self._attach_frames()
        self.setWindowTitle(f"{Path(session.case.path).name}{' (read-only)' if session.case.read_only else ''} — gmdesk")
        self.editor.attach(session)
        self._enable_case_actions()
        self.assessment.set_session(session)
        self.review.set_session(session)
        self.landmark_box.blockSignals(True)
        self.landmark_box.clear()
        self.landmark_box.addItems(list(session.track.landmarks))
        self.landmark_box.blockSignals(False)
        self.slider.blockSignals(True)
        self.slider.setRange(0, session.n_frames - 1)
        self.slider.blockSignals(False)
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
        if session.video is None and video is None and not session.case.read_only \
                and session.case.check_video().status == "none":
            self._offer_video(video_beside(p))
        return True

    def _is_open_here(self, path: Path) -> bool:
        """Is ``path`` (a case, or a pose file whose case is beside it) the case open in this window?"""
        if self.session is None:
            return False
        target = path if path.suffix.lower() == ".gmcase" else case_path_for(path)
        try:
            return target.resolve() == Path(self.session.case.path).resolve()
        except OSError:
            return False

    def _offer_video(self, video: Path | None) -> None:
        """Offer (in a bar above the views, not a dialog that stops the work) to link ``video``, found beside the
        file just opened with its name; None hides the offer."""
        self.video_offer.offered = video
        if video is None:
            self.video_offer.hide()
            return
        self.video_offer.label.setText(f"<b>{video.name}</b> is beside {self.session.case.path.name} and has its name: "
                                       "link it, so the landmarks are shown on the video? (File ▸ Link video… chooses "
                                       "another one.)")
        self.video_offer.show()

    def link_video(self, video: str | Path) -> bool:
        """Link ``video`` to the open case (checked against the pose: it must decode and have as many frames)
        and show the frames under the skeleton. Returns whether it was linked."""
        s = self.session
        if s is None:
            self.error("Link video", "Open a case first.")
            return False
        if s.case.read_only:
            self.error("Link video", f"{s.case.path.name} is open read-only: a video cannot be linked to it here.")
            return False
        try:
            reader = PrefetchingReader(video, prefetch=self.prefetch_frames)
        except Exception as exc:
            self.error(f"Cannot open {Path(video).name}", str(exc))
            return False
        try:
            s.case.link_video(video)
        except Exception as exc:
            reader.close()
            self.error("Video not linked", str(exc))
            return False
        self.player.stop()
        if self.frames is not None:
            self.frames.close()
            self.frames.deleteLater()
        elif s.video is not None:
            s.video.close()
        s.video, s.video_note = reader, ""
        self._offer_video(None)
        self._attach_frames()
        self.seek(self.frame, force=True)
        self.status.showMessage(f"video linked: {Path(video).name}", 8000)
        self.make_proxy()
        return True

    def link_video_dialog(self) -> None:
        """File ▸ Link video…: choose the case's video (first link, or a moved or re-encoded recording)."""
        if self.session is None:
            return
        start = str(Path(self.session.track.meta.get("source") or self.session.case.path).parent)
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, f"Video of {self.session.case.path.name}", start,
            "Video (" + " ".join(f"*{x}" for x in VIDEO_SUFFIXES) + ")")
        if path:
            self.link_video(path)

    def _attach_frames(self) -> None:
        """The frame source of the session's video (none without one)."""
        session = self.session
        self.frames = None
        if session.video is not None:
            self.frames = FrameSource(session, self.jobs, self)
            self.frames.refined.connect(self._refined)
            self.frames.proxy_ready.connect(lambda path: self.status.showMessage(f"seek proxy in use: {path}", 8000))
        self.player.fps = session.fps

    def _close_session(self) -> None:
        self.player.stop()
        if self.frames is not None:
            self.frames.close()
            self.frames.deleteLater()
            self.frames = None
        if self.session is not None:
            self.session.close()
            self.session = None
        self.editor.attach(None)
        self.review.set_session(None)
        self.video_offer.hide()
        self._enable_case_actions()

    def make_proxy(self, force: bool = False, block: bool = False):
        """Use or make the open case's seek proxy (see :meth:`FrameSource.make_proxy`); ``block``
        waits (processing events) until it is made."""
        if self.frames is None:
            return None
        job = self.frames.make_proxy(force, self.proxy_auto.isChecked())
        if job is not None and block:
            wait_for(job)
        return job

    # -- what is shown ------------------------------------------------------------------------------------------------
    def seek(self, frame: int, force: bool = False) -> None:
        """Show frame ``frame`` (clamped) with its overlay."""
        if self.session is not None:
            self.state.set_frame(frame, force=force)

    def select_landmark(self, j: int) -> None:
        """Select landmark ``j`` (wraps around)."""
        if self.session is not None:
            self.state.set_selected(j)

    def _frame_changed(self, f: int) -> None:
        if self.session is None:
            return
        if self.frames is not None:
            try:
                img, exact = self.frames.image(f)
            except Exception as exc:  # a damaged frame should not take the editor down
                img, exact = None, True
                self.status.showMessage(f"frame {f}: {exc}")
            self.view.show_frame(img, self.frames.size, exact)
        else:
            self.view.show_frame(None, _canvas(self.session.track.xy))
        self._show_frame_state(f)

    def _show_frame_state(self, f: int) -> None:
        """Overlay, slider, frame label and plot cursors for frame ``f``."""
        s = self.session
        self.view.skeleton.set_pose(s.track.xy[f], s.track.status[f], s.skeleton.edge_index, self.selected, self.sides)
        self.view.refresh_hover()
        self.slider.blockSignals(True)
        self.slider.setValue(f)
        self.slider.blockSignals(False)
        flag = "  ⚑ review" if s.flagged[f].any() else ""
        self.frame_label.setText(f"frame {f} / {s.n_frames - 1}   {f / s.fps:7.2f} s{flag}")
        self.trajectory.cursor.setValue(f)
        self.timeline.cursor.setValue(f / s.fps)

    def _refined(self, index: int) -> None:
        """The exact frame arrived after the proxy's was shown."""
        if self.frames is not None and index == self.frame:
            img = self.frames.reader.cached(index)
            if img is not None:
                self.view.show_frame(img, self.frames.size, True)

    def _selection_changed(self, j: int) -> None:
        s = self.session
        if s is None:
            return
        if self.landmark_box.currentIndex() != j:
            self.landmark_box.blockSignals(True)
            self.landmark_box.setCurrentIndex(j)
            self.landmark_box.blockSignals(False)
        self.series.show_landmark(s, j)
        self._show_frame_state(self.frame)
        if not np.isfinite(s.track.xy[self.frame, j]).all():
            self.status.showMessage(f"{s.track.landmarks[j]} is missing in frame {self.frame}: click where it is to "
                                    "place it", 8000)

    def _track_changed(self) -> None:
        if self.session is not None:
            self.assessment.refresh_state()
            self.series.show_landmark(self.session, self.selected)
            self._show_frame_state(self.frame)

    # -- edits that need the window -------------------------------------------------------------------------------
    def drag_landmark(self, j: int, x: float, y: float) -> None:
        """A point was dragged to (x, y): one undoable edit in the frame where the drag began."""
        if self.commands.drag_ended(j, x, y) is None and self.session is not None:
            self._show_frame_state(self.frame)  # refused: the point goes back

    # -- playback shown -------------------------------------------------------------------------------------------------
    def _playing(self, on: bool) -> None:
        self.play_button.setText("Pause" if on else "Play")
        if not on:
            self.rate_label.setText(f"played at {self.player.shown_rate:.1f} fps" if self.player.shown_rate else "")

    def _show_rate(self, shown: float, dropped: float) -> None:
        target = self.player.fps * self.player.speed
        self.rate_label.setText(f"▶ {shown:.1f} of {target:.1f} fps" + (f", {dropped:.0%} dropped" if dropped > 0.005 else ""))

    # -- assessment and pipeline jobs ------------------------------------------------------------------------------
    def set_model(self, path: str | Path) -> None:
        self.assessment.set_model(path)

    def run_assessment(self, block: bool = False):
        """Score the current track (edits included) on a worker thread."""
        return self.assessment.run(block)

    def _assessed(self, res: AssessmentResult) -> None:
        note = "" if res.validated else f" — {res.research_only}"
        self.status.showMessage(f"assessment done{note}: {res.verdict.basis}")
        self.tabs.setCurrentIndex(1)

    def start_training(self, cohort: str, architecture: str | None, output: str, extra: list[str] | None = None):
        """Train in a child process (see :meth:`PipelineJobs.start_training`)."""
        return self.pipeline.start_training(cohort, architecture, output, extra)

    def start_pose_estimation(self, video: Path, args: list[str], output: Path):
        """Estimate pose in a child process, then open the result (see :class:`PipelineJobs`)."""
        return self.pipeline.start_pose_estimation(video, args, output)

    # -- errors, shutdown ----------------------------------------------------------------------------------------------
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
                self.status.showMessage("Closing: stopping the running jobs first…")
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


def _canvas(xy: np.ndarray) -> tuple[int, int]:
    """Blank canvas size covering the recording's points (when there is no video)."""
    hi = np.nanmax(xy.reshape(-1, 2), axis=0) if np.isfinite(xy).any() else np.array([640, 480])
    return int(max(640, hi[0] + 40)), int(max(480, hi[1] + 40))


class VideoOffer(QtWidgets.QFrame):
    """A bar above the views offering to link the video found beside an opened file (hidden otherwise)."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("video_offer")
        self.setStyleSheet("#video_offer { background: #fdf2d0; border-bottom: 1px solid #d4b24c; }")
        self.offered: Path | None = None
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.link_button = QtWidgets.QPushButton("Link video")
        self.link_button.setObjectName("link_offered_video")
        dismiss = QtWidgets.QPushButton("Not now")
        dismiss.clicked.connect(self.hide)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.link_button)
        lay.addWidget(dismiss)
        self.hide()
