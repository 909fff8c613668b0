"""Assessment case files: one infant recording = one SQLite file, crash-safe and checked.

A case holds the video's path, size and SHA-256; the raw pose track exactly as imported or
inferred (never modified); the cleaning settings and cleaned track; an **append-only edit
log**; results; and **annotations** (append-only too: review marks, per-snippet reviews, patient
and recording fields, sign-offs). The current track is derived: cleaned track (or raw, before any
cleaning) with the edit log replayed in order.

Every edit is committed in its own transaction the moment it is made (WAL journal,
``synchronous=FULL``): there is no "save" and nothing to lose on a crash. Undo and redo append
entries that re-apply the recorded old or new values, so the log is never rewritten and the audit
trail is complete; the undo/redo position is derived from the log and maps one-to-one onto a GUI
undo stack.

A case file from elsewhere is untrusted: before anything is written, opening checks that it is an
SQLite database holding exactly the tables gmdesk creates (no triggers, views or other objects), its
schema version, and its integrity (:mod:`gmdesk.record.schema`); every stored array carries a SHA-256 checked when read; rows
(edits, results, annotations) are validated when read. A damaged file gives :class:`CaseError`
naming the file and the problem and is never modified. A case on a read-only disk or folder opens
read-only. ``create_case`` builds the file under a temporary name and renames it into place only
when complete, so a crash or kill leaves no half-made case behind.

One writer at a time: the file is opened with SQLite's exclusive locking mode, so a second
program opening the same case is refused with :class:`CaseLockedError` (the operating system
drops the lock if the first program dies; :mod:`gmdesk.record.lock` says who holds it).

:class:`Case` is made of parts, one module each: :mod:`~gmdesk.record.casefile` (connection, transactions,
metadata, events, the checked tracks), :mod:`~gmdesk.record.edits` (the edit log, undo and redo),
:mod:`~gmdesk.record.annotations` (annotations and results), :mod:`~gmdesk.record.videolink` (the video) and
:mod:`~gmdesk.record.export`; errors and shared helpers are in :mod:`~gmdesk.record.store`.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gmdesk import __version__
from gmdesk.core.posetrack import PoseTrack
from gmdesk.core.skeleton import Skeleton
from gmdesk.pipeline.cleaning_settings import CleaningSettings
from gmdesk.pipeline.cohort import load_track
from gmdesk.record.annotations import CaseAnnotations
from gmdesk.record.export import CaseExport
from gmdesk.record.lock import write_owner
from gmdesk.record.schema import CASE_SUFFIX, SCHEMA_SQL, SCHEMA_VERSION, connect, open_database
from gmdesk.record.store import CaseError, now, user
from gmdesk.record.videolink import CaseVideo

logger = logging.getLogger(__name__)


class Case(CaseAnnotations, CaseExport, CaseVideo):
    """An open case file. Use :func:`create_case` / :func:`open_case`; close with :meth:`close`
    (or a ``with`` block)."""


def create_case(path: str | Path, track: PoseTrack, video: str | Path | None = None, infant_id: str | None = None,
                author: str | None = None, prepare: Callable[[Case], Any] | None = None,
                accept_frame_difference: bool = False) -> Case:
    """Create a new case file from a pose track (and optionally its video). Refuses to overwrite.

    The file is built under a temporary name in the target folder — schema, pose track, the video
    (decoded and hashed), then ``prepare(case)`` (e.g. the cleaning) — and renamed into place only
    when all of it succeeded: a failure, crash or kill leaves nothing at ``path``.
    """
    p = Path(path)
    if p.exists():
        raise CaseError(f"case file {p} already exists; open it instead")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmpname = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=CASE_SUFFIX + ".part", dir=p.parent)
        os.close(fd)
        os.unlink(tmpname)
    except OSError as exc:
        raise CaseError(f"case file {p} cannot be created ({exc.strerror or exc})") from None
    tmp = Path(tmpname)
    conn = None
    try:
        conn = connect(tmp, create=True)
        with conn:
            conn.executescript(SCHEMA_SQL)
        case = Case(tmp, conn, author)
        case.path = p  # messages name the case being made, not its temporary file
        with case._writing("creating the case"):
            for k, v in {"format": "gmdesk-case", "schema_version": str(SCHEMA_VERSION), "created": now(),
                         "created_by": case.author, "gmdesk_version": __version__,
                         "infant_id": infant_id or p.stem, "case_uid": uuid.uuid4().hex}.items():
                conn.execute("INSERT INTO meta(key, value) VALUES (?, ?)", (k, v))
        case._set_raw(track)
        if video is not None:
            case.link_video(video, accept_frame_difference=accept_frame_difference)
        if prepare is not None:
            prepare(case)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        conn = None
        try:
            os.link(tmp, p)  # fails if the target appeared meanwhile: never overwrite
        except FileExistsError:
            raise CaseError(f"case file {p} already exists; open it instead") from None
        except OSError:
            if p.exists():
                raise CaseError(f"case file {p} already exists; open it instead") from None
            os.replace(tmp, p)  # file systems without hard links
    except BaseException:
        if conn is not None:
            conn.close()
        for extra in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            extra.unlink(missing_ok=True)
        raise
    tmp.unlink(missing_ok=True)
    return open_case(p, author)


def import_pose_file(case_path: str | Path, pose_file: str | Path, skeleton: Skeleton, video: str | Path | None = None,
                     mapping: dict | str | Path | None = None, fps: float | None = None,
                     individual: str | None = None, infant_id: str | None = None, author: str | None = None,
                     clean: CleaningSettings | bool | None = None, accept_frame_difference: bool = False) -> Case:
    """Create a case from a DLC pose file (or gmdesk ``.npz`` track); with ``clean`` (True or settings)
    the case is cleaned before it appears."""

    track = load_track(pose_file, skeleton, mapping, fps, individual)
    prepare = None
    if clean:
        settings = clean if isinstance(clean, CleaningSettings) else None

        def prepare(case: Case) -> None:
            case.clean(skeleton, settings)

    return create_case(case_path, track, video, infant_id, author, prepare, accept_frame_difference)


def open_case(path: str | Path, author: str | None = None, read_only: bool | None = None) -> Case:
    """Open an existing case, checking it before anything is written.

    Parameters
    ----------
    read_only : bool, optional
        Open without any write; default: read-only when the file or its folder is not writable (a
        read-only disk or share), else for writing.

    Raises
    ------
    CaseError
        Not a case file, damaged, holding objects gmdesk did not create, or from a newer gmdesk (the
        file is left byte-identical).
    CaseLockedError
        Another program has it open.
    """
    p = Path(path)
    conn, read_only = open_database(p, author or user(), read_only)
    if not read_only:
        write_owner(p)
    return Case(p, conn, author, read_only=read_only)
