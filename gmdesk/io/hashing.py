"""Content hashes of files: one SHA-256, read in blocks (videos are gigabytes)."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from gmdesk.io.paths import open_regular

logger = logging.getLogger(__name__)


def file_sha256(path: str | Path, chunk: int = 1 << 22) -> str:
    """SHA-256 of a file's content (a regular file: a FIFO or device is refused, never read forever).

    Raises
    ------
    GmdeskError
        ``path`` is missing or not a regular file.
    """
    h = hashlib.sha256()
    with open_regular(path) as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
