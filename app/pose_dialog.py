"""Pose-estimation options: which video, which DeepLabCut model, device, inference size, batch.

The last model and settings are remembered (``QSettings``), so an annotator who processes a
day's videos with the site's model chooses it once.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from app.session import case_path_for
from gmdesk.video.reader import VIDEO_SUFFIXES

#: Longest-side choices offered for inference; coordinates always come back in full-frame pixels.
SIZES = [("full frame", 0), ("1280 px", 1280), ("960 px", 960), ("640 px (fastest on CPU)", 640)]


def pose_output_for(video: Path) -> Path:
    """A new pose file beside the video: ``NAME.gmdesk_pose.h5``, or ``-2``, ``-3``… when taken.

    Never an existing name: an earlier pose file may belong to a case with annotators' edits.
    """
    stem, k = video.stem + ".gmdesk_pose", 2
    out = video.with_name(stem + ".h5")
    while out.exists() or case_path_for(out).exists():
        out, k = video.with_name(f"{stem}-{k}.h5"), k + 1
    return out


class PoseDialog(QtWidgets.QDialog):
    """Choose video, model and settings; ``args()`` gives the ``gmdesk pose`` arguments."""

    def __init__(self, video: str | Path | None = None, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Estimate pose with a DeepLabCut model")
        st = QtCore.QSettings("gmdesk", "gmdesk")
        self.video = QtWidgets.QLineEdit(str(video or ""))
        self.model = QtWidgets.QLineEdit(str(st.value("pose/model", "") or ""))
        self.device = QtWidgets.QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.device.setCurrentText(str(st.value("pose/device", "auto")))
        self.size = QtWidgets.QComboBox()
        for text, value in SIZES:
            self.size.addItem(text, value)
        self.size.setCurrentIndex(max(0, self.size.findData(int(st.value("pose/max_size", 0) or 0))))
        self.batch = QtWidgets.QSpinBox()
        self.batch.setRange(1, 256)
        self.batch.setValue(int(st.value("pose/batch", 8) or 8))
        form = QtWidgets.QFormLayout(self)
        form.addRow("Video", self._with_browse(self.video, self._browse_video))
        form.addRow("DeepLabCut model", self._with_browse(self.model, self._browse_model))
        form.addRow("Device", self.device)
        form.addRow("Inference size", self.size)
        form.addRow("Batch (frames)", self.batch)
        note = QtWidgets.QLabel("The model: a DeepLabCut 3 project (config.yaml), a training folder or an "
                                "exported .pt. auto uses the GPU when there is one.")
        note.setWordWrap(True)
        form.addRow(note)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _with_browse(self, edit: QtWidgets.QLineEdit, fn) -> QtWidgets.QWidget:
        w = QtWidgets.QWidget()
        lay = QtWidgets.QHBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(edit, 1)
        b = QtWidgets.QPushButton("Browse…")
        b.clicked.connect(fn)
        lay.addWidget(b)
        return w

    def _browse_video(self) -> None:
        pats = " ".join(f"*{s}" for s in VIDEO_SUFFIXES)
        p, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Video", self.video.text(), f"Video ({pats})")
        if p:
            self.video.setText(p)

    def _browse_model(self) -> None:
        p, _ = QtWidgets.QFileDialog.getOpenFileName(self, "DeepLabCut model: config.yaml, pytorch_config.yaml or .pt",
                                                     self.model.text(), "DLC model (*.yaml *.pt)")
        if p:
            self.model.setText(str(Path(p).parent) if Path(p).name == "pytorch_config.yaml" else p)

    def problem(self) -> str | None:
        """What is wrong with the choices (None when they can run)."""
        v, m = Path(self.video.text()), Path(self.model.text())
        if not self.video.text() or not v.is_file():
            return f"video {self.video.text()!r} does not exist"
        if not self.model.text() or not m.exists():
            return f"DeepLabCut model {self.model.text()!r} does not exist"
        return None

    def _accept(self) -> None:
        msg = self.problem()
        if msg:
            QtWidgets.QMessageBox.warning(self, "Estimate pose", msg)
            return
        st = QtCore.QSettings("gmdesk", "gmdesk")
        st.setValue("pose/model", self.model.text())
        st.setValue("pose/device", self.device.currentText())
        st.setValue("pose/max_size", int(self.size.currentData()))
        st.setValue("pose/batch", self.batch.value())
        self.accept()

    def args(self) -> tuple[Path, list[str]]:
        """(pose file to be written, ``gmdesk pose`` arguments)."""
        video = Path(self.video.text())
        out = pose_output_for(video)
        a = ["pose", str(video), "--model", self.model.text(), "--device", self.device.currentText(),
             "--batch", str(self.batch.value()), "-o", str(out)]
        if self.size.currentData():
            a += ["--max-size", str(self.size.currentData())]
        return out, a
