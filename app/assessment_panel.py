"""The assessment panel: model choice, running the assessment (a thread job), the verdict, the
per-snippet timeline with the clinician's snippet review, the stored result of a reopened case, the
report and the sign-off. The similarity view it fills lives in its own tab."""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from app.jobs import JobOwner, ThreadJob, wait_for
from app.views import RESEARCH_COLOUR, VERDICT_COLOURS, SimilarityView, SnippetTimeline, captioned, merged_gaps
from gmdesk.errors import GmdeskError
from gmdesk.screening.result import AssessmentResult

NO_RESULT = "No assessment yet: choose a model and run it (Ctrl+R)."
TIMELINE_CAPTION = ("Time in seconds along the bottom. Each band is one 10-s snippet (overlapping snippets take "
                    "turns over the rows), coloured by the model's P(abnormal): blue normal → red abnormal. n / A "
                    "(two rows only): the snippet's class; amber outline and ?: borderline; dashed: over 20 % of its "
                    "points imputed; grey: left out for missing data (the landmark is named). ✓ ✗ ?: your review; "
                    "black outline: the snippet you review. Hover for P(abnormal); click to play it.")
SIMILARITY_CAPTION = ("How alike this infant's snippets (rows, numbered as on the timeline) and the model's reference "
                      "snippets from its training infants (columns: normal left of the white line, abnormal right) "
                      "are, in the model's own embedding (cosine similarity, yellow = alike). Rows resembling the "
                      "abnormal block are what the model calls abnormal-like. Click a row to play the snippet.")


class AssessmentPanel(QtWidgets.QWidget):
    """Choose a model bundle, run it on the open case's current track (edits included), show the verdict.

    Signals
    -------
    open_snippet(int)
        A snippet was clicked (here or in the heatmap): play it.
    assessed(AssessmentResult)
        A new result (already saved in the case).
    failed(str, str)
        Title and message of an error to show.
    message(str)
        Something done (report written, result signed off) for the status bar.
    enabled_changed()
        The buttons' enabled states were updated (the window's menu actions follow them).
    """

    open_snippet = QtCore.Signal(int)
    assessed = QtCore.Signal(object)
    failed = QtCore.Signal(str, str)
    message = QtCore.Signal(str)
    enabled_changed = QtCore.Signal()

    def __init__(self, jobs: JobOwner, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.session = None
        self.model_path: Path | None = None
        self.result: dict | None = None
        self.selected_snippet: int | None = None
        self.write_failed = False  # the disk refused a write: nothing that writes is offered
        self.notes: dict[str, str] = {}
        self.verdict_label = QtWidgets.QLabel(NO_RESULT)
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setStyleSheet("font-size: 14px; padding: 2px 4px;")
        self.verdict_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.quality: dict = {}
        self.quality_label = QtWidgets.QLabel("")
        self.quality_label.setObjectName("quality")
        self.quality_label.setWordWrap(True)
        self.quality_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state_label = QtWidgets.QLabel("")
        self.state_label.setWordWrap(True)
        self.model_label = QtWidgets.QLabel("model: none")
        self.run_button = QtWidgets.QPushButton("Run assessment")
        self.run_button.clicked.connect(lambda: self.run())
        self.model_button = QtWidgets.QPushButton("Choose model…")
        self.model_button.clicked.connect(self.choose_model)
        self.report_button = QtWidgets.QPushButton("Export report…")
        self.report_button.clicked.connect(lambda: self.export_report())
        self.signoff_button = QtWidgets.QPushButton("Sign off…")
        self.signoff_button.clicked.connect(self.sign_off)
        self.results_box = QtWidgets.QComboBox()
        self.results_box.setObjectName("results")
        self.results_box.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.results_box.setToolTip("The case's results: number, time, model, verdict, whether the landmarks changed "
                                    "since, and who signed it off (✔). Choose one to show it; the report exports "
                                    "the shown result.")
        self.results_box.activated.connect(lambda i: self.show_stored(self.results_box.itemData(i)))
        self.borderline_box = QtWidgets.QDoubleSpinBox()
        self.borderline_box.setRange(0.0, 0.4)
        self.borderline_box.setSingleStep(0.05)
        self.borderline_box.setValue(0.1)
        self.borderline_box.setPrefix("borderline 0.5 ± ")
        self.borderline_box.setToolTip("Snippets whose P(abnormal) is this close to 0.5 are marked borderline")
        self.borderline_box.valueChanged.connect(self._borderline_changed)
        self.timeline = SnippetTimeline()
        self.timeline.open_snippet = self._snippet_clicked
        self.hover_label = QtWidgets.QLabel(" ")
        self.hover_label.setWordWrap(True)
        self.hover_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.hover_label.setStyleSheet("font-size: 12px; color: #222; padding: 0 4px;")
        self.timeline.on_hover = lambda text: self.hover_label.setText(text or "hover over a snippet for its P(abnormal)")
        self.similarity = SimilarityView()
        self.similarity.open_snippet = self.open_snippet.emit
        self.similarity_tab = captioned(self.similarity, SIMILARITY_CAPTION)

        # per-snippet review: agree / disagree / unsure with a note
        self.review_label = QtWidgets.QLabel("Click a snippet to review it.")
        self.review_buttons: dict[str, QtWidgets.QPushButton] = {}
        self.note_edit = QtWidgets.QLineEdit()
        self.note_edit.setPlaceholderText("note on this snippet (optional; Enter saves it with your mark)")
        self.note_edit.returnPressed.connect(self._note_entered)
        review_row = QtWidgets.QHBoxLayout()
        review_row.addWidget(self.review_label)
        for mark, text in (("agree", "Agree ✓"), ("disagree", "Disagree ✗"), ("unsure", "Unsure ?")):
            b = QtWidgets.QPushButton(text)
            b.setObjectName(f"review_{mark}")
            b.clicked.connect(lambda _=False, m=mark: self.review_snippet(m))
            self.review_buttons[mark] = b
            review_row.addWidget(b)
        review_row.addWidget(self.note_edit, 1)

        top = QtWidgets.QHBoxLayout()
        for w in (self.model_button, self.model_label, self.run_button, self.results_box):
            top.addWidget(w)
        top.addStretch()
        for w in (self.borderline_box, self.report_button, self.signoff_button):
            top.addWidget(w)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        lay.addLayout(top)
        lay.addWidget(self.verdict_label)
        lay.addWidget(self.quality_label)
        notes_row = QtWidgets.QHBoxLayout()  # what is known about the result | what the mouse is over
        notes_row.addWidget(self.state_label, 1)
        notes_row.addWidget(self.hover_label, 1)
        lay.addLayout(notes_row)
        self.timeline_box = captioned(self.timeline, TIMELINE_CAPTION)
        lay.addWidget(self.timeline_box, 1)
        lay.addLayout(review_row)
        self._enable()

    # -- case and model ------------------------------------------------------------------------------
    def set_session(self, session) -> None:
        """A case was opened: show its signed result (the latest signed one), else its latest stored result,
        and its model, if it has one; every result is in the results list."""
        self.session = session
        self.result = None
        self.selected_snippet = None
        self.write_failed = False
        self._clear_views()
        rid = None
        if session is not None:
            try:
                rid = session.case.default_result_id()
            except GmdeskError as exc:
                self.failed.emit("Stored results not read", str(exc))
        if rid is not None and self.show_stored(rid) and self.model_path is None:
            path = self.result.model_path
            if path and Path(path).is_dir():
                self.set_model(path)
        self.refresh_results()
        self._enable()

    def show_stored(self, result_id: int | None) -> bool:
        """Show stored result ``result_id`` with every view it showed when it was made (its timeline, reviews,
        sign-off and similarity). Returns whether it was shown."""
        if self.session is None or result_id is None:
            return False
        if self.result is not None and self.result.result_id == result_id:
            return True
        try:
            stored = next((r for r in self.session.case.results() if r["id"] == result_id), None)
        except GmdeskError as exc:
            self.failed.emit("Stored results not read", str(exc))
            return False
        if stored is None:
            return False
        self.show_result(AssessmentResult.from_stored(stored, self.session.fps))
        return True

    def refresh_results(self) -> None:
        """Fill the results list (number, time, model, verdict, out of date, signed by) and select the shown one."""
        box = self.results_box
        box.blockSignals(True)
        box.clear()
        rows = []
        if self.session is not None:
            try:
                rows = self.session.case.result_list()
            except GmdeskError as exc:
                self.failed.emit("Stored results not read", str(exc))
        for r in rows:
            box.addItem(result_entry(r), r["id"])
            if r["signed"]:
                box.setItemData(box.count() - 1, QtGui.QColor("#1e8449"), QtCore.Qt.ItemDataRole.ForegroundRole)
        shown = self.result.result_id if self.result is not None else None
        box.setCurrentIndex(box.findData(shown) if shown is not None else -1)
        box.setEnabled(bool(rows))
        box.setPlaceholderText("no results yet")
        box.blockSignals(False)
        self.signed_rows = [r for r in rows if r["signed"]]
        self._show_notes()

    def _clear_views(self) -> None:
        self.timeline.set_snippets([], 10)
        self.similarity.clear_matrix("Run the assessment to compare this infant's snippets with the model's "
                                     "reference snippets.")
        self.verdict_label.setText(NO_RESULT)
        self.quality_label.setText("")
        self.quality_label.setToolTip("")
        self.notes = {}
        self.state_label.setText("")
        self.review_label.setText("Click a snippet to review it.")

    def choose_model(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Model bundle folder", "models")
        if path:
            self.set_model(path)

    def set_model(self, path: str | Path) -> None:
        """Use the model bundle in folder ``path``."""
        self.model_path = Path(path)
        self.model_label.setText(f"model: {self.model_path.name}")

    def model_summary(self) -> dict | None:
        """The summary of the shown result's model (what the About box names)."""
        return (self.result.model_summary or None) if self.result is not None else None

    def _enable(self) -> None:
        has = self.result is not None and self.result.result_id is not None
        read_only = self.session is not None and (self.session.case.read_only or self.write_failed)
        writable = self.session is not None and not read_only
        picked = self.selected_snippet is not None
        self.run_button.setEnabled(writable)
        self.run_button.setToolTip("The case is open read-only: a result could not be stored." if read_only
                                   else "Score the current landmarks (edits included) with the chosen model (Ctrl+R)")
        self.report_button.setEnabled(has)
        self.report_button.setToolTip("" if has else "Needs a stored result: run the assessment first")
        self.signoff_button.setEnabled(has and writable)
        self.signoff_button.setToolTip("The case is open read-only" if read_only else
                                       "" if has else "Needs a stored result: run the assessment first")
        for b in (*self.review_buttons.values(), self.note_edit):
            b.setEnabled(has and writable and picked)
            b.setToolTip("The case is open read-only" if read_only else
                         "" if picked else "Click a snippet on the timeline first")
        self.enabled_changed.emit()

    # -- running ------------------------------------------------------------------------------------
    def run(self, block: bool = False) -> ThreadJob | None:
        """Score the current track on a worker thread (cancellable between its steps)."""
        s = self.session
        if s is None or self.model_path is None:
            self.failed.emit("Assessment", "Open a recording and choose a model bundle first.")
            return None
        track, skeleton, model = s.track.copy(), s.skeleton, self.model_path
        infant = s.case.meta().get("infant_id", "")
        taken = {"edit_seq": s.case.edit_position(), "track_sha256": s.case.track_digest()}

        def job(progress, cancel):
            from gmdesk.learning.bundle import load_bundle
            from gmdesk.progress import check_cancel
            from gmdesk.screening.assess import assess_track

            progress(0, 0, f"loading {model.name}")
            bundle = load_bundle(model, skeleton)
            check_cancel(cancel, "assessment")
            progress(0, 0, "scoring snippets")
            res = assess_track(track, bundle, skeleton, infant)
            check_cancel(cancel, "assessment")
            return dataclasses.replace(res, **taken)

        from app.jobs import JobBusyError

        self.run_button.setEnabled(False)
        try:
            started = self.jobs.start(ThreadJob(job), "assessing", self._done, self._failed)
        except JobBusyError as exc:
            self._enable()
            self.failed.emit("Assessment", str(exc))
            return None
        if block:
            wait_for(started)
        return started

    def _failed(self, message: str) -> None:
        self._enable()
        if message != "cancelled":
            self.failed.emit("Assessment failed", message)

    def _done(self, res: AssessmentResult | None) -> None:
        self._enable()
        if res is None or self.session is None:
            return
        from gmdesk.screening.assess import store_result

        previous = self.result
        case = self.session.case
        try:
            res.result_id = store_result(case, res, res.edit_seq, res.track_sha256)
        except Exception as exc:
            res.result_id = None
            self.failed.emit("Result not saved", f"{exc}. The result is shown but was not stored in the case.")
        self.show_result(res)
        self.refresh_results()
        if res.result_id is None:
            self.notes["change"] = ("<b style='color:#b9770e'>Not stored</b>: this result is not in the case "
                                    "(see the error); the report and sign-off need a stored result.")
        elif previous is not None:
            old, new = previous.label, res.label
            where = f"result #{previous.result_id}" if previous.result_id else "the previous result"
            change = (f"Verdict unchanged ({new.upper()}) since {where}" if old == new
                      else f"<b>Verdict changed</b>: {old.upper()} in {where} → {new.upper()} now")
            n_old, n_new = len(previous.snippets), len(res.snippets)
            if n_old != n_new:
                change += f"; {n_old} → {n_new} scored snippets"
            self.notes["change"] = f"{change}; both are kept in the case."
        self._show_notes()
        self.assessed.emit(res)

    # -- showing ------------------------------------------------------------------------------------
    def show_result(self, res: AssessmentResult) -> None:
        """Show a result (new or stored): verdict, basis, model, timeline with reviews, heatmap."""
        self.result = res
        self.selected_snippet = None
        v = res.verdict
        colour = VERDICT_COLOURS.get(v.verdict, "#333333")
        extra = " — model trained on SYNTHETIC data, not for clinical use" if res.synthetic_model else ""
        dropped = f"; {len(res.dropped)} windows left out for missing data" if res.dropped else ""
        when = ""
        if res.stored:
            when = f" · stored result #{res.result_id} of {str(res.time or '')[:16].replace('T', ' ')}"
            if res.author:
                when += f" by {html.escape(str(res.author))}"
        elif res.result_id is not None:
            when = f" · result #{res.result_id}"
        if res.validated:
            head = f"<b style='color:{colour}'>{v.verdict.upper()}</b>: {html.escape(v.basis)}{dropped}."
        else:  # never a plain normal/abnormal: the model's output is evidence for research, not a result
            why = "; ".join((res.validation or {}).get("reasons") or [])
            head = (f"<b style='color:{RESEARCH_COLOUR}'>{html.escape(res.research_only.upper())}</b>"
                    f"<br><span style='color:{RESEARCH_COLOUR}'>model output, not a clinical result: "
                    f"{v.verdict.upper()}</span>: {html.escape(v.basis)}{dropped}."
                    f"<br><small style='color:{RESEARCH_COLOUR}'>not validated because: {html.escape(why)}</small>")
        self.verdict_label.setText(
            f"{head}<br><small>model {html.escape(str(res.model_id))}{extra}{when}. Click a snippet to play it.</small>")
        self._show_timeline()
        names = [f"{s['index'] + 1}@{s['start_frame']} ({s['class'][0].upper()})" for s in res.snippets]
        if res.similarity_reference is not None:
            self.similarity.set_matrix(np.asarray(res.similarity_reference), names, res.reference_names,
                                       f"This infant's {len(names)} snippets against the model's "
                                       f"{len(res.reference_names or [])} reference snippets (cosine similarity)",
                                       res.reference_labels)
        elif res.similarity_within is not None:  # bundles without reference snippets; short recordings only
            self.similarity.set_matrix(np.asarray(res.similarity_within), names)
        else:
            self.similarity.clear_matrix("This result was stored before gmdesk kept its similarity data: re-run the "
                                         "assessment (Ctrl+R) to compare its snippets "
                                         "with the model's reference snippets.")
        self.review_label.setText("Click a snippet to review it.")
        self.notes = {"change": "", "signoff": self._signoff_text()}
        self.timeline.set_selected(None)
        self.refresh_state()
        self._enable()

    def _signoff_text(self) -> str:
        rid = self.result.result_id if self.result is not None else None
        if rid is None or self.session is None:
            return ""
        v = self.session.case.latest_sign_off(rid)
        if v is None:
            return ""
        return (f"Signed off by {html.escape(str(v.get('reviewer')))} on {html.escape(str(v.get('date')))}: "
                f"{html.escape(str(v.get('decision')))}.")

    def _signed_elsewhere(self) -> str:
        """A note when the shown result is not the signed record but another one is (the latest signed)."""
        rows = getattr(self, "signed_rows", [])
        shown = self.result.result_id if self.result is not None else None
        if not rows or any(r["id"] == shown for r in rows):
            return ""
        r = rows[-1]
        sign = r["signoff"] or {}
        return (f"<b style='color:#1e8449'>Result #{r['id']} is the signed record</b> ({html.escape(r['verdict'].upper())}, "
                f"signed by {html.escape(str(sign.get('reviewer')))} on {html.escape(str(sign.get('date')))}): "
                "choose it in the results list to show it.")

    def _show_notes(self) -> None:
        parts = [self.notes.get("stale", ""), self.notes.get("change", ""), self.notes.get("signoff", ""),
                 self._signed_elsewhere()]
        self.state_label.setText(" ".join(p for p in parts if p))

    def _reviews(self) -> dict[int, dict]:
        rid = self.result.result_id if self.result is not None else None
        if rid is None or self.session is None:
            return {}
        return self.session.case.snippet_reviews(rid)

    def _show_timeline(self) -> None:
        res = self.result
        if res is None:
            return
        self.timeline.set_snippets(res.snippets, res.window_s,
                                   merged_gaps(res.dropped, res.fps, res.window_frames), self._reviews())

    def _borderline_changed(self, value: float) -> None:
        self.timeline.borderline = float(value)
        self._show_timeline()

    def refresh_state(self) -> None:
        """Say whether the landmarks differ from those the shown result (and each listed result) was made from
        (after every edit; an edit and its undo cancel out)."""
        res = self.result
        if res is None or self.session is None or res.result_id is None:
            self.notes["stale"] = ""
        elif self.session.case.result_out_of_date({"verdict": {"track_sha256": res.track_sha256},
                                                   "edit_seq": res.edit_seq}):
            self.notes["stale"] = ("<b style='color:#b9770e'>Out of date</b>: the landmarks were changed after this "
                                   "result — re-run the assessment (Ctrl+R).")
        else:
            self.notes["stale"] = ""
        self.show_quality()
        self.refresh_results()  # the list's "out of date" marks follow the landmarks too

    def show_quality(self) -> None:
        """SCORABLE / NOT SCORABLE with its reason and the landmark-point shares, in the report's words (the
        windows left out are in the tooltip)."""
        from gmdesk.record.report import quality_lines

        res = self.result
        if res is None or self.session is None:
            self.quality_label.setText("")
            return
        try:
            q, lines = quality_lines(self.session.case, res)
        except Exception as exc:  # the verdict stays readable whatever the quality figures hold
            self.quality_label.setText(f"Quality not available: {html.escape(str(exc))}")
            return
        self.quality = q
        word, _, why = next((ln for ln in lines if ln.startswith(("SCORABLE", "NOT SCORABLE"))), "").partition(": ")
        colour = "#1e8449" if q.get("scorable") else "#c0392b"
        shares = [ln for ln in lines if ln.startswith(("Landmark points", "10-s windows"))]
        self.quality_label.setText(f"<b style='color:{colour}'>{html.escape(word)}</b>: {html.escape(why)}"
                                   f"<br><small>{' · '.join(html.escape(ln) for ln in shares)}</small>")
        self.quality_label.setToolTip("\n".join(lines))

    @property
    def out_of_date(self) -> bool:
        """The shown result was made from other landmarks than the case's current ones."""
        return bool(self.notes.get("stale"))

    # -- the clinician's review ----------------------------------------------------------------------
    def _snippet_clicked(self, index: int) -> None:
        self.select_snippet(index)
        self.open_snippet.emit(index)

    def select_snippet(self, index: int) -> None:
        """Snippet ``index`` is the one the review buttons act on."""
        if self.result is None or not 0 <= index < len(self.result.snippets):
            return
        self.selected_snippet = index
        self.timeline.set_selected(index)
        s = self.result.snippets[index]
        review = self._reviews().get(index)
        self.review_label.setText(f"Snippet {index + 1} (P(abnormal) {s['p_abnormal']:.2f})"
                                  + (f": you marked {review['mark']}" if review else ":"))
        self.note_edit.setText(review.get("note", "") if review else "")
        self._enable()

    def review_snippet(self, mark: str) -> None:
        """Record the clinician's ``mark`` (agree / disagree / unsure) and note on the selected snippet."""
        if self.result is None or self.selected_snippet is None or self.result.result_id is None:
            return
        try:
            self.session.case.review_snippet(self.result.result_id, self.selected_snippet, mark,
                                             self.note_edit.text())
        except GmdeskError as exc:
            self.failed.emit("Review not saved", str(exc))
            return
        index = self.selected_snippet
        self._show_timeline()
        self.select_snippet(index)

    def _note_entered(self) -> None:
        """Enter in the note field: save the note with the snippet's current mark (or ask for one)."""
        if self.selected_snippet is None:
            return
        review = self._reviews().get(self.selected_snippet)
        if review:
            self.review_snippet(review["mark"])
            self.message.emit(f"note saved on snippet {self.selected_snippet + 1}")
        else:
            self.message.emit("choose Agree, Disagree or Unsure to save the note with your mark")

    def sign_off(self) -> None:
        """Sign the shown result off (reviewer, decision, comment)."""
        from app.record_dialogs import SignOffDialog

        res = self.result
        if res is None or res.result_id is None or self.session is None:
            return
        warnings = []
        if self.out_of_date:
            warnings.append("The landmarks were changed after this result: re-run the assessment before signing "
                            "it off, or say in the comment why not.")
        if not res.validated:
            warnings.append("The model is not validated on its cohort: this result is research only, not a "
                            "clinical result.")
        if self.notes.get("signoff"):
            warnings.append(f"{self.notes['signoff']} Signing again adds a new sign-off; the latest one counts.")
        dlg = SignOffDialog(self.session.case, res.result_id,
                            f"#{res.result_id}: {res.label.upper()}"
                            + ("" if res.validated else f" ({res.research_only})"), self, " ".join(warnings))

        def signed() -> None:
            self.notes["signoff"] = self._signoff_text()
            self.refresh_results()
            self.message.emit(f"result #{res.result_id} signed off by {dlg.reviewer.text().strip()} "
                              f"({dlg.decision.currentText()})")

        dlg.accepted.connect(signed)
        self.signoff_dialog = dlg
        dlg.open()

    # -- the report ------------------------------------------------------------------------------------
    def export_report(self, path: str | Path | None = None) -> Path | None:
        """Write the PDF report of the shown stored result (the same as ``gmdesk report CASE``)."""
        from gmdesk.record.report import collect_report, render_report

        res = self.result
        if self.session is None or res is None or res.result_id is None:
            self.failed.emit("Report", "Run the assessment first: the report is made from a stored result.")
            return None
        if path is None:
            default = str(Path(self.session.case.path).with_suffix(".report.pdf"))
            path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export report", default, "PDF (*.pdf)")
            if not path:
                return None
        path = Path(path)
        if path.suffix.lower() != ".pdf":
            path = path.with_name(path.name + ".pdf")
        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
        try:
            out = render_report(collect_report(self.session.case, None, res.result_id), path)
        except Exception as exc:
            self.failed.emit("Report not written", f"{path}: {exc}")
            return None
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()
        self.message.emit(f"report written: {out}")
        return out


def result_entry(row: dict) -> str:
    """One line of the results list: ``#2 · 2026-12-02 12:40 · model · ABNORMAL · out of date · ✔ signed by X``."""
    parts = [f"#{row['id']}", str(row.get("time") or "")[:16].replace("T", " "), str(row.get("model_id")),
             str(row.get("verdict", "?")).upper()]
    if row.get("out_of_date"):
        parts.append("out of date")
    sign = row.get("signoff")
    if sign:
        parts.append(("✔ " if row.get("signed") else "") + f"{sign.get('decision', 'signed')} by {sign.get('reviewer')}")
    return " · ".join(parts)
