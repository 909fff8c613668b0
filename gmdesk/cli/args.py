"""What several ``gmdesk`` commands share: argument types (numbers and file names are checked when the
command line is read), the pose and cleaning options, the progress bar and the cohort table.

Nothing here imports more than the standard library and gmdesk's light modules at module level:
``gmdesk --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from gmdesk.constants import DEFAULT_FPS, MAX_FPS, MIN_FPS, WINDOW
from gmdesk.errors import GmdeskError

logger = logging.getLogger(__name__)

EXIT_CODES_HELP = "exit codes: 0 success; 1 bad data or input (the message names the file and the problem); " \
                  "2 bad command line; 130 cancelled"


# -- argument types ---------------------------------------------------------------------------

def number(kind: type, lo: float | None = None, hi: float | None = None, lo_open: bool = False, hi_open: bool = False,
           what: str = "") -> Callable[[str], Any]:
    """An argument type: a whole number (``kind=int``) or a finite number within bounds."""

    def parse(text: str) -> Any:
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'a whole number' if kind is int else 'a number'}") from None
        if isinstance(v, float) and not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if (lo is not None and (v < lo or (lo_open and v == lo))) or (hi is not None and (v > hi or (hi_open and v == hi))):
            lo_s = "" if lo is None else f"{'>' if lo_open else '>='} {lo:g}"
            hi_s = "" if hi is None else f"{'<' if hi_open else '<='} {hi:g}"
            bounds = " and ".join(x for x in (lo_s, hi_s) if x)
            raise argparse.ArgumentTypeError(f"{text} is out of range ({what or 'must be'} {bounds})")
        return v

    return parse


POSITIVE_INT = number(int, 1)
COUNT = number(int, 0)
FPS = number(float, MIN_FPS, MAX_FPS, what="a frame rate:")
SHARE = number(float, 0, 1, lo_open=True, hi_open=True, what="strictly between")
PROBABILITY = number(float, 0, 1)
#: Frames shared by consecutive windows of a model's snippets (fewer than a window).
OVERLAP = number(int, 0, WINDOW - 1, what="frames shared by consecutive windows:")


def output(*suffixes: str) -> Callable[[str], Path]:
    """A file to write; its extension says its format, and must be one of ``suffixes``."""

    def parse(text: str) -> Path:
        p = Path(text)
        if p.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(
                f"{text!r}: the file name says the format; use {' or '.join(suffixes)} (got {p.suffix or 'no extension'!r})")
        return p

    return parse


def classifier(text: str) -> str:
    """A classifier name (or alias); refused at once when unknown."""
    from gmdesk.learning.architectures import resolve_architecture

    try:
        return resolve_architecture(text)
    except GmdeskError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def classifiers(text: str) -> str:
    """Comma-separated classifier names, each checked as :func:`classifier`."""
    return ",".join(classifier(t) for t in text.split(",") if t)


# -- parsers and shared options ---------------------------------------------------------------

class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default only when there is one worth showing (not None, not a switch's False) and the
    help text does not already give it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text:
            return text
        return super()._get_help_string(action) or text


def command_parser(subparsers: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    """The parser of one command, with its help, description and the exit codes."""
    return subparsers.add_parser(name, help=help_text, description=help_text, epilog=EXIT_CODES_HELP,
                                 formatter_class=HelpFormatter)


def add_pose_args(p: argparse.ArgumentParser, cleaning: bool = False) -> None:
    """--skeleton, --mapping, --fps and --individual: how a pose file is read; with ``cleaning``, also the
    cleaning options (:func:`add_cleaning_args`)."""
    p.add_argument("--skeleton", help="skeleton TOML file or shipped name (default infant24)")
    p.add_argument("--mapping", help="TOML file mapping the file's body-part names to skeleton landmarks")
    p.add_argument("--fps", type=FPS,
                   help=f"frame rate (DLC files do not store it; default {DEFAULT_FPS:g}, or a cohort's fps column)")
    p.add_argument("--individual", help="individual to read from a multi-animal DLC file")
    if cleaning:
        add_cleaning_args(p)


def add_cleaning_args(p: argparse.ArgumentParser) -> None:
    """The cleaning settings (:class:`gmdesk.pipeline.cleaning.CleaningSettings`) as options."""
    from gmdesk.pipeline.cleaning import CleaningSettings

    d = CleaningSettings()
    g = p.add_argument_group("cleaning (defaults documented in gmdesk.pipeline.cleaning)")
    g.add_argument("--p-cutoff", dest="p_cutoff", type=PROBABILITY, help=f"likelihood cut-off (default {d.p_cutoff})")
    g.add_argument("--p-hysteresis", dest="p_hysteresis", type=PROBABILITY,
                   help=f"also remove points below this likelihood next to removed ones; 0 = off (default {d.p_hysteresis})")
    g.add_argument("--bone-max-rel", dest="bone_max_rel", type=number(float, 0, 10),
                   help=f"a bone longer than its full length by this fraction is wrong (default {d.bone_max_rel})")
    g.add_argument("--smooth-k", dest="smooth_k", type=number(float, 0),
                   help=f"jump threshold in robust sd (default {d.smooth_k})")
    g.add_argument("--max-gap", dest="max_gap", type=COUNT, help=f"longest gap imputed, frames (default {d.max_gap})")
    g.add_argument("--max-gap-distal", dest="max_gap_distal", type=COUNT,
                   help=f"longest hand/foot gap imputed in its parent's frame, frames (default {d.max_gap_distal})")
    g.add_argument("--no-swaps", dest="swaps", action="store_const", const=False, help="skip the left/right swap repair")
    g.add_argument("--no-geometry", dest="geometry", action="store_const", const=False, help="skip the bone-length check")
    g.add_argument("--no-smoothness", dest="smoothness", action="store_const", const=False, help="skip the trajectory-jump check")
    g.add_argument("--no-impute", dest="impute", action="store_const", const=False, help="leave gaps missing")


# -- what the options give --------------------------------------------------------------------

def skeleton_of(args: argparse.Namespace):
    """The skeleton named by ``--skeleton`` (the shipped infant24 without it)."""
    from gmdesk.io.skeletons import load_skeleton

    return load_skeleton(args.skeleton)


def load_pose(args: argparse.Namespace, sk):
    """The track of the command's pose file, read with its --mapping, --fps and --individual."""
    from gmdesk.pipeline.cohort import load_track

    return load_track(args.pose, sk, args.mapping, args.fps, args.individual)


def cleaning_settings(args: argparse.Namespace):
    """The cleaning settings of the command line (defaults for the options not given)."""
    from gmdesk.pipeline.cleaning import CleaningSettings

    kw = {f.name: getattr(args, f.name) for f in fields(CleaningSettings) if getattr(args, f.name, None) is not None}
    return CleaningSettings(**kw)


def cohort_entries(path: str | Path, subset: str | None, learn: bool = False):
    """The infants of a cohort table, only those of set ``subset`` when one is given; with ``learn`` (training,
    evaluation, analysis) at least one labelled infant of each class is required (else the message names the
    table and its counts, not scikit-learn's)."""
    from gmdesk.pipeline.cohort import read_cohort

    entries = read_cohort(path)
    if subset:
        entries = [e for e in entries if e.set == subset]
        if not entries:
            raise GmdeskError(f"{path}: no infants in set {subset!r}")
    if learn:
        normal = sum(1 for e in entries if e.label == 0)
        abnormal = sum(1 for e in entries if e.label == 1)
        if not normal or not abnormal:
            where = f" in set {subset!r}" if subset else ""
            raise GmdeskError(f"cohort table {str(path)!r}{where} has {normal} normal and {abnormal} abnormal infant(s) "
                              f"(and {len(entries) - normal - abnormal} unlabelled): a classifier needs infants of both "
                              "classes; add infants or choose another set")
    return entries


# -- outputs are not inputs ------------------------------------------------------------------

#: Options naming what a command reads, with how messages call them.
INPUT_OPTIONS = {"pose": "pose file", "input": "input", "case": "case file", "cohort": "cohort table",
                 "mapping": "--mapping", "skeleton": "--skeleton", "video": "video"}


def check_outputs(args: argparse.Namespace, outputs: dict[str, Any], inputs: tuple[str, ...] = tuple(INPUT_OPTIONS),
                  extra: list[tuple[str, Any]] | None = None, folders: dict[str, Any] | None = None) -> None:
    """Refuse (exit 2, before anything is read or written) an output that is, or is the same file as, one of the
    command's inputs: ``inputs`` names the options holding them (as in :data:`INPUT_OPTIONS`, or
    ``"attr:label"``), ``extra`` adds (label, path) pairs (a cohort's pose files). See
    :func:`gmdesk.io.paths.refuse_overwriting_inputs`."""
    from gmdesk.io.paths import refuse_overwriting_inputs

    named = []
    for spec in inputs:
        attr, _, label = spec.partition(":")
        value = getattr(args, attr, None)
        if isinstance(value, str | Path) and value:
            named.append((label or INPUT_OPTIONS.get(attr, attr), value))
    refuse_overwriting_inputs(list(outputs.items()), named + list(extra or []), list((folders or {}).items()))


def cohort_pose_files(entries: list) -> list[tuple[str, Path]]:
    """(label, path) of each cohort infant's pose file, for :func:`check_outputs`."""
    return [(f"pose file of infant {e.infant_id!r}", e.pose_file) for e in entries]


# -- progress ---------------------------------------------------------------------------------

class ProgressBar:
    """A progress bar usable as a gmdesk progress callback: tqdm for people, or JSON lines
    ``{"progress": desc, "done": n, "total": m, "message": ...}`` with ``--progress-json``."""

    #: Set by ``--progress-json``: progress goes to stderr as one JSON object per line (for the GUI).
    json_lines = False

    def __init__(self, desc: str, unit: str = "it") -> None:
        self.desc = desc
        self.bar = None
        if not ProgressBar.json_lines:
            from tqdm import tqdm

            self.bar = tqdm(desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=False)

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if self.bar is None:
            print(json.dumps({"progress": self.desc, "done": done, "total": total, "message": message}),
                  file=sys.stderr, flush=True)
            return
        self.bar.total = total
        self.bar.n = done
        if message:
            self.bar.set_postfix_str(message, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
