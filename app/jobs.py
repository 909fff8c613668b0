"""Long jobs in a child process: the same ``gmdesk`` CLI, progress as JSON lines, cancel.

Training (and, later, pose estimation) runs as ``python -m gmdesk --progress-json …`` in a
``QProcess``: the window never freezes, cancel is immediate (terminate, then kill), a crash in
a native library cannot take the editor down, and TensorFlow/torch never load into the GUI.
Outputs are written atomically by gmdesk, so a cancelled job leaves nothing half-written.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from PySide6 import QtCore


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
