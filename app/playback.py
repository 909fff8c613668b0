"""Playback at the recording's real speed.

GMA judges speed and fluency, so playback follows a clock, not a frame counter: each tick shows
the frame that *should* be on screen now (``QElapsedTimer`` since play started × fps × speed). When
decoding or drawing lags, frames are dropped, never slowed down, and the rate actually shown is
measured and reported.
"""

from __future__ import annotations

from PySide6 import QtCore

from app.state import ViewState

SPEEDS = (0.25, 0.5, 1.0, 1.5, 2.0)


class Player(QtCore.QObject):
    """Plays the view state's frames in real time (× ``speed``), optionally looping a segment.

    Signals
    -------
    playing(bool)
        Started or stopped.
    rate(float, float)
        Every half second while playing: frames shown per second, and the share of frames dropped.
    """

    playing = QtCore.Signal(bool)
    rate = QtCore.Signal(float, float)

    def __init__(self, state: ViewState, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.fps = 30.0
        self.speed = 1.0
        self.loop = False
        self.segment: tuple[int, int] | None = None  # inclusive frames of a snippet being played
        self.shown_rate = 0.0
        self.dropped_share = 0.0
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self._clock = QtCore.QElapsedTimer()
        self.last_due: tuple[float, int] | None = None
        self._start_frame = 0
        self._last = 0
        self._window_t = 0.0
        self._window_shown = 0
        self._window_due = 0

    @property
    def is_playing(self) -> bool:
        return self.timer.isActive()

    def set_speed(self, speed: float) -> None:
        """Playback speed (0.25–2 ×); takes effect at once without a jump."""
        speed = float(min(max(speed, SPEEDS[0]), SPEEDS[-1]))
        if self.is_playing:
            self._restart_clock(self.state.frame)
        self.speed = speed
        if self.is_playing:
            self._set_interval()

    def play(self, segment: tuple[int, int] | None = None) -> None:
        """Play from the current frame (or from a segment's first frame, stopping or looping at its end)."""
        if self.state.n_frames <= 0:
            return
        self.segment = segment
        if segment is not None and not segment[0] <= self.state.frame <= segment[1]:
            self.state.set_frame(segment[0])
        elif segment is None and self.state.frame >= self.state.n_frames - 1:
            self.state.set_frame(0)
        self._restart_clock(self.state.frame)
        self._set_interval()
        if not self.timer.isActive():
            self.timer.start()
            self.playing.emit(True)

    def stop(self) -> None:
        """Stop (the segment is forgotten)."""
        self.segment = None
        if self.timer.isActive():
            self.timer.stop()
            self.playing.emit(False)

    def toggle(self) -> None:
        """Play / pause."""
        self.stop() if self.is_playing else self.play()

    def _set_interval(self) -> None:
        # tick at about twice the frame rate so a frame is never shown late by more than half a frame
        self.timer.setInterval(max(1, int(500 / (self.fps * self.speed))))

    def _restart_clock(self, frame: int) -> None:
        self._clock.start()
        self._start_frame = self._last = int(frame)
        self._window_t, self._window_shown, self._window_due = 0.0, 0, 0

    def _tick(self) -> None:
        elapsed = self._clock.nsecsElapsed() / 1e9
        due = self._start_frame + int(elapsed * self.fps * self.speed)
        end = self.segment[1] if self.segment else self.state.n_frames - 1
        if due > end:
            if self.loop and self.segment is not None:
                self.state.set_frame(self.segment[0])
                self._restart_clock(self.segment[0])
                return
            self.state.set_frame(end)
            self.stop()
            return
        if due == self._last:
            return
        step = due - self._last
        self._last = due
        self.last_due = (elapsed, due)  # when (s since play) which frame was due: for tests
        self.state.set_frame(due)  # views redraw synchronously on this signal
        self._window_shown += 1
        self._window_due += max(step, 1)
        t = self._clock.nsecsElapsed() / 1e9
        if t - self._window_t >= 0.5:
            span = t - self._window_t
            self.shown_rate = self._window_shown / span
            self.dropped_share = 1.0 - self._window_shown / max(self._window_due, 1)
            self.rate.emit(self.shown_rate, self.dropped_share)
            self._window_t, self._window_shown, self._window_due = t, 0, 0
