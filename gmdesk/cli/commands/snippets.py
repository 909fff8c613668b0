"""``gmdesk snippets``: clean, compute features and cut snippets of a cohort or one pose file."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from gmdesk.cli.args import (
    COUNT,
    ProgressBar,
    add_pose_args,
    check_outputs,
    cleaning_settings,
    cohort_entries,
    cohort_pose_files,
    command_parser,
    number,
    output,
    skeleton_of,
)
from gmdesk.constants import DEFAULT_FPS, DEFAULT_OVERLAP, WINDOW
from gmdesk.learning.architectures import DEFAULT_FEATURE_SET
from gmdesk.pipeline.features import FEATURE_SETS
from gmdesk.pipeline.snippets import NAN_POLICIES

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "snippets", f"clean, compute features and cut {WINDOW}-frame snippets (every recording "
                       f"at the models' {DEFAULT_FPS:g} fps: one at another rate is resampled first, and its windows, "
                       "overlap and start frames count frames at that rate)")
    p.add_argument("input", help="cohort.csv, or one pose file")
    p.add_argument("-o", "--output", required=True, type=output(".npz"), help="snippet file to write (.npz)")
    p.add_argument("--features", choices=FEATURE_SETS, default=DEFAULT_FEATURE_SET, help="feature set")
    p.add_argument("--window", type=number(int, 2, 100_000), default=WINDOW, help="snippet length in frames")
    p.add_argument("--overlap", type=COUNT, default=DEFAULT_OVERLAP, help="frames shared by consecutive windows")
    p.add_argument("--subset", help="only infants of this set (internal / external)")
    p.add_argument("--infant-id", help="id for a single pose file (default: the file's name)")
    p.add_argument("--nan-policy", choices=NAN_POLICIES, default="drop",
                   help="windows with missing data: leave out (and list), refuse, or keep NaN")
    add_pose_args(p, cleaning=True)
    return p


def looks_like_cohort(path: Path) -> bool:
    """Whether a CSV file is a cohort table (its header names infant_id and pose_file)."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            head = fh.readline()
    except (OSError, UnicodeDecodeError):
        return False
    return "infant_id" in head and "pose_file" in head


def run(args: argparse.Namespace) -> int:
    from gmdesk.pipeline.cohort import CohortEntry, cohort_snippets

    check_outputs(args, {"-o": args.output})
    sk = skeleton_of(args)
    src = Path(args.input)
    if src.suffix.lower() == ".csv" and looks_like_cohort(src):
        entries = cohort_entries(src, args.subset)
    else:
        entries = [CohortEntry(args.infant_id or src.stem, -1, src, fps=args.fps)]
    check_outputs(args, {"-o": args.output}, extra=cohort_pose_files(entries))
    with ProgressBar("snippets", "infant") as bar:
        snips = cohort_snippets(entries, sk, args.features, args.window, args.overlap, cleaning_settings(args),
                                args.mapping, args.nan_policy, progress=bar, fps=args.fps, individual=args.individual)
    out = Path(args.output)
    snips.save(out)
    print(f"{'infant':>10} {'label':>8} {'snippets':>8} {'dropped':>7}")
    for e in entries:
        n = int((snips.infant_id == e.infant_id).sum())
        d = sum(1 for x in snips.dropped if x["infant_id"] == e.infant_id)
        print(f"{e.infant_id:>10} {['normal', 'abnormal', 'unknown'][e.label]:>8} {n:>8} {d:>7}")
    lab = snips.label
    print(f"wrote {out}: {len(snips)} snippets ({int((lab == 0).sum())} normal, {int((lab == 1).sum())} abnormal), "
          f"shape {snips.X.shape}, window {args.window}, overlap {args.overlap}, features {args.features}")
    return 0
