"""Progress reporting and cancellation shared by every long step.

Long functions take ``progress`` (called as ``progress(done, total, message)``) and
``cancel`` (a no-argument callable returning True when the caller wants to stop). The CLI
passes a tqdm bar, the GUI a Qt signal, tests a list.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gmdesk.errors import CancelledError

logger = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, str], None]
CancelFn = Callable[[], bool]


def report(progress: ProgressFn | None, done: int, total: int, message: str = "") -> None:
    """Call ``progress`` if given."""
    if progress is not None:
        progress(done, total, message)


def check_cancel(cancel: CancelFn | None, what: str = "operation") -> None:
    """Raise :class:`CancelledError` if ``cancel`` says so."""
    if cancel is not None and cancel():
        raise CancelledError(f"{what} cancelled")
