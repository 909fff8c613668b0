"""``gmdesk clean``: clean a pose file and list what a reviewer should look at."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from gmdesk.cli.args import (
    COUNT,
    ProgressBar,
    add_pose_args,
    check_outputs,
    cleaning_settings,
    command_parser,
    load_pose,
    output,
    skeleton_of,
)

logger = logging.getLogger(__name__)


def report_arg(text: str) -> str:
    """``--report``'s argument: ``-`` (list the whole queue) or a .json file."""
    if text == "-" or Path(text).suffix.lower() == ".json":
        return text
    raise argparse.ArgumentTypeError(f"{text!r}: the report is JSON; give a .json file name")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "clean",
                       "clean a pose file (likelihood, left/right swaps, geometry, trajectory jumps, makima)")
    p.add_argument("pose", help="DLC .h5/.csv or gmdesk .npz track")
    p.add_argument("-o", "--output", type=output(".npz", ".h5", ".csv"),
                   help="cleaned track: .npz keeps point statuses and provenance, .h5/.csv is DLC's layout "
                        "(default POSE.clean.npz)")
    p.add_argument("--dlc-out", type=output(".h5", ".csv"), help="also write the cleaned track as DLC .h5/.csv")
    p.add_argument("--report", nargs="?", const="-", metavar="REPORT.json", type=report_arg,
                   help="list the whole review queue; with a .json file, also write the report (counts, swaps, gaps, "
                        "review queue, snippet coverage, provenance)")
    p.add_argument("--show", type=COUNT, default=10, help="review items to list without --report")
    add_pose_args(p, cleaning=True)
    return p


def run(args: argparse.Namespace) -> int:
    from gmdesk.io.dlc import write_dlc
    from gmdesk.io.tracks import write_track
    from gmdesk.pipeline.cleaning import clean_track
    from gmdesk.pipeline.review import report_document

    src = Path(args.pose)
    out = Path(args.output) if args.output else src.with_name(src.stem + ".clean.npz")
    check_outputs(args, {"-o": out, "--dlc-out": args.dlc_out, "--report": args.report})
    sk = skeleton_of(args)
    track = load_pose(args, sk)
    with ProgressBar("clean", "step") as bar:
        cleaned, rep = clean_track(track, sk, cleaning_settings(args), progress=bar)
    if out.suffix.lower() == ".npz":
        write_track(cleaned, out)
    else:
        write_dlc(cleaned, out)
    doc = report_document(cleaned, rep, len(sk.mirror_pairs))
    summary = {"input": str(src), "output": str(out), "frames": track.n_frames, **doc}
    if args.dlc_out:
        write_dlc(cleaned, args.dlc_out)
        summary["dlc_output"] = str(args.dlc_out)
    _print_summary(src, track, cleaned, rep, doc["coverage"])
    _print_review_queue(doc["review"], args)
    if args.report and args.report != "-":
        from gmdesk.io.atomic import atomic_path

        with atomic_path(Path(args.report)) as tmp:
            tmp.write_text(json.dumps(summary | {"provenance": cleaned.provenance}, indent=2), encoding="utf-8")
        print(f"wrote {args.report}")
    print(f"wrote {out}")
    return 0


def _print_summary(src: Path, track, cleaned, rep, cov: dict) -> None:
    """What each cleaning step did, and how much of the recording makes usable snippets."""
    hyst = next((p["summary"].get("removed_by_hysteresis", 0) for p in cleaned.provenance
                 if p["step"] == "remove_low_likelihood"), 0)
    print(f"{src.name}: {track.n_frames} frames ({track.duration_s:.0f} s)")
    print(f"  likelihood: removed {rep.low_likelihood} points ({hyst} of them next to sub-cut-off points)")
    swaps = ", ".join(f"{e.left} ↔ {e.right} {e.start}-{e.stop - 1}" for e in rep.swaps[:4])
    print(f"  left/right swaps put back: {len(rep.swaps)} runs, {rep.swap_repaired} points"
          + (f" ({swaps}{', ...' if len(rep.swaps) > 4 else ''})" if rep.swaps else ""))
    print(f"  geometry: removed {rep.geometry_outliers} points; trajectory jumps: removed {rep.smoothness_outliers} points")
    print(f"  imputed {rep.imputed} points (makima); {len(rep.gaps)} gaps left for review "
          f"({sum(g.length for g in rep.gaps)} landmark-frames)")
    why = ", ".join(f"{k} {v}" for k, v in list(cov["missing_by_landmark"].items())[:4])
    print(f"  snippets ({cov['window']} frames, overlap {cov['overlap']}): {cov['windows_kept']} of {cov['windows']} windows "
          f"usable ({100 * cov['usable_share']:.0f} % of frames)"
          + (f"; left out for missing {why} (landmark-frames)" if why else "")
          + (f"; {len(cov['flagged'])} kept with a long end-point fill (flagged)" if cov["flagged"] else ""))


def _print_review_queue(items: list, args: argparse.Namespace) -> None:
    """The review queue, most important first: all of it with ``--report``, else the first ``--show`` items."""
    shown = items if args.report == "-" else items[: args.show]
    if shown:
        print(f"review queue: {len(items)} items, most important first"
              + ("" if len(shown) == len(items) else f" (first {len(shown)}; --report lists all)"))
        for k, it in enumerate(shown, 1):
            print(f"  {k:>3}. {it['kind']:<14} {it['landmark']:<28} {it['start']:>6}-{it['stop'] - 1:<6} "
                  f"conf {it['confidence']:.2f}  {it['detail']}")
