"""Skeleton files: a shipped skeleton by name, or a site's TOML file, read and validated."""

from __future__ import annotations

import logging
from pathlib import Path

from gmdesk.core.skeleton import Skeleton
from gmdesk.errors import SkeletonError
from gmdesk.io.paths import check_regular
from gmdesk.io.resources import skeleton_path
from gmdesk.io.tomlfile import read_toml

logger = logging.getLogger(__name__)

#: Largest skeleton file read (a skeleton is a few kB; this bounds what a hostile file can cost).
MAX_SKELETON_BYTES = 20_000_000


#: Name of the default skeleton (the paper's 24 infant landmarks).
DEFAULT_SKELETON = "infant24"


def load_skeleton(path: str | Path | None = None) -> Skeleton:
    """Read and validate a skeleton TOML file.

    Parameters
    ----------
    path : str or Path, optional
        A ``.toml`` file, or the name of a shipped skeleton (``"infant24"``). ``None`` gives
        the default skeleton.

    Returns
    -------
    Skeleton

    Raises
    ------
    SkeletonError
        The file is missing, not TOML, or names unknown/duplicate landmarks.
    """
    if path is None:
        path = DEFAULT_SKELETON
    p = Path(path)
    if not p.suffix and not p.exists():
        p = skeleton_path(str(path))
    if check_regular(p, "skeleton file", SkeletonError).st_size > MAX_SKELETON_BYTES:
        raise SkeletonError(f"skeleton file {str(p)!r} is larger than {MAX_SKELETON_BYTES // 1_000_000} MB")
    data = read_toml(p, SkeletonError, "skeleton file")
    return Skeleton.from_dict(data, source=str(p))
