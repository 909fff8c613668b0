"""Atomic file writes: write to a temporary file beside the target, then rename over it."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from gmdesk.errors import GmdeskError

logger = logging.getLogger(__name__)


class DiskFullError(GmdeskError):
    """A file could not be written because its disk is full."""


#: Free space under which a failed write is put down to a full disk (libraries report it their own way:
#: zlib "Error -2", HDF5 "can't write data", or an OSError naming the temporary file).
NEARLY_FULL_BYTES = 1 << 20


def _disk_full(exc: BaseException, folder: Path) -> bool:
    """Whether a failed write failed because the disk is full."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return True
    try:
        return shutil.disk_usage(folder).free < NEARLY_FULL_BYTES
    except OSError:
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it replaces ``path``.

    A crash or exception leaves the old file (if any) untouched and removes the temporary one.
    The suffix is kept so libraries that look at it (pandas/HDF5) behave.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix + ".part", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp_path, path)
    except Exception as exc:
        if _disk_full(exc, path.parent):
            raise DiskFullError(f"{path} was not written: the disk holding {path.parent} is full (no space left); nothing "
                                f"was written{' and the existing file is unchanged' if path.exists() else ''}. Free some "
                                "space or choose another place") from None
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
