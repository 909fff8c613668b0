"""The clinician's record in the app, driven with real mouse and key events (pytest-qt, offscreen):
a reopened case shows its stored result and whether edits made it out of date, a re-run says whether
the verdict changed, per-snippet review from the timeline, the patient form, the exported report
(the same text as ``gmdesk report``), the About box, and views that explain themselves."""

import os
import re

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")
pypdf = pytest.importorskip("pypdf")

from PySide6 import QtCore, QtWidgets  # noqa: E402

from app.main import DEMO_MODEL, demo_case  # noqa: E402
from gmdesk.cli.main import main as gmdesk_main  # noqa: E402
from tests.gui.editor_support import CTRL, LEFT, band_pos, close, pdf_text  # noqa: E402
from tests.gui.editor_support import make_window as make_editor_window  # noqa: E402


def make_window(qtbot, tmp_path):
    """A window at the clinician's 1366x768 screen."""
    return make_editor_window(qtbot, tmp_path, size=(1366, 768))


@pytest.fixture
def demo(tmp_path):
    pose, _ = demo_case(tmp_path)  # without its video: the record is about the result, not the frames
    return pose


@pytest.fixture
def assessed(qtbot, tmp_path, demo):
    """The demo opened and assessed with Ctrl+R (the window stays open)."""
    win = make_window(qtbot, tmp_path)
    assert win.open_path(demo), win.last_error
    assert "No assessment yet" in win.verdict_label.text()
    win.set_model(DEMO_MODEL)
    with qtbot.waitSignal(win.assessment.assessed, timeout=120_000):
        qtbot.keyClick(win, QtCore.Qt.Key.Key_R, CTRL)
    yield win
    if win.isVisible():
        close(win)


def test_reopening_shows_the_stored_result_then_edits_make_it_out_of_date_and_a_rerun_compares(qtbot, tmp_path, assessed):
    win = assessed
    res = win.result
    v = res.verdict
    case_path = win.session.case.path
    assert win.session.case.results()[-1]["id"] == res.result_id == 1
    close(win)

    win2 = make_window(qtbot, tmp_path)
    assert win2.open_path(case_path), win2.last_error
    text = win2.verdict_label.text()
    assert v.verdict.upper() in text and v.basis.split(" — ")[0] in text and "stored result #1" in text
    assert res.model_id in text
    assert [s["p_abnormal"] for s in win2.timeline.snippets] == [s["p_abnormal"] for s in res.snippets]
    assert win2.model_path is not None and win2.model_path.name == DEMO_MODEL.name  # its model, ready to re-run
    assert not win2.assessment.out_of_date
    # the stored result keeps the windows left out and the landmarks behind them
    assert len(win2.timeline.gaps) >= 1 and all(g["landmarks"] for g in win2.timeline.gaps)
    missing = {k for d in res.dropped for k in d["missing"]}
    assert set(win2.timeline.gaps[0]["landmarks"]) <= missing

    # an edit (Delete on the selected landmark) makes the shown result out of date; its undo does not
    win2.seek(200)
    win2.select_landmark(win2.session.track.landmarks.index("left_wrist"))
    qtbot.keyClick(win2, QtCore.Qt.Key.Key_Delete)
    assert win2.session.case.edit_position() >= 1
    assert win2.assessment.out_of_date and "re-run the assessment" in win2.assessment.state_label.text()
    qtbot.keyClick(win2, QtCore.Qt.Key.Key_Z, CTRL)
    assert not win2.assessment.out_of_date and "Out of date" not in win2.assessment.state_label.text()
    qtbot.keyClick(win2, QtCore.Qt.Key.Key_Z, CTRL | QtCore.Qt.KeyboardModifier.ShiftModifier)  # redo
    assert win2.assessment.out_of_date

    # re-running records a second result and says whether the verdict changed
    with qtbot.waitSignal(win2.assessment.assessed, timeout=120_000):
        qtbot.keyClick(win2, QtCore.Qt.Key.Key_R, CTRL)
    results = win2.session.case.results()
    assert [r["id"] for r in results] == [1, 2]
    # one point marked missing is filled for scoring as the cleaning fills gaps: no 10-s window is lost
    assert len(results[1]["snippets"]) == len(results[0]["snippets"])
    assert "result #2" in win2.verdict_label.text()
    state = win2.assessment.state_label.text()
    if results[0]["verdict"]["verdict"] == results[1]["verdict"]["verdict"]:
        assert "Verdict unchanged" in state and "result #1" in state
    else:
        assert "Verdict changed" in state
    assert not win2.assessment.out_of_date
    close(win2)


def test_snippet_review_from_the_timeline_with_hover_and_note(qtbot, assessed):
    win = assessed
    tl = win.timeline
    win.tabs.setCurrentIndex(1)
    qtbot.waitExposed(tl)
    s = tl.snippets[2]
    pos = band_pos(tl, 2)
    qtbot.mouseMove(tl.viewport(), pos=pos)
    qtbot.waitUntil(lambda: "snippet 3" in win.assessment.hover_label.text(), timeout=3000)
    assert f"P(abnormal) {s['p_abnormal']:.2f}" in win.assessment.hover_label.text()
    qtbot.mouseClick(tl.viewport(), LEFT, pos=pos)
    assert win.assessment.selected_snippet == 2 and "Snippet 3" in win.assessment.review_label.text()
    assert win.frame == s["start_frame"]  # the click also plays it
    win.player.stop()
    qtbot.mouseClick(win.assessment.note_edit, LEFT)
    qtbot.keyClicks(win.assessment.note_edit, "arms only")
    qtbot.mouseClick(win.assessment.review_buttons["disagree"], LEFT)
    reviews = win.session.case.snippet_reviews(win.result.result_id)
    assert reviews == {2: reviews[2]} and reviews[2]["mark"] == "disagree" and reviews[2]["note"] == "arms only"
    assert tl.reviews[2]["mark"] == "disagree"
    qtbot.mouseMove(tl.viewport(), pos=band_pos(tl, 2, 4.0))
    qtbot.waitUntil(lambda: "reviewed: disagree — arms only" in win.assessment.hover_label.text(), timeout=3000)
    # the review is in the case log, and in the report
    assert [a["kind"] for a in win.session.case.annotations("snippet_review")] == ["snippet_review"]


def test_hovering_an_abnormal_snippet_names_its_finding(qtbot, assessed):
    win = assessed
    tl = win.timeline
    win.tabs.setCurrentIndex(1)
    qtbot.waitExposed(tl)
    i, s = next((i, s) for i, s in enumerate(tl.snippets) if s["class"] == "abnormal" and not tl.is_borderline(s["p_abnormal"]))
    assert s["finding"]  # the demo model names the finding behind each abnormal snippet
    qtbot.mouseMove(tl.viewport(), pos=band_pos(tl, i))
    qtbot.waitUntil(lambda: f"snippet {i + 1}:" in win.assessment.hover_label.text(), timeout=3000)
    assert f"{s['finding']} (abnormal)" in win.assessment.hover_label.text()


def test_borderline_band_is_configurable(qtbot, assessed):
    win = assessed
    p = np.array([s["p_abnormal"] for s in win.timeline.snippets])
    box = win.assessment.borderline_box
    box.setValue(0.0)
    assert not any(win.timeline.is_borderline(v) for v in p if abs(v - 0.5) > 1e-9)
    box.setValue(0.4)
    assert sum(win.timeline.is_borderline(v) for v in p) == int(np.sum(np.abs(p - 0.5) <= 0.4))
    assert win.timeline.describe(int(np.argmin(np.abs(p - 0.5)))).endswith("(borderline)")


def test_exported_report_is_the_cli_report(qtbot, tmp_path, monkeypatch, assessed):
    win = assessed
    shown = win.result.verdict.verdict.upper()  # the demo's verdict as this bundle gives it
    out = tmp_path / "from_app.pdf"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "PDF (*.pdf)"))
    qtbot.mouseClick(win.assessment.report_button, LEFT)
    assert out.is_file(), win.last_error
    case_path = win.session.case.path
    close(win)
    cli_out = tmp_path / "from_cli.pdf"
    assert gmdesk_main(["report", str(case_path), "-o", str(cli_out)]) == 0
    app_text, cli_text = pdf_text(out), pdf_text(cli_out)
    assert app_text == cli_text
    assert f"{shown} —" in app_text and "snippets normal" in app_text and "demo-synthetic" in app_text


def test_patient_form_checks_before_writing_and_records_each_field(qtbot, tmp_path, assessed):
    win = assessed
    case = win.session.case
    win.patient_action.trigger()
    dlg = win.patient_dialog
    qtbot.waitExposed(dlg)
    qtbot.keyClicks(dlg.edits["date_of_birth"], "2026-02-10")
    qtbot.keyClicks(dlg.edits["gestational_age"], "34+2")
    qtbot.keyClicks(dlg.edits["recording_date"], "2026-01-20")  # before birth
    qtbot.mouseClick(dlg.save_button, LEFT)
    assert dlg.isVisible() and "recording date 2026-01-20 is before the date of birth" in dlg.error_label.text()
    assert case.patient() == {}  # nothing written
    dlg.edits["recording_date"].clear()
    qtbot.keyClicks(dlg.edits["recording_date"], "2026-05-26")
    qtbot.keyClicks(dlg.edits["reviewer"], "Dr A. Reviewer")
    assert re.search(r"\d+\.\d weeks post-term", dlg.age_label.text())
    qtbot.mouseClick(dlg.save_button, LEFT)
    assert not dlg.isVisible()
    assert case.patient() == {"date_of_birth": "2026-02-10", "gestational_age": "34+2",
                              "recording_date": "2026-05-26", "reviewer": "Dr A. Reviewer"}
    assert len(case.annotations("patient")) == 4  # one case-log entry per field
    # the sign-off takes the reviewer from the form
    qtbot.mouseClick(win.assessment.signoff_button, LEFT)
    so = win.assessment.signoff_dialog
    assert so.reviewer.text() == "Dr A. Reviewer"
    qtbot.keyClicks(so.comment, "Agree: no fidgety movements seen.")
    qtbot.mouseClick(so.ok_button, LEFT)
    sign = case.annotations("signoff")[-1]
    assert sign["value"]["reviewer"] == "Dr A. Reviewer" and "no fidgety" in sign["value"]["comment"]
    assert "Signed off by Dr A. Reviewer" in win.assessment.state_label.text()
    # signing again warns that a sign-off exists
    qtbot.mouseClick(win.assessment.signoff_button, LEFT)
    again = win.assessment.signoff_dialog
    assert "Signing again adds a new sign-off" in again.warning_label.text() and again.warning_label.isVisibleTo(again)
    again.reject()


def test_a_read_only_case_says_so_and_offers_only_what_it_can(qtbot, tmp_path, monkeypatch, assessed):
    import gmdesk.record.schema

    win = assessed
    case_path = win.session.case.path
    n_results = len(win.session.case.results())
    close(win)
    monkeypatch.setattr(gmdesk.record.schema, "_writable", lambda p: False)  # a read-only disk (root ignores chmod)
    ro = make_window(qtbot, tmp_path)
    assert ro.open_path(case_path), ro.last_error
    assert ro.session.case.read_only and "(read-only)" in ro.windowTitle()
    panel = ro.assessment
    assert "stored result #1" in ro.verdict_label.text()  # the stored result is shown
    assert not panel.run_button.isEnabled() and "read-only" in panel.run_button.toolTip()
    assert panel.report_button.isEnabled()  # the report of the stored result can still be made
    assert not panel.signoff_button.isEnabled() and "read-only" in panel.signoff_button.toolTip()
    ro.tabs.setCurrentIndex(1)
    tl = ro.timeline
    qtbot.mouseClick(tl.viewport(), LEFT, pos=band_pos(tl, 0))
    ro.player.stop()
    assert not panel.review_buttons["agree"].isEnabled() and "read-only" in panel.review_buttons["agree"].toolTip()
    ro.patient_action.trigger()
    assert ro.patient_dialog.edits["reviewer"].isReadOnly() and not ro.patient_dialog.save_button.isEnabled()
    ro.patient_dialog.reject()
    assert len(ro.session.case.results()) == n_results
    close(ro)


def test_about_box_says_version_model_intended_use_and_not_a_medical_device(qtbot, assessed):
    from gmdesk import __version__

    win = assessed
    win.about_action.trigger()
    dlg = win.about_dialog
    qtbot.waitExposed(dlg)
    text = dlg.plain_text
    assert f"version {__version__}" in text and "demo-synthetic" in text
    assert "not a medical device" in text and "Intended use" in text
    assert "PySide6-Essentials" in text and "LGPL" in text and "scikit-learn" in text
    dlg.reject()


def test_views_explain_themselves(qtbot, assessed):
    win = assessed
    assert [win.tabs.tabText(i) for i in range(win.tabs.count())] == ["Trajectories", "Assessment", "Similarity"]
    for i in range(win.tabs.count()):
        captions = win.tabs.widget(i).findChildren(QtWidgets.QLabel, "caption")
        assert captions and len(captions[0].text()) > 60
    sim = win.similarity
    res = win.result
    n_normal = res.reference_labels.count(0)
    assert sim.divider_at == n_normal and 0 < n_normal < len(res.reference_names)
    ticks = sim.plot.getAxis("left")._tickLevels[0]
    assert ticks[0] == (0.5, "1")  # rows numbered like the snippets
    # the timeline's empty axis reads seconds, not "x0.001"
    win.assessment.timeline.set_snippets([], 10.0)
    assert not win.assessment.timeline.getPlotItem().getAxis("bottom").autoSIPrefix
