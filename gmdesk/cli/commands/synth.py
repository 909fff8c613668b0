"""``gmdesk synth``: a SYNTHETIC cohort (DLC .h5 per infant + cohort.csv, with ground truth)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from gmdesk.cli.args import COUNT, PROBABILITY, ProgressBar, command_parser, number
from gmdesk.errors import GmdeskError

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "synth", "generate a SYNTHETIC cohort (DLC .h5 per infant + cohort.csv, with ground truth)")
    p.add_argument("outdir", help="folder to write the cohort in")
    p.add_argument("--n-normal", type=COUNT, default=6, help="internal normal infants")
    p.add_argument("--n-abnormal", type=COUNT, default=4, help="internal abnormal infants")
    p.add_argument("--n-external-normal", type=COUNT, default=2, help="external normal infants")
    p.add_argument("--n-external-abnormal", type=COUNT, default=1, help="external abnormal infants")
    p.add_argument("--seed", type=int, default=0, help="random seed: same seed, same cohort")
    p.add_argument("--duration", type=number(float, 1, 36000), nargs=2, metavar=("MIN_S", "MAX_S"),
                   help="length range in seconds (default 120 180)")
    p.add_argument("--normal-share", type=PROBABILITY, help="share of normal-like periods in abnormal infants (default 0.25)")
    p.add_argument("--no-artefacts", action="store_true", help="clean poses with detector noise only")
    p.add_argument("--model", choices=("3d", "2d"), default="3d",
                   help="3d: joints move in 3-D, a camera with its own distance, tilt and roll per infant; "
                        "2d: the earlier planar model")
    p.add_argument("--video", metavar="INFANT_ID", help="also render this infant's figure to INFANT_ID.mp4")
    p.add_argument("--video-seconds", type=number(float, 0.1, 3600), default=20.0, help="length of that video")
    return p


def run(args: argparse.Namespace) -> int:
    from gmdesk.synthetic.cohorts import SynthSettings, generate_cohort

    base = SynthSettings()
    s = SynthSettings(
        duration_s=tuple(args.duration) if args.duration else base.duration_s,
        normal_share=args.normal_share if args.normal_share is not None else base.normal_share,
        artefacts=not args.no_artefacts, model=args.model,
    )
    with ProgressBar("synth", "infant") as bar:
        table = generate_cohort(args.outdir, args.n_normal, args.n_abnormal, args.n_external_normal,
                                args.n_external_abnormal, args.seed, s, progress=bar)
    print(f"wrote synthetic cohort {table} ({args.model} model; "
          f"{args.n_normal + args.n_abnormal} internal, {args.n_external_normal + args.n_external_abnormal} external)")
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
    inf = make_infant(args.video, entries[args.video].label, [args.seed, i], settings)
    n = int(args.video_seconds * inf.track.fps)
    path = Path(args.outdir) / f"{args.video}.mp4"
    render_video(inf.truth_xy, load_skeleton(), path, inf.track.fps, frames=slice(0, n))
    print(f"wrote video {path} ({n} frames)")
