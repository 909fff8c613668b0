"""The main window's menus and keyboard actions and what they ask for: the file, patient, About and shortcut
dialogs, recent files, drag-and-drop, going through the review items, and playback.

:class:`WindowActions` is mixed into :class:`~app.window.MainWindow`, whose parts (state, editor, player,
panels, frame column) it uses; the window lays out and wires those parts.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.batch_dialog import open_batch_dialog
from app.playback import SPEEDS
from app.shortcuts import SHORTCUTS
from gmdesk.video.reader import VIDEO_SUFFIXES

log = logging.getLogger("gmdesk.app")


class WindowActions:
    """The main window's menus, shortcuts and the commands behind them (a mixin of :class:`~app.window.MainWindow`)."""

    # -- menus and actions -------------------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        c = self.commands
        handlers = {
            "next_frame": lambda: self.seek(self.frame + 1), "prev_frame": lambda: self.seek(self.frame - 1),
            "next_landmark": lambda: self.select_landmark(self.selected + 1),
            "prev_landmark": lambda: self.select_landmark(self.selected - 1),
            "play": self.toggle_play, "slower": lambda: self._speed_step(-1), "faster": lambda: self._speed_step(+1),
            "loop": self.loop_box.toggle, "next_review": lambda: self.jump_review(+1),
            "prev_review": lambda: self.jump_review(-1), "mark_reviewed": self.mark_reviewed,
            "copy": c.copy_points, "paste": c.paste_points, "copy_previous": c.copy_previous,
            "copy_previous_point": lambda: c.copy_previous(single=True), "delete": c.delete_point,
            "restore": c.restore_point, "interpolate": c.interpolate_range, "swap": c.swap_pair,
            "undo": self.editor.undo, "redo": self.editor.redo, "assess": self.run_assessment,
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
        self.link_video_action = file.addAction("Link video…", self.link_video_dialog)
        file.addSeparator()
        self.patient_action = file.addAction("Patient and recording…", self.edit_patient)
        self.report_action = file.addAction("Export report…", lambda: self.assessment.export_report())
        self.signoff_action = file.addAction("Sign off the result…", self.assessment.sign_off)
        file.addSeparator()
        file.addAction("Estimate pose in a video…", lambda: self.pipeline.pose_dialog())
        file.addAction("Train a model on a cohort…", self.pipeline.train_dialog)
        file.addAction("Screen a cohort…", lambda: open_batch_dialog(self))
        self.recent_menu = file.addMenu("Open recent")
        self._fill_recent()
        video = menus["video"]
        video.addSeparator()
        self.proxy_auto = QtGui.QAction("Make seek proxies for slow-seeking videos", self, checkable=True)
        self.proxy_auto.setChecked(str(self._settings().value("video/seek_proxy", "auto")) != "never")
        self.proxy_auto.toggled.connect(lambda on: self._settings().setValue("video/seek_proxy", "auto" if on else "never"))
        video.addAction(self.proxy_auto)
        video.addAction("Make a seek proxy now", lambda: self.make_proxy(force=True))
        self.about_action = menus["help"].addAction("About gmdesk…", self.show_about)
        self._enable_case_actions()

    #: Actions that change the case (disabled when it is read-only), and those that need no case at all.
    WRITING_ACTIONS = ("mark_reviewed", "paste", "copy_previous", "copy_previous_point", "delete", "restore",
                       "interpolate", "swap", "undo", "redo", "assess")
    FREE_ACTIONS = ("open", "help")

    def _enable_case_actions(self) -> None:
        """Enable what can act: nothing case-bound without a case, nothing that writes on a read-only case (a
        read-only disk or folder, or one found read-only by a failed write)."""
        s = self.session
        writable = s is not None and not s.case.read_only and not self.write_failed
        why = "Open a case first" if s is None else "The case is read-only: nothing can be changed"
        for name, act in self.actions_by_name.items():
            if name in self.FREE_ACTIONS:
                continue
            on = writable if name in self.WRITING_ACTIONS else s is not None
            act.setEnabled(on)
            act.setToolTip(act.text() if on else f"{act.text()} — {why.lower()}")
        for act in (self.link_video_action, self.patient_action):
            act.setEnabled(s is not None and (act is self.patient_action or writable))
        self.report_action.setEnabled(self.assessment.report_button.isEnabled())
        self.signoff_action.setEnabled(self.assessment.signoff_button.isEnabled())

    def _edit_refused(self, message: str) -> None:
        """An edit was refused; when the disk would not take it (full, read-only, failing), stop offering edits."""
        self.error("Edit not made", message)
        if "was not saved" in message and self.session is not None:
            self.write_failed = self.assessment.write_failed = True
            self.assessment._enable()
            self.setWindowTitle(f"{self.session.case.path.name} (not writable) — gmdesk")
            self._enable_case_actions()

    def show_about(self) -> None:
        """Help ▸ About: version, model in use, intended use, "not a medical device", licences."""
        from app.record_dialogs import AboutDialog

        model = self.assessment.model_summary()
        if model is None and self.model_path is not None:
            try:
                from gmdesk.learning.bundle import load_bundle
                from gmdesk.screening.assess import model_summary

                model = model_summary(load_bundle(self.model_path))
            except Exception:  # the About box must open whatever the model folder holds
                log.info("about: model summary unavailable", exc_info=True)
        self.about_dialog = AboutDialog(model, self)
        self.about_dialog.open()

    def edit_patient(self) -> None:
        """File ▸ Patient and recording…: the case's patient fields (each change a case-log entry)."""
        from app.record_dialogs import PatientDialog

        if self.session is None:
            self.error("Patient and recording", "Open a case first.")
            return
        self.patient_dialog = PatientDialog(self.session.case, self)
        self.patient_dialog.open()

    def show_help(self) -> None:
        """F1: the keyboard shortcuts, from the one registry, in a dialog that scrolls (fits any screen)."""
        rows = "".join(f"<tr><td><b>{' / '.join(s.keys)}</b></td><td>{s.description}</td></tr>" for s in SHORTCUTS)
        dlg = QtWidgets.QDialog(self)
        dlg.setWindowTitle("Keyboard shortcuts")
        text = QtWidgets.QTextBrowser()
        text.setHtml(f"<table cellspacing=4>{rows}</table>")
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dlg.reject)
        lay = QtWidgets.QVBoxLayout(dlg)
        lay.addWidget(text)
        lay.addWidget(buttons)
        avail = (self.screen() or QtGui.QGuiApplication.primaryScreen()).availableGeometry()
        dlg.resize(min(620, avail.width() - 40), min(560, int(avail.height() * 0.8)))
        self.help_dialog = dlg
        dlg.open()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.recent.paths():
            self.recent_menu.addAction(p, lambda p=p: self.open_path(p))

    def recent_paths(self) -> list[str]:
        """The "Open recent" entries, as shown."""
        return [a.text() for a in self.recent_menu.actions()]

    # -- opening: dialogs, drag-and-drop ---------------------------------------------------------------------
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

    def _ask_pose_for(self, video: Path) -> Path | None:
        """A video was opened alone: ask for its pose file (or start pose estimation)."""
        ask = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Question, "Open video",
                                    f"{video.name} needs landmarks: open a pose file made for it, or estimate "
                                    "them now with a DeepLabCut model?", parent=self)
        use_file = ask.addButton("Open pose file…", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        estimate = ask.addButton("Estimate pose…", QtWidgets.QMessageBox.ButtonRole.ActionRole)
        ask.addButton(QtWidgets.QMessageBox.StandardButton.Cancel)
        ask.exec()
        if ask.clickedButton() is estimate:
            self.pipeline.pose_dialog(video)
        elif ask.clickedButton() is use_file:
            pose, _ = QtWidgets.QFileDialog.getOpenFileName(self, f"Pose file for {video.name}", str(video.parent),
                                                            "Pose (*.h5 *.csv *.gmcase)")
            return Path(pose) if pose else None
        return None

    # -- review -------------------------------------------------------------------------------------------------------
    def jump_review(self, direction: int) -> None:
        """``N`` / ``Shift+N``: the next / previous open review item's first frame, its landmark selected."""
        if self.session is None:
            return
        item = self.review.step(self.frame, direction)
        if item is None:
            self.status.showMessage(f"no more review items {'after' if direction > 0 else 'before'} this frame "
                                    f"({len(self.session.open_items())} left to review)", 6000)
            return
        self.go_to_item(item)

    def go_to_item(self, item) -> None:
        """Show review item ``item``: its first frame, its (first) landmark selected."""
        s = self.session
        if s is None:
            return
        self.player.stop()
        self.review.set_current(item)
        self.state.set_frame(item.start)
        if item.landmarks and item.landmarks[0] in s.track.landmarks:
            self.state.set_selected(s.track.landmarks.index(item.landmarks[0]))
        self.status.showMessage(f"{item.kind}: {item.detail}", 10000)

    def mark_reviewed(self) -> None:
        """Record that the current review item was checked (in the case's log); it leaves the queue."""
        if self.session is None:
            return
        if self.current_item is None:
            self.status.showMessage("choose a review item first (N, or click one in the list)", 6000)
            return
        try:
            item = self.review.mark_current()
        except Exception as exc:
            self.error("Not recorded", str(exc))
            return
        if item is not None:
            self._track_changed()
            self.status.showMessage(f"reviewed: {item.landmark} {item.start}–{item.stop - 1} ({item.kind})", 6000)

    # -- playback ----------------------------------------------------------------------------------------------------
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
        n, res = self.session.n_frames, self.result
        hits = [sn for sn in res.snippets if sn["start_frame"] <= frame <= sn["end_frame"]] if res else []
        if hits:
            return hits[-1]["start_frame"], min(hits[-1]["end_frame"], n - 1)
        window = res.window_frames if res else int(round(10 * self.session.fps))
        return frame, min(frame + window - 1, n - 1)

    def _speed_step(self, step: int) -> None:
        self.speed_box.setCurrentIndex(int(np.clip(self.speed_box.currentIndex() + step, 0, len(SPEEDS) - 1)))

    def play_snippet(self, index: int) -> None:
        """Play snippet ``index`` of the assessment (its 10 s) with the overlay: the evidence."""
        res = self.result
        if not res or self.session is None:
            return
        sn = res.snippets[index]
        self.player.stop()
        self.state.set_frame(sn["start_frame"])
        self.status.showMessage(f"snippet {index + 1}: frames {sn['start_frame']}–{sn['end_frame']}, "
                                f"P(abnormal) {sn['p_abnormal']:.2f} ({sn['class']})")
        self.player.play((sn["start_frame"], min(sn["end_frame"], self.session.n_frames - 1)))
