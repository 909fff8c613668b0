"""What a worker does for one item: pose (for a video) → cleaning → case file → assessment → report.

Each step calls the library function its single-recording command calls, so an item's results equal the
commands run by hand:

* ``gmdesk pose VIDEO --dlc-model DLC -o OUT/<item>/pose.h5`` — :func:`gmdesk.pose.deeplabcut.estimate_pose`;
* ``gmdesk case new OUT/<item>/<item>.gmcase POSE [--video VIDEO] [--fps F]`` (cleaned as ``gmdesk clean``
  cleans) — :func:`gmdesk.record.case.import_pose_file`; the cleaning report → ``clean.json``;
* ``gmdesk case assess … --bundle MODEL`` — :func:`gmdesk.screening.assess.assess_case`, with the result also
  written as ``gmdesk assess --json/--csv`` writes it (``assessment.json``, ``snippets.csv``);
* ``gmdesk report OUT/<item>/<item>.gmcase`` — :func:`gmdesk.record.report.write_case_report`
  (``<item>.report.pdf``).

Every output is written atomically (a temporary file renamed into place), and ``done.json`` last; a run that
is killed leaves an item without ``done.json``, which the next run redoes. The pose of a video is kept with
``pose.json`` (the video's SHA-256 and the model) so that a run killed after pose does not estimate it again.
The item's log (``item.log``) gets a line per step from every attempt, and the traceback of an unexpected
error. Nothing here raises for a bad item: the row that comes back says ``failed`` and why.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gmdesk.batch.items import (
    DONE_FILE,
    LOG_FILE,
    BatchItem,
    BatchSettings,
    done_state,
    empty_row,
    input_digests,
    read_done,
    write_done,
)
from gmdesk.core.skeleton import Skeleton
from gmdesk.errors import GmdeskError
from gmdesk.evaluation.protocol import write_table
from gmdesk.io.atomic import atomic_path
from gmdesk.io.hashing import file_sha256
from gmdesk.io.skeletons import load_skeleton
from gmdesk.learning.bundle import ModelBundle, load_bundle
from gmdesk.record.case import import_pose_file
from gmdesk.record.lock import owner_path
from gmdesk.record.report import write_case_report
from gmdesk.screening.assess import assess_case
from gmdesk.screening.result import write_result_json

logger = logging.getLogger(__name__)

#: The pose of a video item and the record of what made it.
POSE_FILE, POSE_RECORD = "pose.h5", "pose.json"

#: Model bundles loaded in this worker process, by (folder, manifest SHA-256): loaded once per worker.
_BUNDLES: dict[tuple[str, str], ModelBundle] = {}


@dataclass
class PoseOutcome:
    """What the pose step of a video item hands to the rest: the inputs' digests and either the pose file,
    ``skip`` (the item is already done from these inputs), or the error."""

    digests: dict[str, dict[str, str]] = field(default_factory=dict)
    state: str = "pose"  #: "pose", "skip" or "failed"
    pose_file: Path | None = None
    fps: float | None = None
    seconds: float = 0.0
    error: str = ""


class ItemLog:
    """The item's own log file (appended to, a line at a time, by every attempt)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOG_FILE

    def __call__(self, text: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        try:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(f"{stamp} {text}\n")
        except OSError as exc:  # the log is a help, never the reason an item fails
            logger.warning("item log %s: %s", self.path, exc)


def error_text(exc: BaseException) -> str:
    """The message of a failed item: gmdesk's own message, a file problem, or the kind of unexpected error."""
    if isinstance(exc, GmdeskError):
        return str(exc)
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, MemoryError):
        return "not enough memory for this recording"
    if isinstance(exc, ValueError):
        return str(exc)
    return f"internal error: {type(exc).__name__}: {exc} (traceback in {LOG_FILE})"


def _start(folder: Path, item: BatchItem, step: str) -> ItemLog:
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob(".*.part"):  # temporary files of an attempt that was killed
        leftover.unlink(missing_ok=True)
    log = ItemLog(folder)
    log(f"{step} {item.item} (infant {item.infant_id}, row {item.row}) on {socket.gethostname()} pid {os.getpid()}")
    return log


def _bundle(settings: BatchSettings, sk: Skeleton) -> ModelBundle:
    key = (str(settings.bundle), file_sha256(settings.bundle / "manifest.json"))
    if key not in _BUNDLES:
        _BUNDLES[key] = load_bundle(settings.bundle, sk)
    return _BUNDLES[key]


def _check(item: BatchItem, settings: BatchSettings, folder: Path, digests: dict, log: ItemLog) -> str:
    """``"redo"``, ``"skip"``, or the reason the item must not be touched (earlier results of other inputs)."""
    state = done_state(read_done(folder), digests, settings.fingerprint())
    if state == "same" and not settings.overwrite:
        log("already done from these inputs and settings: skipped")
        return "skip"
    if state not in ("new", "same") and not settings.overwrite:
        return (f"{folder} holds the results of an earlier run, but {state}; --overwrite replaces them "
                "(its case file too)")
    (folder / DONE_FILE).unlink(missing_ok=True)  # from here on the item is not done until done.json is back
    return "redo"


def estimate_item_pose(item: BatchItem, settings: BatchSettings) -> PoseOutcome:
    """The pose step of a video item (a task of its own: on a GPU worker with ``--device cuda``).

    Writes ``pose.h5`` and ``pose.json``; reuses them when they were made from the same video and model.
    """
    t0 = time.perf_counter()
    folder = settings.out / item.item
    log = _start(folder, item, "pose")
    try:
        digests = input_digests(item)
        what = _check(item, settings, folder, digests, log)
        if what == "skip":
            return PoseOutcome(digests, "skip")
        if what != "redo":
            return PoseOutcome(digests, "failed", error=what)
        pose, record = folder / POSE_FILE, folder / POSE_RECORD
        made = {"video_sha256": digests["video"]["sha256"], "dlc_model": settings.dlc_model}
        old = _read_json(record)
        if not settings.overwrite and pose.is_file() and old is not None and {k: old.get(k) for k in made} == made:
            log(f"pose: kept {POSE_FILE} (made from this video with this model)")
            return PoseOutcome(digests, "pose", pose, float(old["fps"]), time.perf_counter() - t0)
        record.unlink(missing_ok=True)
        from gmdesk.pose.deeplabcut import estimate_pose  # deferred: torch and DeepLabCut only for videos

        extra = {"mapping": settings.mapping} if settings.mapping else {}
        track = estimate_pose(video=item.video, model=settings.dlc_model, skeleton=load_skeleton(settings.skeleton),
                              device=settings.device, output=pose, threads=worker_threads(), **extra)
        step = track.provenance[-1]
        with atomic_path(record) as tmp:
            tmp.write_text(json.dumps(made | {"fps": track.fps, "frames": track.n_frames, "device": step["params"]["device"],
                                              "seconds": step["summary"]["seconds"]}, indent=2), encoding="utf-8")
        log(f"pose: {track.n_frames} frames in {step['summary']['seconds']} s on {step['params']['device']}")
        return PoseOutcome(digests, "pose", pose, float(track.fps), time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - a bad item fails alone, with its message in its row
        msg = error_text(exc)
        log(f"FAILED in pose: {msg}\n{traceback.format_exc()}")
        return PoseOutcome({}, "failed", seconds=time.perf_counter() - t0, error=msg)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _remove_case(case_path: Path) -> None:
    """An unfinished attempt's case file (and its journal and owner note): the item is made again."""
    for p in (case_path, case_path.with_name(case_path.name + "-wal"), case_path.with_name(case_path.name + "-shm"),
              owner_path(case_path)):
        p.unlink(missing_ok=True)


def _assess_and_report(item: BatchItem, settings: BatchSettings, folder: Path, pose_file: Path, fps: float | None,
                       log: ItemLog) -> tuple[dict[str, Any], list[str]]:
    """Case (cleaned), assessment, report: the row's findings and the files written."""
    sk = load_skeleton(settings.skeleton)
    bundle = _bundle(settings, sk)
    case_path = folder / f"{item.item}.gmcase"
    _remove_case(case_path)
    t = time.perf_counter()
    with import_pose_file(case_path, pose_file, sk, video=item.video, mapping=settings.mapping, fps=fps,
                          infant_id=item.infant_id, clean=settings.cleaning) as case:
        settings_doc, cleaning = case.cleaning() or ({}, {})
        with atomic_path(folder / "clean.json") as tmp:
            tmp.write_text(json.dumps({"input": str(pose_file), "frames": case.raw_track().n_frames, "settings": settings_doc,
                                       **cleaning}, indent=2), encoding="utf-8")
        log(f"case: {case_path.name}, cleaned ({len(cleaning.get('review', []))} review items) in "
            f"{time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        rid, res = assess_case(case, bundle, sk)
        write_result_json(res, folder / "assessment.json")
        write_table(res.snippets, folder / "snippets.csv")
        log(f"assessment: result {rid} with {res.model_id}: {res.headline} — {res.verdict.basis} "
            f"({time.perf_counter() - t:.1f} s)")
        t = time.perf_counter()
        report = folder / f"{item.item}.report.pdf"
        content = write_case_report(case, report)
        log(f"report: {report.name} ({time.perf_counter() - t:.1f} s)")
    q = content.quality
    found = {"verdict": res.headline, "validated": "yes" if res.validated else "no", "basis": res.verdict.basis,
             "quality": f"{'scorable' if q.get('scorable') else 'NOT SCORABLE'}: {q.get('scorable_reason')}",
             "snippets": len(res.snippets)}
    return found, [case_path.name, "clean.json", "assessment.json", "snippets.csv", report.name]


def process_item(item: BatchItem, settings: BatchSettings, pose: PoseOutcome | None = None) -> dict[str, Any]:
    """Process one item (after :func:`estimate_item_pose` for a video) and return its ``batch.csv`` row.

    Never raises for a bad item: the row says ``failed`` and why (and ``item.log`` has the traceback of an
    unexpected error). Only a lost worker or a cancel stops it from returning.
    """
    t0 = time.perf_counter()
    if item.problem:
        return empty_row(item, "failed", item.problem)
    folder = settings.out / item.item
    log = _start(folder, item, "process")
    try:
        if pose is not None and pose.state == "failed":
            raise GmdeskError(pose.error)
        digests = pose.digests if pose is not None else input_digests(item)
        what = "skip" if pose is not None and pose.state == "skip" else (
            "redo" if pose is not None else _check(item, settings, folder, digests, log))
        if what == "skip":
            done = read_done(folder) or {}
            if settings.run_id and done.get("run") == settings.run_id:  # finished by a lost attempt of this run
                log("done by an earlier attempt of this run (its worker was lost after writing done.json)")
                return empty_row(item, "done") | dict(done.get("row") or {}) | {"status": "done", "error": ""}
            return (empty_row(item, "skipped") | dict(done.get("row") or {})
                    | {"status": "skipped", "seconds": round(time.perf_counter() - t0, 2), "error": ""})
        if what != "redo":
            raise GmdeskError(what)
        pose_file = pose.pose_file if pose is not None and pose.pose_file else item.pose_file
        fps = item.fps or (pose.fps if pose is not None else None)
        found, outputs = _assess_and_report(item, settings, folder, pose_file, fps, log)
        outputs = ([POSE_FILE, POSE_RECORD] if pose is not None else []) + outputs
        seconds = round(time.perf_counter() - t0 + (pose.seconds if pose is not None else 0.0), 2)
        row = empty_row(item, "done") | found | {"seconds": seconds}
        write_done(folder, item, digests, settings.fingerprint(), outputs, row, settings.run_id)
        log(f"done in {seconds} s")
        return row
    except Exception as exc:  # noqa: BLE001 - a bad item fails alone, with its message in its row
        msg = error_text(exc)
        log(f"FAILED: {msg}" + ("" if isinstance(exc, GmdeskError) else f"\n{traceback.format_exc()}"))
        seconds = round(time.perf_counter() - t0 + (pose.seconds if pose is not None else 0.0), 2)
        return empty_row(item, "failed", msg) | {"seconds": seconds}


def worker_threads() -> int | None:
    """The threads of the Dask worker running this task (ONNX Runtime uses as many, so that workers sharing a
    machine do not each take every core); None outside a worker."""
    try:
        from distributed import get_worker  # deferred: only inside a batch task

        return max(1, int(get_worker().nthreads))
    except (ImportError, ValueError, AttributeError):
        return None
