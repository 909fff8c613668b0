"""Long jobs: one owner for thread jobs and child-process jobs (progress, cancel, shutdown).

Training and pose estimation run as ``python -m gmdesk --progress-json …`` in a ``QProcess``
(:class:`JobRunner`): the window never freezes, cancel is immediate (terminate, then kill), a
crash in a native library cannot take the editor down, and TensorFlow/torch never load into the
GUI. Short work (an assessment, a seek proxy) runs on a thread (:class:`ThreadJob`) and stops at
its next cancel check. :class:`JobOwner` runs both kinds the same way: one progress bar, one
Cancel button, and a clean shutdown (cancel every job, wait until each has stopped, then close).
Outputs are written atomically by gmdesk, so a cancelled job leaves nothing half-written.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import shiboken6
from PySide6 import QtCore, QtWidgets

from gmdesk.errors import CancelledError

log = logging.getLogger("gmdesk.app")


def command_line() -> tuple[str, list[str]]:
    """How to run the gmdesk CLI from here: the bundle's ``gmdesk`` program beside
    ``gmdesk-app`` when frozen (PyInstaller), else this interpreter with ``-m gmdesk``."""
    if getattr(sys, "frozen", False):
        exe = Path(sys.executable).with_name("gmdesk.exe" if sys.platform == "win32" else "gmdesk")
        return str(exe), []
    return sys.executable, ["-m", "gmdesk"]


class JobRunner(QtCore.QObject):
    """Runs one gmdesk CLI command; emits ``progress(done, total, text)``, ``finished(code,
    output)`` and ``failed(message)``."""

    progress = QtCore.Signal(int, int, str)
    finished = QtCore.Signal(int, str)
    failed = QtCore.Signal(str)

    def __init__(self, args: list[str], parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.args = args
        self.proc = QtCore.QProcess(self)
        self.proc.setProcessChannelMode(QtCore.QProcess.ProcessChannelMode.SeparateChannels)
        self.proc.readyReadStandardError.connect(self._stderr)
        self.proc.readyReadStandardOutput.connect(self._stdout)
        self.proc.finished.connect(self._finished)
        self.proc.errorOccurred.connect(self._error)
        self.output: list[str] = []
        self.errors: list[str] = []
        self.cancelled = False
        self._buf = b""
        self._t0 = 0.0
        self._first: tuple[float, int] | None = None

    def is_running(self) -> bool:
        """The child process has not finished yet."""
        return self.proc.state() != QtCore.QProcess.ProcessState.NotRunning

    def start(self) -> None:
        """Start ``python -m gmdesk --progress-json ARGS`` (in a bundle: its ``gmdesk`` program)."""
        self._t0 = time.monotonic()
        program, prefix = command_line()
        self.proc.start(program, [*prefix, "--progress-json", *self.args])

    def cancel(self) -> None:
        """Stop the job: terminate, then kill after 2 s."""
        if self.proc.state() != QtCore.QProcess.ProcessState.NotRunning:
            self.cancelled = True
            self.proc.terminate()
            QtCore.QTimer.singleShot(2000, self.proc.kill)

    def eta_text(self, done: int, total: int) -> str:
        """Elapsed and estimated remaining time from the rate so far."""
        now = time.monotonic()
        if self._first is None or done <= self._first[1]:
            self._first = self._first or (now, done)
            return f"{now - self._t0:.0f} s"
        rate = (done - self._first[1]) / max(now - self._first[0], 1e-9)
        left = (total - done) / rate if rate > 0 and total > done else 0
        return f"{now - self._t0:.0f} s, about {left:.0f} s left"

    def _stderr(self) -> None:
        self._buf += bytes(self.proc.readAllStandardError())
        *lines, self._buf = self._buf.split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8", "replace").strip()
            if line.startswith("{") and '"progress"' in line:
                try:
                    p = json.loads(line)
                except json.JSONDecodeError:
                    continue
                done, total = int(p.get("done", 0)), int(p.get("total", 0))
                self.progress.emit(done, total, f"{p['progress']}: {p.get('message', '')} ({self.eta_text(done, total)})")
            elif line:
                self.errors.append(line)

    def _stdout(self) -> None:
        self.output.append(bytes(self.proc.readAllStandardOutput()).decode("utf-8", "replace"))

    def _finished(self, code: int, status) -> None:
        self._stdout()
        if self.cancelled:
            self.failed.emit("cancelled")
        elif code != 0:
            err = [e for e in self.errors if "error" in e.lower()] or self.errors[-3:]
            self.failed.emit("\n".join(err) or f"exit code {code}")
        else:
            self.finished.emit(code, "".join(self.output))

    def _error(self, err) -> None:
        if err == QtCore.QProcess.ProcessError.FailedToStart:
            program, prefix = command_line()
            self.failed.emit(f"could not start {' '.join([program, *prefix])}")


class _ThreadWorker(QtCore.QObject):
    """Runs ``fn(progress, cancel)`` on its thread; keeps the outcome for the job."""

    progress = QtCore.Signal(int, int, str)

    def __init__(self, fn: Callable, cancelled: Callable[[], bool]) -> None:
        super().__init__()
        self.fn, self.cancelled = fn, cancelled
        self.result: object = None
        self.error: str | None = None

    @QtCore.Slot()
    def run(self) -> None:
        try:
            self.result = self.fn(lambda d, t, m="": self.progress.emit(int(d), int(t), str(m)), self.cancelled)
            if self.cancelled():
                self.error = "cancelled"
        except CancelledError:
            self.error = "cancelled"
        except Exception as exc:  # shown to the user, full trace in the log
            log.error("background job failed:\n%s", traceback.format_exc())
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            QtCore.QThread.currentThread().quit()


class ThreadJob(QtCore.QObject):
    """``fn(progress, cancel)`` on a worker thread, with the signals of :class:`JobRunner`:
    ``progress(done, total, text)``, ``finished(result)`` or ``failed(message)`` ("cancelled" after
    :meth:`cancel`). Both are emitted only once the thread has stopped, so a finished job can be
    dropped safely."""

    progress = QtCore.Signal(int, int, str)
    finished = QtCore.Signal(object)
    failed = QtCore.Signal(str)

    def __init__(self, fn: Callable, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._cancel = False
        self.thread = QtCore.QThread(self)
        self.worker = _ThreadWorker(fn, lambda: self._cancel)
        self.worker.moveToThread(self.thread)
        self.worker.progress.connect(self.progress)
        self.thread.started.connect(self.worker.run)
        self.thread.finished.connect(self._done)

    def start(self) -> None:
        """Start the thread."""
        self.thread.start()

    def cancel(self) -> None:
        """Ask the function to stop at its next cancel check."""
        self._cancel = True

    def is_running(self) -> bool:
        """The thread has not finished yet."""
        return self.thread.isRunning()

    def _done(self) -> None:
        self.thread.wait()  # 'finished' comes from the thread just before it ends
        if self.worker.error is not None:
            self.failed.emit(self.worker.error)
        else:
            self.finished.emit(self.worker.result)


class JobBusyError(RuntimeError):
    """A job is running already."""


class JobOwner(QtCore.QObject):
    """Runs every long job of the window, thread or child process, the same way.

    It owns the progress bar, the text beside it and the one Cancel button (the window places
    them). A *foreground* job (assessment, training, pose estimation) is one at a time; a
    *background* job (a seek proxy) runs beside it. The bar and Cancel show the latest job.

    Signals
    -------
    idle()
        The last running job has stopped (after :meth:`cancel_all`: safe to close).
    message(str)
        Status text for the window's status bar.
    """

    idle = QtCore.Signal()
    message = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs: list[tuple[QtCore.QObject, str, bool]] = []
        self.bar = QtWidgets.QProgressBar()
        self.bar.setMaximumWidth(220)
        self.text = QtWidgets.QLabel()
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_current)
        self._show()

    @property
    def busy(self) -> bool:
        """Some job is running."""
        return bool(self.jobs)

    def foreground(self) -> tuple[QtCore.QObject, str] | None:
        """The running foreground job and its label."""
        for job, label, fg in self.jobs:
            if fg:
                return job, label
        return None

    def start(self, job, label: str, on_finished: Callable | None = None, on_failed: Callable | None = None,
              background: bool = False):
        """Run ``job`` (a :class:`ThreadJob` or :class:`JobRunner`, not started): progress in the bar,
        ``on_finished(result)`` / ``on_failed(message)`` at the end ("cancelled" after Cancel).

        Raises
        ------
        JobBusyError
            A foreground job is running and ``job`` is one too.
        """
        if not background and (fg := self.foreground()) is not None:
            raise JobBusyError(f"{fg[1]} is running: wait for it or cancel it first")
        entry = (job, label, not background)
        self.jobs.append(entry)

        def progress(done: int, total: int, text: str) -> None:
            if not self._alive():
                return
            if self.jobs and self.jobs[-1][0] is job:
                self.bar.setRange(0, total if total > 0 else 0)
                if total > 0:
                    self.bar.setValue(min(done, total))
                self.text.setText(label)
            self.message.emit(f"{label}: {text}")

        def ended(failed: bool, value) -> None:
            if entry in self.jobs:
                self.jobs.remove(entry)
            if not self._alive():
                return  # the window was destroyed while the job ran: nothing left to show or call back
            self._show()
            try:
                if failed and on_failed is not None:
                    on_failed(value)
                elif not failed and on_finished is not None:
                    on_finished(value)
                elif failed and value != "cancelled":
                    self.message.emit(f"{label} failed: {value}")
            finally:
                job.deleteLater() if isinstance(job, ThreadJob) else None
                if not self.jobs:
                    self.idle.emit()

        job.progress.connect(progress)
        job.finished.connect(lambda *a: ended(False, a[-1] if a else None))
        job.failed.connect(lambda m: ended(True, m))
        self._show()
        job.start()
        return job

    def _alive(self) -> bool:
        """The owner and its status-bar widgets still exist (a job may end after its window was destroyed)."""
        return all(shiboken6.isValid(o) for o in (self, self.bar, self.text, self.cancel_button))

    def _show(self) -> None:
        running = bool(self.jobs)
        for w in (self.bar, self.text, self.cancel_button):
            w.setVisible(running)
        if running:
            job, label, _ = self.jobs[-1]
            self.text.setText(label)
            self.bar.setRange(0, 0)

    def cancel_current(self) -> None:
        """Cancel the job the bar shows (the Cancel button)."""
        if self.jobs:
            job, label, _ = self.jobs[-1]
            job.cancel()
            self.message.emit(f"{label}: cancelling…")

    def cancel_all(self) -> None:
        """Cancel every running job (``idle`` follows once all have stopped)."""
        for job, _, _ in list(self.jobs):
            job.cancel()

    def wait_all(self, timeout_ms: int = 30_000) -> bool:
        """Cancel everything and block (processing events) until every job stopped; for shutdown
        paths that cannot wait for ``idle``."""
        self.cancel_all()
        timer = QtCore.QElapsedTimer()
        timer.start()
        while self.jobs and timer.elapsed() < timeout_ms:
            QtCore.QCoreApplication.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
            for job, _, _ in self.jobs:
                if isinstance(job, ThreadJob):
                    job.thread.wait(20)
                else:
                    job.proc.waitForFinished(20)
        return not self.jobs


def wait_for(job) -> None:
    """Block (running the event loop) until ``job`` finished or failed: scripts and tests that need
    the result before they go on."""
    loop = QtCore.QEventLoop()
    job.finished.connect(loop.quit)
    job.failed.connect(loop.quit)
    if job.is_running():
        loop.exec()
    QtCore.QCoreApplication.processEvents()
