"""``gmdesk assess``: score one recording with a model bundle: snippet scores and the infant's verdict."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from gmdesk.cli.args import INPUT_OPTIONS, add_pose_args, check_outputs, command_parser, output, skeleton_of

if TYPE_CHECKING:
    from gmdesk.screening.result import AssessmentResult

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "assess", "score one recording with a model bundle: snippet scores + infant verdict")
    p.add_argument("pose", help="DLC .h5/.csv or gmdesk .npz track")
    p.add_argument("--bundle", "--model", dest="model", required=True, metavar="BUNDLE",
                   help="model bundle folder (old name: --model)")
    p.add_argument("--json", type=output(".json"), help="write the full result as JSON")
    p.add_argument("--csv", type=output(".csv"), help="write per-snippet scores as CSV")
    p.add_argument("--infant-id", help="the infant's id (default: the pose file's name)")
    add_pose_args(p)
    return p


def run(args: argparse.Namespace) -> int:
    from gmdesk.screening.assess import assess_recording

    check_outputs(args, {"--json": args.json, "--csv": args.csv}, (*INPUT_OPTIONS, "model:--bundle"))
    sk = skeleton_of(args)
    res = assess_recording(args.pose, args.model, sk, mapping=args.mapping, fps=args.fps, individual=args.individual,
                           infant_id=args.infant_id)
    _print_result(Path(args.pose).name, res)
    if args.json:
        from gmdesk.screening.result import write_result_json

        write_result_json(res, args.json)
        print(f"wrote {args.json}")
    if args.csv:
        from gmdesk.evaluation.protocol import write_table

        write_table(res.snippets, args.csv)
        print(f"wrote {args.csv}")
    return 0


def _print_result(name: str, res: AssessmentResult) -> None:
    """The snippets' scores in time order, the windows left out, and the verdict."""
    v = res.verdict
    print(f"{name}: model {res.model_id} ({res.classifier}, {res.feature_set})")
    print(f"  {'start':>6} {'time':>7} {'P(abn)':>7} {'class':>8} {'imputed':>7}")
    for sn in res.snippets:
        flag = f"  flagged: {'; '.join(sn['flags'])}" if sn.get("flags") else ""
        finding = f"  {sn['finding']}" if sn.get("finding") and sn["class"] == "abnormal" else ""
        print(f"  {sn['start_frame']:>6} {sn['start_s']:>6.1f}s {sn['p_abnormal']:>7.3f} {sn['class']:>8} "
              f"{100 * sn['imputed_fraction']:>6.1f}%{finding}{flag}")
    if res.dropped:
        print(f"  {len(res.dropped)} windows left out for missing data:")
        for d in res.dropped[:10]:
            why = ", ".join(f"{k} {v} frames" for k, v in list(d.get("missing", {}).items())[:3])
            print(f"    frames {d['start']}-{d['start'] + res.window_frames - 1}: missing {why}")
    if res.findings_summary:
        print(f"  findings: {res.findings_summary}")
    if res.validated:
        print(f"VERDICT: {v.verdict.upper()} — {v.basis}")
    else:  # never a plain normal/abnormal from a model no better than chance (as far as anyone knows)
        print(f"VERDICT: {res.headline}\n  basis: {v.basis}")
    if res.synthetic_model:
        print("  (model trained on SYNTHETIC data: not for clinical use)")
