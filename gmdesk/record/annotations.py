"""What clinicians and models add to a case, append-only: annotations (review marks, snippet reviews,
patient and recording fields, sign-offs; the latest entry per subject is the current value) and stored
results, with whether edits made since leave a result out of date.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import numpy as np

from gmdesk.core.posetrack import PoseTrack
from gmdesk.record.edits import CaseEdits
from gmdesk.record.patient import PATIENT_FIELDS, validate_patient_field
from gmdesk.record.store import CaseError, json_column, now

logger = logging.getLogger(__name__)

#: What annotations record (append-only; the latest entry per subject is the current value).
ANNOTATION_KINDS = ("review_item", "snippet_review", "patient", "signoff")


#: Longest sign-off comment stored (a longer one is refused, never cut).
MAX_COMMENT = 4000

class CaseAnnotations(CaseEdits):
    """Annotations, patient fields, snippet reviews, sign-offs and stored results of a case."""

    # -- annotations --------------------------------------------------------------------------
    def annotate(self, kind: str, subject: dict[str, Any], value: dict[str, Any]) -> int:
        """Append an annotation (a review mark, a snippet review, a patient field, a sign-off).

        ``subject`` says what it is about (e.g. ``{"key": item.key}``, ``{"result_id": 3, "snippet": 4}``,
        ``{"field": "date_of_birth"}``); the latest annotation of a subject is its current value.
        """
        if kind not in ANNOTATION_KINDS:
            raise CaseError(f"unknown annotation kind {kind!r}; one of {ANNOTATION_KINDS}")
        if not isinstance(subject, dict) or not isinstance(value, dict):
            raise CaseError("an annotation's subject and value must be tables")
        try:
            subj, val = json.dumps(subject, sort_keys=True, allow_nan=False), json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise CaseError(f"annotation is not plain data ({exc})") from None
        with self._writing(f"the {kind} annotation") as conn:
            c = conn.execute("INSERT INTO annotations(kind, subject, value, author, time) VALUES (?, ?, ?, ?, ?)",
                             (kind, subj, val, self.author, now()))
        return int(c.lastrowid)

    def annotations(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Annotations in order (of one ``kind``, or all)."""
        q = "SELECT seq, kind, subject, value, author, time FROM annotations"
        rows = self.conn.execute(q + (" WHERE kind = ?" if kind else "") + " ORDER BY seq", (kind,) if kind else ()).fetchall()
        out = []
        for r in rows:
            where = f"case file {self.path}: annotation {r[0]}"
            if r[1] not in ANNOTATION_KINDS:
                raise CaseError(f"{where} has unknown kind {r[1]!r} (damaged)")
            out.append({"seq": r[0], "kind": r[1], "subject": json_column(r[2], where, dict),
                        "value": json_column(r[3], where, dict), "author": r[4], "time": r[5]})
        return out

    def latest_annotations(self, kind: str) -> dict[str, dict[str, Any]]:
        """The current annotation of each subject of ``kind``, keyed by the subject's JSON (or its
        ``key``/``field`` entry when it has one)."""
        out: dict[str, dict[str, Any]] = {}
        for a in self.annotations(kind):
            subj = a["subject"]
            k = subj.get("key") or subj.get("field") or json.dumps(subj, sort_keys=True)
            out[str(k)] = a
        return out

    def set_patient_field(self, field: str, value: str) -> int:
        """Record a patient or recording field (validated; the case log keeps every change).

        Fields: ``date_of_birth``, ``recording_date`` (ISO dates, birth not after recording, neither in the
        future), ``gestational_age`` at birth (weeks ``38.5`` or weeks+days ``38+3``, 22-44 weeks),
        ``reviewer`` and ``site`` (text, at most 200 characters). An empty value clears the field.
        """

        if field not in PATIENT_FIELDS:
            raise CaseError(f"unknown field {field!r}; one of {PATIENT_FIELDS}")
        current = {k: v["value"].get("value") for k, v in self.latest_annotations("patient").items()}
        value = validate_patient_field(field, value, current)
        return self.annotate("patient", {"field": field}, {"value": value})

    def patient(self) -> dict[str, str]:
        """The current patient and recording fields (latest value of each; cleared fields left out)."""
        out = {}
        for k, a in self.latest_annotations("patient").items():
            v = a["value"].get("value")
            if v not in (None, ""):
                out[k] = v
        return out

    def review_snippet(self, result_id: int, snippet: int, mark: str, note: str = "") -> int:
        """A clinician's mark on one snippet of a result: ``agree``, ``disagree`` or ``unsure``, with a note."""
        if mark not in ("agree", "disagree", "unsure"):
            raise CaseError(f"snippet review {mark!r}: one of agree, disagree, unsure")
        res = next((r for r in self.results() if r["id"] == result_id), None)
        if res is None or not 0 <= snippet < len(res["snippets"]):
            raise CaseError(f"case {self.path}: no snippet {snippet} in result {result_id}")
        return self.annotate("snippet_review", {"result_id": int(result_id), "snippet": int(snippet)},
                             {"mark": mark, "note": str(note)[:2000]})

    def snippet_reviews(self, result_id: int) -> dict[int, dict[str, Any]]:
        """The current review of each snippet of a result: snippet index → {mark, note, author, time}."""
        out = {}
        for a in self.annotations("snippet_review"):
            if a["subject"].get("result_id") == result_id:
                out[int(a["subject"]["snippet"])] = a["value"] | {"author": a["author"], "time": a["time"]}
        return out

    def sign_off(self, result_id: int, reviewer: str, comment: str = "", decision: str = "signed") -> int:
        """A reviewer signs a result off (name, their comment), recorded in the case log with the time."""
        if not reviewer or not reviewer.strip() or len(reviewer) > 200:
            raise CaseError("sign-off needs the reviewer's name (1-200 characters)")
        if len(str(comment)) > MAX_COMMENT:
            raise CaseError(f"the sign-off comment has {len(str(comment))} characters, more than the {MAX_COMMENT} a "
                            "comment may have; shorten it (nothing was signed)")
        if not any(r["id"] == result_id for r in self.results()):
            raise CaseError(f"case {self.path} has no result {result_id}")
        return self.annotate("signoff", {"result_id": int(result_id)},
                             {"reviewer": reviewer.strip(), "comment": str(comment), "decision": decision,
                              "date": now()[:10]})

    def latest_sign_off(self, result_id: int) -> dict[str, Any] | None:
        """The current sign-off of a result (reviewer, comment, decision, date, author, time), or None."""
        signs = [a for a in self.annotations("signoff") if a["subject"].get("result_id") == result_id]
        return signs[-1]["value"] | {"author": signs[-1]["author"], "time": signs[-1]["time"]} if signs else None

    # -- results ------------------------------------------------------------------------------
    def save_result(self, model_id: str, verdict: dict[str, Any], snippets: list[dict[str, Any]],
                    model_path: str | None = None, model: dict[str, Any] | None = None,
                    edit_seq: int | None = None) -> int:
        """Store an assessment (verdict + per-snippet scores) with the edit position it was made at
        (``edit_seq``, default the latest; give it when the track was taken earlier, e.g. before a
        background job). ``model`` (e.g. the bundle's manifest summary) is stored with the verdict so
        the case explains itself even when the model moves."""
        last = self.conn.execute("SELECT MAX(seq) FROM edits").fetchone()[0] if edit_seq is None else (edit_seq or None)
        v = dict(verdict) | ({"model": model} if model else {})
        try:
            blob_v, blob_s = json.dumps(v, allow_nan=False, default=str), json.dumps(snippets, allow_nan=False, default=str)
        except ValueError as exc:
            raise CaseError(f"result is not plain data ({exc})") from None
        with self._writing("the result") as conn:
            c = conn.execute(
                "INSERT INTO results(model_id, model_path, verdict, snippets, edit_seq, author, time) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (model_id, model_path, blob_v, blob_s, last, self.author, now()),
            )
            self._event("result", {"model_id": model_id, "result_id": c.lastrowid})
        return int(c.lastrowid)

    def results(self) -> list[dict[str, Any]]:
        """Stored assessments, oldest first."""
        rows = self.conn.execute(
            "SELECT id, model_id, model_path, verdict, snippets, edit_seq, author, time FROM results ORDER BY id").fetchall()
        out = []
        for r in rows:
            where = f"case file {self.path}: result {r[0]}"
            verdict = json_column(r[3], where, dict)
            model = verdict.pop("model", None)
            views = verdict.pop("views", None)
            out.append({"id": r[0], "model_id": r[1], "model_path": r[2], "verdict": verdict,
                        "snippets": json_column(r[4], where, list), "edit_seq": r[5], "author": r[6], "time": r[7],
                        "model": model, "views": views if isinstance(views, dict) else None})
        return out

    def is_signed(self, result_id: int) -> bool:
        """True when the current sign-off of a result signs it (``signed`` or ``signed with changes``; a
        rejection is recorded but does not make the result the signed record)."""
        return _signs(self.latest_sign_off(result_id))

    def result_list(self) -> list[dict[str, Any]]:
        """Every stored result, oldest first, as a list shows it: ``id``, ``time``, ``author``, ``model_id``,
        ``verdict`` (its word), ``out_of_date`` (the landmarks differ from those it was made from),
        ``signoff`` (its current sign-off or None) and ``signed`` (:meth:`is_signed`)."""
        results = self.results()
        digest = self.track_digest() if results else ""
        signs: dict[int, dict[str, Any]] = {}
        for a in self.annotations("signoff"):
            rid = a["subject"].get("result_id")
            if isinstance(rid, int):
                signs[rid] = a["value"] | {"author": a["author"], "time": a["time"]}
        out = []
        for r in results:
            stored = r["verdict"].get("track_sha256")
            sign = signs.get(r["id"])
            out.append({"id": r["id"], "time": r["time"], "author": r["author"], "model_id": r["model_id"],
                        "verdict": str(r["verdict"].get("verdict", "?")),
                        "out_of_date": stored != digest if stored else self.result_out_of_date(r),
                        "signoff": sign,
                        "signed": _signs(sign)})
        return out

    def default_result_id(self) -> int | None:
        """The result a report or a reopened case shows unless told otherwise: the latest signed one, else
        the latest one; None when the case has no result."""
        rows = self.result_list()
        signed = [r for r in rows if r["signed"]]
        return (signed or rows)[-1]["id"] if rows else None

    def track_digest(self, track: PoseTrack | None = None) -> str:
        """SHA-256 of a track's points and statuses (default the current track): what a result was
        made from, so "out of date" means the landmarks differ, not that the log grew (an edit and its
        undo leave the digest as it was)."""
        t = self.current_track() if track is None else track
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(np.nan_to_num(t.xy, nan=-1e9), dtype="<f8").tobytes())
        h.update(np.ascontiguousarray(t.status, dtype=np.uint8).tobytes())
        return h.hexdigest()

    def result_out_of_date(self, result: dict[str, Any]) -> bool:
        """True when the landmarks differ from those ``result`` (one of :meth:`results`) was made from.
        Results stored before digests were kept: out of date when the log's net change since is not zero."""
        digest = result["verdict"].get("track_sha256")
        if digest:
            return digest != self.track_digest()
        since = [e for e in self.history() if e.seq > (result.get("edit_seq") or 0)]
        return bool(since) and sum(1 for e in since if e.kind != "undo") != sum(1 for e in since if e.kind == "undo")

    def result_status(self) -> dict[str, Any] | None:
        """The latest stored result, its model, and whether edits made since it make it out of date."""
        results = self.results()
        if not results:
            return None
        r = results[-1]
        now = self.edit_position()
        since = [e for e in self.history() if e.seq > (r["edit_seq"] or 0)]
        previous = results[-2]["verdict"].get("verdict") if len(results) > 1 else None
        return {"result": r, "edit_position": now, "edits_since": len(since), "out_of_date": self.result_out_of_date(r),
                "previous_verdict": previous, "changed_verdict": previous is not None
                and previous != r["verdict"].get("verdict")}


def _signs(sign: dict[str, Any] | None) -> bool:
    """True for a sign-off that signs its result (not a rejection)."""
    return sign is not None and str(sign.get("decision", "signed")).startswith("signed")
