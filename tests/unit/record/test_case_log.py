"""A case never shows stale or foreign data: a committed write-ahead log on read-only media is read (through a
private copy), and a log that belongs to another case is refused.

Read-only media are simulated by making ``gmdesk.record.schema._writable`` answer False (the test runs as root, for
whom a 0o555 folder is still writable); that is the very test the code takes to choose its read-only path."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from gmdesk.io.dlc import write_dlc
from gmdesk.io.skeletons import load_skeleton
from gmdesk.record import schema
from gmdesk.record.case import import_pose_file, open_case
from gmdesk.record.store import CaseError
from gmdesk.synthetic.cohorts import make_infant


def _case(folder: Path, name: str, seed: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pose = write_dlc(make_infant(name, 0, [seed, 1], n_frames=90).track, folder / f"{name}.h5")
    p = folder / f"{name}.gmcase"
    import_pose_file(p, pose, load_skeleton(), infant_id=name).close()
    return p


def _crashed_copy(case: Path, dest: Path, change) -> Path:
    """The case as a crashed writer leaves it: ``change`` committed in the log, not yet in the main file (copied
    while the writer still holds it open)."""
    dest.mkdir(parents=True, exist_ok=True)
    with open_case(case) as c:
        change(c)
        shutil.copyfile(case, dest / case.name)
        shutil.copyfile(f"{case}-wal", dest / f"{case.name}-wal")
    return dest / case.name


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_read_only_case_with_a_committed_log_shows_the_acknowledged_change(tmp_path, monkeypatch):
    case = _case(tmp_path / "work", "A", 1)
    crashed = _crashed_copy(case, tmp_path / "dvd", lambda c: c.set_patient_field("site", "Ward 7"))
    # what SQLite's immutable mode shows: the main file alone, without the acknowledged change
    con = sqlite3.connect(f"file:{crashed}?mode=ro&immutable=1", uri=True)
    assert "Ward 7" not in str(con.execute("SELECT * FROM annotations").fetchall())
    con.close()
    before = _digest(crashed), _digest(Path(f"{crashed}-wal"))
    monkeypatch.setattr(schema, "_writable", lambda path: False)
    with open_case(crashed) as c:
        assert c.read_only
        assert c.patient().get("site") == "Ward 7"
    assert (_digest(crashed), _digest(Path(f"{crashed}-wal"))) == before  # the media are not written to


def test_a_log_from_another_case_is_refused(tmp_path, monkeypatch):
    a = _case(tmp_path / "a", "A", 1)
    b = _case(tmp_path / "b", "B", 2)
    crashed_a = _crashed_copy(a, tmp_path / "crash", lambda c: c.set_patient_field("site", "Clinic of A"))
    shutil.copyfile(f"{crashed_a}-wal", f"{b}-wal")  # A's log left beside B
    before = _digest(b)
    for read_only in (True, None):
        with pytest.raises(CaseError, match=r"B.gmcase: the write-ahead log B.gmcase-wal beside it belongs to another"):
            open_case(b, read_only=read_only)
    assert _digest(b) == before
    monkeypatch.setattr(schema, "_writable", lambda path: False)
    with pytest.raises(CaseError, match="belongs to another case"):
        open_case(b)
    # the case's own log is read as before
    Path(f"{b}-wal").unlink()
    with open_case(b, read_only=True) as c:
        assert c.patient().get("site") != "Clinic of A"
