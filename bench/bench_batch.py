"""Benchmark: ``gmdesk batch`` items per minute with 1 and 2 workers, and the scheduler's overhead per item.

Run: ``.venv/bin/python bench/bench_batch.py [--items 8] [--seconds 60]``. Synthetic pose files (no pose
estimation: the cost measured is cleaning, case file, assessment and report). Each cluster's workers are
warmed first (modules imported, the bundle loaded) so the figures are the steady rate of a long cohort.
Overhead per item, two ways: (a) the 1-worker batch minus the same items processed in this process one after
another, per item; (b) the round trip of a task that does nothing, on the 1-worker cluster.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from gmdesk.batch.items import BatchSettings, read_batch_table
from gmdesk.batch.runner import batch_client, run_batch
from gmdesk.batch.work import process_item
from gmdesk.io.resources import bundle_path
from gmdesk.synthetic.cohorts import generate_cohort
from gmdesk.synthetic.settings import SynthSettings


def warm(settings: BatchSettings, items, client) -> None:
    """Every worker processes one item into a scratch folder (imports, bundle cache), then the folder goes."""
    scratch = BatchSettings(out=settings.out.parent / "warm", bundle=settings.bundle, overwrite=True)
    workers = list(client.scheduler_info(n_workers=-1)["workers"])
    futures = [client.submit(process_item, items[k % len(items)], scratch, workers=[w], pure=False)
               for k, w in enumerate(workers)]
    client.gather(futures)
    shutil.rmtree(scratch.out, ignore_errors=True)


def noop() -> None:
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60.0, help="length of each synthetic recording")
    ap.add_argument("--noop-tasks", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        n_ab = args.items // 2
        table = generate_cohort(root / "cohort", n_normal=args.items - n_ab, n_abnormal=n_ab, n_external_normal=0,
                                n_external_abnormal=0, seed=3, truth=False,
                                settings=SynthSettings(duration_s=(args.seconds, args.seconds)))
        items = read_batch_table(table)
        bundle = bundle_path()
        # in this process, one after another (after one warm-up item)
        serial = BatchSettings(out=root / "serial", bundle=bundle)
        process_item(items[0], BatchSettings(out=root / "serial-warm", bundle=bundle))
        t0 = time.perf_counter()
        for it in items:
            assert process_item(it, serial)["status"] == "done"
        t_serial = time.perf_counter() - t0
        rate = {}
        for n in (1, 2):
            with batch_client(workers=n, dashboard=False) as client:
                settings = BatchSettings(out=root / f"w{n}" / "out", bundle=bundle)
                warm(settings, items, client)
                t0 = time.perf_counter()
                summary = run_batch(items, settings, client)
                t = time.perf_counter() - t0
                assert summary.counts.get("done") == len(items), summary.counts
                rate[n] = (t, 60 * len(items) / t)
                if n == 1:
                    t1 = time.perf_counter()
                    client.gather([client.submit(noop, pure=False) for _ in range(args.noop_tasks)])
                    t_noop = (time.perf_counter() - t1) / args.noop_tasks
                    t2 = time.perf_counter()
                    for _ in range(20):
                        client.submit(noop, pure=False).result()
                    t_rt = (time.perf_counter() - t2) / 20
    print(f"machine: {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at the end); "
          f"{len(items)} synthetic items of {args.seconds:.0f} s (pose files: clean, case, assess, report)")
    print(f"in-process, one after another: {t_serial:.1f} s = {60 * len(items) / t_serial:.1f} items/min "
          f"({1000 * t_serial / len(items):.0f} ms per item)")
    for n, (t, ipm) in rate.items():
        print(f"batch, {n} worker{'s' if n > 1 else ''}: {t:.1f} s = {ipm:.1f} items/min")
    print(f"2 workers / 1 worker: {rate[2][1] / rate[1][1]:.2f}x")
    print(f"overhead per item (1-worker batch minus in-process): {1000 * (rate[1][0] - t_serial) / len(items):.0f} ms")
    print(f"scheduler: {1000 * t_noop:.1f} ms per no-op task ({args.noop_tasks} submitted together), "
          f"{1000 * t_rt:.1f} ms round trip of one task")


if __name__ == "__main__":
    main()
