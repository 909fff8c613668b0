"""The frame column: the frame view above the playback controls (play, speed, loop, the frame slider), the
frame and playback-rate labels, the landmark list and the colour legend. It only lays them out; the main
window wires them."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from app.frame_view import FrameView, legend_widget
from app.playback import SPEEDS


class FrameColumn(QtWidgets.QWidget):
    """The frame view with its controls under it (speed box at 1×, nothing playing, no recording)."""

    def __init__(self) -> None:
        super().__init__()
        self.view = FrameView()
        self.view.setMinimumHeight(200)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.play_button = QtWidgets.QPushButton("Play")
        self.speed_box = QtWidgets.QComboBox()
        self.speed_box.addItems([f"{s:g}×" for s in SPEEDS])
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.setToolTip("Playback speed")
        self.loop_box = QtWidgets.QCheckBox("loop snippet")
        self.frame_label = QtWidgets.QLabel("no recording")
        self.rate_label = QtWidgets.QLabel("")
        self.rate_label.setMinimumWidth(150)
        self.landmark_box = QtWidgets.QComboBox()
        self.landmark_box.setMinimumContentsLength(12)
        for w in (self.speed_box, self.loop_box, self.landmark_box):
            w.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # keys stay with the editor's shortcuts
        row1 = QtWidgets.QHBoxLayout()
        for w in (self.play_button, self.speed_box, self.loop_box):
            row1.addWidget(w)
        row1.addWidget(self.slider, 1)
        row2 = QtWidgets.QHBoxLayout()
        for w in (self.frame_label, self.rate_label):
            row2.addWidget(w)
        row2.addStretch()
        row2.addWidget(QtWidgets.QLabel("landmark"))
        row2.addWidget(self.landmark_box)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(3)
        lay.addWidget(self.view, 1)
        lay.addLayout(row1)
        lay.addLayout(row2)
        lay.addWidget(legend_widget())
