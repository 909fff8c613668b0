"""``gmdesk batch``: a cohort of recordings on Dask — per item pose → cleaning → case → assessment → report."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from gmdesk.cli.args import (
    COUNT,
    POSITIVE_INT,
    ProgressBar,
    add_cleaning_args,
    check_outputs,
    cleaning_settings,
    command_parser,
)
from gmdesk.errors import GmdeskError

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "batch",
                       "a cohort of videos or pose files on Dask: pose, cleaning, case, assessment and report per item, "
                       "resumable")
    p.add_argument("table", metavar="COHORT.csv",
                   help="one row per recording: infant_id, video and/or pose_file (relative to the table), fps (optional)")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="folder: OUT/<item>/ per item and OUT/batch.csv")
    p.add_argument("--bundle", "--model", dest="model", required=True, metavar="BUNDLE", help="model bundle folder")
    p.add_argument("--dlc-model", metavar="DLC_MODEL", help="DeepLabCut model for the rows that have only a video")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="join an existing Dask cluster")
    where.add_argument("--scheduler-file", metavar="FILE", help="join the cluster of a scheduler file (dask scheduler "
                                                                "--scheduler-file FILE)")
    p.add_argument("--workers", type=POSITIVE_INT, help="worker processes of the embedded cluster (default: one per core)")
    p.add_argument("--memory-limit", default="auto",
                   help="memory limit per embedded worker (e.g. 4GiB; auto: the machine's memory shared out)")
    p.add_argument("--device", default="cpu", help="pose estimation on cpu, cuda or cuda:N (cuda: pose tasks need "
                                                   "a worker offering GPU=1)")
    p.add_argument("--retries", type=COUNT, default=2, help="tries of an item beyond the first when its worker is lost")
    p.add_argument("--overwrite", action="store_true", help="redo items that are already done (their case files too)")
    p.add_argument("--skeleton", help="skeleton TOML file or shipped name (default infant24)")
    p.add_argument("--mapping", help="TOML file mapping the pose files' / model's body-part names to skeleton landmarks")
    add_cleaning_args(p)
    return p


def run(args: argparse.Namespace) -> int:
    from gmdesk.batch.items import BatchSettings, read_batch_table
    from gmdesk.batch.runner import batch_client, dashboard_of, run_batch
    from gmdesk.io.skeletons import load_skeleton

    if not args.verbose:  # Dask logs every worker start and stop at INFO
        logging.getLogger("distributed").setLevel(logging.WARNING)
    # the output folder is not the table, nor inside the bundle (#23; items write only OUT/<item>/)
    check_outputs(args, {"-o": args.output}, ("table:cohort table", "model:--bundle", "mapping", "skeleton"))
    load_skeleton(args.skeleton)  # a bad skeleton is refused before any worker starts
    bundle = Path(args.model)
    if not (bundle / "manifest.json").is_file():
        raise GmdeskError(f"{bundle} is not a gmdesk model bundle (no manifest.json)")
    items = read_batch_table(args.table)
    out = Path(args.output)
    settings = BatchSettings(out=out.resolve(), bundle=bundle.resolve(), dlc_model=args.dlc_model, device=args.device,
                             skeleton=args.skeleton, mapping=args.mapping, cleaning=cleaning_settings(args),
                             overwrite=args.overwrite)
    with batch_client(args.scheduler, args.scheduler_file, args.workers, args.memory_limit, args.retries,
                      gpu=args.device.startswith("cuda")) as client:
        n_workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
        where = args.scheduler or args.scheduler_file or "embedded cluster"
        print(f"batch of {len(items)} items on {n_workers} workers ({where}); outputs in {out}", flush=True)
        dash = dashboard_of(client)
        if dash:
            print(f"dashboard: {dash}", flush=True)
        with ProgressBar("batch", "item") as bar:
            summary = run_batch(items, settings, client, args.retries, progress=bar)
    counts = summary.counts
    print(f"{counts.get('done', 0)} done, {counts.get('skipped', 0)} skipped, {counts.get('failed', 0)} failed "
          f"in {summary.seconds:.0f} s; wrote {summary.table}")
    for r in summary.rows:
        if r["status"] == "failed":
            print(f"  {r['item']}: failed: {r['error']}", file=sys.stderr)
    if counts.get("failed"):
        raise GmdeskError(f"{counts['failed']} of {len(items)} items failed (their rows in {summary.table} say why)")
    return 0
