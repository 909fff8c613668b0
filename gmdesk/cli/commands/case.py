"""``gmdesk case``: assessment case files: new, info, export, relink, assess, patient, review, signoff.

Each action is a small function; :data:`ACTIONS` maps an action's name to it.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import Any

from gmdesk.cli.args import (
    POSITIVE_INT,
    HelpFormatter,
    add_pose_args,
    check_outputs,
    cleaning_settings,
    command_parser,
    output,
    skeleton_of,
)
from gmdesk.errors import GmdeskError

logger = logging.getLogger(__name__)

#: What a case file argument says.
CASE_HELP = "case file (.gmcase)"
#: The actions that only read the case.
READ_ONLY = ("info", "export")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "case", "assessment case files: new, info, export, relink, assess, patient, review, signoff")
    cs = p.add_subparsers(dest="case_command", required=True, metavar="ACTION")

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        return cs.add_parser(name, help=help_text, formatter_class=HelpFormatter)

    q = action("new", "create a case from a DLC pose file (and its video)")
    q.add_argument("case", type=output(".gmcase"), help="new case file (.gmcase)")
    q.add_argument("pose", help="DLC .h5/.csv or gmdesk .npz track")
    q.add_argument("--video", help="the recording's video (must decode and have as many frames as the pose)")
    q.add_argument("--accept-frame-difference", action="store_true",
                   help="link a video whose frame count differs from the pose's (recorded in the case)")
    q.add_argument("--infant-id", help="the infant's id (default: the case file's name)")
    q.add_argument("--no-clean", action="store_true", help="store the pose without cleaning it")
    add_pose_args(q, cleaning=True)
    q = action("info", "describe a case (read-only)")
    q.add_argument("case", help=CASE_HELP)
    q = action("export", "export the current track (DLC .h5/.csv) and the edit log (CSV)")
    q.add_argument("case", help=CASE_HELP)
    q.add_argument("--track", type=output(".h5", ".csv"), help="current track as DLC .h5 or .csv")
    q.add_argument("--edits", type=output(".csv"), help="edit log, one row per changed point (.csv)")
    q = action("relink", "point a case at its moved video")
    q.add_argument("case", help=CASE_HELP)
    q.add_argument("video", help="the video's new place")
    q.add_argument("--accept-different", action="store_true", help="accept a re-encoded copy (recorded in the case)")
    q.add_argument("--accept-frame-difference", action="store_true",
                   help="link a video whose frame count differs from the pose's (recorded in the case)")
    _add_result_actions(action)
    return p


def _add_result_actions(action: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """The actions on a case's results and record: assess, patient, review, signoff."""
    q = action("assess", "assess the case's current track (edits included) and store the result")
    q.add_argument("case", help=CASE_HELP)
    q.add_argument("--bundle", "--model", dest="model", required=True, metavar="BUNDLE", help="model bundle folder")
    q.add_argument("--skeleton", help="skeleton TOML file or shipped name (default infant24)")
    q = action("patient", "record patient and recording fields (each change is kept in the case log)")
    q.add_argument("case", help=CASE_HELP)
    q.add_argument("--date-of-birth", help="YYYY-MM-DD")
    q.add_argument("--gestational-age", help="at birth, weeks (38.5) or weeks+days (38+3)")
    q.add_argument("--recording-date", help="YYYY-MM-DD")
    q.add_argument("--reviewer", help="the clinician reviewing the assessment")
    q.add_argument("--site", help="the site or clinic")
    q = action("review", "mark one snippet of a result: agree, disagree or unsure")
    q.add_argument("case", help=CASE_HELP)
    q.add_argument("--snippet", type=POSITIVE_INT, required=True, help="snippet number (1 = the first)")
    q.add_argument("--mark", choices=("agree", "disagree", "unsure"), required=True, help="the reviewer's judgement")
    q.add_argument("--note", help="a note for the record")
    q.add_argument("--result", type=POSITIVE_INT, help="result id (default the latest)")
    q = action("signoff", "sign a result off")
    q.add_argument("case", help=CASE_HELP)
    q.add_argument("--reviewer", required=True, help="the reviewer's name")
    q.add_argument("--comment", help="free-text comment for the record")
    q.add_argument("--result", type=POSITIVE_INT, help="result id (default the latest)")


def run(args: argparse.Namespace) -> int:
    from gmdesk.record.case import open_case

    if args.case_command == "new":
        check_outputs(args, {"case file": args.case}, ("pose", "video", "mapping", "skeleton"))
        new(args)
        return 0
    if args.case_command == "export":
        check_outputs(args, {"--track": args.track, "--edits": args.edits}, ("case",),
                      extra=[("case's write-ahead log", f"{args.case}-wal"), ("case's shared memory", f"{args.case}-shm")])
    with open_case(args.case, read_only=args.case_command in READ_ONLY) as c:
        ACTIONS[args.case_command](c, args)
    return 0


def new(args: argparse.Namespace) -> None:
    """Create a case from a pose file (cleaned unless --no-clean) and its video."""
    from gmdesk.record.case import import_pose_file

    sk = skeleton_of(args)
    settings = None if args.no_clean else cleaning_settings(args)
    with import_pose_file(args.case, args.pose, sk, video=args.video, mapping=args.mapping, fps=args.fps,
                          individual=args.individual, infant_id=args.infant_id, clean=settings,
                          accept_frame_difference=args.accept_frame_difference) as c:
        cleaning = c.cleaning()
        if cleaning:
            rep = cleaning[1]
            print(f"cleaned: {len(rep.get('swaps', []))} swaps put back, "
                  f"{rep.get('geometry_outliers', 0) + rep.get('smoothness_outliers', 0)} outliers, "
                  f"{rep.get('imputed', 0)} imputed, {len(rep.get('review', []))} items for review")
        print(f"created case {c.path} for infant {c.meta()['infant_id']} ({c.raw_track().n_frames} frames)")


def info(c: Any, args: argparse.Namespace) -> None:
    """Describe the case: track, edit log, video, patient fields and results."""
    m = c.meta()
    undo, redo = c.undo_state()
    chk = c.check_video()
    print(f"case {c.path}: infant {m['infant_id']}, schema {m['schema_version']}, created {m['created']} "
          f"by {m['created_by']}")
    print(f"  track: {c.raw_track().n_frames} frames; cleaning: {'yes' if c.cleaning() else 'no'}; "
          f"edit log: {len(c.history())} entries ({len(undo)} undoable, {len(redo)} redoable)")
    print(f"  video: {chk.status} - {chk.message}")
    for k, v in c.patient().items():
        print(f"  {k.replace('_', ' ')}: {v}")
    listed = {r["id"]: r for r in c.result_list()}
    for r in c.results():
        validation = (r.get("model") or {}).get("validation")
        validated = isinstance(validation, dict) and validation.get("validated") is True
        note = "" if validated else " (research only: model NOT VALIDATED)"
        row = listed.get(r["id"], {})
        sign = row.get("signoff")
        if sign:
            note += f"; {sign.get('decision', 'signed')} by {sign.get('reviewer')} on {sign.get('date')}"
        if row.get("out_of_date"):
            note += "; out of date"
        print(f"  result {r['id']}: model {r['model_id']} -> {r['verdict'].get('verdict')}{note} ({r['time']})")
    st = c.result_status()
    if st and st["out_of_date"]:
        print(f"  the latest result is out of date: {st['edits_since']} edit-log entries since; re-run the assessment")


def export(c: Any, args: argparse.Namespace) -> None:
    """Write the current track and/or the edit log."""
    if not (args.track or args.edits):
        raise GmdeskError("export needs --track and/or --edits")
    if args.track:
        print(f"wrote {c.export_track(args.track)}")
    if args.edits:
        print(f"wrote {c.export_edit_log(args.edits)}")


def relink(c: Any, args: argparse.Namespace) -> None:
    """Point the case at its moved video."""
    c.link_video(args.video, accept_different=args.accept_different,
                 accept_frame_difference=args.accept_frame_difference)
    print(f"relinked {c.path} to {args.video}")


def assess(c: Any, args: argparse.Namespace) -> None:
    """Assess the current track (edits included) and store the result."""
    from gmdesk.learning.bundle import load_bundle
    from gmdesk.screening.assess import assess_case

    sk = skeleton_of(args)
    rid, res = assess_case(c, load_bundle(args.model, sk), sk)
    print(f"result {rid}: {res.headline} — {res.verdict.basis}")


def patient(c: Any, args: argparse.Namespace) -> None:
    """Record the patient and recording fields given."""
    fields = {"date_of_birth": args.date_of_birth, "gestational_age": args.gestational_age,
              "recording_date": args.recording_date, "reviewer": args.reviewer, "site": args.site}
    given = {k: v for k, v in fields.items() if v is not None}
    if not given:
        raise GmdeskError("give at least one field (--date-of-birth, --gestational-age, --recording-date, "
                          "--reviewer, --site)")
    for k, v in given.items():
        c.set_patient_field(k, v)
    print(f"{c.path}: " + ", ".join(f"{k} {v}" for k, v in c.patient().items()))


def review(c: Any, args: argparse.Namespace) -> None:
    """Mark one snippet of a result (the latest unless --result)."""
    rid = args.result or c.results()[-1]["id"] if c.results() else None
    if rid is None:
        raise GmdeskError(f"case {c.path} has no result to review")
    c.review_snippet(rid, args.snippet - 1, args.mark, args.note or "")
    print(f"result {rid}, snippet {args.snippet}: {args.mark}")


def signoff(c: Any, args: argparse.Namespace) -> None:
    """Sign a result off (the latest unless --result)."""
    results = c.results()
    if not results:
        raise GmdeskError(f"case {c.path} has no result to sign off")
    rid = args.result or results[-1]["id"]
    c.sign_off(rid, args.reviewer, args.comment or "")
    print(f"result {rid} signed off by {args.reviewer}")


#: The actions on an existing case: name -> function(case, args) ("new" makes the case: :func:`new`).
ACTIONS: dict[str, Callable[[Any, argparse.Namespace], None]] = {
    "info": info, "export": export, "relink": relink, "assess": assess, "patient": patient, "review": review,
    "signoff": signoff,
}
