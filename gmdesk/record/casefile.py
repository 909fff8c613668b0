"""An open case file: its connection and transactions, metadata and events, and the checked tracks
(the raw track as imported, the cleanings). The edits, annotations, results, video and export of a case
are built on :class:`CaseFile` in their own modules and combined into :class:`gmdesk.record.case.Case`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, Self

import numpy as np

from gmdesk.core.posetrack import PoseTrack, check_pose_values
from gmdesk.core.skeleton import Skeleton
from gmdesk.errors import GmdeskError
from gmdesk.pipeline.cleaning import CleaningReport, clean_track
from gmdesk.pipeline.cleaning_settings import CleaningSettings
from gmdesk.pipeline.review import report_document
from gmdesk.record.lock import remove_owner
from gmdesk.record.store import STATUS_CODES, CaseError, is_write_failure, json_column, now, sha, to_blob, user

logger = logging.getLogger(__name__)


class CaseFile:
    """The stored part of an open case: connection, transactions, metadata, events and tracks (the
    base of :class:`gmdesk.record.case.Case`)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, author: str | None, read_only: bool = False) -> None:
        self.path = path
        self._conn = conn
        self.author = author or user()
        self.read_only = read_only
        self._writes = 0  # changes made in this session (see _writing)
        # read from the file when first asked for, dropped when it may differ (a cleaning, a failed change):
        # the raw track, the base (cleaned) track, the current track and undo/redo stacks of CaseEdits
        self._raw: PoseTrack | None = None
        self._base: PoseTrack | None = None
        self._current: PoseTrack | None = None
        self._stack: tuple[list[int], list[int]] | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the file (everything is already committed) and remove its owner note."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None  # type: ignore[assignment]
            if not self.read_only:
                remove_owner(self.path)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise CaseError(f"case {self.path} is closed")
        return self._conn

    @contextlib.contextmanager
    def _writing(self, what: str) -> Iterator[sqlite3.Connection]:
        """One transaction that changes the case; disk-full and I/O failures become a CaseError that
        says nothing already saved was lost."""
        if self.read_only:
            raise CaseError(f"case file {self.path} is open read-only (a read-only disk or folder): {what} is not possible")
        try:
            with self.conn:
                # every change also rewrites the meta page (a value never written before), so any write-ahead log a
                # crash leaves holds this case's identity: a log beside another case is recognised as foreign
                self._writes += 1
                self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('last_write', ?)",
                                  (f"{now()} {os.getpid()}.{self._writes}",))
                yield self.conn
        except sqlite3.Error as exc:
            self._current = self._base = None  # re-read from the file: the failed change is not in it
            self._stack = None
            if is_write_failure(exc):
                raise CaseError(f"case file {self.path}: {what} was not saved ({exc}: is the disk full or read-only?); "
                                "everything saved before is intact") from None
            raise CaseError(f"case file {self.path}: {what} failed ({exc})") from None

    # -- metadata -----------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        """The case's key/value metadata (schema version, infant id, created, ...)."""
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, key: str, value: str) -> None:
        """Set a metadata value (committed at once)."""
        with self._writing(f"setting {key}") as conn:
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, str(value)))

    def _event(self, kind: str, detail: dict) -> None:
        self.conn.execute("INSERT INTO events(kind, detail, author, time) VALUES (?, ?, ?, ?)",
                          (kind, json.dumps(detail), self.author, now()))

    def events(self) -> list[dict]:
        """Case-level events (import, cleaning, relink, results) in order."""
        rows = self.conn.execute("SELECT id, kind, detail, author, time FROM events ORDER BY id").fetchall()
        return [{"id": r[0], "kind": r[1], "detail": json_column(r[2], f"case file {self.path}: event {r[0]}", dict),
                 "author": r[3], "time": r[4]} for r in rows]

    # -- tracks -------------------------------------------------------------------------------
    def _set_raw(self, track: PoseTrack) -> None:
        xy, lik, st = to_blob(track.xy.astype("<f8")), to_blob(track.likelihood.astype("<f8")), to_blob(track.status)
        with self._writing("importing the pose track") as conn:
            conn.execute(
                "INSERT INTO raw_track(id, frames, landmarks, fps, xy, likelihood, status, provenance, meta, imported_at, "
                "xy_sha256, likelihood_sha256, status_sha256) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (track.n_frames, json.dumps(list(track.landmarks)), track.fps, xy, lik, st, json.dumps(track.provenance),
                 json.dumps(track.meta, default=str), now(), sha(xy), sha(lik), sha(st)),
            )
            self._event("import_track", {"frames": track.n_frames, "source": track.meta.get("source")})

    def _array(self, blob: Any, digest: str, shape: tuple[int, ...], dtype: str, what: str) -> np.ndarray:
        if not isinstance(blob, bytes):
            raise CaseError(f"case file {self.path} is damaged: {what} is not stored as bytes")
        if digest and sha(blob) != digest:
            raise CaseError(f"case file {self.path} is damaged: {what} does not match its checksum "
                            "(bytes changed since it was written)")
        n = int(np.prod(shape)) * np.dtype(dtype).itemsize
        if len(blob) != n:
            raise CaseError(f"case file {self.path} is damaged: {what} has {len(blob)} bytes, expected {n} (truncated?)")
        return np.frombuffer(blob, dtype).reshape(shape).copy()

    def raw_track(self) -> PoseTrack:
        """The track as imported or inferred (never modified)."""
        if self._raw is None:
            row = self.conn.execute(
                "SELECT frames, landmarks, fps, xy, likelihood, status, provenance, meta, xy_sha256, likelihood_sha256, "
                "status_sha256 FROM raw_track WHERE id = 1"
            ).fetchone()
            if row is None:
                raise CaseError(f"case {self.path} has no pose track")
            n, lms, fps, xy, lik, st, prov, meta, hxy, hlik, hst = row
            where = f"case file {self.path}: raw track"
            lms = json_column(lms, where + " landmarks", list)
            if not (isinstance(n, int) and 0 < n < 10**8) or not all(isinstance(x, str) for x in lms) or not lms:
                raise CaseError(f"{where} is damaged (frames {n!r}, landmarks)")
            if not (isinstance(fps, int | float) and math.isfinite(fps) and 0 < fps <= 1000):
                raise CaseError(f"{where} is damaged (frame rate {fps!r})")
            L = len(lms)
            status = self._array(st, hst, (n, L), "u1", "raw_track.status")
            if not np.isin(status, list(STATUS_CODES)).all():
                raise CaseError(f"{where} is damaged (unknown point statuses)")
            track = PoseTrack(self._array(xy, hxy, (n, L, 2), "<f8", "raw_track.xy"),
                              self._array(lik, hlik, (n, L), "<f8", "raw_track.likelihood"), status, float(fps),
                              tuple(lms), json_column(prov, where + " provenance", list),
                              json_column(meta, where + " meta", dict))
            try:
                check_pose_values(track.xy, None, track.landmarks, where)
            except GmdeskError as exc:
                raise CaseError(f"{exc} (damaged)") from None
            self._raw = track
        return self._raw.copy()

    def clean(self, skeleton: Skeleton, settings: CleaningSettings | None = None) -> CleaningReport:
        """Clean the raw track and store the settings, report (with its review queue and snippet
        coverage) and cleaned track (edits stay on top)."""

        settings = settings or CleaningSettings()
        cleaned, rep = clean_track(self.raw_track(), skeleton, settings)
        doc = report_document(cleaned, rep, len(skeleton.mirror_pairs))
        xy, st = to_blob(cleaned.xy.astype("<f8")), to_blob(cleaned.status)
        with self._writing("the cleaning") as conn:
            conn.execute(
                "INSERT INTO cleaning(settings, report, xy, status, provenance, author, time, xy_sha256, status_sha256) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (json.dumps(asdict(settings)), json.dumps(doc), xy, st, json.dumps(cleaned.provenance), self.author, now(),
                 sha(xy), sha(st)),
            )
            self._event("clean", {"settings": asdict(settings), "skeleton": skeleton.name})
        self._base = self._current = None
        return rep

    def cleaning(self) -> tuple[dict, dict] | None:
        """Settings and report of the latest cleaning, or None."""
        row = self.conn.execute("SELECT id, settings, report FROM cleaning ORDER BY id DESC LIMIT 1").fetchone()
        if not row:
            return None
        where = f"case file {self.path}: cleaning {row[0]}"
        return json_column(row[1], where + " settings", dict), json_column(row[2], where + " report", dict)

    def base_track(self) -> PoseTrack:
        """The latest cleaned track (the raw track before any cleaning): what edits apply to."""
        if self._base is None:
            base = self.raw_track()
            row = self.conn.execute(
                "SELECT id, xy, status, provenance, xy_sha256, status_sha256 FROM cleaning ORDER BY id DESC LIMIT 1"
            ).fetchone()
            if row:
                cid, xy, st, prov, hxy, hst = row
                base.xy = self._array(xy, hxy, base.xy.shape, "<f8", f"cleaning {cid} xy")
                base.status = self._array(st, hst, base.status.shape, "u1", f"cleaning {cid} status")
                if not np.isin(base.status, list(STATUS_CODES)).all():
                    raise CaseError(f"case file {self.path}: cleaning {cid} is damaged (unknown point statuses)")
                base.provenance = json_column(prov, f"case file {self.path}: cleaning {cid} provenance", list)
            self._base = base
        return self._base.copy()
