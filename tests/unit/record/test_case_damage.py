"""Damaged and hostile case files: a clear error naming the file and the problem, never a traceback,
and the file is never modified."""

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from gmdesk.cli.main import main
from gmdesk.io.dlc import write_dlc
from gmdesk.record.case import create_case, import_pose_file, open_case
from gmdesk.record.store import CaseError
from gmdesk.synthetic.cohorts import make_infant


def sha(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()


@pytest.fixture(scope="module")
def good(tmp_path_factory, skeleton):
    d = tmp_path_factory.mktemp("good")
    track = make_infant("D1", 0, [9, 9], skeleton=skeleton, n_frames=600).track
    with create_case(d / "good.gmcase", track, author="tester") as c:
        c.clean(skeleton)
        c.move(10, "nose", 100.0, 200.0)
        c.move(11, "nose", 101.0, 201.0)
        c.undo()
        c.save_result("m", {"verdict": "normal"}, [{"start_frame": 0, "p_abnormal": 0.2}])
        c.annotate("patient", {"field": "reviewer"}, {"value": "Dr A"})
    return d / "good.gmcase"


def damaged(good, tmp_path, sql=None, params=(), raw=None):
    p = tmp_path / "damaged.gmcase"
    shutil.copy(good, p)
    if sql:
        con = sqlite3.connect(p)
        con.execute(sql, params)
        con.commit()
        con.close()
    if raw:
        with open(p, "r+b") as fh:
            raw(fh)
    return p


@pytest.mark.parametrize("name, sql, params, message", [
    ("out-of-range frame", "UPDATE edits SET points = '[[99999, 1]]' WHERE seq = 1", (),
     r"edit 1 is damaged \(point \[99999, 1\] outside"),
    ("orphaned undo", "INSERT INTO edits(kind, landmark, frame, frame_stop, points, old, new, author, time, reverts) "
                      "VALUES ('undo', 'nose', 1, 2, '[]', '[]', '[]', 'x', 't', 77)", (), r"an undo of edit 77"),
    ("bad JSON", "UPDATE results SET verdict = '{not json' WHERE id = 1", (), r"result 1 is not valid JSON"),
    ("bad edit JSON", "UPDATE edits SET new = 'xx' WHERE seq = 2", (), r"edit 2 is not valid JSON"),
    ("schema version 0", "UPDATE meta SET value = '0' WHERE key = 'schema_version'", (), r"schema version '0' is not a version"),
    ("schema version text", "UPDATE meta SET value = 'two' WHERE key = 'schema_version'", (), r"schema version 'two'"),
    ("truncated blob", "UPDATE raw_track SET xy = substr(xy, 1, 100)", (), r"raw_track.xy does not match its checksum"),
    ("trigger", "CREATE TRIGGER wipe AFTER INSERT ON edits BEGIN DELETE FROM edits WHERE seq = NEW.seq; END", (),
     r"contains objects gmdesk did not create \(trigger 'wipe'\); refusing to open it"),
    ("extra table", "CREATE TABLE payload(x)", (), r"objects gmdesk did not create \(table 'payload'\)"),
    ("unknown status", "UPDATE edits SET new = '[[1.0, 2.0, 42]]' WHERE seq = 1", (), r"edit 1 is damaged \(value"),
    ("NaN value", "UPDATE edits SET new = '[[NaN, 2.0, 4]]' WHERE seq = 1", (), r"edit 1 is not valid JSON"),
])
def test_damaged_rows_give_a_clear_error_and_the_file_is_unchanged(good, tmp_path, capsys, name, sql, params, message):
    p = damaged(good, tmp_path, sql, params)
    before = sha(p)
    with pytest.raises(CaseError, match=rf"damaged\.gmcase.*{message}"):
        with open_case(p) as c:
            c.current_track()
            c.results()
    assert main(["case", "info", str(p)]) == 1
    err = capsys.readouterr().err
    assert "damaged.gmcase" in err and "Traceback" not in err, (name, err)
    code = main(["case", "export", str(p), "--edits", str(tmp_path / "e.csv")])  # may not need the damaged part
    err = capsys.readouterr().err
    assert code in (0, 1) and "Traceback" not in err and (code == 0 or not (tmp_path / "e.csv").exists())
    assert sha(p) == before, name


def test_bit_rot_inside_a_track_blob_is_found(good, tmp_path):
    """Flipped bytes inside an array pass SQLite's own checks; the per-array SHA-256 finds them."""
    con = sqlite3.connect(good)
    blob = bytearray(con.execute("SELECT xy FROM cleaning ORDER BY id DESC LIMIT 1").fetchone()[0])
    con.close()
    blob[800:808] = b"\x00\x00\x00\x00\x00\x00\xf0\x7f"  # one coordinate becomes +inf
    p = damaged(good, tmp_path, "UPDATE cleaning SET xy = ?", (bytes(blob),))
    before = sha(p)
    with open_case(p) as c:
        with pytest.raises(CaseError, match=r"damaged: cleaning 1 xy does not match its checksum"):
            c.current_track()
    assert sha(p) == before


def test_flipped_bytes_in_the_schema_pages(good, tmp_path, capsys):
    def scribble(fh):  # page 1 holds the schema; its records sit at the end of the page
        fh.seek(16)
        size = int.from_bytes(fh.read(2), "big")
        fh.seek(size - 900)
        fh.write(os.urandom(800))

    p = damaged(good, tmp_path, raw=scribble)
    before = sha(p)
    with pytest.raises(CaseError, match=r"damaged\.gmcase"):
        open_case(p)
    assert main(["case", "info", str(p)]) == 1 and "Traceback" not in capsys.readouterr().err
    assert sha(p) == before


def test_schema_names_that_are_not_text(good, tmp_path, capsys):
    """A scribbled schema page can leave object names that are not UTF-8 (SQLite then names them in its error, which
    Python cannot decode): a damaged case, never a decode error."""
    p = tmp_path / "damaged.gmcase"
    shutil.copy(good, p)
    con = sqlite3.connect(p)
    con.execute("PRAGMA writable_schema = ON")
    con.execute("UPDATE sqlite_master SET name = CAST(x'c328ff' AS TEXT) WHERE name = 'meta'")
    con.commit()
    con.close()
    before = sha(p)
    with pytest.raises(CaseError, match=r"damaged\.gmcase is damaged \(its schema is not readable text"):
        open_case(p)
    assert main(["case", "info", str(p)]) == 1 and "Traceback" not in capsys.readouterr().err
    assert sha(p) == before


def test_read_only_case_can_be_read_but_not_changed(good, tmp_path, monkeypatch):
    p = damaged(good, tmp_path)
    before = sha(p)
    monkeypatch.setattr("gmdesk.record.schema._writable", lambda path: False)  # a read-only share or disk
    with open_case(p) as c:
        assert c.read_only and c.current_track().n_frames == 600 and c.results()[0]["verdict"]["verdict"] == "normal"
        with pytest.raises(CaseError, match="open read-only .*: the move edit is not possible"):
            c.move(1, "nose", 1.0, 1.0)
        with pytest.raises(CaseError, match="read-only"):
            c.annotate("patient", {"field": "reviewer"}, {"value": "B"})
    assert sha(p) == before
    monkeypatch.undo()
    if os.geteuid() != 0:  # a real read-only folder (root ignores permissions)
        d = tmp_path / "ro"
        d.mkdir()
        q = d / "c.gmcase"
        shutil.copy(good, q)
        d.chmod(0o555)
        try:
            with open_case(q) as c:
                assert c.read_only and c.current_track().n_frames == 600
        finally:
            d.chmod(0o755)


def test_disk_full_loses_nothing_saved(good, tmp_path):
    p = damaged(good, tmp_path)
    with open_case(p) as c:
        seq = c.move(20, "nose", 5.0, 6.0)
        pages = c.conn.execute("PRAGMA page_count").fetchone()[0]
        c.conn.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(CaseError, match=r"was not saved .*disk is full.*everything saved before is intact"):
            for i in range(2000):
                c.set_points(30 + i % 500, {lm: (float(i), float(i)) for lm in c.current_track().landmarks})
    with open_case(p) as c:
        assert any(e.seq == seq for e in c.history())
        assert c.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_version_1_case_is_migrated_with_checksums(good, tmp_path):
    """Cases written before schema 2 open, gain array checksums and the annotations table."""
    from gmdesk.record.schema import _TABLES_V1

    p = tmp_path / "v1.gmcase"
    src = sqlite3.connect(good)
    dst = sqlite3.connect(p)
    dst.execute("PRAGMA journal_mode = WAL")
    for t, sql in _TABLES_V1.items():
        dst.execute(sql)
        cols = [r[1] for r in dst.execute(f"PRAGMA table_info({t})")]
        for row in src.execute(f"SELECT {', '.join(cols)} FROM {t}"):
            dst.execute(f"INSERT INTO {t}({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", row)
    dst.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    dst.commit()
    dst.close()
    src.close()
    with open_case(p) as c:
        assert c.meta()["schema_version"] == "2" and c.events()[-1]["kind"] == "migrate"
        assert c.current_track().n_frames == 600 and c.annotations() == []
    blob = sqlite3.connect(p).execute("SELECT xy_sha256 FROM raw_track").fetchone()[0]
    assert len(blob) == 64


KILLER = """
import sys
from gmdesk.cli.main import main
sys.exit(main(["case", "new", sys.argv[1], sys.argv[2], "--video", sys.argv[3], "--accept-frame-difference"]))
"""


def test_a_kill_while_case_new_hashes_a_large_video_leaves_nothing(tmp_path, skeleton):
    from gmdesk.synthetic.video import render_video

    inf = make_infant("K", 0, [3, 2], skeleton=skeleton, n_frames=400)
    pose = write_dlc(inf.track, tmp_path / "k.h5")
    video = render_video(inf.truth_xy * 0.1, skeleton, tmp_path / "k.avi", size=(192, 108), codec="MJPG")
    big = tmp_path / "big.avi"
    shutil.copy(video, big)
    with open(big, "r+b") as fh:
        fh.truncate(6 * 1024**3)  # a large (sparse) recording: hashing it takes a while
    target = tmp_path / "k.gmcase"
    child = subprocess.Popen([sys.executable, "-c", KILLER, str(target), str(pose), str(big)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t0 = time.time()
    while not list(tmp_path.glob(".k.*.gmcase.part")) and time.time() - t0 < 60 and child.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)
    assert child.poll() is None, child.stderr.read().decode()[-2000:]
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not target.exists()
    with import_pose_file(target, pose, skeleton, video=video) as c:  # nothing blocks making it again
        assert c.check_video().status == "ok"


def test_app_session_open_failure_leaves_no_case_and_no_lock(tmp_path, skeleton):
    from app.session import Session

    inf = make_infant("S", 0, [3, 5], skeleton=skeleton, n_frames=400)
    pose = write_dlc(inf.track, tmp_path / "s.h5")
    fake = tmp_path / "s.mp4"
    fake.write_text("a text file named .mp4")
    with pytest.raises(Exception, match=r"s\.mp4"):
        Session.open(pose, fake, skeleton)
    assert not (tmp_path / "s.gmcase").exists() and not list(tmp_path.glob("*.part"))
    s = Session.open(pose, None, skeleton)  # and then it opens normally
    assert s.case.path.name == "s.gmcase"
    s.close()
    assert json.loads(json.dumps({"ok": True}))["ok"] and np.isfinite(1.0)
