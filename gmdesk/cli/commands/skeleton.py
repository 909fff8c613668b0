"""``gmdesk skeleton``: validate and describe a skeleton file."""

from __future__ import annotations

import argparse
import logging

from gmdesk.cli.args import command_parser, skeleton_of

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "skeleton", "validate and describe a skeleton file")
    p.add_argument("skeleton", nargs="?", help="skeleton TOML file or shipped name (default infant24)")
    return p


def run(args: argparse.Namespace) -> int:
    sk = skeleton_of(args)
    print(f"{sk.name}: {sk.n_landmarks} landmarks, {len(sk.edges)} bones, {len(sk.mirror_pairs)} mirror pairs, "
          f"{len(sk.angles)} angles, origin {sk.origin} (from {sk.source})")
    for a in sk.angles:
        print(f"  angle {a.name}: {' - '.join(a.points)} (at {a.points[1]})")
    print(f"  limbs read for fidgety movements ({'named in the file' if sk.limbs else 'found from the bones'}): "
          + (", ".join(" - ".join(sk.landmarks[j] for j in g) for g in fidgety_limbs(sk)) or "none"))
    return 0


def fidgety_limbs(sk) -> tuple[tuple[int, ...], ...]:
    """The limbs ``fidgety-findings`` reads on skeleton ``sk`` (indices of its landmarks), as a model trained on it
    would find them."""
    from gmdesk.learning.classifiers import make_classifier
    from gmdesk.pipeline.features import feature_layout
    from gmdesk.pipeline.fidgety import limb_groups

    layout = make_classifier("fidgety-findings", sk, feature_layout(sk, "both", "body")).descriptor_layout()
    return limb_groups(layout, sk.origin_index, sk.n_landmarks)
