"""``gmdesk demo``: the pipeline on the bundled SYNTHETIC demo recording, from pose to report."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from gmdesk.cli.args import command_parser, skeleton_of
from gmdesk.constants import WINDOW
from gmdesk.errors import GmdeskError

logger = logging.getLogger(__name__)

#: The demo infant's id in its files.
DEMO_ID = "DEMO-A"


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "demo", "run the pipeline on the bundled SYNTHETIC demo recording")
    p.add_argument("--out", default="out/demo", type=Path, help="output folder")
    p.add_argument("--skeleton", help=argparse.SUPPRESS)
    return p


def run(args: argparse.Namespace) -> int:
    from gmdesk.io.resources import bundle_path, demo_path
    from gmdesk.learning.bundle import load_bundle

    demo = demo_path("demo_infant.h5")
    if not demo.is_file():
        raise GmdeskError(f"bundled demo recording {demo} is missing")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sk = skeleton_of(args)
    print(f"demo: {demo.name} (SYNTHETIC infant, not for clinical use)")
    model = bundle_path()
    if not model.is_dir():
        raise GmdeskError(f"bundled demo model {model} is missing")
    bundle = load_bundle(model, sk)
    cleaned = _clean_and_cut(demo, sk, out, bundle.overlap)  # the snippets the model scores
    res = _assess(cleaned, bundle, sk, out)
    _record(demo, sk, res, out)
    return 0


def _clean_and_cut(demo: Path, sk, out: Path, overlap: int):
    """Clean the demo recording and cut its snippets at ``overlap`` (both written to ``out``); the cleaned track."""
    from gmdesk.io.tracks import write_track
    from gmdesk.pipeline.cohort import load_track, recording_snippets

    track = load_track(demo, sk)
    snips, cleaned, rep = recording_snippets(track, sk, DEMO_ID, -1, "both", overlap=overlap)
    write_track(cleaned, out / "demo_infant.clean.npz")
    snips.save(out / "demo_infant.snippets.npz")
    print(f"  {track.n_frames} frames ({track.duration_s:.0f} s); cleaning removed {rep.low_likelihood} low-likelihood, "
          f"{rep.geometry_outliers + rep.smoothness_outliers} outlier points, imputed {rep.imputed}; "
          f"{len(rep.gaps)} gaps left for review")
    print(f"  {len(snips)} snippets of {WINDOW} frames (overlap {overlap}, the demo model's), {len(snips.dropped)} left out for "
          "missing data")
    print(f"  wrote {out / 'demo_infant.clean.npz'} and {out / 'demo_infant.snippets.npz'}")
    return cleaned


def _assess(cleaned, bundle, sk, out: Path) -> dict:
    """Assess the cleaned demo track with the shipped demo model; the result (also written as JSON)."""
    from gmdesk.core.posetrack import json_safe
    from gmdesk.screening.assess import assess_track

    res = assess_track(cleaned, bundle, sk, DEMO_ID)
    (out / "demo_assessment.json").write_text(json.dumps(json_safe(res.to_dict()), indent=2, allow_nan=False), encoding="utf-8")
    line = "".join("A" if s["class"] == "abnormal" else "n" for s in res.snippets)
    print(f"  model {res.model_id} (trained on SYNTHETIC infants): snippet classes in time order {line}")
    print(f"  VERDICT: {res.headline} — {res.verdict.basis}")
    print(f"  wrote {out / 'demo_assessment.json'}; the demo infant's true label is abnormal (30 % normal-like periods)")
    return res


def _record(demo: Path, sk, res: dict, out: Path) -> None:
    """The clinician's record: a case with the result and the report, as the app makes them."""
    from gmdesk.record.case import import_pose_file
    from gmdesk.record.report import collect_report, render_report
    from gmdesk.screening.assess import store_result

    case_path = out / "demo_infant.gmcase"
    for old in (case_path, case_path.with_name(case_path.name + "-wal"), case_path.with_name(case_path.name + "-shm")):
        old.unlink(missing_ok=True)  # the demo starts afresh each time
    with import_pose_file(case_path, demo, sk, infant_id=DEMO_ID, clean=True) as c:
        c.set_patient_field("date_of_birth", "2026-01-05")
        c.set_patient_field("gestational_age", "39+2")
        c.set_patient_field("recording_date", "2026-04-10")
        store_result(c, res)
        report = render_report(collect_report(c), out / "demo_report.pdf")
    print(f"  wrote {case_path} and the report {report} (patient fields are made up for the demo)")
