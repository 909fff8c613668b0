"""The annotator's commands: what a key press or a mouse gesture does to the open case.

Each command reads the view state (current frame, selected landmark, the review item being
looked at), asks for a frame range where it needs one, and hands the edit to the
:class:`~app.editing.Editor` (which records it in the case and on the undo stack).
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets

from app.editing import Editor, run_around
from app.state import ViewState


class EditCommands:
    """Commands bound to the editor's keys and mouse gestures.

    Parameters
    ----------
    window : QWidget
        Parent of the dialogs; provides ``session``, ``current_item``, ``sides``, ``error(title, text)``
        and ``status`` (its status bar).
    state, editor
        The view state and the editor.
    """

    def __init__(self, window, state: ViewState, editor: Editor) -> None:
        self.window, self.state, self.editor = window, state, editor
        self.clipboard: dict[str, tuple[float, float]] | None = None
        self.drag_frame: int | None = None

    @property
    def session(self):
        return self.window.session

    def _say(self, text: str) -> None:
        self.window.status.showMessage(text, 6000)

    # -- mouse ---------------------------------------------------------------------------------
    def drag_started(self, j: int) -> None:
        """A drag began on landmark ``j``: it is selected; the edit goes to this frame."""
        self.drag_frame = self.state.frame
        self.state.set_selected(j)

    def drag_ended(self, j: int, x: float, y: float) -> int | None:
        """Landmark ``j`` was dropped at (x, y): one move edit in the frame where the drag began."""
        if self.session is None:
            return None
        frame = self.drag_frame if self.drag_frame is not None else self.state.frame
        self.drag_frame = None
        self.state.set_selected(j)
        return self.editor.move(frame, j, x, y)

    def place(self, x: float, y: float) -> int | None:
        """A click on an empty spot: places the selected landmark there if it is missing in this frame."""
        s = self.session
        if s is None:
            return None
        j, f = self.state.selected, self.state.frame
        if np.isfinite(s.track.xy[f, j]).all():
            return None
        seq = self.editor.move(f, j, x, y)
        if seq is not None:
            self._say(f"placed {s.track.landmarks[j]} in frame {f}")
        return seq

    # -- keys ------------------------------------------------------------------------------------
    def delete_point(self) -> None:
        if self.session is not None:
            self.editor.delete(self.state.frame, self.state.selected)

    def restore_point(self) -> None:
        if self.session is not None:
            self.editor.restore(self.state.frame, self.state.selected)

    def copy_previous(self, single: bool = False) -> None:
        if self.session is not None and self.state.frame > 0:
            self.editor.copy_previous(self.state.frame, self.state.selected if single else None)

    def copy_points(self) -> None:
        s = self.session
        if s is None:
            return
        f = self.state.frame
        self.clipboard = {n: tuple(map(float, s.track.xy[f, j])) for j, n in enumerate(s.track.landmarks)}
        self._say(f"copied {len(self.clipboard)} points of frame {f}")

    def paste_points(self) -> None:
        if self.clipboard and self.session is not None:
            self.editor.set_points(self.state.frame, dict(self.clipboard))

    # -- ranges ------------------------------------------------------------------------------------
    def gap_range(self, j: int | None = None, frame: int | None = None) -> tuple[int, int]:
        """Default range of interpolation for landmark ``j`` at ``frame`` (inclusive): the run of
        frames where it is missing, else the run flagged for review, else the frame itself."""
        s = self.session
        j = self.state.selected if j is None else j
        f = self.state.frame if frame is None else frame
        missing = ~np.isfinite(s.track.xy[:, j]).all(axis=1)
        return run_around(missing, f) or run_around(s.flagged[:, j], f) or (f, f)

    def ask_range(self, title: str, label: str, default: tuple[int, int]) -> tuple[int, int] | None:
        """Ask for an inclusive frame range "first-last" (None when cancelled or unreadable)."""
        text, ok = QtWidgets.QInputDialog.getText(self.window, title, label, text=f"{default[0]}-{default[1]}")
        if not ok:
            return None
        try:
            a, b = (int(v) for v in text.replace("–", "-").split("-"))
        except ValueError:
            self.window.error(title, f"{text!r} is not a frame range like 120-135")
            return None
        return (a, b) if a <= b else (b, a)

    def interpolate_range(self) -> None:
        """Interpolate the selected landmark over a range; the default is its gap here."""
        s = self.session
        if s is None:
            return
        j = self.state.selected
        rng = self.ask_range("Interpolate (makima)", f"Frames of {s.track.landmarks[j]} to replace, first-last:",
                             self.gap_range())
        if rng is not None:
            self.editor.interpolate(j, *rng)

    def partner(self, j: int) -> int | None:
        """The left/right partner of landmark ``j`` (None for centre landmarks)."""
        names = list(self.session.track.landmarks)
        for a, b in self.session.skeleton.mirror_pairs:
            if names[j] in (a, b):
                return names.index(b if names[j] == a else a)
        return None

    def swap_pair(self) -> None:
        """Swap the selected landmark with its left/right partner over a frame range (one edit);
        the default range is the review item being looked at, else the flagged run here."""
        s = self.session
        if s is None:
            return
        j, f = self.state.selected, self.state.frame
        k = self.partner(j)
        if k is None:
            self.window.error("Swap left/right", f"{s.track.landmarks[j]} has no left/right partner")
            return
        item = self.window.current_item
        names = {s.track.landmarks[j], s.track.landmarks[k]}
        if item is not None and item.start <= f < item.stop and names <= set(item.landmarks):
            default = (item.start, item.stop - 1)
        else:
            default = run_around(s.flagged[:, j] | s.flagged[:, k], f) or (f, f)
        rng = self.ask_range("Swap left/right", f"Frames where {s.track.landmarks[j]} and {s.track.landmarks[k]} "
                             "are exchanged, first-last:", default)
        if rng is not None:
            left, right = (j, k) if self.window.sides[j] == "left" else (k, j)
            self.editor.swap(left, right, *rng)
