"""Assessment case files: one infant recording = one SQLite file, crash-safe.

A case holds the video's path, size and SHA-256; the raw pose track exactly as imported or
inferred (never modified); the cleaning settings and cleaned track; an **append-only edit
log**; and results. The current track is derived: cleaned track (or raw, before any
cleaning) with the edit log replayed in order.

Every edit is committed in its own transaction the moment it is made (WAL journal,
``synchronous=FULL``): there is no "save" and nothing to lose on a crash. Undo and redo
append entries that re-apply the recorded old or new values, so the log is never rewritten
and the audit trail is complete; the undo/redo position is derived from the log and maps
one-to-one onto a GUI undo stack.

One writer at a time: the file is opened with SQLite's exclusive locking mode, so a second
program opening the same case is refused with :class:`CaseLockedError` (the operating system
drops the lock if the first program dies).
"""

from __future__ import annotations

import csv
import datetime as _dt
import getpass
import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.interpolate import Akima1DInterpolator

from gmdesk.cleaning import CleaningReport, CleaningSettings, clean_track
from gmdesk.errors import GmdeskError
from gmdesk.io.atomic import atomic_path
from gmdesk.io.dlc import write_dlc
from gmdesk.posetrack import PointStatus, PoseTrack
from gmdesk.skeleton import Skeleton

SCHEMA_VERSION = 1
CASE_SUFFIX = ".gmcase"
EDIT_KINDS = ("move", "delete", "restore", "interpolate-range", "copy-from-previous", "swap")
LOG_KINDS = EDIT_KINDS + ("undo", "redo")

_SCHEMA_V1 = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE video(id INTEGER PRIMARY KEY CHECK (id = 1), path TEXT NOT NULL, size INTEGER NOT NULL,
                   sha256 TEXT NOT NULL, linked_at TEXT NOT NULL);
CREATE TABLE raw_track(id INTEGER PRIMARY KEY CHECK (id = 1), frames INTEGER NOT NULL, landmarks TEXT NOT NULL,
                       fps REAL NOT NULL, xy BLOB NOT NULL, likelihood BLOB NOT NULL, status BLOB NOT NULL,
                       provenance TEXT NOT NULL, meta TEXT NOT NULL, imported_at TEXT NOT NULL);
CREATE TABLE cleaning(id INTEGER PRIMARY KEY AUTOINCREMENT, settings TEXT NOT NULL, report TEXT NOT NULL,
                      xy BLOB NOT NULL, status BLOB NOT NULL, provenance TEXT NOT NULL, author TEXT NOT NULL,
                      time TEXT NOT NULL);
CREATE TABLE edits(seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, landmark TEXT NOT NULL,
                   frame INTEGER NOT NULL, frame_stop INTEGER NOT NULL, points TEXT NOT NULL, old TEXT NOT NULL,
                   new TEXT NOT NULL, author TEXT NOT NULL, time TEXT NOT NULL, reverts INTEGER REFERENCES edits(seq));
CREATE TABLE results(id INTEGER PRIMARY KEY AUTOINCREMENT, model_id TEXT NOT NULL, model_path TEXT,
                     verdict TEXT NOT NULL, snippets TEXT NOT NULL, edit_seq INTEGER, author TEXT NOT NULL,
                     time TEXT NOT NULL);
CREATE TABLE events(id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, detail TEXT NOT NULL,
                    author TEXT NOT NULL, time TEXT NOT NULL);
"""
#: Migrations: MIGRATIONS[n] upgrades schema n to n + 1 (none yet).
MIGRATIONS: dict[int, str] = {}


class CaseError(GmdeskError):
    """A case file cannot be opened or used."""


class CaseLockedError(CaseError):
    """Another program has the case open for writing."""


class VideoMismatchError(CaseError):
    """The video file no longer matches the one the case was made from."""


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (service accounts)
        return "unknown"


def file_sha256(path: str | Path, chunk: int = 1 << 22) -> str:
    """SHA-256 of a file's content."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


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
    """Result of :meth:`Case.check_video`: ``status`` is ok / missing / changed / none."""

    status: str
    path: str | None
    message: str


def _blob(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a).tobytes()


def _nan_json(v: float) -> float | None:
    return None if not np.isfinite(v) else float(v)


class Case:
    """An open case file. Use :func:`create_case` / :func:`open_case`; close with :meth:`close`
    (or a ``with`` block)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, author: str | None) -> None:
        self.path = path
        self._conn = conn
        self.author = author or _user()
        self._raw: PoseTrack | None = None
        self._base: PoseTrack | None = None
        self._current: PoseTrack | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        """Close the file (everything is already committed)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None  # type: ignore[assignment]

    def __enter__(self) -> Case:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise CaseError(f"case {self.path} is closed")
        return self._conn

    # -- metadata ---------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        """The case's key/value metadata (schema version, infant id, created, ...)."""
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, key: str, value: str) -> None:
        """Set a metadata value (committed at once)."""
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, str(value)))

    def _event(self, kind: str, detail: dict) -> None:
        self.conn.execute("INSERT INTO events(kind, detail, author, time) VALUES (?, ?, ?, ?)",
                          (kind, json.dumps(detail), self.author, _now()))

    def events(self) -> list[dict]:
        """Case-level events (import, cleaning, relink, results) in order."""
        rows = self.conn.execute("SELECT id, kind, detail, author, time FROM events ORDER BY id").fetchall()
        return [{"id": r[0], "kind": r[1], "detail": json.loads(r[2]), "author": r[3], "time": r[4]} for r in rows]

    # -- video ------------------------------------------------------------------------------
    def link_video(self, video: str | Path, accept_different: bool = False) -> None:
        """Record (or relink) the case's video: path, size and SHA-256.

        Relinking to a file whose content differs from the recorded one is refused unless
        ``accept_different`` (e.g. a re-encoded copy the user vouches for); either way the
        change is recorded in the case's events.
        """
        p = Path(video).resolve()
        if not p.is_file():
            raise CaseError(f"video {p} does not exist")
        size, digest = p.stat().st_size, file_sha256(p)
        old = self.conn.execute("SELECT path, size, sha256 FROM video WHERE id = 1").fetchone()
        if old and old[2] != digest and not accept_different:
            raise VideoMismatchError(
                f"video {p} is not the recording this case was made from (content differs from {old[0]}); "
                "relink with accept_different=True only if it is the same recording re-encoded"
            )
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO video(id, path, size, sha256, linked_at) VALUES (1, ?, ?, ?, ?)",
                              (str(p), size, digest, _now()))
            self._event("link_video" if not old else "relink_video",
                        {"path": str(p), "size": size, "sha256": digest, "previous": list(old) if old else None})

    def check_video(self) -> VideoCheck:
        """Is the recorded video still at its path with the same content?"""
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
        return VideoCheck("ok", path, "video matches")

    # -- tracks -----------------------------------------------------------------------------
    def _set_raw(self, track: PoseTrack) -> None:
        with self.conn:
            self.conn.execute(
                "INSERT INTO raw_track(id, frames, landmarks, fps, xy, likelihood, status, provenance, meta, imported_at) "
                "VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (track.n_frames, json.dumps(list(track.landmarks)), track.fps, _blob(track.xy.astype("<f8")),
                 _blob(track.likelihood.astype("<f8")), _blob(track.status), json.dumps(track.provenance),
                 json.dumps(track.meta), _now()),
            )
            self._event("import_track", {"frames": track.n_frames, "source": track.meta.get("source")})

    def raw_track(self) -> PoseTrack:
        """The track as imported or inferred (never modified)."""
        if self._raw is None:
            row = self.conn.execute(
                "SELECT frames, landmarks, fps, xy, likelihood, status, provenance, meta FROM raw_track WHERE id = 1"
            ).fetchone()
            if row is None:
                raise CaseError(f"case {self.path} has no pose track")
            n, lms, fps, xy, lik, st, prov, meta = row
            lms = json.loads(lms)
            self._raw = PoseTrack(
                np.frombuffer(xy, "<f8").reshape(n, len(lms), 2).copy(),
                np.frombuffer(lik, "<f8").reshape(n, len(lms)).copy(),
                np.frombuffer(st, np.uint8).reshape(n, len(lms)).copy(), fps, tuple(lms), json.loads(prov), json.loads(meta),
            )
        return self._raw.copy()

    def clean(self, skeleton: Skeleton, settings: CleaningSettings | None = None) -> CleaningReport:
        """Clean the raw track and store the settings, report and cleaned track (edits stay on top)."""
        settings = settings or CleaningSettings()
        cleaned, rep = clean_track(self.raw_track(), skeleton, settings)
        from gmdesk.review import report_document

        doc = report_document(cleaned, rep, len(skeleton.mirror_pairs))
        with self.conn:
            self.conn.execute(
                "INSERT INTO cleaning(settings, report, xy, status, provenance, author, time) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (json.dumps(asdict(settings)), json.dumps(doc), _blob(cleaned.xy.astype("<f8")),
                 _blob(cleaned.status), json.dumps(cleaned.provenance), self.author, _now()),
            )
            self._event("clean", {"settings": asdict(settings), "skeleton": skeleton.name})
        self._base = self._current = None
        return rep

    def cleaning(self) -> tuple[dict, dict] | None:
        """Settings and report of the latest cleaning, or None."""
        row = self.conn.execute("SELECT settings, report FROM cleaning ORDER BY id DESC LIMIT 1").fetchone()
        return (json.loads(row[0]), json.loads(row[1])) if row else None

    def base_track(self) -> PoseTrack:
        """The latest cleaned track (the raw track before any cleaning): what edits apply to."""
        if self._base is None:
            base = self.raw_track()
            row = self.conn.execute("SELECT xy, status, provenance FROM cleaning ORDER BY id DESC LIMIT 1").fetchone()
            if row:
                base.xy = np.frombuffer(row[0], "<f8").reshape(base.xy.shape).copy()
                base.status = np.frombuffer(row[1], np.uint8).reshape(base.status.shape).copy()
                base.provenance = json.loads(row[2])
            self._base = base
        return self._base.copy()

    def current_track(self) -> PoseTrack:
        """Base track with every logged edit replayed in order (a copy)."""
        if self._current is None:
            t = self.base_track()
            n = 0
            for points, new in self.conn.execute("SELECT points, new FROM edits ORDER BY seq"):
                _apply(t, json.loads(points), json.loads(new))
                n += 1
            if n:
                t.record("replay_edits", {"case": str(self.path)}, edits=n)
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
        with self.conn:
            c = self.conn.execute(
                "INSERT INTO edits(kind, landmark, frame, frame_stop, points, old, new, author, time, reverts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, landmark, frame, frame_stop, json.dumps(points), json.dumps(old), json.dumps(new), self.author,
                 _now(), reverts),
            )
        _apply(cur, points, new)
        return int(c.lastrowid)

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
        """The whole edit log in order."""
        rows = self.conn.execute(
            "SELECT seq, kind, landmark, frame, frame_stop, points, old, new, author, time, reverts FROM edits ORDER BY seq"
        ).fetchall()
        return [EditEntry(r[0], r[1], r[2], r[3], r[4], [tuple(p) for p in json.loads(r[5])],
                          [tuple(v) for v in json.loads(r[6])], [tuple(v) for v in json.loads(r[7])], r[8], r[9], r[10])
                for r in rows]

    def undo_state(self) -> tuple[list[int], list[int]]:
        """``(undo_stack, redo_stack)`` of edit sequence numbers, derived from the log.

        The last element of each is the edit the next :meth:`undo` / :meth:`redo` acts on.
        """
        undo: list[int] = []
        redo: list[int] = []
        for seq, kind in self.conn.execute("SELECT seq, kind FROM edits ORDER BY seq"):
            if kind == "undo":
                redo.append(undo.pop())
            elif kind == "redo":
                undo.append(redo.pop())
            else:
                undo.append(seq)
                redo.clear()
        return undo, redo

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
                    model_path: str | None = None) -> int:
        """Store an assessment (verdict + per-snippet scores) with the edit position it was made at."""
        last = self.conn.execute("SELECT MAX(seq) FROM edits").fetchone()[0]
        with self.conn:
            c = self.conn.execute(
                "INSERT INTO results(model_id, model_path, verdict, snippets, edit_seq, author, time) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (model_id, model_path, json.dumps(verdict), json.dumps(snippets), last, self.author, _now()),
            )
            self._event("result", {"model_id": model_id, "result_id": c.lastrowid})
        return int(c.lastrowid)

    def results(self) -> list[dict[str, Any]]:
        """Stored assessments, oldest first."""
        rows = self.conn.execute(
            "SELECT id, model_id, model_path, verdict, snippets, edit_seq, author, time FROM results ORDER BY id").fetchall()
        return [{"id": r[0], "model_id": r[1], "model_path": r[2], "verdict": json.loads(r[3]),
                 "snippets": json.loads(r[4]), "edit_seq": r[5], "author": r[6], "time": r[7]} for r in rows]

    # -- export -----------------------------------------------------------------------------
    def export_track(self, path: str | Path) -> Path:
        """Write the current track as a DLC ``.h5``/``.csv`` (atomically) for DLC / napari-deeplabcut."""
        return write_dlc(self.current_track(), path)

    def export_edit_log(self, path: str | Path) -> Path:
        """Write the edit log as CSV, one row per changed point (atomically)."""
        lms = self._cur().landmarks
        path = Path(path)
        with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["seq", "kind", "reverts", "author", "time", "frame", "landmark",
                        "old_x", "old_y", "old_status", "new_x", "new_y", "new_status"])
            for e in self.history():
                for (f, j), o, n in zip(e.points, e.old, e.new, strict=True):
                    w.writerow([e.seq, e.kind, e.reverts or "", e.author, e.time, f, lms[j],
                                "" if o[0] is None else o[0], "" if o[1] is None else o[1], PointStatus(o[2]).name.lower(),
                                "" if n[0] is None else n[0], "" if n[1] is None else n[1], PointStatus(n[2]).name.lower()])
        return path


def _apply(track: PoseTrack, points: list, values: list) -> None:
    if not points:
        return
    idx = np.asarray(points, dtype=int)
    vals = np.array([[np.nan if v[0] is None else v[0], np.nan if v[1] is None else v[1]] for v in values])
    track.xy[idx[:, 0], idx[:, 1]] = vals
    track.status[idx[:, 0], idx[:, 1]] = [v[2] for v in values]


# -- opening and creating ---------------------------------------------------------------------

def _connect(path: Path, create: bool) -> sqlite3.Connection:
    uri = f"file:{path.as_posix()}?mode={'rwc' if create else 'rw'}"
    conn = sqlite3.connect(uri, uri=True, timeout=0.2, isolation_level="DEFERRED", check_same_thread=False)
    try:
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise CaseError(f"case file {path}: cannot use a write-ahead log (journal mode {mode})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        # take the exclusive lock now, so a second writer is refused at open, not mid-session
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        conn.close()
        msg = str(exc).lower()
        if "locked" in msg or "busy" in msg:
            raise CaseLockedError(f"case file {path} is open in another program (or another window); "
                                  "close it there first") from exc
        if "not a database" in msg or "malformed" in msg:
            raise CaseError(f"{path} is not a gmdesk case file (not an SQLite database, or damaged)") from exc
        raise CaseError(f"case file {path} cannot be opened: {exc}") from exc
    return conn


def create_case(path: str | Path, track: PoseTrack, video: str | Path | None = None, infant_id: str | None = None,
                author: str | None = None) -> Case:
    """Create a new case file from a pose track (and optionally its video). Refuses to overwrite."""
    p = Path(path)
    if p.exists():
        raise CaseError(f"case file {p} already exists; open it instead")
    p.parent.mkdir(parents=True, exist_ok=True)
    conn = _connect(p, create=True)
    try:
        with conn:
            conn.executescript(_SCHEMA_V1)
        from gmdesk import __version__

        case = Case(p, conn, author)
        with conn:
            for k, v in {"format": "gmdesk-case", "schema_version": str(SCHEMA_VERSION), "created": _now(),
                         "created_by": case.author, "gmdesk_version": __version__,
                         "infant_id": infant_id or p.stem}.items():
                conn.execute("INSERT INTO meta(key, value) VALUES (?, ?)", (k, v))
        case._set_raw(track)
        if video is not None:
            case.link_video(video)
        return case
    except Exception:
        conn.close()
        p.unlink(missing_ok=True)
        for extra in (p.with_name(p.name + "-wal"), p.with_name(p.name + "-shm")):
            extra.unlink(missing_ok=True)
        raise


def import_pose_file(case_path: str | Path, pose_file: str | Path, skeleton: Skeleton, video: str | Path | None = None,
                     mapping: dict | str | Path | None = None, fps: float | None = None,
                     individual: str | None = None, infant_id: str | None = None, author: str | None = None) -> Case:
    """Create a case from a DLC pose file (or gmdesk ``.npz`` track)."""
    from gmdesk.cohort import load_track

    track = load_track(pose_file, skeleton, mapping, fps, individual)
    return create_case(case_path, track, video, infant_id, author)


def open_case(path: str | Path, author: str | None = None) -> Case:
    """Open an existing case for writing.

    Raises
    ------
    CaseError
        Not a case file, or a case from a newer gmdesk (schema version higher than this one).
    CaseLockedError
        Another program has it open.
    """
    p = Path(path)
    if not p.is_file():
        raise CaseError(f"case file {p} does not exist")
    with open(p, "rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise CaseError(f"{p} is not a gmdesk case file (not an SQLite database)")
    conn = _connect(p, create=False)
    try:
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError:
            raise CaseError(f"{p} is an SQLite database but not a gmdesk case file") from None
        if meta.get("format") != "gmdesk-case":
            raise CaseError(f"{p} is an SQLite database but not a gmdesk case file")
        version = int(meta.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise CaseError(f"case file {p} was written by a newer gmdesk (schema {version}; this gmdesk reads up to "
                            f"{SCHEMA_VERSION}): update gmdesk to open it. The file was not changed.")
        while version < SCHEMA_VERSION:
            with conn:
                conn.executescript(MIGRATIONS[version])
                conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version + 1),))
            version += 1
        bad = conn.execute("PRAGMA quick_check").fetchone()[0]
        if bad != "ok":
            raise CaseError(f"case file {p} is damaged ({bad})")
    except Exception:
        conn.close()
        raise
    return Case(p, conn, author)
