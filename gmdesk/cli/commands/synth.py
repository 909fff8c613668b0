"""``gmdesk synth``: a SYNTHETIC cohort (DLC .h5 per infant + cohort.csv, with ground truth).

Normal infants are ``normal-fm``; the abnormal infants' fidgety-age phenotypes follow ``--phenotypes``,
``--phenotype-mix`` or ``--phenotype-counts`` (default: absent-fm 40 %, sporadic-fm, abnormal-fm and
cramped-synchronised 20 % each, cycling so that small cohorts get every phenotype)."""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from pathlib import Path

from gmdesk.cli.args import COUNT, PROBABILITY, ProgressBar, command_parser, number
from gmdesk.errors import GmdeskError

logger = logging.getLogger(__name__)


PHENOTYPE_HELP = ("fidgety-age phenotypes of abnormal infants: absent-fm (F-: large movements, no fidgety "
                  "movements), sporadic-fm (F+-: short sporadic bouts), abnormal-fm (AF: exaggerated amplitude, speed, "
                  "jerkiness), cramped-synchronised (CS: limbs contract together); normal infants are normal-fm")


def _mix(text: str) -> str:
    """A phenotype mix (``name,name`` or ``name=weight,...``), checked at once."""
    from gmdesk.synthetic.movements import parse_mix

    try:
        mix = parse_mix(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if any(m == "normal-fm" for m, _ in mix):
        raise argparse.ArgumentTypeError("normal-fm is the normal infants' phenotype, not an abnormal one")
    return text


def _counts(text: str) -> str:
    """Per-phenotype counts ``name=count,...`` (whole numbers)."""
    _mix(text)
    for part in (p for p in text.split(",") if p.strip()):
        name, _, n = part.partition("=")
        if not n.strip().isdigit():
            raise argparse.ArgumentTypeError(f"count of {name.strip()!r} must be a whole number, got {n.strip()!r}")
    return text


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "synth", "generate a SYNTHETIC cohort (DLC .h5 per infant + cohort.csv, with ground truth)")
    p.description = ("generate a SYNTHETIC cohort (DLC .h5 per infant + cohort.csv with a phenotype column, and ground "
                     "truth). " + PHENOTYPE_HELP + ". Default mix: absent-fm 40 %, the other three 20 % each, assigned in "
                     "a fixed cycling order so that small cohorts get every phenotype.")
    p.add_argument("outdir", help="folder to write the cohort in")
    p.add_argument("--n-normal", type=COUNT, default=6, help="internal normal infants")
    p.add_argument("--n-abnormal", type=COUNT, default=4, help="internal abnormal infants")
    p.add_argument("--n-external-normal", type=COUNT, default=2, help="external normal infants")
    p.add_argument("--n-external-abnormal", type=COUNT, default=1, help="external abnormal infants")
    p.add_argument("--seed", type=int, default=0, help="random seed: same seed, same cohort")
    p.add_argument("--duration", type=number(float, 1, 36000), nargs=2, metavar=("MIN_S", "MAX_S"),
                   help="length range in seconds (default 120 180)")
    mix = p.add_mutually_exclusive_group()
    mix.add_argument("--phenotypes", type=_mix, metavar="NAME,NAME",
                     help="abnormal phenotypes in equal shares, e.g. absent-fm,abnormal-fm")
    mix.add_argument("--phenotype-mix", type=_mix, metavar="NAME=W,...",
                     help="abnormal phenotypes with weights, e.g. absent-fm=2,sporadic-fm=1,abnormal-fm=1,cramped-synchronised=1")
    mix.add_argument("--phenotype-counts", type=_counts, metavar="NAME=N,...",
                     help="exactly this many internal abnormal infants of each phenotype (replaces --n-abnormal), "
                          "e.g. absent-fm=3,abnormal-fm=1")
    p.add_argument("--normal-share", type=PROBABILITY,
                   help="share of normal-looking periods in cramped-synchronised infants (default 0.25)")
    p.add_argument("--no-artefacts", action="store_true", help="clean poses with detector noise only")
    p.add_argument("--model", choices=("3d", "2d"), default="3d",
                   help="3d: joints move in 3-D, a camera with its own distance, tilt and roll per infant; "
                        "2d: the earlier planar model")
    p.add_argument("--video", metavar="INFANT_ID", help="also render this infant's figure to INFANT_ID.mp4")
    p.add_argument("--video-seconds", type=number(float, 0.1, 3600), default=20.0, help="length of that video")
    return p


def run(args: argparse.Namespace) -> int:
    from gmdesk.pipeline.cohort import read_cohort
    from gmdesk.synthetic.cohorts import SynthSettings, generate_cohort

    base = SynthSettings()
    s = SynthSettings(
        duration_s=tuple(args.duration) if args.duration else base.duration_s,
        normal_share=args.normal_share if args.normal_share is not None else base.normal_share,
        artefacts=not args.no_artefacts, model=args.model,
    )
    mix = args.phenotypes or args.phenotype_mix or args.phenotype_counts
    n_abnormal = args.n_abnormal
    if args.phenotype_counts:
        n_abnormal = sum(int(part.partition("=")[2]) for part in args.phenotype_counts.split(",") if part.strip())
    with ProgressBar("synth", "infant") as bar:
        table = generate_cohort(args.outdir, args.n_normal, n_abnormal, args.n_external_normal,
                                args.n_external_abnormal, args.seed, s, progress=bar, phenotypes=mix)
    counts = Counter(e.phenotype for e in read_cohort(table))
    print(f"wrote synthetic cohort {table} ({args.model} model; "
          f"{args.n_normal + n_abnormal} internal, {args.n_external_normal + args.n_external_abnormal} external; "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ")")
    if args.video:
        _render_video(args, table, s)
    return 0


def _render_video(args: argparse.Namespace, table: Path, settings) -> None:
    """Render the figure of infant ``--video`` of the cohort just written."""
    from gmdesk.io.skeletons import load_skeleton
    from gmdesk.pipeline.cohort import read_cohort
    from gmdesk.synthetic.cohorts import make_infant
    from gmdesk.synthetic.video import render_video

    entries = {e.infant_id: e for e in read_cohort(table)}
    if args.video not in entries:
        raise GmdeskError(f"no infant {args.video!r} in {table}")
    order = list(entries)
    i = order.index(args.video)
    e = entries[args.video]
    inf = make_infant(args.video, e.label, [args.seed, i], settings, phenotype=e.phenotype or None)
    n = int(args.video_seconds * inf.track.fps)
    path = Path(args.outdir) / f"{args.video}.mp4"
    render_video(inf.truth_xy, load_skeleton(), path, inf.track.fps, frames=slice(0, n))
    print(f"wrote video {path} ({n} frames)")
