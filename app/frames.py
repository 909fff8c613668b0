"""The open video's frames for display, fast: the exact frame from the background cache when it is
there, else the seek proxy's frame at once and the exact frame as soon as the worker has decoded it
(``refined``)."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore

from gmdesk.video import PrefetchingReader


class FrameSource(QtCore.QObject):
    """Qt face of a :class:`~gmdesk.video.PrefetchingReader`.

    Signals
    -------
    refined(int)
        The exact frame ``index`` arrived after :meth:`image` had to show the proxy's frame.
    """

    refined = QtCore.Signal(int)

    def __init__(self, reader: PrefetchingReader, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.reader = reader
        self._waiting = -1
        reader.on_frame = self._on_frame  # called from the worker thread: the signal is queued

    def _on_frame(self, index: int) -> None:
        if index == self._waiting:
            self._waiting = -1
            self.refined.emit(index)

    def image(self, index: int) -> tuple[np.ndarray, bool]:
        """``(BGR image, exact)`` for frame ``index``; then moves the prefetch window there (after,
        so a miss is decoded once, here, not twice at the same time)."""
        img, exact = self.reader.frame_for_display(index)
        self.reader.set_cursor(index)
        if exact:
            self._waiting = -1
        else:
            self._waiting = index
            if self.reader.cached(index) is not None:  # it arrived while the proxy frame was read
                self._waiting = -1
                QtCore.QTimer.singleShot(0, lambda: self.refined.emit(index))
        return img, exact

    def detach(self) -> None:
        """Stop listening to the reader (before it is closed)."""
        self.reader.on_frame = None
        self._waiting = -1
