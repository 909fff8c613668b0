"""Dialogs for the clinical record: patient and recording fields, signing a result off, About."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from gmdesk.errors import GmdeskError

#: Form rows: field, label, placeholder.
PATIENT_ROWS = (
    ("date_of_birth", "Date of birth", "YYYY-MM-DD"),
    ("gestational_age", "Gestational age at birth", "weeks, e.g. 38+3 or 38.5"),
    ("recording_date", "Recording date", "YYYY-MM-DD"),
    ("site", "Site", "hospital / clinic"),
    ("reviewer", "Reviewer", "name of the reviewing clinician"),
)


class PatientDialog(QtWidgets.QDialog):
    """Edit the case's patient and recording fields. Every field is checked (with the others) before
    anything is written; on an error the dialog stays open, names the field and writes nothing.
    Each changed field is one entry in the case log."""

    def __init__(self, case, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.case = case
        self.setWindowTitle("Patient and recording")
        self.edits: dict[str, QtWidgets.QLineEdit] = {}
        form = QtWidgets.QFormLayout()
        current = case.patient()
        for field, label, hint in PATIENT_ROWS:
            e = QtWidgets.QLineEdit(current.get(field, ""))
            e.setPlaceholderText(hint)
            e.setObjectName(field)
            e.textChanged.connect(self._preview)
            e.setReadOnly(case.read_only)
            self.edits[field] = e
            form.addRow(label, e)
        self.age_label = QtWidgets.QLabel()
        self.age_label.setWordWrap(True)
        self.age_label.setMinimumHeight(4 * self.age_label.fontMetrics().lineSpacing())  # room for the warning
        self.age_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        form.addRow("Corrected age", self.age_label)
        self.error_label = QtWidgets.QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #c0392b;")
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Save
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        self.save_button = buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Save)
        self.save_button.setEnabled(not case.read_only)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.error_label)
        if case.read_only:
            lay.addWidget(QtWidgets.QLabel("The case is open read-only: nothing can be changed."))
        lay.addWidget(buttons)
        self.setMinimumWidth(460)
        self._preview()

    def values(self) -> dict[str, str]:
        """The form's values as typed."""
        return {f: e.text().strip() for f, e in self.edits.items()}

    def _checked(self) -> dict[str, str]:
        """Normal forms of all fields, checked together (raises on the first bad one, naming it)."""
        from gmdesk.record.patient import validate_patient_field

        vals = self.values()
        out: dict[str, str] = {}
        for field, label, _ in PATIENT_ROWS:
            try:
                out[field] = validate_patient_field(field, vals[field], {k: v for k, v in vals.items() if v})
            except GmdeskError as exc:
                text = str(exc)  # a message that names its fields (dates checked together) keeps its words
                raise GmdeskError(text if label.lower() in text.lower() or "date" in text.lower() and "date" in field
                                  else f"{label}: {text}") from None
        return out

    def _preview(self) -> None:
        from gmdesk.record.patient import corrected_age

        try:
            vals = self._checked()
            self.error_label.setText("")
        except GmdeskError as exc:
            self.error_label.setText(str(exc))
            self.age_label.setText("")
            return
        if not (vals["date_of_birth"] and vals["recording_date"] and vals["gestational_age"]):
            self.age_label.setText("needs date of birth, gestational age and recording date")
            return
        age = corrected_age(vals["date_of_birth"], vals["recording_date"], vals["gestational_age"])
        text = f"{age['postterm_weeks']:.1f} weeks post-term ({age['chronological_days']} days after birth)"
        self.age_label.setText(text + (f"<br><b style='color:#b9770e'>{age['warning']}</b>" if age["warning"] else ""))

    def save(self) -> None:
        """Write the changed fields (each a case-log entry) and close; on an error write nothing."""
        try:
            vals = self._checked()
        except GmdeskError as exc:
            self.error_label.setText(str(exc))
            return
        current = self.case.patient()
        try:
            for field, _, _ in PATIENT_ROWS:
                if vals[field] != current.get(field, ""):
                    self.case.set_patient_field(field, vals[field])
        except GmdeskError as exc:
            self.error_label.setText(str(exc))
            return
        self.accept()


class SignOffDialog(QtWidgets.QDialog):
    """A reviewer signs the shown result off: name, decision and a free-text comment (case log)."""

    DECISIONS = ("signed", "signed with changes", "rejected — needs repeat recording")

    def __init__(self, case, result_id: int, summary: str, parent: QtWidgets.QWidget | None = None,
                 warning: str = "") -> None:
        super().__init__(parent)
        self.case, self.result_id = case, result_id
        self.warning_label = QtWidgets.QLabel(warning)
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet("color: #b9770e; font-weight: bold;")
        self.warning_label.setVisible(bool(warning))
        self.setWindowTitle("Sign off the result")
        self.reviewer = QtWidgets.QLineEdit(case.patient().get("reviewer", ""))
        self.reviewer.setObjectName("reviewer")
        self.decision = QtWidgets.QComboBox()
        self.decision.addItems(self.DECISIONS)
        self.comment = QtWidgets.QPlainTextEdit()
        self.comment.setObjectName("comment")
        self.comment.setPlaceholderText("the clinician's assessment and comment (goes into the report)")
        self.error_label = QtWidgets.QLabel()
        self.error_label.setStyleSheet("color: #c0392b;")
        form = QtWidgets.QFormLayout()
        form.addRow("Result", QtWidgets.QLabel(summary))
        form.addRow("Reviewer", self.reviewer)
        form.addRow("Decision", self.decision)
        form.addRow("Comment", self.comment)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Sign off")
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.warning_label)
        lay.addLayout(form)
        lay.addWidget(self.error_label)
        lay.addWidget(buttons)
        self.setMinimumWidth(460)

    def save(self) -> None:
        try:
            self.case.sign_off(self.result_id, self.reviewer.text(), self.comment.toPlainText(),
                               self.decision.currentText())
        except GmdeskError as exc:
            self.error_label.setText(str(exc))
            return
        self.accept()


class AboutDialog(QtWidgets.QDialog):
    """Help ▸ About: version, model in use, intended use, "not a medical device", licences."""

    def __init__(self, model: dict | None, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        from gmdesk.about import about_text

        self.setWindowTitle("About gmdesk")
        rows = about_text(model)
        head = [r for r in rows if r[0] != "Component"]
        comps = [r[1] for r in rows if r[0] == "Component"]
        strong = "<b style='color:#7b241c'>{}</b>"
        html = "<table cellspacing=4>" + "".join(
            f"<tr><td valign=top><b>{h}</b></td><td>{strong.format(t) if h == 'Regulatory status' else t}</td></tr>"
            for h, t in head) + "</table>"
        html += "<p><b>Bundled components and their licences</b><br>" + "<br>".join(comps) + "</p>"
        self.text = QtWidgets.QTextBrowser()
        self.text.setHtml(html)
        self.plain_text = "\n".join(f"{h}: {t}" for h, t in rows)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.text)
        lay.addWidget(buttons)
        self.resize(640, 520)
        self.setWindowFlag(QtCore.Qt.WindowType.WindowContextHelpButtonHint, False)
