"""One review queue for cleaning: what the cleaner changed or could not fix, as events a person checks.

The CLI's report (``gmdesk clean --report``), the app's review list and its ``N`` / ``Shift+N``
navigation all read the same :class:`ReviewItem` list, made by :func:`review_queue` from a cleaned
track and its :class:`~gmdesk.pipeline.cleaning.CleaningReport`. An item is one run of frames of one landmark
(or of a mirror pair, or of a whole side for a whole-side swap) with what happened to it:

=================== ============================================================== ======
kind                what it means                                                   weight
=================== ============================================================== ======
``gap``             still missing after cleaning: windows over it are left out      3.0
``side_swap``       every left/right pair was exchanged; put back                   2.5
``swap``            one pair (or a limb chain) was exchanged; put back              2.0
``long_fill``       an end-point gap longer than ``max_gap`` was interpolated         1.5
``outlier``         removed by the geometry or trajectory check, then interpolated  1.0
``low_likelihood``  removed for low likelihood, then interpolated                   0.8
``missing``         missing in the source file, then interpolated                   0.8
=================== ============================================================== ======

``confidence`` (0–1) says how sure the cleaner is about what it did: the swap repair's Viterbi
margin, 1 − mean likelihood for low-likelihood removals, 0.7 for geometry/trajectory outliers, 1 for
gaps and source dropouts. ``importance = weight × seconds × (1.5 − 0.5 × confidence)``: long runs, runs
that cost windows, and uncertain decisions come first. ``key`` identifies an item across sessions
(the case log records "reviewed" against it).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gmdesk.constants import WINDOW
from gmdesk.core.arrays import true_runs
from gmdesk.core.posetrack import PointStatus, PoseTrack
from gmdesk.pipeline.cleaning import CleaningReport
from gmdesk.pipeline.snippets import window_coverage
from gmdesk.pipeline.swaps import SwapEvent

logger = logging.getLogger(__name__)

KIND_WEIGHTS = {"gap": 3.0, "side_swap": 2.5, "swap": 2.0, "long_fill": 1.5, "outlier": 1.0,
                "low_likelihood": 0.8, "missing": 0.8}
#: Share of the mirror pairs that must swap over the same frames to be one whole-side swap.
SIDE_SWAP_SHARE = 0.8
OUTLIER_CONFIDENCE = 0.7


@dataclass(frozen=True)
class ReviewItem:
    """One event to review: frames ``[start, stop)`` of ``landmarks``.

    Attributes
    ----------
    landmark : str
        What the item is about, for display ("left_hand", "left_hand ↔ right_hand", "whole side").
    landmarks : tuple of str
        Every landmark involved (the first is the one to select).
    start, stop : int
        Frames ``[start, stop)``.
    kind : str
        See the module docstring.
    confidence : float
        0–1, how sure the cleaner is about what it did.
    importance : float
        Sort key (larger first).
    imputed : bool
        The run was filled by interpolation.
    detail : str
        One line for people.
    """

    landmark: str
    landmarks: tuple[str, ...]
    start: int
    stop: int
    kind: str
    confidence: float
    importance: float
    imputed: bool
    detail: str

    @property
    def length(self) -> int:
        """Number of frames."""
        return self.stop - self.start

    @property
    def key(self) -> str:
        """Stable identity: kind, landmarks and frames."""
        return f"{self.kind}:{'+'.join(self.landmarks)}:{self.start}:{self.stop}"

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (with ``key`` and ``length``)."""
        return asdict(self) | {"landmarks": list(self.landmarks), "key": self.key, "length": self.length}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReviewItem:
        """Inverse of :meth:`to_dict`."""
        return cls(str(d["landmark"]), tuple(str(x) for x in d["landmarks"]), int(d["start"]), int(d["stop"]),
                   str(d["kind"]), float(d["confidence"]), float(d["importance"]), bool(d["imputed"]), str(d["detail"]))


def _importance(kind: str, frames: int, fps: float, confidence: float) -> float:
    return round(KIND_WEIGHTS[kind] * frames / fps * (1.5 - 0.5 * confidence), 4)


def _item(kind: str, landmarks: tuple[str, ...], label: str, start: int, stop: int, confidence: float, fps: float,
          imputed: bool, detail: str) -> ReviewItem:
    confidence = float(np.clip(confidence, 0.0, 1.0))
    return ReviewItem(label, landmarks, int(start), int(stop), kind, round(confidence, 3),
                      _importance(kind, stop - start, fps, confidence), imputed, detail)


def _swap_items(swaps: list[SwapEvent], n_pairs: int, fps: float) -> list[ReviewItem]:
    groups: dict[tuple[int, int], list[SwapEvent]] = {}
    for ev in swaps:
        groups.setdefault((ev.start, ev.stop), []).append(ev)
    out = []
    for (a, b), evs in sorted(groups.items()):
        secs = f"{(b - a) / fps:.1f} s"
        if n_pairs > 1 and len(evs) >= SIDE_SWAP_SHARE * n_pairs:
            lms = tuple(x for ev in evs for x in (ev.left, ev.right))
            conf = float(np.mean([ev.confidence for ev in evs]))
            out.append(_item("side_swap", lms, "whole side", a, b, conf, fps, False,
                             f"left and right exchanged for every pair over frames {a}–{b - 1} ({secs}); put back"))
            continue
        for ev in evs:
            out.append(_item("swap", (ev.left, ev.right), f"{ev.left} ↔ {ev.right}", a, b, ev.confidence, fps, False,
                             f"{ev.left} and {ev.right} exchanged over frames {a}–{b - 1} ({secs}); put back"))
    return out


def review_queue(cleaned: PoseTrack, report: CleaningReport, n_pairs: int | None = None) -> list[ReviewItem]:
    """Every repair, removal and gap of one cleaning, most important first.

    Parameters
    ----------
    cleaned : PoseTrack
        The cleaned track (statuses after imputation, likelihoods as read).
    report : CleaningReport
        Its report; ``removed_status`` is needed for removal runs (reports read back from a case file
        without it give gaps, swaps and long fills only).
    n_pairs : int, optional
        Number of mirror pairs of the skeleton (to recognise whole-side swaps); default: the number
        of distinct pairs in the report's swaps.
    """
    fps = float(cleaned.fps)
    lms = cleaned.landmarks
    pairs = n_pairs if n_pairs is not None else len({(ev.left, ev.right) for ev in report.swaps})
    items = _swap_items(report.swaps, pairs, fps)
    for g in report.gaps:
        why = {"too_long": "too long to interpolate", "at_edge": "at the recording's edge (never extrapolated)",
               "too_few_points": "too few points to interpolate"}.get(g.reason, g.reason)
        items.append(_item("gap", (g.landmark,), g.landmark, g.start, g.stop, 1.0, fps, False,
                           f"{g.landmark} missing over frames {g.start}–{g.stop - 1} ({g.length} frames): {why}"))
    long = {(name, a, b) for name, a, b in report.long_fills}
    for name, a, b in sorted(long, key=lambda x: (x[1], x[0])):
        items.append(_item("long_fill", (name,), name, a, b, 0.5, fps, True,
                           f"{name} interpolated over {b - a} frames ({a}–{b - 1}), longer than usual: check it"))
    rs = report.removed_status
    if rs is not None and rs.shape == cleaned.status.shape:
        removed = np.isin(rs, (PointStatus.OUTLIER, PointStatus.LOW_LIKELIHOOD, PointStatus.MISSING))
        filled = cleaned.status == PointStatus.IMPUTED
        for j, name in enumerate(lms):
            for a, b in true_runs(removed[:, j] & filled[:, j]):
                if (name, a, b) in long:
                    continue
                codes = rs[a:b, j]
                counts = {k: int((codes == k).sum()) for k in (PointStatus.OUTLIER, PointStatus.LOW_LIKELIHOOD,
                                                              PointStatus.MISSING)}
                main = max(counts, key=counts.get)
                if main == PointStatus.OUTLIER:
                    kind, conf, why = "outlier", OUTLIER_CONFIDENCE, "off its bones or its trajectory"
                elif main == PointStatus.LOW_LIKELIHOOD:
                    lik = cleaned.likelihood[a:b, j]
                    lik = lik[np.isfinite(lik)]
                    kind, conf = "low_likelihood", 1.0 - (float(lik.mean()) if lik.size else 0.0)
                    why = "low likelihood"
                else:
                    kind, conf, why = "missing", 1.0, "missing in the source"
                items.append(_item(kind, (name,), name, a, b, conf, fps, True,
                                   f"{name} frames {a}–{b - 1} ({b - a} frames) removed ({why}) and interpolated"))
    items.sort(key=lambda it: (-it.importance, it.start, it.landmark))
    return items


def report_document(cleaned: PoseTrack, report: CleaningReport, n_pairs: int | None = None, window: int = WINDOW,
                    overlap: int = 150) -> dict[str, Any]:
    """The cleaning report as stored and printed: counts, gaps and swaps (:meth:`CleaningReport.to_dict`),
    the review queue (``review``, most important first) and the snippet coverage (``coverage``: share
    of frames usable for snippets and why windows are left out, see
    :func:`gmdesk.pipeline.snippets.window_coverage`)."""

    doc = report.to_dict()
    doc["review"] = [it.to_dict() for it in review_queue(cleaned, report, n_pairs)]
    doc["coverage"] = window_coverage(cleaned, window, overlap)
    return doc


def items_from_report(doc: dict[str, Any]) -> list[ReviewItem]:
    """The review queue stored in a report document (empty for reports made before it existed)."""
    return [ReviewItem.from_dict(d) for d in doc.get("review", [])]


def review_frames(items: list[ReviewItem]) -> np.ndarray:
    """First frame of each item, sorted (what ``N`` / ``Shift+N`` step through)."""
    return np.array(sorted({it.start for it in items}), dtype=np.int64)
