"""The small observable view state the views subscribe to (SLEAP's state/command split):
which frame is shown and which landmark is selected. Commands change it; views follow it."""

from __future__ import annotations

from PySide6 import QtCore


class ViewState(QtCore.QObject):
    """Current frame and selected landmark of the open recording.

    Signals
    -------
    frame_changed(int)
        The current frame changed (already clamped to the recording).
    selection_changed(int)
        The selected landmark changed.
    reset()
        A different recording was opened (frame and selection start over).
    """

    frame_changed = QtCore.Signal(int)
    selection_changed = QtCore.Signal(int)
    reset = QtCore.Signal()

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.frame = 0
        self.selected = 0
        self.n_frames = 0
        self.n_landmarks = 0

    def start(self, n_frames: int, n_landmarks: int) -> None:
        """A recording of ``n_frames`` frames and ``n_landmarks`` landmarks was opened."""
        self.n_frames, self.n_landmarks = int(n_frames), int(n_landmarks)
        self.frame, self.selected = 0, 0
        self.reset.emit()

    def set_frame(self, frame: int, force: bool = False) -> int:
        """Go to ``frame`` (clamped); emits ``frame_changed`` when it changes (or ``force``)."""
        if self.n_frames <= 0:
            return self.frame
        frame = min(max(int(frame), 0), self.n_frames - 1)
        if frame != self.frame or force:
            self.frame = frame
            self.frame_changed.emit(frame)
        return frame

    def set_selected(self, landmark: int, force: bool = False) -> int:
        """Select ``landmark`` (wraps around); emits ``selection_changed`` when it changes (or ``force``)."""
        if self.n_landmarks <= 0:
            return self.selected
        landmark = int(landmark) % self.n_landmarks
        if landmark != self.selected or force:
            self.selected = landmark
            self.selection_changed.emit(landmark)
        return landmark
