"""Running a batch on Dask distributed: an embedded ``LocalCluster`` or an existing cluster.

One task per item (:func:`gmdesk.batch.work.process_item`); a video item has a pose task before it
(:func:`gmdesk.batch.work.estimate_item_pose`) which asks for ``resources={"GPU": 1}`` when pose runs on
CUDA, so GPU workers take pose and any worker the rest. Items fail alone (their row says why). A worker
that dies (killed, out of memory, crashed) takes its task with it; the scheduler gives the task to another
worker until it has lost ``allowed-failures`` workers with it (``--retries`` for the embedded cluster; an
existing cluster uses its own setting), then the item fails with that reason. ``batch.csv`` is rewritten
(atomically) whenever an item finishes; on cancel (Ctrl+C) the running tasks are cancelled, finished items
stay, and the unfinished ones are listed as ``cancelled``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import logging
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
from distributed import Client, Future, LocalCluster, WorkerPlugin
from distributed.scheduler import KilledWorker

from gmdesk.batch.items import COLUMNS, LOG_FILE, TABLE_FILE, BatchItem, BatchSettings, empty_row
from gmdesk.batch.work import error_text, estimate_item_pose, process_item
from gmdesk.errors import CancelledError, GmdeskError
from gmdesk.evaluation.protocol import write_table
from gmdesk.progress import CancelFn, ProgressFn, check_cancel, report

logger = logging.getLogger(__name__)

#: How often the loop looks at the tasks and reports progress (seconds).
POLL_S = 0.25
#: Waiting for an existing scheduler before giving up.
CONNECT_TIMEOUT = "20s"


@dataclass
class BatchSummary:
    """What a batch did: one row per item (``batch.csv``), the counts per status, the table's path."""

    rows: list[dict[str, Any]]
    table: Path
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class IgnoreInterrupt(WorkerPlugin):
    """Embedded workers ignore SIGINT: a Ctrl+C at the terminal reaches every process of the group, and the
    batch (the client) is what cancels the tasks and closes the cluster; a worker that died of it would only
    print a traceback and lose its item."""

    name = "gmdesk-ignore-interrupt"

    def setup(self, worker: Any) -> None:
        with contextlib.suppress(ValueError):  # not the worker process's main thread: leave it
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def dashboard_available() -> bool:
    """Whether this installation can serve Dask's dashboard (it needs bokeh, which gmdesk does not require)."""
    return importlib.util.find_spec("bokeh") is not None


def dashboard_of(client: Client) -> str | None:
    """The dashboard address of the client's scheduler, or None when it serves none (its HTTP server runs
    anyway; the dashboard needs bokeh where the scheduler runs)."""
    try:
        services = client.scheduler_info(n_workers=0).get("services", {})
        has_bokeh = client.run_on_scheduler(lambda: importlib.util.find_spec("bokeh") is not None)
    except (OSError, TimeoutError, ValueError, ImportError) as exc:
        logger.debug("no dashboard: %s", exc)
        return None
    return client.dashboard_link if "dashboard" in services and has_bokeh else None


@contextlib.contextmanager
def batch_client(scheduler: str | None = None, scheduler_file: str | Path | None = None, workers: int | None = None,
                 memory_limit: str | float | None = "auto", retries: int = 2, gpu: bool = False,
                 dashboard: bool = True) -> Iterator[Client]:
    """A Dask client: connected to ``scheduler`` (``tcp://HOST:8786``) or the scheduler of ``scheduler_file``, else
    to an embedded ``LocalCluster`` of ``workers`` processes (default one per core), one thread each, each
    limited to ``memory_limit`` (``"auto"``: the machine's memory shared out), which gives a task up after
    ``retries`` + 1 lost workers; with ``gpu`` every embedded worker offers ``GPU=1`` (one machine: pose tasks
    may share its GPU). The embedded cluster serves the dashboard on port 8787 (another when taken) when bokeh
    is installed and ``dashboard``; its scheduler's HTTP server (health, metrics) runs on a free port otherwise.

    Raises
    ------
    GmdeskError
        The scheduler cannot be reached, or its file cannot be read.
    """
    if scheduler or scheduler_file:
        where = scheduler or f"the scheduler file {scheduler_file}"
        try:
            client = (Client(scheduler_file=str(scheduler_file), timeout=CONNECT_TIMEOUT, set_as_default=False)
                      if scheduler_file else Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False))
        except (OSError, TimeoutError, ValueError) as exc:
            raise GmdeskError(f"cannot reach the Dask scheduler at {where}: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    with dask.config.set({"distributed.scheduler.allowed-failures": int(retries)}):
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               memory_limit=memory_limit, resources={"GPU": 1} if gpu else None,
                               dashboard_address=":8787" if dashboard and dashboard_available() else ":0",
                               silence_logs=logging.ERROR)
    try:
        client = Client(cluster, set_as_default=False)
        client.register_plugin(IgnoreInterrupt())
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def _check_gpu_workers(client: Client) -> None:
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    if not any((w.get("resources") or {}).get("GPU", 0) >= 1 for w in workers.values()):
        raise GmdeskError("pose on CUDA needs a worker that offers a GPU, and none of the scheduler's "
                          f"{len(workers)} workers does: start one with `dask worker SCHEDULER --resources GPU=1 "
                          "--nthreads 1` (with CUDA_VISIBLE_DEVICES set to its GPU)")


class _Tasks:
    """The batch's futures: the final task of each item, and the pose tasks of video items."""

    def __init__(self) -> None:
        self.final: dict[Future, BatchItem] = {}
        self.pose: list[Future] = []

    def keys(self) -> set[str]:
        return {f.key for f in self.final} | {f.key for f in self.pose}


def _submit(client: Client, items: list[BatchItem], settings: BatchSettings, retries: int,
            rows: dict[str, dict[str, Any]]) -> _Tasks:
    tasks = _Tasks()
    run = settings.run_id
    gpu = {"GPU": 1} if settings.device.startswith("cuda") else None
    for item in items:
        if item.problem:
            rows[item.item] = process_item(item, settings)  # fails at once, without a task
            continue
        if item.pose_file is None and not settings.dlc_model:
            rows[item.item] = empty_row(item, "failed", f"{item.video} is a video: pose estimation needs --dlc-model")
            continue
        pose = None
        if item.pose_file is None:
            pose = client.submit(estimate_item_pose, item, settings, key=f"pose-{item.item}-{run}", resources=gpu,
                                 retries=retries, pure=False)
            tasks.pose.append(pose)
        args = (item, settings) if pose is None else (item, settings, pose)
        tasks.final[client.submit(process_item, *args, key=f"item-{item.item}-{run}", retries=retries, pure=False)] = item
    return tasks


def _row_of(future: Future, item: BatchItem) -> dict[str, Any]:
    """The row a finished task gives back, or the row of a task that could not finish."""
    exc = future.exception() if future.status == "error" else None
    if exc is None:
        return future.result()
    if isinstance(exc, KilledWorker):
        msg = (f"the worker processing it was lost each time it was tried (killed, out of memory or crashed; "
               f"see {item.item}/{LOG_FILE}); --retries gives it more tries")
    else:
        msg = error_text(exc)
    return empty_row(item, "failed", msg)


def _counts(rows: dict[str, dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows.values():
        out[r["status"]] = out.get(r["status"], 0) + 1
    return out


def _message(counts: dict[str, int], running: int) -> str:
    return (f"{counts.get('done', 0)} done, {counts.get('skipped', 0)} skipped, {counts.get('failed', 0)} failed, "
            f"{running} running")


def _write(items: list[BatchItem], rows: dict[str, dict[str, Any]], table: Path) -> None:
    write_table([{k: rows[i.item].get(k, "") for k in COLUMNS} for i in items], table)


def _running(client: Client, keys: set[str]) -> int:
    try:
        return sum(1 for ks in client.processing().values() for k in ks if k in keys)
    except (OSError, TimeoutError):
        return 0


def _loop(client: Client, items: list[BatchItem], rows: dict[str, dict[str, Any]], tasks: _Tasks, table: Path,
          progress: ProgressFn | None, cancel: CancelFn | None) -> None:
    """Wait for the items, rewriting the table and reporting progress as they finish."""
    keys, pending = tasks.keys(), set(tasks.final)
    _write(items, rows, table)
    report(progress, len(items) - len(pending), len(items), _message(_counts(rows), 0))
    last = 0.0
    while pending:
        check_cancel(cancel, "batch")
        finished = [f for f in pending if f.done()]
        for f in finished:
            rows[tasks.final[f].item] = _row_of(f, tasks.final[f])
            pending.discard(f)
        if finished:
            _write(items, rows, table)
        if finished or time.monotonic() - last > 1.0:
            last = time.monotonic()
            report(progress, len(items) - len(pending), len(items), _message(_counts(rows), _running(client, keys)))
        if not finished:
            time.sleep(POLL_S)


def run_batch(items: list[BatchItem], settings: BatchSettings, client: Client, retries: int = 2,
              progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> BatchSummary:
    """Process every item on the client's cluster; write ``OUT/batch.csv``; return the rows.

    Parameters
    ----------
    items : list of BatchItem
        From :func:`gmdesk.batch.items.read_batch_table`.
    settings : BatchSettings
        The output folder, model bundle, pose model and device, cleaning, ``overwrite``.
    client : distributed.Client
        From :func:`batch_client`.
    retries : int
        Retries of a task that raised (items do not raise: they return a failed row).
    progress, cancel : callable, optional
        ``progress(finished, total, "3 done, 0 skipped, 1 failed, 2 running")``; ``cancel()`` → stop.

    Raises
    ------
    KeyboardInterrupt, CancelledError
        After cancelling the unfinished tasks and writing the table (finished items stay; the others say
        ``cancelled``).
    """
    t0 = time.perf_counter()
    if not settings.run_id:
        settings = dataclasses.replace(settings, run_id=uuid.uuid4().hex[:8])
    settings.out.mkdir(parents=True, exist_ok=True)
    table = settings.out / TABLE_FILE
    rows: dict[str, dict[str, Any]] = {i.item: empty_row(i, "pending") for i in items}
    if settings.device.startswith("cuda") and any(i.pose_file is None and not i.problem for i in items):
        _check_gpu_workers(client)
    tasks = _Tasks()
    try:
        tasks = _submit(client, items, settings, retries, rows)
        _loop(client, items, rows, tasks, table, progress, cancel)
    except (KeyboardInterrupt, CancelledError):
        for item in items:
            if rows[item.item]["status"] == "pending":
                rows[item.item] = empty_row(item, "cancelled", "cancelled before it finished: a rerun makes it (or "
                                                              "skips it, if its worker finished it after all)")
        _write(items, rows, table)
        with contextlib.suppress(Exception):
            client.cancel(list(tasks.final) + tasks.pose, force=True)
        raise
    return BatchSummary([rows[i.item] for i in items], table, _counts(rows), time.perf_counter() - t0)
