"""The case file's database: the schema and its migrations, the check of a file before anything is written,
and the connection (write-ahead log, ``synchronous=FULL``, SQLite's exclusive lock: one writer at a time).

A case file from elsewhere is untrusted: :func:`open_database` checks that it is an SQLite database holding
exactly the tables gmdesk creates (no triggers, views or other objects), its schema version, and its
integrity, before it connects for writing; a file from a newer gmdesk, a damaged one or a read-only one at
an old schema is refused and left byte-identical.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gmdesk.io.paths import check_regular, regular_file
from gmdesk.record.lock import locked_message
from gmdesk.record.store import CaseError, CaseLockedError, now, sha

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2
CASE_SUFFIX = ".gmcase"

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
#: The current schema (what create_case runs).
SCHEMA_SQL = ";\n".join(
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
                     (sha(row[1]), sha(row[2]), sha(row[3]), row[0]))
    for row in conn.execute("SELECT id, xy, status FROM cleaning").fetchall():
        conn.execute("UPDATE cleaning SET xy_sha256 = ?, status_sha256 = ? WHERE id = ?", (sha(row[1]), sha(row[2]), row[0]))
    return {"from": 1, "to": 2, "note": "array checksums computed at this migration: they protect the arrays from now on"}


MIGRATIONS[1] = _migrate_1_to_2


def _uri(path: Path, mode: str, immutable: bool = False) -> str:
    return f"file:{quote(path.as_posix())}?mode={mode}" + ("&immutable=1" if immutable else "")


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


def _schema_version(conn: sqlite3.Connection, path: Path, tables: set[str]) -> int:
    """The schema version of a gmdesk case file, refusing other databases and newer schemas."""
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
    return version


def _check_tables(conn: sqlite3.Connection, path: Path, objects: list[tuple[str, str, str]], version: int) -> None:
    """Refuse objects gmdesk did not create and tables whose columns differ from ``version``'s."""
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


def _inspect(path: Path) -> int:
    """Check an existing case file without changing it: SQLite, only gmdesk's objects, a known schema
    version, intact. Returns the schema version."""
    try:
        conn = sqlite3.connect(_uri(path, "ro", immutable=not _writable(path)), uri=True, timeout=0.2)
    except sqlite3.Error as exc:
        raise CaseError(f"case file {path} cannot be opened: {exc}") from None
    try:
        try:
            objects = conn.execute("SELECT type, name, tbl_name FROM sqlite_master").fetchall()
        except UnicodeDecodeError as exc:  # scribbled schema page: names that are not text
            raise CaseError(f"case file {path} is damaged (its schema is not readable text: {exc})") from None
        except sqlite3.DatabaseError as exc:
            msg = str(exc).lower()
            if "locked" in msg or "busy" in msg:
                raise CaseLockedError(locked_message(path)) from None
            raise CaseError(f"{path} is not a gmdesk case file (not an SQLite database, or damaged: {exc})") from None
        version = _schema_version(conn, path, {n for t, n, _ in objects if t == "table"})
        _check_tables(conn, path, objects, version)
        bad = conn.execute("PRAGMA quick_check").fetchone()[0]
        if bad != "ok":
            raise CaseError(f"case file {path} is damaged ({bad})")
        return version
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        raise CaseError(f"case file {path} is damaged ({exc})") from None
    finally:
        conn.close()


def connect(path: Path, create: bool) -> sqlite3.Connection:
    """Connect for writing (``create``: a new file): write-ahead log, ``synchronous=FULL``, and SQLite's
    exclusive lock taken at once, so a second writer is refused here with :class:`CaseLockedError`."""
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
            raise CaseLockedError(locked_message(path)) from exc
        if "not a database" in msg or "malformed" in msg:
            raise CaseError(f"{path} is not a gmdesk case file (not an SQLite database, or damaged)") from exc
        raise CaseError(f"case file {path} cannot be opened: {exc}") from exc
    return conn


def _migrate(conn: sqlite3.Connection, path: Path, version: int, author: str) -> None:
    """Bring a case from schema ``version`` to the current one, one transaction a step, each logged as an event."""
    try:
        while version < SCHEMA_VERSION:
            with conn:
                detail = MIGRATIONS[version](conn)
                conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version + 1),))
                conn.execute("INSERT INTO events(kind, detail, author, time) VALUES (?, ?, ?, ?)",
                             ("migrate", json.dumps(detail), author, now()))
            version += 1
    except sqlite3.Error as exc:
        conn.close()
        raise CaseError(f"case file {path} could not be brought to schema {SCHEMA_VERSION} ({exc}); it was not changed") from None
    except Exception:
        conn.close()
        raise


#: Meta keys that never change after a case is made: what "this case" is.
IDENTITY_KEYS = ("format", "case_uid", "created", "created_by")


def _identity(db: Path, immutable: bool) -> dict[str, str]:
    """The case's identity (:data:`IDENTITY_KEYS`) as the database file ``db`` says; ``immutable`` reads the main
    file alone (any ``-wal`` beside it ignored), else with its log replayed (``db`` must then be a private copy)."""
    conn = sqlite3.connect(_uri(db, "ro", immutable=immutable), uri=True, timeout=0.2)
    try:
        rows = conn.execute("SELECT key, value FROM meta").fetchall()
        return {str(k): str(v) for k, v in rows if k in IDENTITY_KEYS}
    finally:
        conn.close()


def _check_log(path: Path) -> Path | None:
    """A case with a write-ahead log beside it (a writer that crashed or still runs): the log is replayed into a
    private copy (the original is not touched) and the case's identity compared before and after; a log that
    changes who the case is belongs to another case and is refused. Returns the private copy's folder (the
    caller removes it, or opens the copy), or None when there is no log."""
    wal = path.with_name(path.name + "-wal")
    try:
        if os.stat(wal).st_size == 0:
            return None
    except FileNotFoundError:
        return None
    check_regular(wal, "case file's write-ahead log", CaseError)
    folder = Path(tempfile.mkdtemp(prefix="gmdesk-case-"))
    try:
        copy = folder / path.name
        shutil.copyfile(path, copy)
        shutil.copyfile(wal, folder / wal.name)
        try:
            before = _identity(path, immutable=True)
            after = _identity(copy, immutable=False)
        except sqlite3.Error as exc:
            raise CaseError(f"case file {path} or its write-ahead log {wal.name} cannot be read: {exc}") from None
        if before != after:
            changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            raise CaseError(f"case file {path}: the write-ahead log {wal.name} beside it belongs to another case (it "
                            f"changes the case's {', '.join(changed)}); refusing to read it. Move the log away only "
                            "if you know where it came from; the case file was not changed")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def _open_private(path: Path, folder: Path) -> sqlite3.Connection:
    """Open the private copy (in ``folder``, log replayed) of a read-only case, checked like the case itself;
    the copy is removed when the program ends."""
    atexit.register(shutil.rmtree, folder, True)
    copy = folder / path.name
    conn = sqlite3.connect(_uri(copy, "rw"), uri=True, timeout=0.2, check_same_thread=False)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the copy's own log, folded into the copy
        conn.close()
        version = _inspect(copy)
    except sqlite3.Error as exc:
        raise CaseError(f"case file {path} cannot be read with its write-ahead log: {exc}") from None
    if version != SCHEMA_VERSION:
        raise CaseError(f"case file {path} uses schema {version} and is read-only here: open it once where it can be "
                        f"written to bring it to schema {SCHEMA_VERSION}")
    logger.warning("case file %s is on a read-only disk with a write-ahead log from a writer that did not close it: "
                   "reading a private copy with the log replayed (%s)", path, copy)
    conn = sqlite3.connect(_uri(copy, "ro"), uri=True, timeout=0.2, check_same_thread=False)
    conn.execute("PRAGMA trusted_schema = OFF")
    return conn


def open_database(path: Path, author: str, read_only: bool | None) -> tuple[sqlite3.Connection, bool]:
    """Check an existing case file, then connect to it: read-only (``read_only``; default when the file or
    its folder is not writable) or for writing, brought to the current schema. Returns the connection and
    whether it is read-only."""
    try:
        with regular_file(path, "case file", CaseError) as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                raise CaseError(f"{path} is not a gmdesk case file (not an SQLite database)")
    except OSError as exc:
        raise CaseError(f"case file {path} cannot be read ({exc.strerror or exc})") from None
    if read_only is None:
        read_only = not _writable(path)
    private = _check_log(path)
    if private is not None and not _writable(path):
        # a read-only disk with a committed log from a crashed writer: SQLite's immutable mode would ignore the log
        # and hide acknowledged edits; its private copy (log replayed) is read instead
        return _open_private(path, private), True
    if private is not None:
        shutil.rmtree(private, ignore_errors=True)
    version = _inspect(path)
    if not read_only:
        conn = connect(path, create=False)
        _migrate(conn, path, version, author)
        return conn, False
    if version != SCHEMA_VERSION:
        raise CaseError(f"case file {path} uses schema {version} and is read-only here: open it once where it can be "
                        f"written to bring it to schema {SCHEMA_VERSION}")
    try:
        conn = sqlite3.connect(_uri(path, "ro", immutable=not _writable(path)), uri=True, timeout=0.2,
                               check_same_thread=False)
        conn.execute("PRAGMA trusted_schema = OFF")
    except sqlite3.Error as exc:
        raise CaseError(f"case file {path} cannot be opened read-only: {exc}") from None
    return conn, True
