"""Read a TOML file from elsewhere without crashing or exhausting memory.

``tomllib`` recurses into nested arrays and inline tables (a few thousand ``[`` give a
``RecursionError``) and builds deeply dotted keys (``a.a.a...``) in quadratic memory: 10 000 dots
take 0.4 GB. Both are refused here before or while parsing, with the project's error naming the
file.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Any

from gmdesk.errors import GmdeskError
from gmdesk.io.paths import read_capped

logger = logging.getLogger(__name__)

#: Largest TOML file read (a 60 000-angle skeleton is about 5 MB).
MAX_TOML_BYTES = 64 * 1024 * 1024
#: Most dots in one key or table header (gmdesk's files use one or two).
MAX_KEY_DOTS = 32


def _deepest_key(text: str) -> int:
    """Most dots before the first ``=`` of a line, or inside a ``[table]`` header (an upper bound:
    dots inside quoted keys count too)."""
    most = 0
    for line in text.splitlines():
        s = line.lstrip()
        if s.startswith("["):
            head = s.split("]", 1)[0]
        elif "=" in s:
            head = s.split("=", 1)[0]
        else:
            continue
        most = max(most, head.count("."))
    return most


def read_toml(path: str | Path, error: type[GmdeskError], what: str) -> dict[str, Any]:
    """Parse a UTF-8 TOML file.

    Parameters
    ----------
    path : str or Path
    error : GmdeskError subclass
        Raised for every problem.
    what : str
        What the file is, for messages ("skeleton file").

    Raises
    ------
    error
        Missing, too large, not UTF-8, not TOML, nested too deeply.
    """
    p = Path(path)
    where = f"{what} {str(p)!r}"
    try:
        text = read_capped(p, what, MAX_TOML_BYTES, error).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{where} is not valid TOML: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise error(f"{where} cannot be read: {exc.strerror or exc}") from None
    if _deepest_key(text) > MAX_KEY_DOTS:
        raise error(f"{where} is not a usable TOML file: keys nested more than {MAX_KEY_DOTS} levels deep")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{where} is not valid TOML: {exc}") from None
    except (RecursionError, MemoryError):
        raise error(f"{where} is not a usable TOML file: arrays or tables nested too deeply") from None
