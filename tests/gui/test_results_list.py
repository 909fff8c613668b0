"""The results of a case are a list in the app (pytest-qt, real mouse and key events, offscreen): a signed
result stays the record through a re-run and a reopening, keeps its reviews, sign-off and similarity view,
and is what Export writes when it is shown (and what ``gmdesk report`` writes by default)."""

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")
pypdf = pytest.importorskip("pypdf")

from PySide6 import QtCore, QtWidgets  # noqa: E402

from app.main import DEMO_MODEL, demo_case  # noqa: E402
from gmdesk.cli.main import main as gmdesk_main  # noqa: E402
from gmdesk.record.case import open_case  # noqa: E402
from gmdesk.record.report import collect_report  # noqa: E402
from tests.gui.editor_support import CTRL, LEFT, band_pos, close, pdf_text  # noqa: E402
from tests.gui.editor_support import make_window as make_editor_window  # noqa: E402


def make_window(qtbot, tmp_path):
    return make_editor_window(qtbot, tmp_path, size=(1366, 768))


def assess(qtbot, win):
    with qtbot.waitSignal(win.assessment.assessed, timeout=120_000):
        qtbot.keyClick(win, QtCore.Qt.Key.Key_R, CTRL)


def test_the_signed_result_stays_the_record_through_a_rerun_and_a_reopening(qtbot, tmp_path, monkeypatch):
    pose, _ = demo_case(tmp_path)
    win = make_window(qtbot, tmp_path)
    assert win.open_path(pose), win.last_error
    panel = win.assessment
    assert not panel.results_box.isEnabled() and panel.results_box.count() == 0
    win.set_model(DEMO_MODEL)
    assess(qtbot, win)
    first = win.result
    assert first.result_id == 1 and panel.results_box.count() == 1
    sim1 = np.array(win.assessment.similarity.sim)
    assert sim1.size > 0  # the fresh result's similarity view
    # quality in view, in the report's words: SCORABLE and the landmark-point shares
    report_lines = [line for head, line in collect_report(win.session.case, None, 1).text_lines() if head == "Quality"]
    shown = panel.quality_label.text()
    scorable = next(ln for ln in report_lines if "SCORABLE" in ln)
    assert scorable.split(":")[0] in shown and scorable.split(": ", 1)[1] in shown
    assert next(ln for ln in report_lines if ln.startswith("Landmark points")) in shown

    # review snippet 1 from the timeline, then sign the result off
    win.tabs.setCurrentIndex(1)
    tl = win.timeline
    qtbot.waitExposed(tl)
    qtbot.mouseClick(tl.viewport(), LEFT, pos=band_pos(tl, 0, 3.0))
    win.player.stop()
    assert panel.selected_snippet == 0
    qtbot.mouseClick(panel.review_buttons["agree"], LEFT)
    qtbot.mouseClick(panel.signoff_button, LEFT)
    so = panel.signoff_dialog
    qtbot.keyClicks(so.reviewer, "Dr Signer")
    qtbot.keyClicks(so.comment, "Agree with the model.")
    qtbot.mouseClick(so.ok_button, LEFT)
    assert "✔" in panel.results_box.itemText(0) and "Dr Signer" in panel.results_box.itemText(0)

    # an edit, then a re-run (Ctrl+R): result #2 is shown, the signed #1 stays listed, marked, and named
    win.seek(200)
    win.select_landmark(win.session.track.landmarks.index("left_wrist"))
    qtbot.keyClick(win, QtCore.Qt.Key.Key_Delete)
    assert "out of date" in panel.results_box.itemText(0)
    assess(qtbot, win)
    assert win.result.result_id == 2 and panel.results_box.count() == 2
    assert panel.results_box.currentData() == 2
    assert "✔" in panel.results_box.itemText(0) and "✔" not in panel.results_box.itemText(1)
    assert "out of date" not in panel.results_box.itemText(1)
    assert "Result #1 is the signed record" in panel.state_label.text()
    assert win.session.case.snippet_reviews(2) == {}  # reviews belong to their result

    # choose #1 in the list (keyboard on the list): its reviews, sign-off and similarity view come back
    panel.results_box.setFocus()
    qtbot.keyClick(panel.results_box, QtCore.Qt.Key.Key_Up)
    assert win.result.result_id == 1 and "stored result #1" in win.verdict_label.text()
    assert tl.reviews[0]["mark"] == "agree"
    assert "Signed off by Dr Signer" in panel.state_label.text()
    assert "is the signed record" not in panel.state_label.text()
    assert np.allclose(panel.similarity.sim, sim1, atol=1e-4)
    assert panel.out_of_date  # made before the edit

    # Export writes the shown (signed) result
    out = tmp_path / "signed.pdf"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "PDF (*.pdf)"))
    qtbot.mouseClick(panel.report_button, LEFT)
    text = pdf_text(out)
    assert "Snippets reviewed: 1" in text and "Reviewed by Dr Signer" in text and "Not signed off" not in text
    case_path = win.session.case.path
    close(win)

    # gmdesk report: the latest signed result by default; --result N for another
    cli = tmp_path / "cli.pdf"
    assert gmdesk_main(["report", str(case_path), "-o", str(cli)]) == 0
    assert pdf_text(cli) == text
    assert gmdesk_main(["report", str(case_path), "-o", str(cli), "--result", "2"]) == 0
    assert "Not signed off" in pdf_text(cli)

    # reopening shows the signed result with its similarity view; #2 is listed
    win2 = make_window(qtbot, tmp_path)
    assert win2.open_path(case_path), win2.last_error
    assert win2.result.result_id == 1 and win2.assessment.results_box.count() == 2
    assert np.allclose(win2.assessment.similarity.sim, sim1, atol=1e-4)
    assert "re-run" not in win2.assessment.similarity.plot.titleLabel.text
    close(win2)


def test_result_list_and_default_result_in_the_case(tmp_path, skeleton):
    pose, _ = demo_case(tmp_path)
    from gmdesk.learning.bundle import load_bundle
    from gmdesk.record.case import import_pose_file
    from gmdesk.screening.assess import assess_track, store_result

    sk = skeleton
    case = import_pose_file(tmp_path / "c.gmcase", pose, sk, clean=True)
    assert case.default_result_id() is None and case.result_list() == []
    res = assess_track(case.current_track(), load_bundle(DEMO_MODEL, sk), sk, "c")
    r1 = store_result(case, res)
    r2 = store_result(case, res)
    assert case.default_result_id() == r2  # nothing signed: the latest
    case.sign_off(r1, "Dr A")
    assert case.default_result_id() == r1  # the latest signed
    case.sign_off(r2, "Dr B", decision="rejected — needs repeat recording")
    assert case.default_result_id() == r1  # a rejection does not make the record
    rows = case.result_list()
    assert [(r["id"], r["signed"], r["signoff"]["reviewer"]) for r in rows] == [(r1, True, "Dr A"), (r2, False, "Dr B")]
    stored = case.results()[0]
    assert stored["views"]["reference_names"] == res.reference_names
    assert "views" not in stored["verdict"]
    case.close()
    with open_case(tmp_path / "c.gmcase", read_only=True) as c:
        assert c.default_result_id() == r1


def test_a_result_stored_before_views_were_kept_still_opens_whole(tmp_path, skeleton, capsys):
    """A case whose result was stored as the previous gmdesk stored it (verdict without views; the schema is
    unchanged): nothing is lost, the result is listed and reported, its views say why they are empty."""
    import json

    from gmdesk.learning.bundle import load_bundle
    from gmdesk.record.case import import_pose_file
    from gmdesk.screening.assess import assess_track, store_result
    from gmdesk.screening.result import AssessmentResult

    pose, _ = demo_case(tmp_path)
    case = import_pose_file(tmp_path / "old.gmcase", pose, skeleton, clean=True)
    res = assess_track(case.current_track(), load_bundle(DEMO_MODEL, skeleton), skeleton, "old")
    rid = store_result(case, res)
    # make it the old format: the verdict column without "views"
    v = json.loads(case.conn.execute("SELECT verdict FROM results WHERE id = ?", (rid,)).fetchone()[0])
    v.pop("views")
    with case.conn:
        case.conn.execute("UPDATE results SET verdict = ? WHERE id = ?", (json.dumps(v), rid))
    case.sign_off(rid, "Dr Old")
    case.close()
    with open_case(tmp_path / "old.gmcase") as c:
        stored = c.results()[0]
        assert stored["views"] is None and stored["snippets"] == json.loads(json.dumps(res.snippets))
        back = AssessmentResult.from_stored(stored, 29.97)
        assert back.similarity_reference is None and back.verdict.verdict == res.verdict.verdict
        assert c.default_result_id() == rid and c.result_list()[0]["signed"]
    assert gmdesk_main(["report", str(tmp_path / "old.gmcase"), "-o", str(tmp_path / "old.pdf")]) == 0
    assert "Reviewed by Dr Old" in pdf_text(tmp_path / "old.pdf")
