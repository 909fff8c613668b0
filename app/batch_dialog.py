"""File ▸ Screen a cohort…: ``gmdesk batch`` from the app, with progress and Cancel, then its items and verdicts.

The batch runs as ``python -m gmdesk --progress-json batch …`` in a child process (:class:`app.jobs.JobRunner`):
its Dask workers are the child's children, the window never waits for them, and Cancel stops the child (which
cancels its tasks and keeps the finished items). When it ends — done, partly failed or cancelled — the dialog
reads ``OUT/batch.csv`` and lists every item with its status, verdict and quality; double-clicking an item opens
its case file in the window.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from app.jobs import JobRunner

log = logging.getLogger("gmdesk.app")

#: The columns of ``batch.csv`` the list shows, and their headings.
SHOWN = (("item", "Item"), ("status", "Status"), ("verdict", "Verdict"), ("quality", "Quality"), ("error", "Error"))


class BatchDialog(QtWidgets.QDialog):
    """Choose the cohort table, output folder, model bundle (and DeepLabCut model for videos); run; list results."""

    def __init__(self, open_case: Callable[[Path], object] | None = None, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Screen a cohort")
        self.resize(900, 560)
        self.open_case = open_case
        self.runner: JobRunner | None = None
        st = QtCore.QSettings("gmdesk", "gmdesk")
        self.table_edit = QtWidgets.QLineEdit(str(st.value("batch/table", "") or ""))
        self.output_edit = QtWidgets.QLineEdit(str(st.value("batch/output", "") or ""))
        self.bundle_edit = QtWidgets.QLineEdit(str(st.value("batch/bundle", "") or ""))
        self.dlc_edit = QtWidgets.QLineEdit(str(st.value("batch/dlc_model", "") or ""))
        self.workers = QtWidgets.QSpinBox()
        self.workers.setRange(0, 256)
        self.workers.setSpecialValueText("one per core")
        form = QtWidgets.QFormLayout()
        form.addRow("Cohort table (.csv)", self._browse(self.table_edit, file_filter="CSV tables (*.csv)"))
        form.addRow("Output folder", self._browse(self.output_edit, folder=True))
        form.addRow("Model bundle", self._browse(self.bundle_edit, folder=True))
        form.addRow("DeepLabCut model (videos)", self._browse(self.dlc_edit, file_filter="DLC config (*.yaml);;All (*)"))
        form.addRow("Workers", self.workers)
        self.progress = QtWidgets.QProgressBar()
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        self.results = QtWidgets.QTableWidget(0, len(SHOWN))
        self.results.setHorizontalHeaderLabels([h for _, h in SHOWN])
        self.results.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.results.horizontalHeader().setStretchLastSection(True)
        self.results.cellDoubleClicked.connect(self._open_row)
        self.start_button = QtWidgets.QPushButton("Start")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        close = QtWidgets.QPushButton("Close")
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        close.clicked.connect(self.close)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.start_button, self.cancel_button, close):
            buttons.addWidget(b)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.results, 1)
        lay.addLayout(buttons)

    def _browse(self, edit: QtWidgets.QLineEdit, folder: bool = False, file_filter: str = "") -> QtWidgets.QWidget:
        w = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(w)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        b = QtWidgets.QPushButton("Browse…")

        def pick() -> None:
            path = (QtWidgets.QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text()) if folder
                    else QtWidgets.QFileDialog.getOpenFileName(self, "Choose a file", edit.text(), file_filter)[0])
            if path:
                edit.setText(path)

        b.clicked.connect(pick)
        row.addWidget(b)
        return w

    def args(self) -> list[str]:
        """The ``gmdesk batch`` arguments of the fields."""
        out = ["batch", self.table_edit.text().strip(), "-o", self.output_edit.text().strip(),
               "--bundle", self.bundle_edit.text().strip()]
        if self.dlc_edit.text().strip():
            out += ["--dlc-model", self.dlc_edit.text().strip()]
        if self.workers.value():
            out += ["--workers", str(self.workers.value())]
        return out

    def start(self) -> None:
        """Run the batch (after checking that the table, output folder and bundle are given)."""
        missing = [name for name, e in (("cohort table", self.table_edit), ("output folder", self.output_edit),
                                        ("model bundle", self.bundle_edit)) if not e.text().strip()]
        if missing:
            self.status.setText("Choose the " + " and the ".join(missing) + ".")
            return
        st = QtCore.QSettings("gmdesk", "gmdesk")
        for key, e in (("table", self.table_edit), ("output", self.output_edit), ("bundle", self.bundle_edit),
                       ("dlc_model", self.dlc_edit)):
            st.setValue(f"batch/{key}", e.text().strip())
        self.results.setRowCount(0)
        self.runner = JobRunner(self.args(), self)
        self.runner.progress.connect(self._progress)
        self.runner.finished.connect(lambda code, out: self._ended("Finished: every item done or skipped."))
        self.runner.failed.connect(lambda msg: self._ended(msg))
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText("Starting the workers…")
        self.runner.start()

    def cancel(self) -> None:
        """Stop the batch: running items are cancelled, finished ones stay."""
        if self.runner is not None and self.runner.is_running():
            self.status.setText("Cancelling…")
            self.runner.cancel()

    def _progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.status.setText(text)

    def _ended(self, message: str) -> None:
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        shown = self.load_results()
        if message == "cancelled":
            message = "Cancelled: the finished items are kept."
        self.status.setText(message + (f" {shown} items listed (double-click one to open its case)." if shown else ""))

    def load_results(self) -> int:
        """Fill the list from ``OUT/batch.csv``; returns the number of items."""
        table = Path(self.output_edit.text().strip()) / "batch.csv"
        try:
            with open(table, newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
        except OSError:
            return 0
        self.results.setRowCount(len(rows))
        for i, r in enumerate(rows):
            for j, (key, _) in enumerate(SHOWN):
                self.results.setItem(i, j, QtWidgets.QTableWidgetItem(r.get(key, "") or ""))
        self.results.resizeColumnsToContents()
        return len(rows)

    def case_of_row(self, row: int) -> Path | None:
        """The case file of a listed item, when it has one."""
        item = self.results.item(row, 0)
        if item is None:
            return None
        case = Path(self.output_edit.text().strip()) / item.text() / f"{item.text()}.gmcase"
        return case if case.is_file() else None

    def _open_row(self, row: int, column: int) -> None:
        case = self.case_of_row(row)
        if case is None:
            self.status.setText("This item has no case file (it failed or was cancelled).")
        elif self.open_case is not None:
            self.open_case(case)

    def closeEvent(self, event) -> None:
        self.cancel()
        super().closeEvent(event)


def open_batch_dialog(window: QtWidgets.QWidget) -> BatchDialog:
    """Show the dialog; double-clicking an item opens its case in ``window`` (its ``open_path``)."""
    dlg = BatchDialog(open_case=getattr(window, "open_path", None), parent=window)
    dlg.setModal(False)
    dlg.show()
    return dlg
