"""One registry of keyboard shortcuts (familiar to napari-deeplabcut and SLEAP users).

The main window builds its actions from this table and the help dialog lists it, so a key is
defined in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shortcut:
    """An action name, its keys (Qt key-sequence strings) and what it does."""

    action: str
    keys: tuple[str, ...]
    description: str


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("next_frame", ("D", "Right"), "Next frame"),
    Shortcut("prev_frame", ("A", "Left"), "Previous frame"),
    Shortcut("next_landmark", ("S", "Down"), "Select next landmark"),
    Shortcut("prev_landmark", ("W", "Up"), "Select previous landmark"),
    Shortcut("play", ("Space",), "Play / pause at the recording's real speed"),
    Shortcut("slower", ("[",), "Play slower (down to 0.25×)"),
    Shortcut("faster", ("]",), "Play faster (up to 2×)"),
    Shortcut("loop", ("L",), "Loop the snippet being played"),
    Shortcut("next_review", ("N",), "Next review item (what cleaning removed, filled, put back or left missing)"),
    Shortcut("prev_review", ("Shift+N",), "Previous review item"),
    Shortcut("mark_reviewed", ("M",), "Mark the current review item reviewed (recorded in the case)"),
    Shortcut("copy", ("Ctrl+C",), "Copy this frame's points"),
    Shortcut("paste", ("Ctrl+V",), "Paste copied points into this frame"),
    Shortcut("copy_previous", ("Ctrl+Shift+V",), "Copy the points of the previous frame (missing ones are skipped)"),
    Shortcut("copy_previous_point", ("P",), "Copy the selected landmark from the previous frame"),
    Shortcut("delete", ("Delete", "Backspace"), "Mark the selected landmark missing in this frame"),
    Shortcut("restore", ("R",), "Restore the selected landmark's cleaned value"),
    Shortcut("interpolate", ("I",), "Interpolate a frame range of the selected landmark (makima); default: its gap"),
    Shortcut("swap", ("X",), "Swap the selected landmark with its left/right partner over a frame range"),
    Shortcut("undo", ("Ctrl+Z",), "Undo"),
    Shortcut("redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo"),
    Shortcut("assess", ("Ctrl+R",), "Run the assessment"),
    Shortcut("open", ("Ctrl+O",), "Open a video, pose file or case"),
    Shortcut("help", ("F1",), "Keyboard shortcuts"),
)


def by_action() -> dict[str, Shortcut]:
    """Shortcuts keyed by action name."""
    return {s.action: s for s in SHORTCUTS}
