"""Infant verdict from snippet scores (paper section 3.4), with its uncertainty.

The paper's rule: an infant is **normal if more than 60 %** of its snippets are classified normal,
otherwise abnormal: exactly 60 % is abnormal. A snippet is classified normal when P(abnormal) < 0.5.
The threshold is a parameter stored in the model bundle.

A share of snippets is an estimate. The verdict is **indeterminate — review** when the 95 % Wilson
interval of the share of normal snippets straddles the threshold (the recording does not say on which
side the infant is), or when there are fewer than ``min_snippets`` valid snippets. Overlapping
snippets share frames and are not independent observations: the interval uses the effective number of
snippets ``n × (window − overlap) / window`` (the number of non-overlapping 10-s windows they span; at
the paper's overlap of 150 frames, half the snippets). ``binary_label`` keeps the paper's rule for
comparisons with it.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np

from gmdesk.constants import DEFAULT_DECISION, DEFAULT_MIN_SNIPPETS, DEFAULT_THRESHOLD, WINDOW
from gmdesk.screening.intervals import wilson_interval

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InfantVerdict:
    """Verdict of one infant, the count behind it and its uncertainty."""

    infant_id: str
    verdict: str  # "normal" | "abnormal" | "indeterminate"
    n_snippets: int
    n_normal: int
    fraction_normal: float
    threshold: float
    decision: float
    interval: tuple[float, float] = (float("nan"), float("nan"))
    effective_n: float = float("nan")
    reason: str = ""
    min_snippets: int = DEFAULT_MIN_SNIPPETS
    #: What was done to the recording before scoring that a reader must know (a frame-rate resampling).
    note: str = ""

    @property
    def binary_verdict(self) -> str:
        """The paper's rule alone (normal / abnormal), whatever the uncertainty."""
        return "normal" if self.fraction_normal > self.threshold else "abnormal"

    @property
    def label(self) -> int:
        """0 normal, 1 abnormal by the paper's rule (see :attr:`binary_verdict`)."""
        return int(self.binary_verdict == "abnormal")

    @property
    def indeterminate(self) -> bool:
        """True when the recording does not support a verdict."""
        return self.verdict == "indeterminate"

    @property
    def basis(self) -> str:
        """One sentence a clinician can check."""
        lo, hi = self.interval
        ci = f"; 95 % CI {100 * lo:.0f}-{100 * hi:.0f} %" if np.isfinite(lo) else ""
        head = f"{self.n_normal} of {self.n_snippets} snippets normal ({100 * self.fraction_normal:.0f} %{ci})"
        tail = f" ({self.note})" if self.note else ""
        if self.verdict == "indeterminate":
            return f"{head} — indeterminate, review: {self.reason}{tail}"
        rel = "above" if self.verdict == "normal" else "not above"
        return f"{head} — {rel} the {100 * self.threshold:.0f} % threshold: {self.verdict}{tail}"

    def to_dict(self) -> dict:
        """Plain-data form, with the basis sentence and the paper's binary verdict."""
        d = asdict(self)
        d["interval"] = [None if not np.isfinite(v) else round(float(v), 4) for v in self.interval]
        d["effective_n"] = None if not np.isfinite(self.effective_n) else round(float(self.effective_n), 2)
        return d | {"basis": self.basis, "binary_verdict": self.binary_verdict}

    @classmethod
    def from_dict(cls, d: dict) -> InfantVerdict:
        """The verdict back from its plain form (:meth:`to_dict`, as results store it); keys that are not
        fields (the basis sentence, the binary verdict, what a stored result adds) are derived or not its own."""
        nan = float("nan")
        lo, hi = (list(d.get("interval") or []) + [None, None])[:2]
        return cls(
            infant_id=str(d.get("infant_id", "")), verdict=str(d.get("verdict", "indeterminate")),
            n_snippets=int(d.get("n_snippets", 0)), n_normal=int(d.get("n_normal", 0)),
            fraction_normal=float(d.get("fraction_normal", nan)), threshold=float(d.get("threshold", nan)),
            decision=float(d.get("decision", nan)),
            interval=(nan if lo is None else float(lo), nan if hi is None else float(hi)),
            effective_n=nan if d.get("effective_n") is None else float(d["effective_n"]),
            reason=str(d.get("reason", "")), min_snippets=int(d.get("min_snippets", DEFAULT_MIN_SNIPPETS)),
            note=str(d.get("note", "")),
        )


def infant_verdict(scores: np.ndarray, infant_id: str = "", threshold: float = DEFAULT_THRESHOLD,
                   decision: float = DEFAULT_DECISION, window: int = WINDOW, overlap: int = 0,
                   min_snippets: int = DEFAULT_MIN_SNIPPETS) -> InfantVerdict:
    """Verdict from one infant's snippet scores (P(abnormal)).

    Parameters
    ----------
    scores : array of float
        P(abnormal) per snippet.
    threshold : float
        Share of normal snippets that must be *exceeded* for a normal verdict (0.6).
    decision : float
        P(abnormal) at or above which a snippet counts as abnormal (0.5).
    window, overlap : int
        Snippet length and overlap in frames (for the effective number of snippets).
    min_snippets : int
        Fewest valid snippets for a normal or abnormal verdict.
    """
    for name, v in (("threshold", threshold), ("decision", decision)):
        if not (np.isfinite(v) and 0 < v < 1):
            raise ValueError(f"{name} must be strictly between 0 and 1, got {v}")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must be in 0..{window - 1}, got {overlap}")
    scores = np.asarray(scores, dtype=float).ravel()
    if not np.isfinite(scores).all():
        raise ValueError(f"infant {infant_id!r}: snippet scores must be finite probabilities")
    if scores.size == 0:
        raise ValueError(f"infant {infant_id!r} has no snippets to judge")
    n = int(scores.size)
    n_normal = int((scores < decision).sum())
    frac = n_normal / n
    n_eff = max(1.0, n * (window - overlap) / window)
    lo, hi = wilson_interval(frac * n_eff, n_eff)
    verdict = "normal" if frac > threshold else "abnormal"
    reason = ""
    if n < min_snippets:
        verdict = "indeterminate"
        reason = f"only {n} valid 10-s snippets (at least {min_snippets} needed)"
    elif lo <= threshold < hi:
        verdict = "indeterminate"
        reason = f"the 95 % interval of the share of normal snippets straddles the {100 * threshold:.0f} % threshold"
    return InfantVerdict(infant_id, verdict, n, n_normal, float(frac), float(threshold), float(decision),
                         (float(lo), float(hi)), float(n_eff), reason, int(min_snippets))


def verdicts_by_infant(scores: np.ndarray, infant_ids: np.ndarray, threshold: float = DEFAULT_THRESHOLD,
                       decision: float = DEFAULT_DECISION, window: int = WINDOW, overlap: int = 0,
                       min_snippets: int = DEFAULT_MIN_SNIPPETS) -> dict[str, InfantVerdict]:
    """Verdict of every infant in a set of scored snippets (in order of first appearance)."""
    ids = np.asarray(infant_ids)
    return {i: infant_verdict(scores[ids == i], i, threshold, decision, window, overlap, min_snippets)
            for i in dict.fromkeys(ids.tolist())}
