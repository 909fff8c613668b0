"""JSON from elsewhere, read as data: a key given twice is refused (``json`` keeps the last one silently, so a
second ``"threshold"`` further down a manifest would win unseen), NaN/Infinity are refused, the file is a
regular file of bounded size (:mod:`gmdesk.io.paths`)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from gmdesk.errors import GmdeskError
from gmdesk.io.paths import MAX_TEXT_BYTES, read_capped

logger = logging.getLogger(__name__)


class DuplicateKeyError(ValueError):
    """A JSON object names a key twice."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise DuplicateKeyError(f"key {k!r} is given twice")
        out[k] = v
    return out


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def loads_strict(text: str | bytes) -> Any:
    """``json.loads`` that refuses duplicate keys (:class:`DuplicateKeyError`, a ``ValueError``) and NaN/Infinity."""
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)


def read_json(path: str | Path, what: str = "JSON file", error: type[GmdeskError] = GmdeskError,
              max_bytes: int = MAX_TEXT_BYTES) -> Any:
    """Parse a UTF-8 JSON file from elsewhere with :func:`loads_strict`.

    Raises
    ------
    error
        Missing, not a regular file, larger than ``max_bytes``, not UTF-8, not JSON, a duplicate key, NaN.
    """
    data = read_capped(path, what, max_bytes, error)
    try:
        return loads_strict(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise error(f"{what} {str(path)!r} is not UTF-8 text (byte {exc.start})") from None
    except (ValueError, RecursionError) as exc:
        raise error(f"{what} {str(path)!r} is not valid JSON: {exc}") from None
