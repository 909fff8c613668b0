"""Infant verdict from snippet scores (paper section 3.4).

An infant is **normal if more than 60 %** of its snippets are classified normal, otherwise
abnormal: exactly 60 % is abnormal. A snippet is classified normal when P(abnormal) < 0.5.
The threshold is a parameter stored in the model bundle.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

DEFAULT_THRESHOLD = 0.6
DEFAULT_DECISION = 0.5


@dataclass(frozen=True)
class InfantVerdict:
    """Verdict of one infant and the count behind it."""

    infant_id: str
    verdict: str  # "normal" | "abnormal"
    n_snippets: int
    n_normal: int
    fraction_normal: float
    threshold: float
    decision: float

    @property
    def label(self) -> int:
        """0 normal, 1 abnormal."""
        return int(self.verdict == "abnormal")

    @property
    def basis(self) -> str:
        """One sentence a clinician can check."""
        rel = "above" if self.verdict == "normal" else "not above"
        return (f"{self.n_normal} of {self.n_snippets} snippets normal ({100 * self.fraction_normal:.0f} %) — "
                f"{rel} the {100 * self.threshold:.0f} % threshold: {self.verdict}")

    def to_dict(self) -> dict:
        """Plain-data form, with the basis sentence."""
        return asdict(self) | {"basis": self.basis}


def infant_verdict(scores: np.ndarray, infant_id: str = "", threshold: float = DEFAULT_THRESHOLD,
                   decision: float = DEFAULT_DECISION) -> InfantVerdict:
    """Verdict from one infant's snippet scores (P(abnormal)).

    Parameters
    ----------
    scores : array of float
        P(abnormal) per snippet.
    threshold : float
        Share of normal snippets that must be *exceeded* for a normal verdict (0.6).
    decision : float
        P(abnormal) at or above which a snippet counts as abnormal (0.5).
    """
    for name, v in (("threshold", threshold), ("decision", decision)):
        if not (np.isfinite(v) and 0 < v < 1):
            raise ValueError(f"{name} must be strictly between 0 and 1, got {v}")
    scores = np.asarray(scores, dtype=float).ravel()
    if not np.isfinite(scores).all():
        raise ValueError(f"infant {infant_id!r}: snippet scores must be finite probabilities")
    if scores.size == 0:
        raise ValueError(f"infant {infant_id!r} has no snippets to judge")
    n_normal = int((scores < decision).sum())
    frac = n_normal / scores.size
    return InfantVerdict(infant_id, "normal" if frac > threshold else "abnormal", int(scores.size), n_normal,
                         float(frac), float(threshold), float(decision))


def verdicts_by_infant(scores: np.ndarray, infant_ids: np.ndarray, threshold: float = DEFAULT_THRESHOLD,
                       decision: float = DEFAULT_DECISION) -> dict[str, InfantVerdict]:
    """Verdict of every infant in a set of scored snippets (in order of first appearance)."""
    ids = np.asarray(infant_ids)
    return {i: infant_verdict(scores[ids == i], i, threshold, decision) for i in dict.fromkeys(ids.tolist())}
