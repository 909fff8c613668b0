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
    return 0
