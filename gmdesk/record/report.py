"""The assessment report for the clinical record: one or two A4 pages of PDF (matplotlib, no Qt).

What a GMA result in an infant's record carries (Prechtl GMA practice, HINE forms, model-card and
audit-trail practice): who and what was recorded and when; whether the recording is scorable; the
result in GMA words with its basis and uncertainty; the model and how it was validated; who reviewed
it; and what was changed by hand.

:func:`collect_report` gathers everything from a case file (and the model bundle when it can be found)
into a :class:`ReportContent` of plain data; :func:`render_report` draws it. The report is
reproducible: the same case and model give the same text (nothing in it is "now": dates come from the
case; the PDF carries no creation date).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gmdesk import __version__
from gmdesk.constants import DEFAULT_DECISION, DEFAULT_THRESHOLD
from gmdesk.core.posetrack import PointStatus
from gmdesk.learning.validity import RESEARCH_ONLY, status_text
from gmdesk.record.patient import (
    ReportError,
    corrected_age,
    format_ga,
    parse_gestational_age,
)
from gmdesk.screening.result import AssessmentResult

logger = logging.getLogger(__name__)

#: GMA words for the model's classes. The model only knows its site's normal/abnormal labels.
GMA_WORDS = {
    "normal": "Fidgety movements present (normal general movements)",
    "abnormal": "Fidgety movements absent or abnormal (abnormal general movements)",
    "indeterminate": "Indeterminate: the recording does not support a result; review by a GMA-certified assessor",
}


@dataclass
class ReportContent:
    """Everything a report shows: plain data, and the assessment result it reports."""

    infant_id: str
    case_file: str
    patient: dict[str, Any] = field(default_factory=dict)
    age: dict[str, Any] | None = None
    recording: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)
    result: AssessmentResult | None = None
    model: dict[str, Any] = field(default_factory=dict)
    corrections: dict[str, Any] = field(default_factory=dict)
    review: dict[str, Any] = field(default_factory=dict)
    gmdesk_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        return asdict(self)

    def text_lines(self) -> list[tuple[str, str]]:
        """The report's text as (heading, line) pairs, in page order (what :func:`render_report` writes)."""
        return _text(self)


# -- collecting ------------------------------------------------------------------------------------

def _quality(case: Any, result: AssessmentResult) -> dict[str, Any]:
    track = case.current_track()
    total = track.status.size
    share = {s.name.lower(): round(float((track.status == s).sum()) / total, 4) for s in PointStatus}
    cleaning = case.cleaning()
    cov = (cleaning[1].get("coverage") if cleaning else None) or {}
    fps = float(track.fps)
    left_out = []
    for w in cov.get("left_out", [])[:12]:
        why = ", ".join(f"{k} ({v / fps:.1f} s)" for k, v in list(w["missing"].items())[:3])
        left_out.append(f"{w['start'] / fps:.0f}-{w['stop'] / fps:.0f} s: missing {why}")
    snippets = result.snippets
    min_snippets = int(result.verdict.min_snippets or 6)
    usable = cov.get("usable_share")
    n = len(snippets)
    if n < min_snippets:
        scorable, why = False, f"only {n} valid 10-s snippets (at least {min_snippets} needed)"
    elif usable is not None and usable < 0.5:
        scorable, why = False, f"only {100 * usable:.0f} % of the recording is usable for snippets"
    else:
        scorable = True
        why = f"{n} valid 10-s snippets" + (f", {100 * usable:.0f} % of the recording usable" if usable is not None else "")
    return {"point_share": share, "windows": cov.get("windows"), "windows_kept": cov.get("windows_kept"),
            "usable_share": usable, "left_out": left_out, "left_out_total": len(cov.get("left_out", [])),
            "scorable": scorable, "scorable_reason": why, "frames": track.n_frames, "fps": fps}


def quality_lines(case: Any, result: AssessmentResult) -> tuple[dict[str, Any], list[str]]:
    """The report's quality section for ``result`` of an open case, now: its figures (scorable, why, point
    shares, usable windows) and its lines as the report writes them (the app shows the same words)."""
    q = _quality(case, result)
    return q, [line for _, line in _quality_lines(ReportContent(infant_id="", case_file="", quality=q))]


def _corrections(case: Any, stored: dict[str, Any]) -> dict[str, Any]:
    hist = case.history()
    edits = [e for e in hist if e.kind not in ("undo", "redo")]
    by_author: dict[str, int] = {}
    for e in edits:
        by_author[e.author] = by_author.get(e.author, 0) + 1
    last = hist[-1].seq if hist else 0
    at = stored.get("edit_seq") or 0
    since = [e for e in hist if e.seq > at]
    return {"edits": len(edits), "undo_redo": len(hist) - len(edits), "by_author": by_author,
            "first": hist[0].time if hist else None, "last": hist[-1].time if hist else None,
            "points_changed": sum(len(e.points) for e in edits), "log_position": last, "result_position": at,
            "edits_since_result": len(since),
            "out_of_date": bool(case.result_out_of_date(stored)) if hasattr(case, "result_out_of_date") else bool(since)}


def _model(result: AssessmentResult, bundle_manifest: dict[str, Any] | None) -> dict[str, Any]:
    m = bundle_manifest or result.model_summary or {}
    metrics = m.get("metrics", {}) if isinstance(m.get("metrics"), dict) else {}
    cohort = m.get("cohort", {}) if isinstance(m.get("cohort"), dict) else {}
    validation = []
    infant = metrics.get("infant_level") or {}
    for key, label in (("accuracy", "infant verdict accuracy"), ("sensitivity", "sensitivity"),
                       ("specificity", "specificity"), ("npv", "NPV"), ("auc", "infant-level AUC")):
        v = infant.get(key)
        if isinstance(v, dict) and v.get("value") is not None:
            ci = v.get("ci") or [None, None]
            if key == "auc":
                validation.append(f"{label} {v['value']:.2f}" + (f" (95 % CI {ci[0]:.2f}-{ci[1]:.2f})" if None not in ci else ""))
            else:
                counts = f" ({v['k']}/{v['n']})" if "k" in v else ""
                validation.append(f"{label} {100 * v['value']:.0f} %{counts}" +
                                  (f" (95 % CI {100 * ci[0]:.0f}-{100 * ci[1]:.0f} %)" if None not in ci else ""))
    if infant.get("scheme"):
        validation.insert(0, f"{infant['scheme']} on {infant.get('infants', '?')} infants outside training")
    for key in ("infant_cv", "loio_cv", "snippet_cv"):
        s = metrics.get(key, {}).get("summary") if isinstance(metrics.get(key), dict) else None
        if s and "accuracy" in s:
            mu = s["accuracy"][0] if isinstance(s["accuracy"], list | tuple) else s["accuracy"]
            if mu is None:
                continue
            label = {"snippet_cv": "snippet CV (snippets of one infant in train and test)",
                     "infant_cv": "infant-grouped CV", "loio_cv": "leave-one-infant-out CV"}[key]
            validation.append(f"{label}: snippet accuracy {100 * float(mu):.0f} %")
    return {"model_id": m.get("model_id", result.model_id), "classifier": m.get("classifier", "?"),
            "feature_set": m.get("feature_set", "?"), "normalisation": m.get("normalisation", "paper"),
            "gmdesk": (m.get("library_versions") or {}).get("gmdesk", "?"),
            "cohort": f"{cohort.get('infants', '?')} infants ({cohort.get('normal_infants', '?')} normal, "
                      f"{cohort.get('abnormal_infants', '?')} abnormal)" if cohort else "not recorded",
            "synthetic": bool(cohort.get("synthetic")), "threshold": m.get("threshold", DEFAULT_THRESHOLD),
            "decision": m.get("decision", DEFAULT_DECISION), "validation": validation,
            "intended_use": m.get("intended_use") or ("Screening support for General Movements Assessment of infants "
                                                      "9-20 weeks post-term, reviewed by a GMA-certified clinician"),
            "medical_device": bool(m.get("medical_device", False))}


def collect_report(case: Any, bundle_manifest: dict[str, Any] | None = None, result_id: int | None = None) -> ReportContent:
    """Everything the report shows, from an open case (and the result's model manifest if given).

    Parameters
    ----------
    case : gmdesk.record.case.Case
    bundle_manifest : dict, optional
        The model bundle's manifest (validation figures, cohort); otherwise what the result stored.
    result_id : int, optional
        Which stored result (default the latest signed one, else the latest).

    Raises
    ------
    ReportError
        The case has no stored assessment.
    """

    results = case.results()
    if not results:
        raise ReportError(f"case {case.path} has no assessment yet: run one before making a report")
    if result_id is None:
        result_id = case.default_result_id() if hasattr(case, "default_result_id") else results[-1]["id"]
    res = next((r for r in results if r["id"] == result_id), None)
    if res is None:
        raise ReportError(f"case {case.path} has no result {result_id}")
    meta = case.meta()
    patient = _patient_fields(case)
    age = None
    if patient.get("date_of_birth") and patient.get("recording_date") and patient.get("gestational_age"):
        age = corrected_age(patient["date_of_birth"], patient["recording_date"], patient["gestational_age"])
    video = case.conn.execute("SELECT path, size, sha256 FROM video WHERE id = 1").fetchone()
    track = case.raw_track()
    recording: dict[str, Any] = {"frames": track.n_frames, "fps": round(float(track.fps), 3),
                                 "duration_s": round(track.duration_s, 1),
                                 "pose_source": Path(str(track.meta.get("source", "?"))).name}
    if video:
        recording |= {"video": Path(video[0]).name, "video_sha256": video[2], "video_bytes": int(video[1])}
        vi = _video_info(case)
        if vi:
            recording |= vi
    result = AssessmentResult.from_stored(res, float(track.fps))
    return ReportContent(
        infant_id=str(meta.get("infant_id", "?")), case_file=Path(case.path).name, patient=patient, age=age,
        recording=recording, quality=_quality(case, result), result=result, model=_model(result, bundle_manifest),
        corrections=_corrections(case, res), review=_review(case, res["id"]), gmdesk_version=__version__,
    )


def _video_info(case: Any) -> dict[str, Any] | None:
    for e in reversed(case.events()):
        d = e.get("detail", {})
        if isinstance(d, dict) and d.get("width") and d.get("height"):
            return {"resolution": f"{d['width']}x{d['height']}", "video_frames": d.get("frames"),
                    "video_fps": d.get("fps")}
    return None


def _patient_fields(case: Any) -> dict[str, Any]:
    """Patient/recording fields (latest value of each), from the case's annotations."""
    return dict(case.patient()) if hasattr(case, "patient") else {}


def _review(case: Any, result_id: int) -> dict[str, Any]:
    marks = [{"snippet": i, "mark": v.get("mark"), "note": v.get("note", ""), "author": v.get("author")}
             for i, v in sorted(case.snippet_reviews(result_id).items())] if hasattr(case, "snippet_reviews") else []
    sign = case.latest_sign_off(result_id) if hasattr(case, "latest_sign_off") else None
    return {"snippet_marks": marks, "signoff": sign}


# -- text and drawing --------------------------------------------------------------------------------

def _pct(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{100 * v:.0f} %" if v == 0 or v >= 0.1 else f"{100 * v:.1f} %"


def _text(c: ReportContent) -> list[tuple[str, str]]:
    """The report's lines, section by section."""
    out: list[tuple[str, str]] = []
    for section in (_infant_lines, _recording_lines, _quality_lines, _result_lines, _review_lines, _model_lines,
                    _correction_lines, _signoff_lines):
        out += section(c)
    return out


def _infant_lines(c: ReportContent) -> list[tuple[str, str]]:
    p = c.patient
    out = [("Infant", f"Infant ID: {c.infant_id}")]
    add = out.append
    ga = format_ga(parse_gestational_age(p["gestational_age"])) + " weeks" if p.get("gestational_age") else "not recorded"
    add(("Infant", f"Date of birth: {p.get('date_of_birth', 'not recorded')}; gestational age at birth: {ga}"))
    if c.age:
        add(("Infant", f"Recording date: {p.get('recording_date')}; chronological age {c.age['chronological_days']} days; "
                       f"corrected (post-term) age {c.age['postterm_weeks']:.1f} weeks"))
        if c.age["warning"]:
            add(("Infant", f"WARNING: {c.age['warning']}"))
    else:
        add(("Infant", f"Recording date: {p.get('recording_date', 'not recorded')}; corrected age: not known "
                       "(date of birth, gestational age and recording date are needed)"))
    return out


def _recording_lines(c: ReportContent) -> list[tuple[str, str]]:
    r = c.recording
    vid = r.get("video", "not linked")
    out = [("Recording", f"Video: {vid}" + (f" ({r.get('resolution')})" if r.get("resolution") else ""))]
    if r.get("video_sha256"):
        out.append(("Recording", f"SHA-256: {r['video_sha256']}"))
    out.append(("Recording", f"Duration {r.get('duration_s')} s, {r.get('frames')} frames at {r.get('fps')} fps; "
                             f"case file {c.case_file}"))
    return out


def _quality_lines(c: ReportContent) -> list[tuple[str, str]]:
    q = c.quality
    ps = q.get("point_share", {})
    out = [("Quality", f"Landmark points: observed {_pct(ps.get('observed'))}, interpolated {_pct(ps.get('imputed'))}, "
                       f"swap repaired {_pct(ps.get('repaired'))}, edited by hand {_pct(ps.get('edited'))}, "
                       f"missing {_pct((ps.get('missing') or 0) + (ps.get('outlier') or 0) + (ps.get('low_likelihood') or 0))}")]
    add = out.append
    if q.get("windows") is not None:
        add(("Quality", f"10-s windows usable: {q.get('windows_kept')} of {q.get('windows')} "
                        f"({_pct(q.get('usable_share'))} of the recording)"))
    for line in q.get("left_out", []):
        add(("Quality", f"left out {line}"))
    if q.get("left_out_total", 0) > len(q.get("left_out", [])):
        add(("Quality", f"... and {q['left_out_total'] - len(q['left_out'])} more windows left out"))
    add(("Quality", f"{'SCORABLE' if q.get('scorable') else 'NOT SCORABLE'}: {q.get('scorable_reason')}"))
    return out


def _result_lines(c: ReportContent) -> list[tuple[str, str]]:
    res = c.result
    v = res.verdict
    word = v.verdict
    if res.validated:
        out = [("Result", f"Result: {word.upper()} — {GMA_WORDS.get(word, word)}")]
    else:  # a model not validated on its cohort never gives a plain normal/abnormal
        reasons = "; ".join((res.validation or {}).get("reasons") or [])
        out = [("Result", f"Result: {RESEARCH_ONLY.upper()}"),
               ("Result", f"Model output, not a clinical result: {word.upper()} — {GMA_WORDS.get(word, word)}"),
               ("Result", f"Not validated because: {reasons}")]
    out.append(("Result", f"Basis: {v.basis}"))
    add = out.append
    lo, hi = v.interval
    if np.isfinite(lo) and np.isfinite(hi):
        add(("Result", f"95 % interval of the share of normal snippets: {100 * lo:.0f}-{100 * hi:.0f} %"))
    if v.reason:
        add(("Result", f"Indeterminate because: {v.reason}"))
    if res.findings_summary:
        add(("Result", f"Findings behind the abnormal snippets: {res.findings_summary} — how the movement "
                       "departed from normal movement, measured; not a GMA classification"))
    add(("Result", "The model was trained on its site's global normal/abnormal labels per infant; its verdict is not "
                   "a GMA classification (absent, sporadic or abnormal fidgety movements are the assessor's call) and "
                   "does not replace a GMA-certified assessment."))
    add(("Result", f"Assessed {res.time or '?'} by {res.author or '?'} at edit-log position {res.edit_seq or 0}"))
    cr = c.corrections
    n_since = cr.get("edits_since_result") or 0
    entries = f"{n_since} edit-log {'entry' if n_since == 1 else 'entries'}"
    if cr.get("out_of_date", n_since > 0):
        add(("Result", f"OUT OF DATE: the landmarks were changed after this result ({entries} since); re-run the assessment"))
    elif n_since:
        add(("Result", f"{entries} after this result cancel out (undone): the landmarks are those it was made from"))
    return out


def _review_lines(c: ReportContent) -> list[tuple[str, str]]:
    marks = c.review.get("snippet_marks", [])
    dis = [mk for mk in marks if mk["mark"] in ("disagree", "unsure")]
    out = [("Review", f"Snippets reviewed: {len(marks)}; disagreed {sum(mk['mark'] == 'disagree' for mk in marks)}, "
                      f"unsure {sum(mk['mark'] == 'unsure' for mk in marks)}")]
    sn = c.result.snippets
    for mk in dis:
        s = sn[mk["snippet"]] if 0 <= mk["snippet"] < len(sn) else {}
        out.append(("Review", f"snippet {mk['snippet'] + 1} ({s.get('start_s', '?')} s, "
                              f"P(abnormal) {s.get('p_abnormal', float('nan')):.2f}): "
                              f"{mk['mark']}" + (f" — {mk['note']}" if mk.get("note") else "")))
    return out


def _model_lines(c: ReportContent) -> list[tuple[str, str]]:
    m = c.model
    out = [("Model", f"Model: {m['model_id']} ({m['classifier']}, features {m['feature_set']}, normalisation "
                     f"{m['normalisation']}; gmdesk {m['gmdesk']})"),
           ("Model", f"Trained on {m['cohort']}" + ("; SYNTHETIC training data" if m["synthetic"] else "")),
           ("Model", f"Verdict rule: normal if more than {100 * float(m['threshold']):.0f} % of snippets have "
                     f"P(abnormal) < {float(m['decision']):.2f}")]
    out.append(("Model", status_text(c.result.validation)))
    out += [("Model", f"Validation: {line}") for line in m["validation"] or ["no validation figures recorded in the model"]]
    out.append(("Model", f"Intended use: {m['intended_use']}"))
    if not m["medical_device"]:
        out.append(("Model", "Not a medical device."))
    return out


def _correction_lines(c: ReportContent) -> list[tuple[str, str]]:
    cr = c.corrections
    n_e, n_p = cr.get("edits", 0), cr.get("points_changed", 0)
    return [("Corrections", f"Manual edits: {n_e} edit{'' if n_e == 1 else 's'} ({n_p} point{'' if n_p == 1 else 's'}) "
                            + (", ".join(f"{a}: {n}" for a, n in cr.get("by_author", {}).items()) or "none")
                            + (f"; first {cr['first']}, last {cr['last']}" if cr.get("first") else ""))]


def _signoff_lines(c: ReportContent) -> list[tuple[str, str]]:
    sign = c.review.get("signoff")
    reviewer = c.patient.get("reviewer")
    if not sign:
        return [("Sign-off", f"Not signed off{' (reviewer: ' + reviewer + ')' if reviewer else ''}.")]
    out = [("Sign-off", f"Reviewed by {sign.get('reviewer') or reviewer or sign.get('author')} on {sign.get('date', '?')}: "
                        f"{sign.get('decision', 'signed')}")]
    if sign.get("comment"):
        out.append(("Sign-off", f"Comment: {sign['comment']}"))
    if c.corrections.get("out_of_date"):
        out.append(("Sign-off", "The landmarks were changed after this result; the sign-off is of the result as it was made."))
    return out


def render_report(content: ReportContent, path: str | Path) -> Path:
    """Write the report as a PDF (A4; atomically). Text is real text (TrueType), so it can be searched
    and read back."""
    path = Path(path)
    if path.suffix.lower() != ".pdf":
        raise ReportError(f"report {path}: the file name must end in .pdf")
    from gmdesk.plots.report_pages import draw_report_pdf  # deferred: matplotlib only when a PDF is written

    out = draw_report_pdf(content, path)
    logger.info("report of infant %s written to %s", content.infant_id, out)
    return out


def write_case_report(case: Any, path: str | Path, bundle_manifest: dict[str, Any] | None = None,
                      result_id: int | None = None) -> ReportContent:
    """:func:`collect_report` from an open case, then :func:`render_report` to ``path`` (``gmdesk report``,
    ``gmdesk batch``); returns what the report shows."""
    content = collect_report(case, bundle_manifest, result_id)
    render_report(content, path)
    return content
