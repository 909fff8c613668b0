"""Confidence intervals of shares, used by the verdict and by every infant-level figure."""

from __future__ import annotations

import logging
import math

logger = logging.getLogger(__name__)

#: z for a two-sided 95 % interval.
Z95 = 1.959963984540054


def wilson_interval(k: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n`` (``(nan, nan)`` when ``n == 0``).

    ``k`` and ``n`` may be fractional (an effective count of correlated observations).
    """
    if n <= 0:
        return (float("nan"), float("nan"))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half)))  # contains p despite rounding
