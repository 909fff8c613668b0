"""``gmdesk features``: the per-frame features of one recording as CSV."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from gmdesk.cli.args import add_pose_args, check_outputs, cleaning_settings, command_parser, load_pose, output, skeleton_of
from gmdesk.pipeline.features import FEATURE_SETS, NORMALISATIONS

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "features", "per-frame features of a recording as CSV")
    p.add_argument("pose", help="DLC .h5/.csv or gmdesk .npz track")
    p.add_argument("-o", "--output", required=True, type=output(".csv"), help="feature table to write (.csv)")
    p.add_argument("--set", choices=FEATURE_SETS, default="both", help="feature set")
    p.add_argument("--normalise", choices=NORMALISATIONS, default="paper", help="normalisation of the coordinates")
    p.add_argument("--raw", action="store_true", help="do not clean first")
    add_pose_args(p, cleaning=True)
    return p


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from gmdesk.io.atomic import atomic_path
    from gmdesk.pipeline.cleaning import clean_track
    from gmdesk.pipeline.cohort import is_cleaned
    from gmdesk.pipeline.features import compute_features

    check_outputs(args, {"-o": args.output})
    sk = skeleton_of(args)
    track = load_pose(args, sk)
    if not is_cleaned(track) and not args.raw:
        track, _ = clean_track(track, sk, cleaning_settings(args))
    feats, layout = compute_features(track, sk, args.set, args.normalise)
    df = pd.DataFrame(feats, columns=list(layout.names))
    df.index.name = "frame"
    out = Path(args.output)
    with atomic_path(out) as tmp:
        df.to_csv(tmp)
    print(f"wrote {out}: {feats.shape[0]} frames x {feats.shape[1]} {args.set} features "
          f"({int(np.isnan(feats).any(axis=1).sum())} frames with missing values)")
    return 0
