"""The one place gmdesk chooses matplotlib's backend: Agg (files only; no window, no Qt from matplotlib).

matplotlib is imported when the first figure is drawn, not when gmdesk starts.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (set here, once, before pyplot is first imported)."""
    import matplotlib  # deferred: matplotlib costs ~0.3 s at start-up and only figures need it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
