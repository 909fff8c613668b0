"""A model not validated on its cohort (trained on SHUFFLED labels) in the app, with real widgets and keys
(pytest-qt, offscreen): the panel shows its verdict as research only in amber, never as a plain NORMAL/ABNORMAL in
red or green, also when the case is reopened; a screenshot of the window is kept for people to look at."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtGui  # noqa: E402

from app.main import demo_case  # noqa: E402
from app.views import RESEARCH_COLOUR, VERDICT_COLOURS  # noqa: E402
from tests.gui.editor_support import CTRL  # noqa: E402
from tests.gui.editor_support import make_window as make_editor_window  # noqa: E402

HEAD = f"<b style='color:{RESEARCH_COLOUR}'>RESEARCH ONLY — MODEL NOT VALIDATED ON ITS COHORT</b>"


def amber_pixels(widget) -> int:
    """How many pixels of ``widget`` as drawn are the research-only amber (within a small tolerance)."""
    img = widget.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
    want = QtGui.QColor(RESEARCH_COLOUR)
    n = 0
    for y in range(img.height()):
        for x in range(0, img.width()):
            c = img.pixelColor(x, y)
            n += abs(c.red() - want.red()) + abs(c.green() - want.green()) + abs(c.blue() - want.blue()) < 40
    return n


def shown_plainly(text: str) -> bool:
    """The verdict label shows a plain verdict: a bold word in the normal or abnormal colour."""
    return any(f"<b style='color:{VERDICT_COLOURS[k]}'>" in text for k in ("normal", "abnormal"))


def test_the_panel_shows_a_not_validated_models_verdict_as_research_only_in_amber(qtbot, tmp_path, shuffled_bundle):
    pose, _ = demo_case(tmp_path)
    win = make_editor_window(qtbot, tmp_path, size=(1366, 768))
    assert win.open_path(pose), win.last_error
    assert amber_pixels(win.verdict_label) == 0  # "No assessment yet" is not amber
    win.set_model(shuffled_bundle)
    with qtbot.waitSignal(win.assessment.assessed, timeout=120_000):
        qtbot.keyClick(win, QtCore.Qt.Key.Key_R, CTRL)
    res = win.result
    assert res.result_id == 1 and not res.validated
    text = win.verdict_label.text()
    assert text.startswith(HEAD) and not shown_plainly(text)
    assert f"model output, not a clinical result: {res.label.upper()}" in text  # the evidence, said for what it is
    assert "not validated because: " + res.validation["reasons"][0] in text
    assert amber_pixels(win.verdict_label) > 200  # drawn amber, not only written so
    assert "research only — model not validated on its cohort" in win.status.currentMessage()
    shot = tmp_path / "research_only.png"
    assert win.grab().save(str(shot)) and shot.stat().st_size > 10_000
    case_path = win.session.case.path
    win.close()
    assert win.wait_closed(30)

    again = make_editor_window(qtbot, tmp_path, size=(1366, 768))
    assert again.open_path(case_path), again.last_error
    reopened = again.verdict_label.text()
    assert reopened.startswith(HEAD) and "stored result #1" in reopened and not shown_plainly(reopened)
    again.close()
    assert again.wait_closed(30)
