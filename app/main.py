"""Entry point of ``gmdesk-app``.

The desktop application is tracked in its own issue and not built yet; until then this entry
point says so plainly instead of pretending, and points to the command line.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Start the desktop application (not built yet: explains and exits with status 1)."""
    print(
        "gmdesk-app: the desktop application is not built yet. "
        "Use the command line meanwhile: `gmdesk --help`.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
