"""JSON as gmdesk writes it: plain values only (no NaN, no NumPy types), so any reader can take it."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def json_safe(obj: Any) -> Any:
    """Plain JSON: NaN/inf (an undefined metric) become null, NumPy numbers become Python numbers."""

    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
