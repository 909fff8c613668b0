"""The items of a batch (one recording each: a video, a pose file, or both), their settings, and the record
that says an item is finished (``done.json``).

A batch table is a CSV (UTF-8, with or without a byte-order mark) with one row per recording: ``infant_id``
and at least one of ``video`` and ``pose_file`` (paths relative to the table); ``fps`` optionally. Other
columns (``label``, ``set``, ``phenotype`` … of a cohort table) are ignored, so a cohort table is a batch
table. A row's own problem (no file, a missing cell) fails that item alone; a table that cannot be read at
all is refused as a whole.

An item's outputs live in ``OUT/<item>/``. The item is finished only when ``done.json`` exists: it is written
last (atomically), after every output, and holds the SHA-256 of the item's inputs and the settings that made
it; an item is skipped on a later run only when both still match.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gmdesk import __version__
from gmdesk.errors import GmdeskError
from gmdesk.io.atomic import atomic_path
from gmdesk.io.hashing import file_sha256
from gmdesk.pipeline.cleaning_settings import CleaningSettings
from gmdesk.pipeline.cohort import read_csv_table

logger = logging.getLogger(__name__)

#: The record that marks an item finished (written last).
DONE_FILE = "done.json"
#: The item's own log (appended to by every attempt).
LOG_FILE = "item.log"
#: The batch's table of statuses, one row per item.
TABLE_FILE = "batch.csv"
#: Statuses of an item in ``batch.csv`` (``cancelled`` only after Ctrl+C / Cancel).
STATUSES = ("done", "failed", "skipped", "cancelled")
#: Columns of ``batch.csv``.
COLUMNS = ("item", "infant_id", "input", "status", "verdict", "validated", "basis", "quality", "snippets", "seconds",
           "error", "folder")


@dataclass(frozen=True)
class BatchItem:
    """One recording of a batch.

    ``problem`` is set when the row itself is unusable (the item fails without running).
    """

    item: str  #: folder name under the output folder (the infant id made safe for a file name)
    infant_id: str
    row: int  #: line of the table
    video: Path | None = None
    pose_file: Path | None = None
    fps: float | None = None
    problem: str = ""

    @property
    def source(self) -> Path | None:
        """What the item starts from: the pose file when there is one, else the video."""
        return self.pose_file or self.video


@dataclass(frozen=True)
class BatchSettings:
    """What every item is processed with (sent to the workers: plain data only)."""

    out: Path
    bundle: Path
    dlc_model: str | None = None
    device: str = "cpu"
    skeleton: str | None = None
    mapping: str | None = None
    cleaning: CleaningSettings = field(default_factory=CleaningSettings)
    overwrite: bool = False
    #: This run of the batch (set by :func:`gmdesk.batch.runner.run_batch`; not part of the fingerprint): an
    #: item found done by a retry *of the same run* was finished by an attempt whose worker was lost after
    #: writing done.json, so it is reported done, not skipped.
    run_id: str = ""

    def fingerprint(self) -> dict[str, Any]:
        """What, beside the inputs, decides an item's results: the model bundle's manifest hash, the pose
        model, the skeleton, the name mapping and the cleaning settings (not the device or worker)."""
        manifest = self.bundle / "manifest.json"
        return {"bundle_manifest_sha256": file_sha256(manifest) if manifest.is_file() else None,
                "dlc_model": self.dlc_model, "skeleton": self.skeleton or "infant24", "mapping": self.mapping,
                "cleaning": asdict(self.cleaning)}


def folder_name(infant_id: str, taken: set[str]) -> str:
    """A folder name for an item: the id with anything but letters, digits, ``.``, ``_`` and ``-`` made ``_``,
    never hidden, unique (case-insensitively) among ``taken`` (which it joins)."""
    base = re.sub(r"[^A-Za-z0-9._-]", "_", infant_id).lstrip(".")[:100] or "item"
    name, k = base, 2
    while name.lower() in taken:
        name, k = f"{base}-{k}", k + 1
    taken.add(name.lower())
    return name


def _table_rows(p: Path) -> tuple[list[str], list[dict[str, Any]]]:
    header, rows = read_csv_table(p, "batch table")
    if "infant_id" not in header or not {"video", "pose_file"} & set(header):
        raise GmdeskError(f"batch table {str(p)!r} needs the column infant_id and a column video and/or pose_file "
                          f"(it has {header})")
    return header, rows


def _row_item(p: Path, line: int, raw: dict[str, Any], taken: set[str], seen: set[str]) -> BatchItem:
    """One row as an item; a problem of the row is kept in the item (it fails alone)."""
    r = {(k.strip() if k else k): (v.strip() if isinstance(v, str) else v) for k, v in raw.items()}
    iid = r.get("infant_id") or f"row{line}"
    where = f"{p.name}:{line}: "
    item = folder_name(iid, taken)
    files: dict[str, Path | None] = {}
    problem = ""
    for col in ("video", "pose_file"):
        v = r.get(col) or ""
        f = Path(v) if v else None
        files[col] = None if f is None else (f if f.is_absolute() else p.parent / f)
    fps = None
    if None in raw:
        problem = f"{where}more cells than columns"
    elif not r.get("infant_id"):
        problem = f"{where}no infant_id"
    elif iid in seen:
        problem = f"{where}infant_id {iid!r} is repeated"
    elif files["video"] is None and files["pose_file"] is None:
        problem = f"{where}neither a video nor a pose file"
    elif r.get("fps"):
        try:
            fps = float(r["fps"])
        except ValueError:
            fps = math.nan
        if not (math.isfinite(fps) and 0 < fps <= 1000):
            problem, fps = f"{where}fps {r['fps']!r} is not a frame rate (0 < fps <= 1000)", None
    if not problem:
        for col, f in files.items():
            if f is not None and not f.is_file():
                problem = f"{where}{col.replace('_', ' ')} {str(f)!r} does not exist"
                break
    seen.add(iid)
    return BatchItem(item, iid, line, files["video"], files["pose_file"], fps, problem)


def read_batch_table(path: str | Path) -> list[BatchItem]:
    """The items of a batch table (see the module's description).

    Raises
    ------
    GmdeskError
        The table cannot be read, has no rows, or lacks the columns (naming the table and what it has).
    """
    p = Path(path)
    _, rows = _table_rows(p)
    taken: set[str] = set()
    seen: set[str] = set()
    return [_row_item(p, line, raw, taken, seen) for line, raw in enumerate(rows, start=2)]


def input_digests(item: BatchItem) -> dict[str, dict[str, str]]:
    """The SHA-256 of each of the item's input files (``video``, ``pose_file``)."""
    out = {}
    for col, f in (("video", item.video), ("pose_file", item.pose_file)):
        if f is not None:
            out[col] = {"path": str(f), "sha256": file_sha256(f)}
    return out


def read_done(folder: Path) -> dict[str, Any] | None:
    """The item's ``done.json``, or None when there is none or it cannot be read (the item is then not done)."""
    p = folder / DONE_FILE
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("inputs"), dict) else None


def done_state(done: dict[str, Any] | None, digests: dict[str, dict[str, str]], fingerprint: dict[str, Any]) -> str:
    """``"new"`` (no finished result), ``"same"`` (finished from these inputs and settings) or a sentence saying
    what differs."""
    if done is None:
        return "new"
    old = {k: (v or {}).get("sha256") for k, v in done["inputs"].items() if isinstance(v, dict)}
    now = {k: v["sha256"] for k, v in digests.items()}
    if old != now:
        changed = sorted(k for k in set(old) | set(now) if old.get(k) != now.get(k))
        return f"its {' and '.join(c.replace('_', ' ') for c in changed)} changed since it was done"
    if done.get("settings") != fingerprint:
        diff = sorted(k for k in fingerprint if (done.get("settings") or {}).get(k) != fingerprint[k])
        return f"it was done with other settings ({', '.join(diff)})"
    return "same"


def write_done(folder: Path, item: BatchItem, digests: dict[str, dict[str, str]], fingerprint: dict[str, Any],
               outputs: list[str], row: dict[str, Any], run_id: str = "") -> Path:
    """Write ``done.json`` (atomically; the last file an item writes)."""
    doc = {"format": "gmdesk-batch-item", "gmdesk_version": __version__, "item": item.item, "infant_id": item.infant_id,
           "inputs": digests, "settings": fingerprint, "outputs": outputs, "row": row, "run": run_id}
    with atomic_path(folder / DONE_FILE) as tmp:
        tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return folder / DONE_FILE


def empty_row(item: BatchItem, status: str, error: str = "") -> dict[str, Any]:
    """A ``batch.csv`` row with only the item, its status and the error."""
    row: dict[str, Any] = dict.fromkeys(COLUMNS, "")
    row |= {"item": item.item, "infant_id": item.infant_id, "input": str(item.source or ""), "status": status,
            "error": error, "folder": item.item}
    return row
