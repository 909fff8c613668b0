"""The owner note beside a case open for writing (``CASE.owner``), and who holds a locked case.

The lock itself is SQLite's exclusive locking mode (the operating system drops it when the program
dies); the note only lets a refused second program say who has the case open.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path

from gmdesk.errors import GmdeskError
from gmdesk.io.atomic import atomic_path
from gmdesk.io.jsonfile import loads_strict
from gmdesk.io.paths import read_capped
from gmdesk.record.store import now, user

logger = logging.getLogger(__name__)

#: What this process calls itself in a case's owner note (the app sets "gmdesk-app").
PROGRAM = "gmdesk"
_OWNER_MAX_BYTES = 4096


def owner_path(path: str | Path) -> Path:
    """The note beside a case that says which program has it open for writing (``CASE.owner``)."""
    p = Path(path)
    return p.with_name(p.name + ".owner")


def write_owner(path: Path) -> None:
    """Leave this program's note beside a case it opened for writing."""
    note = {"program": PROGRAM, "pid": os.getpid(), "user": user(), "host": socket.gethostname(), "since": now()}
    try:
        with atomic_path(owner_path(path)) as tmp:
            tmp.write_text(json.dumps(note), encoding="utf-8")
    except OSError:
        pass  # the note is a courtesy: the lock itself is SQLite's


def _read_note(op: Path) -> object:
    """The owner note's JSON: a regular file of at most a few kB (a FIFO or device in its place is refused,
    never waited on; a larger file is not a note)."""
    return loads_strict(read_capped(op, "owner note", _OWNER_MAX_BYTES).decode("utf-8"))


def remove_owner(path: Path) -> None:
    """Remove the note beside a case, if this process left it."""
    op = owner_path(path)
    try:
        note = _read_note(op)
        if isinstance(note, dict) and note.get("pid") == os.getpid():
            op.unlink()
    except (OSError, ValueError, GmdeskError):
        pass


def lock_holder(path: str | Path) -> str | None:
    """Who holds a locked case, from its owner note (plain JSON, read as data only): e.g.
    "gmdesk-app (user ana on ws-12, process 4242, since 2026-11-25 09:14)"; None when not known (no note,
    a damaged one, or one left by a process on this machine that has ended)."""

    try:
        note = _read_note(owner_path(path))
    except (OSError, ValueError, GmdeskError):
        return None
    if not isinstance(note, dict):
        return None

    def text(key: str) -> str:
        v = note.get(key)
        return "".join(ch for ch in str(v)[:60] if ch.isprintable()) if isinstance(v, str | int) else "?"

    pid = note.get("pid")
    if note.get("host") == socket.gethostname() and isinstance(pid, int) and pid != os.getpid():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None  # that program has ended: the note is stale, the lock is someone else's
        except (PermissionError, OSError):
            pass
    who = "this program (another window)" if pid == os.getpid() and note.get("host") == socket.gethostname() \
        else text("program")
    return f"{who} (user {text('user')} on {text('host')}, process {text('pid')}, since {text('since')[:16].replace('T', ' ')})"


def locked_message(path: Path) -> str:
    """What a program refused a locked case is told."""
    holder = lock_holder(path)
    return (f"case file {path} is open in {holder}; close it there first" if holder else
            f"case file {path} is open in another program (or another window); close it there first")
