"""``gmdesk report``: the assessment report for the clinical record (PDF, A4) from a case file."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from gmdesk.cli.args import POSITIVE_INT, check_outputs, command_parser, output

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "report", "the assessment report for the clinical record (PDF, A4) from a case file")
    p.add_argument("case", help="case file (.gmcase) with a stored assessment")
    p.add_argument("-o", "--output", type=output(".pdf"), help="report to write (default CASE.report.pdf)")
    p.add_argument("--bundle", help="the model bundle (default: what the result stored about its model)")
    p.add_argument("--result", type=POSITIVE_INT, help="result number (default the latest signed result, else the latest; "
                   "`gmdesk case info` lists them)")
    return p


def run(args: argparse.Namespace) -> int:
    from gmdesk.io.paths import refuse_replacing_other_kind
    from gmdesk.record.case import open_case
    from gmdesk.record.report import write_case_report

    out = args.output or Path(args.case).with_suffix(".report.pdf")
    check_outputs(args, {"-o": out}, ("case", "bundle:--bundle"),
                  extra=[("case's write-ahead log", f"{args.case}-wal"), ("case's shared memory", f"{args.case}-shm")])
    refuse_replacing_other_kind(out, b"%PDF", "PDF", "-o")
    manifest = None
    if args.bundle:
        from gmdesk.learning.bundle import load_bundle

        manifest = load_bundle(args.bundle).manifest
    with open_case(args.case, read_only=True) as c:
        content = write_case_report(c, out, manifest, args.result)
    v = content.result.verdict
    print(f"wrote {out}: infant {content.infant_id}, {content.result.headline} — {v.basis}")
    if content.age and content.age.get("warning"):
        print(f"  warning: {content.age['warning']}")
    return 0
