"""What every part of a case file shares: its errors, the time and author of a row, array blobs and their
checksums, and the checked reading of a stored JSON column."""

from __future__ import annotations

import datetime as _dt
import getpass
import hashlib
import logging
import sqlite3
from typing import Any

import numpy as np

from gmdesk.core.posetrack import PointStatus
from gmdesk.errors import GmdeskError
from gmdesk.io.jsonfile import loads_strict

logger = logging.getLogger(__name__)

#: The point statuses a stored track or edit may hold.
STATUS_CODES = {int(s) for s in PointStatus}


class CaseError(GmdeskError):
    """A case file cannot be opened or used."""


class CaseLockedError(CaseError):
    """Another program has the case open for writing."""


class VideoMismatchError(CaseError):
    """The video file no longer matches the one the case was made from, or does not fit the pose."""


def now() -> str:
    """The time a row is written: UTC, ISO 8601 to the millisecond."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


def user() -> str:
    """The login name (the default author of a case's rows)."""
    try:
        return getpass.getuser()
    except Exception:  # no login name (service accounts)
        return "unknown"


def sha(blob: bytes) -> str:
    """SHA-256 of a stored blob, as hex."""
    return hashlib.sha256(blob).hexdigest()


def to_blob(a: np.ndarray) -> bytes:
    """An array's bytes as stored (C order)."""
    return np.ascontiguousarray(a).tobytes()


def is_write_failure(exc: sqlite3.Error) -> bool:
    """True for an SQLite error that says the disk is full, read-only or failing."""
    msg = str(exc).lower()
    return any(k in msg for k in ("full", "disk i/o", "readonly", "read-only", "unable to open"))


def json_column(text: Any, where: str, kind: type | tuple[type, ...] = (dict, list)) -> Any:
    """Parse a JSON column, refusing damage with a CaseError."""
    try:
        value = loads_strict(text)  # NaN/Infinity and keys given twice refused
    except (TypeError, ValueError, RecursionError):
        raise CaseError(f"{where} is not valid JSON (damaged)") from None
    if not isinstance(value, kind):
        raise CaseError(f"{where} has the wrong shape (damaged)")
    return value
