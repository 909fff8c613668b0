"""Folds, outer folds and permutations run in parallel through joblib: local worker processes by default, a
Dask cluster when the caller sets joblib's ``dask`` backend (``joblib.parallel_config(backend="dask")`` with
a ``distributed.Client``: ``gmdesk evaluate/train --scheduler``).

Every call gets its inputs and seeds explicitly, so the results are the same in any order, in any process, and
serially: same seed, same numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from gmdesk.progress import CancelFn, ProgressFn, check_cancel, report

logger = logging.getLogger(__name__)


def parallel_map(fn: Callable[..., Any], calls: Sequence[tuple], n_jobs: int = 1, progress: ProgressFn | None = None,
                 cancel: CancelFn | None = None, what: str = "fold",
                 describe: Callable[[int], str] | None = None) -> list[Any]:
    """``[fn(*args) for args in calls]``, in that order, ``n_jobs`` at a time (1: in this process, one after
    another; -1: every core; joblib's active backend decides where). ``progress(done, total, message)`` after
    each result in order; ``cancel()`` is checked between results (a cancel stops the results still to come)."""
    out: list[Any] = []
    total = len(calls)

    def told(k: int) -> str:
        return describe(k) if describe else f"{what} {k + 1}/{total}"

    if n_jobs == 1 or total <= 1:
        for k, args in enumerate(calls):
            check_cancel(cancel, what)
            report(progress, k, total, told(k))
            out.append(fn(*args))
        report(progress, total, total, "done")
        return out
    from joblib import Parallel, delayed  # deferred: only a parallel run starts joblib's workers

    check_cancel(cancel, what)
    with Parallel(n_jobs=n_jobs, return_as="generator") as parallel:
        for k, result in enumerate(parallel(delayed(fn)(*args) for args in calls)):
            out.append(result)
            report(progress, k + 1, total, told(k))
            check_cancel(cancel, what)
    return out
