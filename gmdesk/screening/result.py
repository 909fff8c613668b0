"""The result of assessing one recording: typed, the same whether it was just computed or read back from a case."""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from gmdesk.constants import DEFAULT_FPS, WINDOW
from gmdesk.core.posetrack import json_safe
from gmdesk.io.atomic import atomic_path
from gmdesk.learning.validity import RESEARCH_ONLY, legacy_status, status_problem, verdict_note
from gmdesk.screening.verdict import InfantVerdict

logger = logging.getLogger(__name__)

#: Why a stored result's model counts as not validated when the result does not say.
UNKNOWN_VALIDATION = "not known: the stored result does not record whether its model was validated"


@dataclass
class AssessmentResult:
    """One assessment of one recording with one model.

    Made by :func:`gmdesk.screening.assess.assess_track`, or read back from a case by :meth:`from_stored`
    (then ``stored`` is true, ``result_id`` names the row and the similarity/ICA fields are what the result
    stored, None for results stored before they were kept). ``snippets`` are the per-snippet rows as stored
    (``index``, ``start_frame``, ``end_frame``, ``start_s``, ``p_abnormal``, ``class``, ``imputed_fraction``,
    ``flags``, and ``finding`` — the clinical finding beyond its cut — for a model that names one); ``dropped``
    the windows left out
    with the landmarks that were missing; ``flags`` the kept windows with long interpolated gaps.
    ``validation`` is the model's validation status (:mod:`gmdesk.learning.validity`); a result whose model
    is not validated is shown as research only, never as a plain normal/abnormal (:attr:`headline`).
    """

    model_summary: dict[str, Any]
    infant_id: str
    source: str | None
    model_id: str
    model_path: str | None
    classifier: str | None
    feature_set: str | None
    normalisation: str | None
    calibrated: bool
    window: int
    overlap: int | None
    fps: float
    frames: int | None
    synthetic_model: bool
    verdict: InfantVerdict
    snippets: list[dict[str, Any]]
    dropped: list[dict[str, Any]]
    flags: list[dict[str, Any]]
    similarity_within: list[list[float]] | None = None
    similarity_reference: list[list[float]] | None = None
    reference_names: list[str] | None = None
    reference_labels: list[int] | None = None
    ica: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None
    # where it is kept: set once the result is stored in a case, or when it was read from one
    result_id: int | None = None
    stored: bool = False
    track_sha256: str | None = None
    edit_seq: int | None = None
    time: str | None = None
    author: str | None = None

    #: Fields of the computed result that are written to JSON (``gmdesk assess --json``) when present.
    _OPTIONAL = ("similarity_within", "similarity_reference", "reference_names", "reference_labels", "ica")
    #: Fields that say where a result is kept, not what it found: never part of the JSON.
    _RECORD = ("result_id", "stored", "track_sha256", "edit_seq", "time", "author")

    @property
    def label(self) -> str:
        """``normal``, ``abnormal`` or ``indeterminate``."""
        return self.verdict.verdict

    @property
    def validated(self) -> bool:
        """True when the model was validated on its cohort; False when it was not, or it is not known."""
        return isinstance(self.validation, dict) and self.validation.get("validated") is True

    @property
    def research_only(self) -> str:
        """Empty for a validated model; else what its verdict is shown as (:data:`RESEARCH_ONLY`)."""
        return "" if self.validated else RESEARCH_ONLY

    @property
    def findings_summary(self) -> str:
        """The findings behind the abnormal snippets, most frequent first ("fidgety movements not seen in 12,
        synchronised limbs in 2 of 14 abnormal snippets"); empty when the model names none."""
        abnormal = [s for s in self.snippets if s.get("class") == "abnormal"]
        counts = Counter(s["finding"] for s in abnormal if s.get("finding"))
        if not counts:
            return ""
        return f"{', '.join(f'{k} in {n}' for k, n in counts.most_common())} of {len(abnormal)} abnormal snippets"

    @property
    def headline(self) -> str:
        """The verdict as every output shows it: ``ABNORMAL``, or for a model that is not validated
        ``ABNORMAL — research only: model NOT VALIDATED on its cohort (p = …)``."""
        word = self.verdict.verdict.upper()
        return word if self.validated else f"{word} — {verdict_note(self.validation)}"

    def to_dict(self) -> dict[str, Any]:
        """The plain form ``gmdesk assess --json`` writes: the verdict as :meth:`InfantVerdict.to_dict`, the
        similarity and ICA fields only when computed, nothing about where the result is kept."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in self._RECORD or (f.name in self._OPTIONAL and getattr(self, f.name) is None):
                continue
            value = getattr(self, f.name)
            out[f.name] = value.to_dict() if isinstance(value, InfantVerdict) else value
        return out

    @property
    def window_frames(self) -> int:
        """One snippet's length in the recording's own frames: the model's ``window`` is counted at the model's
        frame rate (a recording at another rate was resampled to it), so a 300-frame window is 600 frames of a
        59.94-fps recording. Measured on the snippets (their end minus start), else from the model's rate."""
        if self.snippets and "end_frame" in self.snippets[0]:
            s = self.snippets[0]
            return int(s["end_frame"]) - int(s["start_frame"]) + 1
        model_fps = (self.model_summary or {}).get("fps")
        if isinstance(model_fps, int | float) and model_fps > 0 and self.fps > 0:
            return int(round(self.window * self.fps / float(model_fps)))
        return int(self.window)

    @property
    def window_s(self) -> float:
        """One snippet's length in seconds (10 s for the paper's models)."""
        return self.window_frames / self.fps if self.fps > 0 else float(self.window) / DEFAULT_FPS

    @classmethod
    def from_stored(cls, stored: dict[str, Any], fps: float) -> AssessmentResult:
        """A result as ``Case.results()`` gives it back (``verdict`` with its window, fps, left-out windows and
        track digest; ``snippets``; ``model`` summary; ``edit_seq``, ``time``, ``author``, ``id``)."""
        v = dict(stored["verdict"])
        model = stored.get("model") or {}
        cohort = model.get("cohort") if isinstance(model.get("cohort"), dict) else {}
        validation = model.get("validation")
        if status_problem(validation) is not None:  # stored before results kept it (or damaged): not known
            validation = legacy_status() | {"reasons": [UNKNOWN_VALIDATION]}
        return cls(
            model_summary=model, infant_id=str(v.get("infant_id", "")), source=None, model_id=stored["model_id"],
            model_path=stored.get("model_path"), classifier=model.get("classifier"),
            feature_set=model.get("feature_set"), normalisation=model.get("normalisation"),
            calibrated=bool(model.get("calibration")), window=int(v.get("window") or WINDOW), overlap=None,
            fps=float(v.get("fps") or fps), frames=None, synthetic_model=bool(cohort.get("synthetic")),
            verdict=InfantVerdict.from_dict(v), validation=validation,
            snippets=list(stored["snippets"]), dropped=list(v.get("dropped") or []), flags=[],
            result_id=stored["id"], stored=True, track_sha256=v.get("track_sha256"),
            edit_seq=stored.get("edit_seq") or 0, time=stored.get("time"), author=stored.get("author"),
            **_views(stored.get("views")),
        )


def snippet_step(starts_s: Any, window_s: float) -> float:
    """Seconds between consecutive snippets, from their start times: the smallest positive difference (windows
    left out for missing data only widen a gap); ``window_s`` when there are fewer than two."""
    steps = np.diff(np.sort(np.asarray(starts_s, dtype=float)))
    return float(steps[steps > 0].min()) if (steps > 0).any() else float(window_s)


def _views(views: Any) -> dict[str, Any]:
    """The similarity and ICA fields a stored result kept (results stored before they were kept have none);
    anything of the wrong shape is left out, not trusted."""
    if not isinstance(views, dict):
        return {}
    out: dict[str, Any] = {}
    for key in ("similarity_within", "similarity_reference"):
        m = views.get(key)
        if isinstance(m, list) and all(isinstance(row, list) for row in m):
            out[key] = m
    names, labels = views.get("reference_names"), views.get("reference_labels")
    if "similarity_reference" in out and isinstance(names, list) and isinstance(labels, list) \
            and len(names) == len(labels) == len(out["similarity_reference"][0] if out["similarity_reference"] else []):
        out["reference_names"], out["reference_labels"] = [str(n) for n in names], [int(v) for v in labels]
    else:
        out.pop("similarity_reference", None)
    if isinstance(views.get("ica"), dict):
        out["ica"] = views["ica"]
    return out


def write_result_json(res: AssessmentResult, path: str | Path) -> Path:
    """Write a result as ``gmdesk assess --json`` does (:meth:`AssessmentResult.to_dict`, strict JSON,
    atomically); returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(json_safe(res.to_dict()), indent=2, allow_nan=False), encoding="utf-8")
    return path
