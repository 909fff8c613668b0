import csv
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy.interpolate import Akima1DInterpolator

from gmdesk.core.posetrack import PointStatus
from gmdesk.io.dlc import read_dlc, write_dlc
from gmdesk.record.case import create_case, import_pose_file, open_case
from gmdesk.record.lock import lock_holder, owner_path
from gmdesk.record.store import CaseError, CaseLockedError, VideoMismatchError
from gmdesk.synthetic.cohorts import make_infant


@pytest.fixture
def track(skeleton):
    return make_infant("C1", 0, [3, 3], skeleton=skeleton, n_frames=900).track


@pytest.fixture
def case(tmp_path, track, skeleton):
    c = create_case(tmp_path / "c.gmcase", track, author="tester")
    c.clean(skeleton)
    yield c
    c.close()


def test_edits_replay_to_the_same_track_after_reopen(case, skeleton, tmp_path):
    lh, rf = skeleton.index("left_hand"), skeleton.index("right_foot")
    case.move(10, "left_hand", 123.5, 456.25)
    case.delete(11, "right_foot")
    case.copy_from_previous(12)
    case.interpolate_range("nose", 100, 120)
    live = case.current_track()
    assert tuple(live.xy[10, lh]) == (123.5, 456.25) and live.status[10, lh] == PointStatus.EDITED
    assert np.isnan(live.xy[11, rf]).all() and live.status[11, rf] == PointStatus.MISSING
    keep = np.arange(skeleton.n_landmarks) != rf  # copy-previous skips the point missing in frame 11
    assert np.array_equal(live.xy[12, keep], live.xy[11, keep]) and np.isfinite(live.xy[12, rf]).all()
    path = case.path
    case.close()
    with open_case(path) as again:
        replayed = again.current_track()
        assert np.array_equal(replayed.xy, live.xy, equal_nan=True)
        assert np.array_equal(replayed.status, live.status)
        # the raw track is never modified
        raw = again.raw_track()
        assert not np.array_equal(raw.xy[10, lh], live.xy[10, lh])
        assert [e.kind for e in again.history()] == ["move", "delete", "copy-from-previous", "interpolate-range"]
        assert again.history()[0].author == "tester"


def test_interpolate_range_is_makima_through_the_points_outside(case, skeleton):
    j = skeleton.index("left_knee")
    before = case.current_track()
    case.interpolate_range("left_knee", 200, 215)
    after = case.current_track()
    t = np.arange(before.n_frames, dtype=float)
    valid = np.isfinite(before.xy[:, j]).all(axis=1)
    valid[200:215] = False
    ref = Akima1DInterpolator(t[valid], before.xy[valid, j], axis=0, method="makima")(t[200:215])
    assert np.allclose(after.xy[200:215, j], ref)
    assert np.all(after.status[200:215, j] == PointStatus.IMPUTED)
    with pytest.raises(CaseError, match="both sides"):
        case.interpolate_range("left_knee", 0, 5)


def test_restore_puts_back_the_cleaned_value(case, skeleton):
    j = skeleton.index("pelvis")
    base = case.base_track()
    case.move(50, "pelvis", 1.0, 2.0)
    case.restore(50, "pelvis")
    cur = case.current_track()
    assert np.array_equal(cur.xy[50, j], base.xy[50, j]) and cur.status[50, j] == base.status[50, j]


def test_undo_redo_append_and_never_rewrite(case, skeleton):
    j = skeleton.index("left_hand")
    orig = case.current_track().xy[5, j].copy()
    a = case.move(5, "left_hand", 10, 10)
    b = case.move(5, "left_hand", 20, 20)
    assert case.undo_state() == ([a, b], [])
    u = case.undo()
    assert tuple(case.current_track().xy[5, j]) == (10, 10)
    case.undo()
    assert np.array_equal(case.current_track().xy[5, j], orig)
    assert case.undo_state() == ([], [b, a])
    case.redo()
    assert tuple(case.current_track().xy[5, j]) == (10, 10)
    c = case.move(6, "left_hand", 1, 1)  # a new edit clears the redo stack
    assert case.undo_state() == ([a, c], [])
    with pytest.raises(CaseError, match="nothing to redo"):
        case.redo()
    log = case.history()
    assert [e.kind for e in log] == ["move", "move", "undo", "undo", "redo", "move"]
    assert log[2].reverts == b and log[2].seq == u
    # the undo stack survives reopening
    path = case.path
    case.close()
    with open_case(path) as again:
        assert again.undo_state() == ([a, c], [])
        assert tuple(again.current_track().xy[5, j]) == (10, 10)


def test_exports_are_dlc_and_csv(case, skeleton, tmp_path):
    case.move(3, "nose", 11.0, 22.0)
    case.undo()
    case.move(4, "nose", 33.0, 44.0)
    out = case.export_track(tmp_path / "current.h5")
    back = read_dlc(out, skeleton)
    cur = case.current_track()
    assert np.array_equal(back.xy, cur.xy, equal_nan=True)
    log = case.export_edit_log(tmp_path / "edits.csv")
    rows = list(csv.DictReader(open(log)))
    assert [r["kind"] for r in rows] == ["move", "undo", "move"]
    assert rows[0]["landmark"] == "nose" and rows[0]["new_x"] == "11.0" and rows[1]["reverts"] == "1"
    assert rows[2]["new_status"] == "edited"


def test_import_pose_file_and_results(tmp_path, skeleton, track):
    pose = write_dlc(track, tmp_path / "in.h5")
    with import_pose_file(tmp_path / "imp.gmcase", pose, skeleton, infant_id="N7") as c:
        assert c.meta()["infant_id"] == "N7"
        assert np.array_equal(c.raw_track().xy, track.xy, equal_nan=True)
        rid = c.save_result("demo-cnn1d", {"verdict": "normal", "fraction_normal": 0.8}, [{"start": 0, "score": 0.1}])
        assert c.results()[0]["id"] == rid and c.results()[0]["verdict"]["verdict"] == "normal"
    with pytest.raises(CaseError, match="already exists"):
        create_case(tmp_path / "imp.gmcase", track)


def test_second_writer_is_refused(case):
    with pytest.raises(CaseLockedError, match=r"open in this program \(another window\) \(user .* process \d+"):
        open_case(case.path)


def test_bad_files_are_refused_and_left_unchanged(tmp_path, track):
    junk = tmp_path / "notes.gmcase"
    junk.write_text("this is not a database")
    with pytest.raises(CaseError, match="not a gmdesk case file"):
        open_case(junk)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE x(a)").connection.close()
    with pytest.raises(CaseError, match="not a gmdesk case file"):
        open_case(other)
    newer = tmp_path / "newer.gmcase"
    create_case(newer, track).close()
    con = sqlite3.connect(newer)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    digest = hashlib.sha256(newer.read_bytes()).hexdigest()
    with pytest.raises(CaseError, match="newer gmdesk.*schema 99"):
        open_case(newer)
    assert hashlib.sha256(newer.read_bytes()).hexdigest() == digest
    with pytest.raises(CaseError, match="does not exist"):
        open_case(tmp_path / "nope.gmcase")


def _clip(path, n, seed=0):
    from gmdesk.io.skeletons import load_skeleton
    from gmdesk.synthetic.cohorts import make_infant
    from gmdesk.synthetic.video import render_video

    inf = make_infant("V", 0, [seed, 1], skeleton=load_skeleton(), n_frames=n)
    return render_video(inf.truth_xy * 0.1, load_skeleton(), path, size=(192, 108), codec="MJPG")


def test_video_moved_or_changed_and_relink(tmp_path, track):
    video = _clip(tmp_path / "clip.avi", track.n_frames)
    with create_case(tmp_path / "v.gmcase", track, video=video) as c:
        chk = c.check_video()
        assert chk.status == "ok" and f"{track.n_frames} frames, matches the pose" in chk.message
        moved = tmp_path / "moved.avi"
        video.rename(moved)
        chk = c.check_video()
        assert chk.status == "missing" and "relink" in chk.message
        c.link_video(moved)  # same content: accepted
        assert c.check_video().status == "ok"
        _clip(moved, track.n_frames, seed=3)
        assert c.check_video().status == "changed"
        other = _clip(tmp_path / "reencoded.avi", track.n_frames, seed=4)
        with pytest.raises(VideoMismatchError, match="not the recording"):
            c.link_video(other)
        c.link_video(other, accept_different=True)
        assert [e["kind"] for e in c.events()].count("relink_video") == 2
        short = _clip(tmp_path / "short.avi", 62)
        with pytest.raises(VideoMismatchError, match=f"62 frames but the pose track has {track.n_frames}"):
            c.link_video(short, accept_different=True)
        text = tmp_path / "notes.mp4"
        text.write_text("not a video")
        with pytest.raises(CaseError, match="notes.mp4 cannot be linked"):
            c.link_video(text, accept_different=True)
        c.link_video(short, accept_different=True, accept_frame_difference=True)
        chk = c.check_video()
        assert chk.status == "ok" and "difference accepted" in chk.message
        assert c.events()[-1]["detail"]["frame_difference_accepted"] is True


CHILD = textwrap.dedent("""
    import sys
    from gmdesk.record.case import open_case
    c = open_case(sys.argv[1], author="child")
    i = 0
    while True:
        f = i % 800
        seq = c.move(f, "left_hand", float(i), float(-i))
        print(f"ack {seq} {i}", flush=True)
        i += 1
""")


def test_sigkill_mid_burst_loses_no_acknowledged_edit(tmp_path, track, skeleton):
    path = tmp_path / "kill.gmcase"
    create_case(path, track).close()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True)
    acked = {}
    try:
        for line in child.stdout:
            _, seq, i = line.split()
            acked[int(seq)] = int(i)
            if len(acked) == 5:
                # the writer holds the case, and the refusal names it (its owner note beside the case)
                with pytest.raises(CaseLockedError, match=rf"open in gmdesk \(user .* process {child.pid}, since"):
                    open_case(path)
            if len(acked) >= 300:
                break
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert len(acked) >= 300
    assert owner_path(path).is_file() and lock_holder(path) is None  # the killed writer's note is stale
    with open_case(path) as c:
        assert str(os.getpid()) in lock_holder(path)
        hist = {e.seq: e for e in c.history()}
        for seq, i in acked.items():
            assert hist[seq].new[0][:2] == (float(i), float(-i))
        assert c.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        cur = c.current_track()
        last_seq = max(hist)
        last = hist[last_seq]
        assert tuple(cur.xy[last.frame, skeleton.index("left_hand")]) == last.new[0][:2]
    assert not owner_path(path).exists()  # closing removes our note
    print(f"\nkill test: {len(acked)} acknowledged edits, {len(hist)} in the file after SIGKILL")


def test_case_cli_new_info_export(tmp_path, track, capsys):
    from gmdesk.cli.main import main

    pose = write_dlc(track, tmp_path / "p.h5")
    cpath = tmp_path / "cli.gmcase"
    assert main(["case", "new", str(cpath), str(pose), "--infant-id", "N9"]) == 0
    with open_case(cpath) as c:
        c.move(1, "nose", 5.0, 6.0)
    assert main(["case", "info", str(cpath)]) == 0
    out = capsys.readouterr().out
    assert "infant N9" in out and "edit log: 1 entries (1 undoable" in out
    assert main(["case", "export", str(cpath), "--track", str(tmp_path / "o.csv"), "--edits", str(tmp_path / "e.csv")]) == 0
    assert (tmp_path / "o.csv").is_file() and "nose" in (tmp_path / "e.csv").read_text()
    assert main(["case", "info", str(tmp_path / "p.h5")]) == 1
    assert "not a gmdesk case file" in capsys.readouterr().err


def test_set_points_is_one_undo_step(case, skeleton):
    before = case.current_track()
    case.set_points(20, {"nose": (1.0, 2.0), "left_hand": (3.0, 4.0), "pelvis": (float("nan"), float("nan"))})
    cur = case.current_track()
    assert tuple(cur.xy[20, skeleton.index("left_hand")]) == (3.0, 4.0)
    assert cur.status[20, skeleton.index("pelvis")] == PointStatus.MISSING
    case.undo()
    assert np.array_equal(case.current_track().xy[20], before.xy[20], equal_nan=True)
