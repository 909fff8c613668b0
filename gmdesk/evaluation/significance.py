"""Is a model better than chance on its own cohort? Infant-level tests on out-of-fold scores.

Two tests, both one-sided (H1: abnormal infants score higher than normal ones), both at the level of
infants (snippets of one infant are not independent, so they are never the unit of a test):

* :func:`infant_rank_test` — **the default**: the infant AUC of pooled out-of-fold scores (each infant
  scored by a model that never saw it; an infant's score is the share of its snippets called abnormal, as
  the bundle's rule counts them, ties broken by its mean P(abnormal)) against the distribution of that AUC
  when the labels are permuted across infants (exact over every relabelling when there are at most
  ``exact_limit`` of them, else ``n_resamples`` seeded draws; the p-value counts the observed labelling,
  so it is never 0). Given the scores this is the exact Mann–Whitney test. It does not redo the training
  under each relabelling: under "no signal", cross-validated scores run *against* the labels (leaving an
  infant out shifts the training prior away from its class), so the test is conservative there — it can
  fail to validate a weak model, it does not validate a chance one. The selection of a recipe happens
  inside each outer training fold, so the scores tested carry no selection optimism.
* :func:`permutation_test` — the whole procedure (selection, fitting, scoring) rerun with labels permuted
  across infants, seeded and in parallel across cores: what the rank test approximates, at the price of
  running the procedure ``n_permutations`` times (``--permutations N``).

:func:`infant_scores` gives the per-infant scores both use.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from itertools import combinations
from typing import Any

import numpy as np

from gmdesk.constants import DEFAULT_DECISION
from gmdesk.evaluation.metrics import infant_table
from gmdesk.progress import ProgressFn, report

logger = logging.getLogger(__name__)

def infant_scores(scores: Any, labels: Any, infant_ids: Any,
                  decision: float = DEFAULT_DECISION) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per infant (rows of :func:`~gmdesk.evaluation.metrics.infant_table`): id, label and score (share of
    snippets with P(abnormal) ≥ ``decision``, plus a tie-breaking 1e-3 × mean P(abnormal)), in first-seen order."""
    rows = infant_table(scores, labels, infant_ids, decision=decision)
    score = np.array([r["share_abnormal"] + 1e-3 * r["mean_p"] for r in rows])
    return [str(r["infant_id"]) for r in rows], np.array([r["label"] for r in rows]), score


def _auc_from_ranks(ranks: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """AUC of each labelling (rows of boolean ``positives``) given the scores' mid-ranks."""
    k = positives.sum(axis=-1)
    n = positives.shape[-1]
    return (np.where(positives, ranks, 0).sum(axis=-1) - k * (k + 1) / 2) / (k * (n - k))


def infant_rank_test(scores: Any, labels: Any, infant_ids: Any, decision: float = DEFAULT_DECISION,
                     n_resamples: int = 20_000, exact_limit: int = 200_000, seed: int = 42) -> dict[str, Any]:
    """One-sided permutation (exact Mann–Whitney) test of the infant AUC of pooled out-of-fold scores.

    Parameters
    ----------
    scores, labels, infant_ids : array-like
        Out-of-fold P(abnormal) per snippet, its infant's label (0/1) and id.
    decision : float
        A snippet counts abnormal at P(abnormal) ≥ ``decision`` (the bundle's rule).
    n_resamples : int
        Random relabellings when the exact enumeration would exceed ``exact_limit``.
    seed : int

    Returns
    -------
    dict
        ``p_value`` (None without both classes), ``observed`` (infant AUC), ``test``, ``statistic``,
        ``n_permutations`` (relabellings counted; "exact" in ``test`` when all were enumerated),
        ``infants``, ``abnormal_infants``.
    """
    from scipy.stats import rankdata

    _, y, s = infant_scores(scores, labels, infant_ids, decision)
    n, k = len(y), int(y.sum())
    out: dict[str, Any] = {"statistic": "infant AUC (share of abnormal snippets)", "infants": n,
                           "abnormal_infants": k, "n_permutations": None}
    if k == 0 or k == n:
        return out | {"p_value": None, "observed": None, "test": "none: one class only"}
    ranks = rankdata(s)
    observed = float(_auc_from_ranks(ranks, y.astype(bool)[None])[0])
    total = math.comb(n, k)
    if total <= exact_limit:
        idx = np.array(list(combinations(range(n), k)))
        pos = np.zeros((len(idx), n), bool)
        np.put_along_axis(pos, idx, True, axis=1)
        null = _auc_from_ranks(ranks, pos)
        p = float(np.mean(null >= observed - 1e-12))
        test = f"exact permutation (Mann-Whitney) test over all {total} relabellings of the infants"
        count = total
    else:
        rng = np.random.default_rng(seed)
        pos = np.zeros((n_resamples, n), bool)
        for r in range(n_resamples):
            pos[r, rng.choice(n, k, replace=False)] = True
        null = _auc_from_ranks(ranks, pos)
        p = float((1 + np.sum(null >= observed - 1e-12)) / (1 + n_resamples))
        test = f"permutation (Mann-Whitney) test, {n_resamples} seeded relabellings of the infants"
        count = n_resamples
    return out | {"p_value": p, "observed": round(observed, 6), "test": test + " (one-sided, on pooled out-of-fold "
                  "scores)", "n_permutations": count}


def permutation_test(procedure: Callable[[dict[str, int]], float], labels_by_infant: dict[str, int],
                     n_permutations: int = 99, seed: int = 42, n_jobs: int = -1,
                     progress: ProgressFn | None = None) -> dict[str, Any]:
    """Rerun a whole validation procedure with the labels permuted across infants.

    Parameters
    ----------
    procedure : callable
        ``procedure(labels_by_infant) -> statistic`` (larger = better, e.g. the pooled out-of-fold infant
        AUC); it must fit and score everything itself from the labels it is given. Must be picklable to
        run on several cores (a module-level function or a ``functools.partial`` of one).
    labels_by_infant : dict
        The true label (0/1) of each infant.
    n_permutations : int
        Seeded relabellings (each keeps the number of abnormal infants).
    n_jobs : int
        Worker processes (joblib; -1 every core).

    Returns
    -------
    dict
        ``observed``, ``p_value`` = (1 + #null ≥ observed) / (1 + n_permutations), ``null`` (the statistics
        of the relabellings), ``test``, ``n_permutations``.
    """
    from joblib import Parallel, delayed  # deferred: only the permutation test of a whole procedure runs jobs

    names = sorted(labels_by_infant)
    y = np.array([labels_by_infant[i] for i in names])
    observed = float(procedure(dict(labels_by_infant)))
    rng = np.random.default_rng([seed, 7919])
    relabellings = [dict(zip(names, (int(v) for v in rng.permutation(y)), strict=True)) for _ in range(n_permutations)]
    null = []
    batch = max(1, n_permutations // 10)
    with Parallel(n_jobs=n_jobs) as parallel:
        for start in range(0, n_permutations, batch):
            null += parallel(delayed(procedure)(lab) for lab in relabellings[start:start + batch])
            report(progress, len(null), n_permutations, "permutations")
    null_arr = np.array(null, dtype=float)
    ok = np.isfinite(null_arr)
    p = float((1 + np.sum(null_arr[ok] >= observed - 1e-12)) / (1 + ok.sum())) if np.isfinite(observed) else None
    return {"observed": observed, "p_value": p, "null": null_arr.tolist(), "n_permutations": int(n_permutations),
            "statistic": "infant AUC (share of abnormal snippets)",
            "test": f"permutation test of the whole procedure, {n_permutations} seeded relabellings of the infants "
                    "(one-sided)"}
