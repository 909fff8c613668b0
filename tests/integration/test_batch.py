"""``gmdesk batch`` on a 2-worker LocalCluster (processes): a worker killed mid-run, resume, a damaged item,
cancel, and one item against the single-recording commands run by hand.

The video items (pose with the tiny test DeepLabCut model) are in a slow test (the model trains in 1-3 min):
``pytest -m slow tests/integration/test_batch.py``; skipped without DeepLabCut.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest

from gmdesk.batch.items import BatchSettings, read_batch_table
from gmdesk.batch.runner import batch_client, run_batch
from gmdesk.cli.main import main
from gmdesk.errors import CancelledError
from gmdesk.io.hashing import file_sha256
from gmdesk.io.resources import bundle_path
from gmdesk.pipeline.cleaning_settings import CleaningSettings
from gmdesk.record.case import open_case
from gmdesk.record.report import collect_report
from gmdesk.screening.verdict import InfantVerdict
from gmdesk.synthetic.cohorts import generate_cohort
from gmdesk.synthetic.settings import SynthSettings

BUNDLE = bundle_path()


def read_rows(table: Path) -> dict[str, dict[str, str]]:
    with open(table, newline="", encoding="utf-8") as fh:
        return {r["item"]: r for r in csv.DictReader(fh)}


def executing_keys(dask_worker) -> list[str]:
    """The keys a worker is running right now (run on the worker by ``client.run``)."""
    return [str(ts.key) for ts in dask_worker.state.executing]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    """Six synthetic infants of 50-60 s (3 normal, 3 abnormal) as DLC pose files."""
    return generate_cohort(tmp_path_factory.mktemp("batch-cohort"), n_normal=3, n_abnormal=3, n_external_normal=0,
                           n_external_abnormal=0, seed=21, settings=SynthSettings(duration_s=(50.0, 60.0)), truth=False)


@pytest.fixture(scope="module")
def client():
    with batch_client(workers=2, retries=2, dashboard=False) as c:
        yield c


@pytest.fixture(scope="module")
def first_run(cohort, client, tmp_path_factory):
    """The batch of six, with one worker process killed (SIGKILL) while it runs an item, after the first item
    finished."""
    out = tmp_path_factory.mktemp("batch-out")
    killed: dict[str, object] = {}

    def started(key: str) -> bool:
        log = out / key.split("-")[1] / "item.log"
        return log.is_file() and " process " in log.read_text()

    def progress(done: int, total: int, message: str) -> None:
        if done >= 1 and not killed:  # a worker whose item has started (its log says so)
            running = {addr: keys for addr, keys in client.run(executing_keys).items() if keys and started(keys[0])}
            if running:
                addr, keys = next(iter(running.items()))
                killed["pid"] = client.run(os.getpid, workers=[addr])[addr]
                killed["key"] = keys[0]
                os.kill(killed["pid"], signal.SIGKILL)

    settings = BatchSettings(out=out, bundle=BUNDLE)
    summary = run_batch(read_batch_table(cohort), settings, client, retries=2, progress=progress)
    return out, summary, killed


def test_a_worker_killed_mid_run_and_every_item_is_done(first_run):
    out, summary, killed = first_run
    assert killed, "no worker was running an item when the first one finished"
    assert [r["status"] for r in summary.rows] == ["done"] * 6
    rows = read_rows(out / "batch.csv")
    assert sorted(rows) == ["A04", "A05", "A06", "N01", "N02", "N03"]
    for item, r in rows.items():
        assert r["status"] == "done" and r["error"] == "" and float(r["seconds"]) > 0
        assert r["verdict"].split(" ")[0] in ("NORMAL", "ABNORMAL", "INDETERMINATE") and r["basis"]
        assert r["quality"].startswith(("scorable", "NOT SCORABLE"))
        done = json.loads((out / item / "done.json").read_text())
        assert done["inputs"]["pose_file"]["sha256"] == file_sha256(Path(done["inputs"]["pose_file"]["path"]))
        for name in done["outputs"]:
            assert (out / item / name).is_file(), name
        assert not list((out / item).glob(".*.part"))
    # the item whose worker was killed was started twice and finished on the second try
    item = str(killed["key"]).split("-")[1]
    starts = [line for line in (out / item / "item.log").read_text().splitlines() if " process " in line]
    assert len(starts) == 2, starts
    assert rows[item]["status"] == "done"


def test_a_rerun_skips_every_item_and_changes_nothing(first_run, cohort, client):
    out, _, _ = first_run
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name not in ("item.log", "batch.csv")}
    summary = run_batch(read_batch_table(cohort), BatchSettings(out=out, bundle=BUNDLE), client)
    assert [r["status"] for r in summary.rows] == ["skipped"] * 6
    rows = read_rows(out / "batch.csv")
    first = {r["item"]: r for r in first_run[1].rows}
    for item, r in rows.items():  # the findings of the run that made them
        assert (r["verdict"], r["basis"], r["quality"]) == (first[item]["verdict"], first[item]["basis"], first[item]["quality"])
    after = {p: p.stat().st_mtime_ns for p in before}
    assert after == before


def test_a_damaged_item_fails_alone_with_its_reason(first_run, cohort, client, tmp_path, capsys):
    """Through the command line, joining the running cluster (--scheduler): the six are skipped, a truncated
    pose file and a missing one fail with their reasons, exit code 1."""
    out, _, _ = first_run
    table = tmp_path / "cohort.csv"
    damaged = tmp_path / "X07.h5"
    damaged.write_bytes((cohort.parent / "N01.h5").read_bytes()[:5000])
    with open(cohort, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["pose_file"] = str(cohort.parent / r["pose_file"])
    rows += [dict(rows[0], infant_id="X07", pose_file=str(damaged)), dict(rows[0], infant_id="X08", pose_file="gone.h5")]
    with open(table, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    rc = main(["batch", str(table), "-o", str(out), "--bundle", str(BUNDLE), "--scheduler", client.scheduler.address])
    err = capsys.readouterr().err
    assert rc == 1 and "2 of 8 items failed" in err
    got = read_rows(out / "batch.csv")
    assert [got[i]["status"] for i in ("N01", "N02", "N03", "A04", "A05", "A06")] == ["skipped"] * 6
    assert got["X07"]["status"] == "failed" and str(damaged) in got["X07"]["error"]
    assert "internal error" not in got["X07"]["error"]
    assert got["X08"]["status"] == "failed" and "gone.h5" in got["X08"]["error"] and "does not exist" in got["X08"]["error"]
    assert not (out / "X07" / "done.json").exists() and not (out / "X07" / "X07.gmcase").exists()
    assert "FAILED" in (out / "X07" / "item.log").read_text()


def test_cancel_keeps_finished_items_and_lists_the_rest(cohort, client, tmp_path):
    out = tmp_path / "out"
    seen: list[int] = []

    def progress(done: int, total: int, message: str) -> None:
        seen.append(done)

    with pytest.raises(CancelledError):
        run_batch(read_batch_table(cohort), BatchSettings(out=out, bundle=BUNDLE), client, progress=progress,
                  cancel=lambda: bool(seen) and seen[-1] >= 1)
    rows = read_rows(out / "batch.csv")
    statuses = [r["status"] for r in rows.values()]
    assert "done" in statuses and "cancelled" in statuses and set(statuses) <= {"done", "cancelled"}
    for item, r in rows.items():
        if r["status"] == "done":
            assert (out / item / "done.json").is_file()


def _report_text(case: Path) -> list[tuple[str, str]]:
    """The report's text but the time each assessment was made."""
    with open_case(case, read_only=True) as c:
        lines = collect_report(c).text_lines()
    return [(h, re.sub(r"^Assessed \S+ by", "Assessed by", t)) for h, t in lines]


def test_an_item_equals_the_commands_by_hand(first_run, cohort, tmp_path):
    """gmdesk clean / case new / case assess / report / assess on one pose file by hand give the batch's numbers."""
    out, _, _ = first_run
    item = out / "A04"
    pose = cohort.parent / "A04.h5"
    hand = tmp_path / "hand"
    case = hand / "A04.gmcase"
    assert main(["clean", str(pose), "-o", str(hand / "clean.npz"), "--report", str(hand / "clean.json")]) == 0
    assert main(["case", "new", str(case), str(pose), "--infant-id", "A04", "--fps", "29.97"]) == 0
    assert main(["case", "assess", str(case), "--bundle", str(BUNDLE)]) == 0
    assert main(["report", str(case), "-o", str(hand / "A04.report.pdf")]) == 0
    assert main(["assess", str(pose), "--bundle", str(BUNDLE), "--infant-id", "A04", "--fps", "29.97",
                 "--json", str(hand / "assessment.json")]) == 0
    # the verdict and every snippet's score, as `gmdesk assess` gives them
    mine, theirs = (json.loads((d / "assessment.json").read_text()) for d in (item, hand))
    assert mine["verdict"] == theirs["verdict"]
    assert [s["p_abnormal"] for s in mine["snippets"]] == [s["p_abnormal"] for s in theirs["snippets"]]
    assert mine == theirs
    # the cleaning, as `gmdesk clean --report` lists it
    mine, theirs = (json.loads((d / "clean.json").read_text()) for d in (item, hand))
    for key in ("review", "coverage", "counts"):
        assert mine.get(key) == theirs.get(key), key
    # the stored result and the report's text, as `gmdesk case assess` and `gmdesk report` make them
    with open_case(item / "A04.gmcase", read_only=True) as a, open_case(case, read_only=True) as b:
        ra, rb = a.results()[-1], b.results()[-1]
        assert ra["verdict"] == rb["verdict"] and ra["snippets"] == rb["snippets"]
    assert _report_text(item / "A04.gmcase") == _report_text(case)
    row = read_rows(out / "batch.csv")["A04"]
    assert row["basis"] == InfantVerdict.from_dict(rb["verdict"]).basis and row["snippets"] == str(len(rb["snippets"]))


@pytest.mark.slow
def test_videos_with_the_test_pose_model(cohort, client, tmp_path, skeleton):
    """Two short synthetic videos (pose with the tiny DLC model on the workers) beside four pose files; the
    video item equals `gmdesk pose` + `gmdesk case new --video` + `gmdesk case assess` by hand."""
    if importlib.util.find_spec("deeplabcut") is None:
        pytest.skip("DeepLabCut is not installed (pip install -e '.[pose]')")
    from gmdesk.synthetic.cohorts import make_infant
    from gmdesk.synthetic.video import render_video
    from tests.dlc_fixture import SCALE, SIZE, train_tiny_dlc_model

    (tmp_path / "dlc").mkdir()
    dlc = train_tiny_dlc_model(tmp_path / "dlc", skeleton)
    rows = []
    with open(cohort, newline="", encoding="utf-8") as fh:
        for r in list(csv.DictReader(fh))[:4]:
            rows.append({"infant_id": r["infant_id"], "pose_file": str(cohort.parent / r["pose_file"]), "video": ""})
    for k, label in enumerate((0, 1)):
        inf = make_infant(f"V{k}", label, [91, k], skeleton=skeleton, n_frames=330)
        video = render_video(inf.truth_xy * SCALE, skeleton, tmp_path / f"V{k}.mp4", size=SIZE)
        rows.append({"infant_id": f"V{k}", "pose_file": "", "video": str(video)})
    table = tmp_path / "mixed.csv"
    with open(table, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["infant_id", "pose_file", "video"])
        w.writeheader()
        w.writerows(rows)
    out = tmp_path / "out"
    # the tiny model's likelihoods are about 0.5 and its 10-s window must stay whole: keep its points
    lenient = ["--p-cutoff", "0.05", "--p-hysteresis", "0", "--no-geometry", "--no-smoothness"]
    cleaning = CleaningSettings(p_cutoff=0.05, p_hysteresis=0.0, geometry=False, smoothness=False)
    settings = BatchSettings(out=out, bundle=BUNDLE, dlc_model=str(dlc), device="cpu", cleaning=cleaning)
    summary = run_batch(read_batch_table(table), settings, client)
    assert [r["status"] for r in summary.rows] == ["done"] * 6, [r["error"] for r in summary.rows]
    hand = tmp_path / "hand"
    video = tmp_path / "V1.mp4"
    assert main(["pose", str(video), "--dlc-model", str(dlc), "--device", "cpu", "-o", str(hand / "pose.h5")]) == 0
    from gmdesk.io.dlc import read_dlc

    a, b = read_dlc(out / "V1" / "pose.h5", skeleton), read_dlc(hand / "pose.h5", skeleton)
    np.testing.assert_allclose(a.xy, b.xy, atol=1e-3)
    shutil.copy(out / "V1" / "pose.h5", hand / "batch_pose.h5")  # from here on the same pose: equal numbers
    case = hand / "V1.gmcase"
    fps = json.loads((out / "V1" / "pose.json").read_text())["fps"]  # the video's (DLC files do not keep it)
    assert main(["case", "new", str(case), str(hand / "batch_pose.h5"), "--video", str(video), "--infant-id", "V1",
                 "--fps", str(fps), *lenient]) == 0
    assert main(["case", "assess", str(case), "--bundle", str(BUNDLE)]) == 0
    with open_case(out / "V1" / "V1.gmcase", read_only=True) as x, open_case(case, read_only=True) as y:
        assert x.results()[-1]["verdict"] == y.results()[-1]["verdict"]
        assert x.results()[-1]["snippets"] == y.results()[-1]["snippets"]
    rerun = run_batch(read_batch_table(table), settings, client)
    assert [r["status"] for r in rerun.rows] == ["skipped"] * 6
