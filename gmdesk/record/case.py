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
schema version, and its integrity; every stored array carries a SHA-256 checked when read; rows
(edits, results, annotations) are validated when read. A damaged file gives :class:`CaseError`
naming the file and the problem and is never modified. A case on a read-only disk or folder opens
read-only. ``create_case`` builds the file under a temporary name and renames it into place only
when complete, so a crash or kill leaves no half-made case behind.

One writer at a time: the file is opened with SQLite's exclusive locking mode, so a second
program opening the same case is refused with :class:`CaseLockedError` (the operating system
drops the lock if the first program dies).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import getpass
import hashlib
import json
import logging
import math
import os
import socket
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from gmdesk import __version__
from gmdesk.core.posetrack import PointStatus, PoseTrack, check_pose_values
from gmdesk.core.skeleton import Skeleton
from gmdesk.errors import GmdeskError
from gmdesk.io.atomic import atomic_path
from gmdesk.io.dlc import write_dlc
from gmdesk.io.hashing import file_sha256
from gmdesk.pipeline.cleaning import CleaningReport, clean_track
from gmdesk.pipeline.cleaning_settings import CleaningSettings
from gmdesk.pipeline.cohort import load_track
from gmdesk.pipeline.review import report_document
from gmdesk.record.patient import PATIENT_FIELDS, validate_patient_field
from gmdesk.video.reader import VideoError, probe_video

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2
CASE_SUFFIX = ".gmcase"
EDIT_KINDS = ("move", "delete", "restore", "interpolate-range", "copy-from-previous", "swap")
LOG_KINDS = EDIT_KINDS + ("undo", "redo")
#: What annotations record (append-only; the latest entry per subject is the current value).
ANNOTATION_KINDS = ("review_item", "snippet_review", "patient", "signoff")
_STATUS_CODES = {int(s) for s in PointStatus}

_TABLES_V1 = {
    "meta": "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "video": "CREATE TABLE video(id INTEGER PRIMARY KEY CHECK (id = 1), path TEXT NOT NULL, size INTEGER NOT NULL, "
             "sha256 TEXT NOT NULL, linked_at TEXT NOT NULL)",
    "raw_track": "CREATE TABLE raw_track(id INTEGER PRIMARY KEY CHECK (id = 1), frames INTEGER NOT NULL, "
                 "landmarks TEXT NOT NULL, fps REAL NOT NULL, xy BLOB NOT NULL, likelihood BLOB NOT NULL, "
                 "status BLOB NOT NULL, provenance TEXT NOT NULL, meta TEXT NOT NULL, imported_at TEXT NOT NULL)",
    "cleaning": "CREATE TABLE cleaning(id INTEGER PRIMARY KEY AUTOINCREMENT, settings TEXT NOT NULL, report TEXT NOT NULL, "
                "xy BLOB NOT NULL, status BLOB NOT NULL, provenance TEXT NOT NULL, author TEXT NOT NULL, time TEXT NOT NULL)",
    "edits": "CREATE TABLE edits(seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, landmark TEXT NOT NULL, "
             "frame INTEGER NOT NULL, frame_stop INTEGER NOT NULL, points TEXT NOT NULL, old TEXT NOT NULL, "
             "new TEXT NOT NULL, author TEXT NOT NULL, time TEXT NOT NULL, reverts INTEGER REFERENCES edits(seq))",
    "results": "CREATE TABLE results(id INTEGER PRIMARY KEY AUTOINCREMENT, model_id TEXT NOT NULL, model_path TEXT, "
               "verdict TEXT NOT NULL, snippets TEXT NOT NULL, edit_seq INTEGER, author TEXT NOT NULL, time TEXT NOT NULL)",
    "events": "CREATE TABLE events(id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, detail TEXT NOT NULL, "
              "author TEXT NOT NULL, time TEXT NOT NULL)",
}
_V2_ADDED = {
    "raw_track": ("xy_sha256", "likelihood_sha256", "status_sha256"),
    "cleaning": ("xy_sha256", "status_sha256"),
}
_ANNOTATIONS = ("CREATE TABLE annotations(seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, subject TEXT NOT NULL, "
                "value TEXT NOT NULL, author TEXT NOT NULL, time TEXT NOT NULL)")
_SCHEMA_V2 = ";\n".join(
    [_TABLES_V1[t].rstrip(")") + "".join(f", {c} TEXT NOT NULL DEFAULT ''" for c in _V2_ADDED[t]) + ")"
     if t in _V2_ADDED else _TABLES_V1[t] for t in _TABLES_V1] + [_ANNOTATIONS]) + ";"
#: The columns of every table of the current schema (what an opened case must hold, nothing more).
EXPECTED_COLUMNS: dict[str, list[str]] = {
    "meta": ["key", "value"],
    "video": ["id", "path", "size", "sha256", "linked_at"],
    "raw_track": ["id", "frames", "landmarks", "fps", "xy", "likelihood", "status", "provenance", "meta", "imported_at",
                  "xy_sha256", "likelihood_sha256", "status_sha256"],
    "cleaning": ["id", "settings", "report", "xy", "status", "provenance", "author", "time", "xy_sha256", "status_sha256"],
    "edits": ["seq", "kind", "landmark", "frame", "frame_stop", "points", "old", "new", "author", "time", "reverts"],
    "results": ["id", "model_id", "model_path", "verdict", "snippets", "edit_seq", "author", "time"],
    "events": ["id", "kind", "detail", "author", "time"],
    "annotations": ["seq", "kind", "subject", "value", "author", "time"],
}
#: Migrations: ``MIGRATIONS[n](conn)`` upgrades schema n to n + 1 (in the caller's transaction).
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], dict[str, Any]]] = {}


def _migrate_1_to_2(conn: sqlite3.Connection) -> dict[str, Any]:
    for table, cols in _V2_ADDED.items():
        for c in cols:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {c} TEXT NOT NULL DEFAULT ''")
    conn.execute(_ANNOTATIONS)
    for row in conn.execute("SELECT id, xy, likelihood, status FROM raw_track").fetchall():
        conn.execute("UPDATE raw_track SET xy_sha256 = ?, likelihood_sha256 = ?, status_sha256 = ? WHERE id = ?",
                     (_sha(row[1]), _sha(row[2]), _sha(row[3]), row[0]))
    for row in conn.execute("SELECT id, xy, status FROM cleaning").fetchall():
        conn.execute("UPDATE cleaning SET xy_sha256 = ?, status_sha256 = ? WHERE id = ?", (_sha(row[1]), _sha(row[2]), row[0]))
    return {"from": 1, "to": 2, "note": "array checksums computed at this migration: they protect the arrays from now on"}


MIGRATIONS[1] = _migrate_1_to_2


class CaseError(GmdeskError):
    """A case file cannot be opened or used."""


class CaseLockedError(CaseError):
    """Another program has the case open for writing."""


class VideoMismatchError(CaseError):
    """The video file no longer matches the one the case was made from, or does not fit the pose."""


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (service accounts)
        return "unknown"


#: What this process calls itself in a case's owner note (the app sets "gmdesk-app").
PROGRAM = "gmdesk"
_OWNER_MAX_BYTES = 4096


def owner_path(path: str | Path) -> Path:
    """The note beside a case that says which program has it open for writing (``CASE.owner``)."""
    p = Path(path)
    return p.with_name(p.name + ".owner")


def _write_owner(path: Path) -> None:
    note = {"program": PROGRAM, "pid": os.getpid(), "user": _user(), "host": socket.gethostname(), "since": _now()}
    try:
        with atomic_path(owner_path(path)) as tmp:
            tmp.write_text(json.dumps(note), encoding="utf-8")
    except OSError:
        pass  # the note is a courtesy: the lock itself is SQLite's


def _remove_owner(path: Path) -> None:
    op = owner_path(path)
    try:
        with open(op, "rb") as fh:
            note = json.loads(fh.read(_OWNER_MAX_BYTES))
        if isinstance(note, dict) and note.get("pid") == os.getpid():
            op.unlink()
    except (OSError, ValueError):
        pass


def lock_holder(path: str | Path) -> str | None:
    """Who holds a locked case, from its owner note (plain JSON, read as data only): e.g.
    "gmdesk-app (user ana on ws-12, process 4242, since 2026-11-25 09:14)"; None when not known (no note,
    a damaged one, or one left by a process on this machine that has ended)."""

    try:
        with open(owner_path(path), "rb") as fh:
            note = json.loads(fh.read(_OWNER_MAX_BYTES).decode("utf-8"))
    except (OSError, ValueError):
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


def _locked_message(path: Path) -> str:
    holder = lock_holder(path)
    return (f"case file {path} is open in {holder}; close it there first" if holder else
            f"case file {path} is open in another program (or another window); close it there first")


def _sha(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()




@dataclass(frozen=True)
class EditEntry:
    """One row of the edit log."""

    seq: int
    kind: str
    landmark: str
    frame: int
    frame_stop: int
    points: list[tuple[int, int]]
    old: list[tuple[float, float, int]]
    new: list[tuple[float, float, int]]
    author: str
    time: str
    reverts: int | None


@dataclass(frozen=True)
class VideoCheck:
    """Result of :meth:`Case.check_video`: ``status`` is ok / missing / changed / unreadable / none."""

    status: str
    path: str | None
    message: str


def _blob(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a).tobytes()


def _nan_json(v: float) -> float | None:
    return None if not np.isfinite(v) else float(v)


def _is_write_failure(exc: sqlite3.Error) -> bool:
    msg = str(exc).lower()
    return any(k in msg for k in ("full", "disk i/o", "readonly", "read-only", "unable to open"))


def _json(text: Any, where: str, kind: type | tuple[type, ...] = (dict, list)) -> Any:
    """Parse a JSON column, refusing damage with a CaseError."""
    try:
        value = json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except (TypeError, ValueError, RecursionError):
        raise CaseError(f"{where} is not valid JSON (damaged)") from None
    if not isinstance(value, kind):
        raise CaseError(f"{where} has the wrong shape (damaged)")
    return value


class Case:
    """An open case file. Use :func:`create_case` / :func:`open_case`; close with :meth:`close`
    (or a ``with`` block)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, author: str | None, read_only: bool = False) -> None:
        self.path = path
        self._conn = conn
        self.author = author or _user()
        self.read_only = read_only
        self._raw: PoseTrack | None = None
        self._base: PoseTrack | None = None
        self._current: PoseTrack | None = None
        self._stack: tuple[list[int], list[int]] | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        """Close the file (everything is already committed) and remove its owner note."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None  # type: ignore[assignment]
            if not self.read_only:
                _remove_owner(self.path)

    def __enter__(self) -> Case:
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
                yield self.conn
        except sqlite3.Error as exc:
            self._current = self._base = None  # re-read from the file: the failed change is not in it
            self._stack = None
            if _is_write_failure(exc):
                raise CaseError(f"case file {self.path}: {what} was not saved ({exc}: is the disk full or read-only?); "
                                "everything saved before is intact") from None
            raise CaseError(f"case file {self.path}: {what} failed ({exc})") from None

    # -- metadata ---------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        """The case's key/value metadata (schema version, infant id, created, ...)."""
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, key: str, value: str) -> None:
        """Set a metadata value (committed at once)."""
        with self._writing(f"setting {key}") as conn:
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, str(value)))

    def _event(self, kind: str, detail: dict) -> None:
        self.conn.execute("INSERT INTO events(kind, detail, author, time) VALUES (?, ?, ?, ?)",
                          (kind, json.dumps(detail), self.author, _now()))

    def events(self) -> list[dict]:
        """Case-level events (import, cleaning, relink, results) in order."""
        rows = self.conn.execute("SELECT id, kind, detail, author, time FROM events ORDER BY id").fetchall()
        return [{"id": r[0], "kind": r[1], "detail": _json(r[2], f"case file {self.path}: event {r[0]}", dict),
                 "author": r[3], "time": r[4]} for r in rows]

    # -- annotations ---------------------------------------------------------------------------
    def annotate(self, kind: str, subject: dict[str, Any], value: dict[str, Any]) -> int:
        """Append an annotation (a review mark, a snippet review, a patient field, a sign-off).

        ``subject`` says what it is about (e.g. ``{"key": item.key}``, ``{"result_id": 3, "snippet": 4}``,
        ``{"field": "date_of_birth"}``); the latest annotation of a subject is its current value.
        """
        if kind not in ANNOTATION_KINDS:
            raise CaseError(f"unknown annotation kind {kind!r}; one of {ANNOTATION_KINDS}")
        if not isinstance(subject, dict) or not isinstance(value, dict):
            raise CaseError("an annotation's subject and value must be tables")
        try:
            subj, val = json.dumps(subject, sort_keys=True, allow_nan=False), json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise CaseError(f"annotation is not plain data ({exc})") from None
        with self._writing(f"the {kind} annotation") as conn:
            c = conn.execute("INSERT INTO annotations(kind, subject, value, author, time) VALUES (?, ?, ?, ?, ?)",
                             (kind, subj, val, self.author, _now()))
        return int(c.lastrowid)

    def annotations(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Annotations in order (of one ``kind``, or all)."""
        q = "SELECT seq, kind, subject, value, author, time FROM annotations"
        rows = self.conn.execute(q + (" WHERE kind = ?" if kind else "") + " ORDER BY seq", (kind,) if kind else ()).fetchall()
        out = []
        for r in rows:
            where = f"case file {self.path}: annotation {r[0]}"
            if r[1] not in ANNOTATION_KINDS:
                raise CaseError(f"{where} has unknown kind {r[1]!r} (damaged)")
            out.append({"seq": r[0], "kind": r[1], "subject": _json(r[2], where, dict), "value": _json(r[3], where, dict),
                        "author": r[4], "time": r[5]})
        return out

    def latest_annotations(self, kind: str) -> dict[str, dict[str, Any]]:
        """The current annotation of each subject of ``kind``, keyed by the subject's JSON (or its
        ``key``/``field`` entry when it has one)."""
        out: dict[str, dict[str, Any]] = {}
        for a in self.annotations(kind):
            subj = a["subject"]
            k = subj.get("key") or subj.get("field") or json.dumps(subj, sort_keys=True)
            out[str(k)] = a
        return out

    def set_patient_field(self, field: str, value: str) -> int:
        """Record a patient or recording field (validated; the case log keeps every change).

        Fields: ``date_of_birth``, ``recording_date`` (ISO dates, birth not after recording, neither in the
        future), ``gestational_age`` at birth (weeks ``38.5`` or weeks+days ``38+3``, 22-44 weeks),
        ``reviewer`` and ``site`` (text, at most 200 characters). An empty value clears the field.
        """

        if field not in PATIENT_FIELDS:
            raise CaseError(f"unknown field {field!r}; one of {PATIENT_FIELDS}")
        current = {k: v["value"].get("value") for k, v in self.latest_annotations("patient").items()}
        value = validate_patient_field(field, value, current)
        return self.annotate("patient", {"field": field}, {"value": value})

    def patient(self) -> dict[str, str]:
        """The current patient and recording fields (latest value of each; cleared fields left out)."""
        out = {}
        for k, a in self.latest_annotations("patient").items():
            v = a["value"].get("value")
            if v not in (None, ""):
                out[k] = v
        return out

    def review_snippet(self, result_id: int, snippet: int, mark: str, note: str = "") -> int:
        """A clinician's mark on one snippet of a result: ``agree``, ``disagree`` or ``unsure``, with a note."""
        if mark not in ("agree", "disagree", "unsure"):
            raise CaseError(f"snippet review {mark!r}: one of agree, disagree, unsure")
        res = next((r for r in self.results() if r["id"] == result_id), None)
        if res is None or not 0 <= snippet < len(res["snippets"]):
            raise CaseError(f"case {self.path}: no snippet {snippet} in result {result_id}")
        return self.annotate("snippet_review", {"result_id": int(result_id), "snippet": int(snippet)},
                             {"mark": mark, "note": str(note)[:2000]})

    def snippet_reviews(self, result_id: int) -> dict[int, dict[str, Any]]:
        """The current review of each snippet of a result: snippet index → {mark, note, author, time}."""
        out = {}
        for a in self.annotations("snippet_review"):
            if a["subject"].get("result_id") == result_id:
                out[int(a["subject"]["snippet"])] = a["value"] | {"author": a["author"], "time": a["time"]}
        return out

    def sign_off(self, result_id: int, reviewer: str, comment: str = "", decision: str = "signed") -> int:
        """A reviewer signs a result off (name, their comment), recorded in the case log with the time."""
        if not reviewer or not reviewer.strip() or len(reviewer) > 200:
            raise CaseError("sign-off needs the reviewer's name (1-200 characters)")
        if not any(r["id"] == result_id for r in self.results()):
            raise CaseError(f"case {self.path} has no result {result_id}")
        return self.annotate("signoff", {"result_id": int(result_id)},
                             {"reviewer": reviewer.strip(), "comment": str(comment)[:4000], "decision": decision,
                              "date": _now()[:10]})

    def latest_sign_off(self, result_id: int) -> dict[str, Any] | None:
        """The current sign-off of a result (reviewer, comment, decision, date, author, time), or None."""
        signs = [a for a in self.annotations("signoff") if a["subject"].get("result_id") == result_id]
        return signs[-1]["value"] | {"author": signs[-1]["author"], "time": signs[-1]["time"]} if signs else None

    def track_digest(self, track: PoseTrack | None = None) -> str:
        """SHA-256 of a track's points and statuses (default the current track): what a result was
        made from, so "out of date" means the landmarks differ, not that the log grew (an edit and its
        undo leave the digest as it was)."""
        t = self.current_track() if track is None else track
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(np.nan_to_num(t.xy, nan=-1e9), dtype="<f8").tobytes())
        h.update(np.ascontiguousarray(t.status, dtype=np.uint8).tobytes())
        return h.hexdigest()

    def result_out_of_date(self, result: dict[str, Any]) -> bool:
        """True when the landmarks differ from those ``result`` (one of :meth:`results`) was made from.
        Results stored before digests were kept: out of date when the log's net change since is not zero."""
        digest = result["verdict"].get("track_sha256")
        if digest:
            return digest != self.track_digest()
        since = [e for e in self.history() if e.seq > (result.get("edit_seq") or 0)]
        return bool(since) and sum(1 for e in since if e.kind != "undo") != sum(1 for e in since if e.kind == "undo")

    def result_status(self) -> dict[str, Any] | None:
        """The latest stored result, its model, and whether edits made since it make it out of date."""
        results = self.results()
        if not results:
            return None
        r = results[-1]
        now = self.edit_position()
        since = [e for e in self.history() if e.seq > (r["edit_seq"] or 0)]
        previous = results[-2]["verdict"].get("verdict") if len(results) > 1 else None
        return {"result": r, "edit_position": now, "edits_since": len(since), "out_of_date": self.result_out_of_date(r),
                "previous_verdict": previous, "changed_verdict": previous is not None
                and previous != r["verdict"].get("verdict")}

    # -- video ------------------------------------------------------------------------------
    def link_video(self, video: str | Path, accept_different: bool = False, accept_frame_difference: bool = False) -> None:
        """Record (or relink) the case's video: path, size, SHA-256 and what it holds.

        The video must decode and have as many frames as the pose track (``accept_frame_difference``
        overrides the count check, recorded in the case's events). Relinking to a file whose content
        differs from the recorded one is refused unless ``accept_different`` (e.g. a re-encoded copy
        the user vouches for); either way the change is recorded.
        """
        p = Path(video).resolve()
        info = _probe_for_case(p, self.raw_track().n_frames, accept_frame_difference)
        size, digest = p.stat().st_size, file_sha256(p)
        old = self.conn.execute("SELECT path, size, sha256 FROM video WHERE id = 1").fetchone()
        if old and old[2] != digest and not accept_different:
            raise VideoMismatchError(
                f"video {p} is not the recording this case was made from (content differs from {old[0]}); "
                "relink with accept_different=True only if it is the same recording re-encoded"
            )
        with self._writing("linking the video") as conn:
            conn.execute("INSERT OR REPLACE INTO video(id, path, size, sha256, linked_at) VALUES (1, ?, ?, ?, ?)",
                         (str(p), size, digest, _now()))
            self._event("link_video" if not old else "relink_video",
                        {"path": str(p), "size": size, "sha256": digest, "previous": list(old) if old else None, **info})

    def check_video(self) -> VideoCheck:
        """Is the recorded video still at its path, with the same content, decodable, and as long as
        the pose track?"""
        row = self.conn.execute("SELECT path, size, sha256 FROM video WHERE id = 1").fetchone()
        if not row:
            return VideoCheck("none", None, "no video linked to this case")
        path, size, digest = row
        p = Path(path)
        if not p.is_file():
            return VideoCheck("missing", path, f"video {path} was moved or deleted: relink it (Case.link_video)")
        if p.stat().st_size != size or file_sha256(p) != digest:
            return VideoCheck("changed", path, f"video {path} has changed since it was linked (re-encoded or replaced): "
                                               "relink the original recording")
        n = self.raw_track().n_frames
        try:
            info = _probe_for_case(p, n, accept_frame_difference=True)
        except CaseError as exc:
            return VideoCheck("unreadable", path, str(exc))
        if info["frames"] != n:
            accepted = any(e["kind"] in ("link_video", "relink_video") and e["detail"].get("frame_difference_accepted")
                           for e in self.events())
            return VideoCheck("ok" if accepted else "frames_differ", path,
                              f"video has {info['frames']} frames, the pose {n}"
                              + (" (difference accepted when linked)" if accepted else ": relink after checking them"))
        return VideoCheck("ok", path, f"{info['frames']} frames, matches the pose ({info['width']}x{info['height']}, "
                                      f"{info['fps']:.2f} fps)")

    # -- tracks -----------------------------------------------------------------------------
    def _set_raw(self, track: PoseTrack) -> None:
        xy, lik, st = _blob(track.xy.astype("<f8")), _blob(track.likelihood.astype("<f8")), _blob(track.status)
        with self._writing("importing the pose track") as conn:
            conn.execute(
                "INSERT INTO raw_track(id, frames, landmarks, fps, xy, likelihood, status, provenance, meta, imported_at, "
                "xy_sha256, likelihood_sha256, status_sha256) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (track.n_frames, json.dumps(list(track.landmarks)), track.fps, xy, lik, st, json.dumps(track.provenance),
                 json.dumps(track.meta, default=str), _now(), _sha(xy), _sha(lik), _sha(st)),
            )
            self._event("import_track", {"frames": track.n_frames, "source": track.meta.get("source")})

    def _array(self, blob: Any, digest: str, shape: tuple[int, ...], dtype: str, what: str) -> np.ndarray:
        if not isinstance(blob, bytes):
            raise CaseError(f"case file {self.path} is damaged: {what} is not stored as bytes")
        if digest and _sha(blob) != digest:
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
            lms = _json(lms, where + " landmarks", list)
            if not (isinstance(n, int) and 0 < n < 10**8) or not all(isinstance(x, str) for x in lms) or not lms:
                raise CaseError(f"{where} is damaged (frames {n!r}, landmarks)")
            if not (isinstance(fps, int | float) and math.isfinite(fps) and 0 < fps <= 1000):
                raise CaseError(f"{where} is damaged (frame rate {fps!r})")
            L = len(lms)
            status = self._array(st, hst, (n, L), "u1", "raw_track.status")
            if not np.isin(status, list(_STATUS_CODES)).all():
                raise CaseError(f"{where} is damaged (unknown point statuses)")
            track = PoseTrack(self._array(xy, hxy, (n, L, 2), "<f8", "raw_track.xy"),
                              self._array(lik, hlik, (n, L), "<f8", "raw_track.likelihood"), status, float(fps),
                              tuple(lms), _json(prov, where + " provenance", list), _json(meta, where + " meta", dict))
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
        xy, st = _blob(cleaned.xy.astype("<f8")), _blob(cleaned.status)
        with self._writing("the cleaning") as conn:
            conn.execute(
                "INSERT INTO cleaning(settings, report, xy, status, provenance, author, time, xy_sha256, status_sha256) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (json.dumps(asdict(settings)), json.dumps(doc), xy, st, json.dumps(cleaned.provenance), self.author, _now(),
                 _sha(xy), _sha(st)),
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
        return _json(row[1], where + " settings", dict), _json(row[2], where + " report", dict)

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
                if not np.isin(base.status, list(_STATUS_CODES)).all():
                    raise CaseError(f"case file {self.path}: cleaning {cid} is damaged (unknown point statuses)")
                base.provenance = _json(prov, f"case file {self.path}: cleaning {cid} provenance", list)
            self._base = base
        return self._base.copy()

    def _edit_rows(self) -> list[tuple]:
        return self.conn.execute(
            "SELECT seq, kind, landmark, frame, frame_stop, points, old, new, author, time, reverts FROM edits ORDER BY seq"
        ).fetchall()

    def _checked_edits(self) -> list[EditEntry]:
        """Every edit row, validated against the track's shape and the undo/redo rules."""
        n, L = self.raw_track().xy.shape[:2]
        out = []
        undo: list[int] = []
        redo: list[int] = []
        for r in self._edit_rows():
            seq, kind = r[0], r[1]
            where = f"case file {self.path}: edit {seq}"
            if kind not in LOG_KINDS:
                raise CaseError(f"{where} has unknown kind {kind!r} (damaged)")
            points, old, new = _json(r[5], where, list), _json(r[6], where, list), _json(r[7], where, list)
            if not (len(points) == len(old) == len(new)):
                raise CaseError(f"{where} is damaged (points and values differ in number)")
            for pt in points:
                if not (isinstance(pt, list) and len(pt) == 2 and all(isinstance(v, int) for v in pt)
                        and 0 <= pt[0] < n and 0 <= pt[1] < L):
                    raise CaseError(f"{where} is damaged (point {str(pt)[:40]} outside {n} frames x {L} landmarks)")
            for v in (*old, *new):
                if not (isinstance(v, list) and len(v) == 3 and v[2] in _STATUS_CODES
                        and all(c is None or (isinstance(c, int | float) and math.isfinite(c)) for c in v[:2])):
                    raise CaseError(f"{where} is damaged (value {str(v)[:40]})")
            if kind == "undo":
                if not undo or r[10] != undo[-1]:
                    raise CaseError(f"{where} is damaged: an undo of edit {r[10]} where the log has "
                                    f"{'nothing to undo' if not undo else f'edit {undo[-1]} to undo'}")
                redo.append(undo.pop())
            elif kind == "redo":
                if not redo or r[10] != redo[-1]:
                    raise CaseError(f"{where} is damaged: a redo of edit {r[10]} where the log has "
                                    f"{'nothing to redo' if not redo else f'edit {redo[-1]} to redo'}")
                undo.append(redo.pop())
            else:
                undo.append(seq)
                redo.clear()
            out.append(EditEntry(seq, kind, r[2], r[3], r[4], [tuple(p) for p in points], [tuple(v) for v in old],
                                 [tuple(v) for v in new], r[8], r[9], r[10]))
        self._stack = (undo, redo)
        return out

    def current_track(self) -> PoseTrack:
        """Base track with every logged edit replayed in order (a copy)."""
        if self._current is None:
            t = self.base_track()
            edits = self._checked_edits()
            for e in edits:
                _apply(t, e.points, e.new)
            if edits:
                t.record("replay_edits", {"case": str(self.path)}, edits=len(edits))
            self._current = t
        return self._current.copy()

    # -- edits ------------------------------------------------------------------------------
    def _cur(self) -> PoseTrack:
        if self._current is None:
            self.current_track()
        assert self._current is not None
        return self._current

    def _landmark(self, name: str) -> int:
        lms = self._cur().landmarks
        if name not in lms:
            raise CaseError(f"case {self.path}: no landmark {name!r}")
        return lms.index(name)

    def _frame(self, frame: int) -> int:
        n = self._cur().n_frames
        if not 0 <= frame < n:
            raise CaseError(f"case {self.path}: frame {frame} outside 0..{n - 1}")
        return int(frame)

    def _write_edit(self, kind: str, landmark: str, frame: int, frame_stop: int, points: list[list[int]],
                    new: list[list], reverts: int | None = None, old: list[list] | None = None) -> int:
        cur = self._cur()
        if old is None:
            old = [[_nan_json(cur.xy[f, j, 0]), _nan_json(cur.xy[f, j, 1]), int(cur.status[f, j])] for f, j in points]
        with self._writing(f"the {kind} edit") as conn:
            c = conn.execute(
                "INSERT INTO edits(kind, landmark, frame, frame_stop, points, old, new, author, time, reverts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, landmark, frame, frame_stop, json.dumps(points), json.dumps(old), json.dumps(new), self.author,
                 _now(), reverts),
            )
        _apply(cur, points, new)
        seq = int(c.lastrowid)
        if self._stack is not None:
            undo, redo = self._stack
            if kind == "undo":
                redo.append(undo.pop())
            elif kind == "redo":
                undo.append(redo.pop())
            else:
                undo.append(seq)
                redo.clear()
        return seq

    def move(self, frame: int, landmark: str, x: float, y: float) -> int:
        """Place ``landmark`` at (x, y) in ``frame`` (status EDITED). Returns the log sequence number."""
        f, j = self._frame(frame), self._landmark(landmark)
        if not (np.isfinite(x) and np.isfinite(y)):
            raise CaseError("move needs finite coordinates; use delete to mark a point missing")
        return self._write_edit("move", landmark, f, f + 1, [[f, j]], [[float(x), float(y), int(PointStatus.EDITED)]])

    def delete(self, frame: int, landmark: str) -> int:
        """Mark ``landmark`` missing in ``frame``."""
        f, j = self._frame(frame), self._landmark(landmark)
        return self._write_edit("delete", landmark, f, f + 1, [[f, j]], [[None, None, int(PointStatus.MISSING)]])

    def restore(self, frame: int, landmark: str) -> int:
        """Put back the cleaned (pre-edit) value of ``landmark`` in ``frame``."""
        f, j = self._frame(frame), self._landmark(landmark)
        base = self.base_track()
        new = [[_nan_json(base.xy[f, j, 0]), _nan_json(base.xy[f, j, 1]), int(base.status[f, j])]]
        return self._write_edit("restore", landmark, f, f + 1, [[f, j]], new)

    def set_points(self, frame: int, points: dict[str, tuple[float, float]]) -> int:
        """Place several landmarks in ``frame`` at once (one ``move`` entry, one undo step);
        used to paste points copied from another frame. NaN coordinates mark a point missing."""
        f = self._frame(frame)
        if not points:
            raise CaseError("no points to set")
        pts, new = [], []
        for name, (x, y) in points.items():
            pts.append([f, self._landmark(name)])
            ok = np.isfinite(x) and np.isfinite(y)
            new.append([float(x) if ok else None, float(y) if ok else None,
                        int(PointStatus.EDITED if ok else PointStatus.MISSING)])
        label = next(iter(points)) if len(points) == 1 else "*"
        return self._write_edit("move", label, f, f + 1, pts, new)

    def copy_from_previous(self, frame: int, landmarks: list[str] | None = None) -> int:
        """Copy the previous frame's points (all landmarks, or ``landmarks``) into ``frame``; points
        missing in the previous frame are skipped (a deletion is not spread)."""
        f = self._frame(frame)
        if f == 0:
            raise CaseError("frame 0 has no previous frame")
        cur = self._cur()
        names = list(landmarks) if landmarks else list(cur.landmarks)
        idx = [j for j in (self._landmark(n) for n in names) if np.isfinite(cur.xy[f - 1, j]).all()]
        if not idx:
            raise CaseError(f"frame {f - 1} has no point of {names[0] if len(names) == 1 else 'these landmarks'} to copy")
        pts = [[f, j] for j in idx]
        new = [[float(cur.xy[f - 1, j, 0]), float(cur.xy[f - 1, j, 1]), int(PointStatus.EDITED)] for j in idx]
        label = cur.landmarks[idx[0]] if len(idx) == 1 else "*"
        return self._write_edit("copy-from-previous", label, f, f + 1, pts, new)

    def swap_range(self, left: str, right: str, start: int, stop: int) -> int:
        """Exchange two landmarks (a left/right pair) over frames ``[start, stop)`` — one edit; the
        swapped points keep their positions and become EDITED (a person decided which is which)."""
        a, b = self._landmark(left), self._landmark(right)
        cur = self._cur()
        start, stop = int(start), int(stop)
        if a == b or not (0 <= start < stop <= cur.n_frames):
            raise CaseError(f"swap needs two landmarks and frames inside 0..{cur.n_frames - 1}")
        pts, new = [], []
        for f in range(start, stop):
            for j, k in ((a, b), (b, a)):
                ok = bool(np.isfinite(cur.xy[f, k]).all())
                pts.append([f, j])
                new.append([float(cur.xy[f, k, 0]) if ok else None, float(cur.xy[f, k, 1]) if ok else None,
                            int(PointStatus.EDITED if ok else PointStatus.MISSING)])
        return self._write_edit("swap", f"{left}/{right}", start, stop, pts, new)

    def interpolate_range(self, landmark: str, start: int, stop: int) -> int:
        """Replace frames ``[start, stop)`` of ``landmark`` by a makima interpolation through the
        points outside the range (status IMPUTED)."""
        from scipy.interpolate import Akima1DInterpolator

        j = self._landmark(landmark)
        cur = self._cur()
        start, stop = int(start), int(stop)
        if not (0 < start < stop < cur.n_frames):
            raise CaseError(f"interpolation range {start}..{stop} needs points on both sides inside 0..{cur.n_frames - 1}")
        t = np.arange(cur.n_frames, dtype=float)
        valid = np.isfinite(cur.xy[:, j]).all(axis=1)
        valid[start:stop] = False
        if not (valid[:start].any() and valid[stop:].any()) or valid.sum() < 3:
            raise CaseError(f"{landmark}: not enough observed points around frames {start}..{stop - 1} to interpolate")
        vals = Akima1DInterpolator(t[valid], cur.xy[valid, j], axis=0, method="makima")(t[start:stop])
        pts = [[f, j] for f in range(start, stop)]
        new = [[float(x), float(y), int(PointStatus.IMPUTED)] for x, y in vals]
        return self._write_edit("interpolate-range", landmark, start, stop, pts, new)

    def history(self) -> list[EditEntry]:
        """The whole edit log in order (validated)."""
        return self._checked_edits()

    def undo_state(self) -> tuple[list[int], list[int]]:
        """``(undo_stack, redo_stack)`` of edit sequence numbers, derived from the log.

        The last element of each is the edit the next :meth:`undo` / :meth:`redo` acts on.
        """
        if self._stack is None:
            self._checked_edits()
        assert self._stack is not None
        return list(self._stack[0]), list(self._stack[1])

    def undo(self) -> int:
        """Undo the latest edit by appending an ``undo`` entry that restores its old values."""
        undo, _ = self.undo_state()
        if not undo:
            raise CaseError("nothing to undo")
        target = undo[-1]
        kind, landmark, frame, stop, points, old, new = self.conn.execute(
            "SELECT kind, landmark, frame, frame_stop, points, old, new FROM edits WHERE seq = ?", (target,)
        ).fetchone()
        return self._write_edit("undo", landmark, frame, stop, json.loads(points), json.loads(old), reverts=target,
                                old=json.loads(new))

    def redo(self) -> int:
        """Redo the latest undone edit by appending a ``redo`` entry that re-applies its new values."""
        _, redo = self.undo_state()
        if not redo:
            raise CaseError("nothing to redo")
        target = redo[-1]
        landmark, frame, stop, points, old, new = self.conn.execute(
            "SELECT landmark, frame, frame_stop, points, old, new FROM edits WHERE seq = ?", (target,)
        ).fetchone()
        return self._write_edit("redo", landmark, frame, stop, json.loads(points), json.loads(new), reverts=target,
                                old=json.loads(old))

    # -- results ----------------------------------------------------------------------------
    def save_result(self, model_id: str, verdict: dict[str, Any], snippets: list[dict[str, Any]],
                    model_path: str | None = None, model: dict[str, Any] | None = None,
                    edit_seq: int | None = None) -> int:
        """Store an assessment (verdict + per-snippet scores) with the edit position it was made at
        (``edit_seq``, default the latest; give it when the track was taken earlier, e.g. before a
        background job). ``model`` (e.g. the bundle's manifest summary) is stored with the verdict so
        the case explains itself even when the model moves."""
        last = self.conn.execute("SELECT MAX(seq) FROM edits").fetchone()[0] if edit_seq is None else (edit_seq or None)
        v = dict(verdict) | ({"model": model} if model else {})
        try:
            blob_v, blob_s = json.dumps(v, allow_nan=False, default=str), json.dumps(snippets, allow_nan=False, default=str)
        except ValueError as exc:
            raise CaseError(f"result is not plain data ({exc})") from None
        with self._writing("the result") as conn:
            c = conn.execute(
                "INSERT INTO results(model_id, model_path, verdict, snippets, edit_seq, author, time) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (model_id, model_path, blob_v, blob_s, last, self.author, _now()),
            )
            self._event("result", {"model_id": model_id, "result_id": c.lastrowid})
        return int(c.lastrowid)

    def results(self) -> list[dict[str, Any]]:
        """Stored assessments, oldest first."""
        rows = self.conn.execute(
            "SELECT id, model_id, model_path, verdict, snippets, edit_seq, author, time FROM results ORDER BY id").fetchall()
        out = []
        for r in rows:
            where = f"case file {self.path}: result {r[0]}"
            verdict = _json(r[3], where, dict)
            model = verdict.pop("model", None)
            out.append({"id": r[0], "model_id": r[1], "model_path": r[2], "verdict": verdict,
                        "snippets": _json(r[4], where, list), "edit_seq": r[5], "author": r[6], "time": r[7],
                        "model": model})
        return out

    def edit_position(self) -> int:
        """Sequence number of the latest edit-log entry (0 when there is none)."""
        return int(self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM edits").fetchone()[0])

    # -- export -----------------------------------------------------------------------------
    def export_track(self, path: str | Path) -> Path:
        """Write the current track as a DLC ``.h5``/``.csv`` (atomically) for DLC / napari-deeplabcut."""
        try:
            return write_dlc(self.current_track(), path)
        except OSError as exc:
            raise CaseError(f"export to {path} failed ({exc.strerror or exc}); nothing was written") from None

    def export_edit_log(self, path: str | Path) -> Path:
        """Write the edit log as CSV, one row per changed point (atomically)."""
        lms = self._cur().landmarks
        path = Path(path)
        try:
            with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(["seq", "kind", "reverts", "author", "time", "frame", "landmark",
                            "old_x", "old_y", "old_status", "new_x", "new_y", "new_status"])
                for e in self.history():
                    for (f, j), o, n in zip(e.points, e.old, e.new, strict=True):
                        w.writerow([e.seq, e.kind, e.reverts or "", e.author, e.time, f, lms[j],
                                    "" if o[0] is None else o[0], "" if o[1] is None else o[1],
                                    PointStatus(o[2]).name.lower(), "" if n[0] is None else n[0],
                                    "" if n[1] is None else n[1], PointStatus(n[2]).name.lower()])
        except OSError as exc:
            raise CaseError(f"export to {path} failed ({exc.strerror or exc}); nothing was written") from None
        return path


def _apply(track: PoseTrack, points: list, values: list) -> None:
    if not len(points):
        return
    idx = np.asarray(points, dtype=int)
    vals = np.array([[np.nan if v[0] is None else v[0], np.nan if v[1] is None else v[1]] for v in values])
    track.xy[idx[:, 0], idx[:, 1]] = vals
    track.status[idx[:, 0], idx[:, 1]] = [v[2] for v in values]


def _probe_for_case(video: Path, n_frames: int, accept_frame_difference: bool) -> dict[str, Any]:
    """What a video holds, refusing one that does not decode or does not fit the pose track."""

    if not video.is_file():
        raise CaseError(f"video {video} does not exist")
    try:
        info = probe_video(video)
    except VideoError as exc:
        raise CaseError(f"video {video} cannot be linked: {exc}") from None
    out = {"frames": info.frame_count, "width": info.width, "height": info.height, "fps": round(info.fps, 4),
           "codec": info.codec, "rotation": info.rotation}
    if info.frame_count != n_frames:
        if not accept_frame_difference:
            raise VideoMismatchError(
                f"video {video} has {info.frame_count} frames but the pose track has {n_frames}: they do not belong "
                "together (link it anyway only if you know why: accept_frame_difference / --accept-frame-difference)")
        out["frame_difference_accepted"] = True
    return out


# -- opening and creating ---------------------------------------------------------------------

def _uri(path: Path, mode: str, immutable: bool = False) -> str:
    return f"file:{quote(path.as_posix())}?mode={mode}" + ("&immutable=1" if immutable else "")


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


def _inspect(path: Path) -> tuple[int, dict[str, str]]:
    """Check an existing case file without changing it: SQLite, only gmdesk's objects, a known schema
    version, intact. Returns (schema version, meta)."""
    try:
        conn = sqlite3.connect(_uri(path, "ro", immutable=not _writable(path)), uri=True, timeout=0.2)
    except sqlite3.Error as exc:
        raise CaseError(f"case file {path} cannot be opened: {exc}") from None
    try:
        try:
            objects = conn.execute("SELECT type, name, tbl_name FROM sqlite_master").fetchall()
        except sqlite3.DatabaseError as exc:
            msg = str(exc).lower()
            if "locked" in msg or "busy" in msg:
                raise CaseLockedError(_locked_message(path)) from None
            raise CaseError(f"{path} is not a gmdesk case file (not an SQLite database, or damaged: {exc})") from None
        tables = {n for t, n, _ in objects if t == "table"}
        if "meta" not in tables:
            raise CaseError(f"{path} is an SQLite database but not a gmdesk case file")
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except (sqlite3.Error, ValueError):
            raise CaseError(f"{path} is an SQLite database but not a gmdesk case file") from None
        if meta.get("format") != "gmdesk-case":
            raise CaseError(f"{path} is an SQLite database but not a gmdesk case file")
        raw = meta.get("schema_version", "")
        if not (isinstance(raw, str) and raw.isdigit() and int(raw) >= 1):
            raise CaseError(f"case file {path} is damaged: schema version {raw!r} is not a version number")
        version = int(raw)
        if version > SCHEMA_VERSION:
            raise CaseError(f"case file {path} was written by a newer gmdesk (schema {version}; this gmdesk reads up to "
                            f"{SCHEMA_VERSION}): update gmdesk to open it. The file was not changed.")
        expected = {t: cols for t, cols in EXPECTED_COLUMNS.items() if version >= 2 or t != "annotations"}
        if version < 2:
            expected = {t: [c for c in cols if c not in _V2_ADDED.get(t, ())] for t, cols in expected.items()}
        foreign = [f"{t} {n!r}" for t, n, _ in objects if t in ("trigger", "view")
                   or (t == "table" and n not in expected and n != "sqlite_sequence")
                   or (t == "index" and not n.startswith("sqlite_autoindex_"))]
        if foreign:
            raise CaseError(f"case file {path} contains objects gmdesk did not create ({', '.join(foreign[:3])}); "
                            "refusing to open it")
        for t, cols in expected.items():
            got = [r[1] for r in conn.execute(f"PRAGMA table_info({t})").fetchall()]
            if got != cols:
                raise CaseError(f"case file {path} is damaged: table {t!r} has columns {got}, expected {cols}")
        bad = conn.execute("PRAGMA quick_check").fetchone()[0]
        if bad != "ok":
            raise CaseError(f"case file {path} is damaged ({bad})")
        return version, meta
    except sqlite3.DatabaseError as exc:
        raise CaseError(f"case file {path} is damaged ({exc})") from None
    finally:
        conn.close()


def _connect(path: Path, create: bool) -> sqlite3.Connection:
    uri = _uri(path, "rwc" if create else "rw")
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=0.2, isolation_level="DEFERRED", check_same_thread=False)
    except sqlite3.Error as exc:
        raise CaseError(f"case file {path} cannot be opened: {exc}") from None
    try:
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise CaseError(f"case file {path}: cannot use a write-ahead log (journal mode {mode})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA trusted_schema = OFF")
        # take the exclusive lock now, so a second writer is refused at open, not mid-session
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        conn.close()
        msg = str(exc).lower()
        if "locked" in msg or "busy" in msg:
            raise CaseLockedError(_locked_message(path)) from exc
        if "not a database" in msg or "malformed" in msg:
            raise CaseError(f"{path} is not a gmdesk case file (not an SQLite database, or damaged)") from exc
        raise CaseError(f"case file {path} cannot be opened: {exc}") from exc
    return conn


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
        conn = _connect(tmp, create=True)
        with conn:
            conn.executescript(_SCHEMA_V2)
        case = Case(tmp, conn, author)
        case.path = p  # messages name the case being made, not its temporary file
        with case._writing("creating the case"):
            for k, v in {"format": "gmdesk-case", "schema_version": str(SCHEMA_VERSION), "created": _now(),
                         "created_by": case.author, "gmdesk_version": __version__,
                         "infant_id": infant_id or p.stem}.items():
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
    if not p.is_file():
        raise CaseError(f"case file {p} does not exist")
    try:
        with open(p, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                raise CaseError(f"{p} is not a gmdesk case file (not an SQLite database)")
    except OSError as exc:
        raise CaseError(f"case file {p} cannot be read ({exc.strerror or exc})") from None
    if read_only is None:
        read_only = not _writable(p)
    version, _ = _inspect(p)
    if read_only:
        if version != SCHEMA_VERSION:
            raise CaseError(f"case file {p} uses schema {version} and is read-only here: open it once where it can be "
                            f"written to bring it to schema {SCHEMA_VERSION}")
        try:
            conn = sqlite3.connect(_uri(p, "ro", immutable=not _writable(p)), uri=True, timeout=0.2,
                                   check_same_thread=False)
            conn.execute("PRAGMA trusted_schema = OFF")
        except sqlite3.Error as exc:
            raise CaseError(f"case file {p} cannot be opened read-only: {exc}") from None
        return Case(p, conn, author, read_only=True)
    conn = _connect(p, create=False)
    try:
        while version < SCHEMA_VERSION:
            with conn:
                detail = MIGRATIONS[version](conn)
                conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version + 1),))
                conn.execute("INSERT INTO events(kind, detail, author, time) VALUES (?, ?, ?, ?)",
                             ("migrate", json.dumps(detail), author or _user(), _now()))
            version += 1
    except sqlite3.Error as exc:
        conn.close()
        raise CaseError(f"case file {p} could not be brought to schema {SCHEMA_VERSION} ({exc}); it was not changed") from None
    except Exception:
        conn.close()
        raise
    _write_owner(p)
    return Case(p, conn, author)
