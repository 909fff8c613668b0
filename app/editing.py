"""Edits: the QUndoStack mapped one-to-one onto the case's append-only edit log.

An edit is made in the case first; only an edit the case accepted goes on the undo stack (a
refused edit pushes nothing, so the next Ctrl+Z undoes the previous real edit — ``QUndoStack.push``
keeps a command whose ``redo()`` raised). Undo and redo append the case's ``undo``/``redo``
entries. Opening a case rebuilds the stack from the log (:meth:`Case.undo_state`), so undo and redo
keep working across sessions.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import numpy as np
from PySide6 import QtCore, QtGui

from gmdesk.errors import GmdeskError
from gmdesk.record.edits import EditEntry

log = logging.getLogger("gmdesk.app")


def describe(entry: EditEntry) -> str:
    """Undo-stack text of a logged edit ("move left_hand @ 120", "interpolate nose 100–119")."""
    if entry.frame_stop - entry.frame > 1:
        return f"{entry.kind} {entry.landmark} {entry.frame}–{entry.frame_stop - 1}"
    return f"{entry.kind} {entry.landmark} @ {entry.frame}"


def run_around(mask: np.ndarray, frame: int) -> tuple[int, int] | None:
    """Inclusive ``(first, last)`` frames of the run of True in ``mask`` that holds ``frame``, or None."""
    if not 0 <= frame < len(mask) or not mask[frame]:
        return None
    a = b = frame
    while a > 0 and mask[a - 1]:
        a -= 1
    while b < len(mask) - 1 and mask[b + 1]:
        b += 1
    return a, b


class CaseEditCommand(QtGui.QUndoCommand):
    """One edit-log entry on the QUndoStack. Pushed only after the case made the edit, so the
    ``redo()`` that ``push`` calls does nothing; later undo()/redo() append the case's entries."""

    def __init__(self, editor: Editor, text: str, seq: int) -> None:
        super().__init__(text)
        self.editor, self.seq, self._pushed = editor, seq, False

    def redo(self) -> None:
        if not self._pushed:
            self._pushed = True
            return
        self.editor._step("redo", self.seq)

    def undo(self) -> None:
        self.editor._step("undo", self.seq)


class Editor(QtCore.QObject):
    """Makes edits in the open session's case and keeps the undo stack in step with its log.

    Signals
    -------
    changed()
        The track changed (an edit, undo or redo); the session is already refreshed.
    refused(str)
        An edit was refused by the case; nothing was recorded or pushed. The message says why.
    """

    changed = QtCore.Signal()
    refused = QtCore.Signal(str)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.stack = QtGui.QUndoStack(self)
        self.session = None
        self._rebuilding = False

    # -- stack <-> log ---------------------------------------------------------------------------
    def attach(self, session) -> None:
        """Edit ``session`` (or nothing, None): the undo stack is rebuilt from its case's log."""
        self.session = session
        self.rebuild()

    def rebuild(self) -> None:
        """Make the undo stack mirror the case log: its undoable edits, then its redoable ones."""
        self._rebuilding = True
        try:
            self.stack.clear()
            if self.session is None:
                return
            case = self.session.case
            entries = {e.seq: e for e in case.history()}
            undo, redo = case.undo_state()
            for seq in [*undo, *reversed(redo)]:
                self.stack.push(CaseEditCommand(self, describe(entries[seq]), seq))
            for _ in redo:
                self.stack.undo()
        finally:
            self._rebuilding = False

    def _step(self, kind: str, seq: int) -> None:
        if self._rebuilding or self.session is None:
            return
        case = self.session.case
        undo, redo = case.undo_state()
        target = (undo if kind == "undo" else redo)[-1:] or [None]
        if target[0] != seq:  # the log moved under us (never expected): resynchronise, change nothing
            log.error("undo stack out of step with the case log (%s %s, log has %s)", kind, seq, target[0])
            self.refused.emit(f"{kind} not made: the undo history was out of step with the case log and was reloaded")
            QtCore.QTimer.singleShot(0, self.rebuild)
            return
        try:
            case.undo() if kind == "undo" else case.redo()
        except Exception as exc:
            log.error("%s failed:\n%s", kind, traceback.format_exc())
            self.refused.emit(f"{kind} not made: {exc}")
            QtCore.QTimer.singleShot(0, self.rebuild)
            return
        self._refresh()

    def _refresh(self) -> None:
        self.session.refresh()
        self.changed.emit()

    def apply(self, text: str, do: Callable) -> int | None:
        """Make an edit: ``do(case)`` returns its log sequence number. Only a successful edit is
        pushed; a refused one emits ``refused`` and returns None."""
        if self.session is None:
            return None
        try:
            seq = do(self.session.case)
        except GmdeskError as exc:  # the case refused it: say why, record and push nothing
            log.info("edit refused: %s: %s", text, exc)
            self.refused.emit(str(exc))
            return None
        except Exception as exc:  # could not be written (disk full, closed file): same, with the trace in the log
            log.error("edit failed: %s\n%s", text, traceback.format_exc())
            self.refused.emit(f"{type(exc).__name__}: {exc}")
            return None
        self.stack.push(CaseEditCommand(self, text, int(seq)))
        self._refresh()
        return int(seq)

    def undo(self) -> None:
        """Undo the latest edit (Ctrl+Z)."""
        self.stack.undo()

    def redo(self) -> None:
        """Redo the latest undone edit."""
        self.stack.redo()

    # -- the edits -----------------------------------------------------------------------------
    def _name(self, j: int) -> str:
        return self.session.track.landmarks[j]

    def move(self, frame: int, j: int, x: float, y: float) -> int | None:
        """Place landmark ``j`` at (x, y) in ``frame``."""
        name = self._name(j)
        return self.apply(f"move {name} @ {frame}", lambda c: c.move(frame, name, x, y))

    def delete(self, frame: int, j: int) -> int | None:
        """Mark landmark ``j`` missing in ``frame``."""
        name = self._name(j)
        return self.apply(f"delete {name} @ {frame}", lambda c: c.delete(frame, name))

    def restore(self, frame: int, j: int) -> int | None:
        """Put back the cleaned value of landmark ``j`` in ``frame``."""
        name = self._name(j)
        return self.apply(f"restore {name} @ {frame}", lambda c: c.restore(frame, name))

    def copy_previous(self, frame: int, j: int | None = None) -> int | None:
        """Copy the previous frame's points (all, or landmark ``j``) into ``frame``; points missing
        there are skipped."""
        names = None if j is None else [self._name(j)]
        what = "points" if j is None else names[0]
        return self.apply(f"copy previous {what} @ {frame}", lambda c: c.copy_from_previous(frame, names))

    def set_points(self, frame: int, points: dict[str, tuple[float, float]]) -> int | None:
        """Paste ``points`` (landmark name → x, y) into ``frame``."""
        return self.apply(f"paste points @ {frame}", lambda c: c.set_points(frame, points))

    def interpolate(self, j: int, first: int, last: int) -> int | None:
        """Interpolate (makima) landmark ``j`` over frames ``first..last`` (inclusive)."""
        name = self._name(j)
        return self.apply(f"interpolate {name} {first}–{last}", lambda c: c.interpolate_range(name, first, last + 1))

    def swap(self, left: int, right: int, first: int, last: int) -> int | None:
        """Exchange landmarks ``left`` and ``right`` over frames ``first..last`` (inclusive)."""
        a, b = self._name(left), self._name(right)
        return self.apply(f"swap {a} ↔ {b} {first}–{last}", lambda c: c.swap_range(a, b, first, last + 1))
