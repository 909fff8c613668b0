"""The assessment panel: model choice, running the assessment (a thread job), the verdict and the
per-snippet timeline. The similarity and ICA views it fills live in their own tabs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtWidgets

from app.jobs import JobOwner, ThreadJob
from app.views import IcaView, SimilarityView, SnippetTimeline


class AssessmentPanel(QtWidgets.QWidget):
    """Choose a model bundle, run it on the open case's current track (edits included), show the verdict.

    Signals
    -------
    open_snippet(int)
        A snippet was clicked (here, in the heatmap or in the ICA view): play it.
    assessed(dict)
        A new result (already saved in the case).
    failed(str, str)
        Title and message of an error to show.
    """

    open_snippet = QtCore.Signal(int)
    assessed = QtCore.Signal(dict)
    failed = QtCore.Signal(str, str)

    def __init__(self, jobs: JobOwner, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.session = None
        self.model_path: Path | None = None
        self.result: dict | None = None
        self.verdict_label = QtWidgets.QLabel("No assessment yet: choose a model and run it (Ctrl+R).")
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setStyleSheet("font-size: 15px; padding: 4px;")
        self.model_label = QtWidgets.QLabel("model: none")
        self.run_button = QtWidgets.QPushButton("Run assessment")
        self.run_button.clicked.connect(lambda: self.run())
        self.model_button = QtWidgets.QPushButton("Choose model…")
        self.model_button.clicked.connect(self.choose_model)
        self.timeline = SnippetTimeline()
        self.timeline.open_snippet = self.open_snippet.emit
        self.similarity = SimilarityView()
        self.similarity.open_snippet = self.open_snippet.emit
        self.ica = IcaView()
        self.ica.open_snippet = self.open_snippet.emit
        top = QtWidgets.QHBoxLayout()
        for w in (self.model_button, self.model_label, self.run_button):
            top.addWidget(w)
        top.addStretch()
        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.verdict_label)
        lay.addWidget(self.timeline, 1)

    def set_session(self, session) -> None:
        """A case was opened: forget the shown result."""
        self.session = session
        self.result = None
        self.timeline.set_snippets([], 10)
        self.verdict_label.setText("No assessment yet: choose a model and run it (Ctrl+R).")

    def choose_model(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Model bundle folder", "models")
        if path:
            self.set_model(path)

    def set_model(self, path: str | Path) -> None:
        """Use the model bundle in folder ``path``."""
        self.model_path = Path(path)
        self.model_label.setText(f"model: {self.model_path.name}")

    def run(self, block: bool = False) -> ThreadJob | None:
        """Score the current track on a worker thread (cancellable between its steps)."""
        s = self.session
        if s is None or self.model_path is None:
            self.failed.emit("Assessment", "Open a recording and choose a model bundle first.")
            return None
        track, skeleton, model = s.track.copy(), s.skeleton, self.model_path
        infant = s.case.meta().get("infant_id", "")

        def job(progress, cancel):
            from gmdesk.assess import assess_track
            from gmdesk.bundle import load_bundle
            from gmdesk.progress import check_cancel

            progress(0, 0, f"loading {model.name}")
            bundle = load_bundle(model, skeleton)
            check_cancel(cancel, "assessment")
            progress(0, 0, "scoring snippets")
            res = assess_track(track, bundle, skeleton, infant)
            check_cancel(cancel, "assessment")
            return res

        from app.jobs import JobBusyError

        self.run_button.setEnabled(False)
        try:
            started = self.jobs.start(ThreadJob(job), "assessing", self._done, self._failed)
        except JobBusyError as exc:
            self.run_button.setEnabled(True)
            self.failed.emit("Assessment", str(exc))
            return None
        if block:
            loop = QtCore.QEventLoop()
            started.finished.connect(loop.quit)
            started.failed.connect(loop.quit)
            if started.is_running():
                loop.exec()
            QtCore.QCoreApplication.processEvents()
        return started

    def _failed(self, message: str) -> None:
        self.run_button.setEnabled(True)
        if message != "cancelled":
            self.failed.emit("Assessment failed", message)

    def _done(self, res: dict | None) -> None:
        self.run_button.setEnabled(True)
        if res is None or self.session is None:
            return
        self.show_result(res)
        try:
            self.session.case.save_result(res["model_id"], res["verdict"], res["snippets"], res["model_path"],
                                          res.get("model_summary"))
        except Exception as exc:
            self.failed.emit("Result not saved", str(exc))
        self.assessed.emit(res)

    def show_result(self, res: dict) -> None:
        """Show a result: verdict, basis, timeline, heatmap and ICA."""
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
