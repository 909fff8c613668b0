"""File ▸ Screen a cohort…: the batch runs in a child process with progress, then lists its items; double-clicking
an item opens its case."""

from __future__ import annotations

from PySide6 import QtCore

from app.batch_dialog import BatchDialog
from gmdesk.io.resources import bundle_path
from gmdesk.synthetic.cohorts import generate_cohort
from gmdesk.synthetic.settings import SynthSettings


def test_screen_a_cohort_lists_the_verdicts_and_opens_a_case(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(QtCore.QSettings, "setValue", lambda *a: None)  # keep the user's settings out of it
    table = generate_cohort(tmp_path / "cohort", 1, 1, 0, 0, seed=8, truth=False,
                            settings=SynthSettings(duration_s=(40.0, 40.0)))
    opened = []
    dlg = BatchDialog(open_case=opened.append)
    qtbot.addWidget(dlg)
    dlg.show()
    for edit, text in ((dlg.table_edit, str(table)), (dlg.output_edit, str(tmp_path / "out")),
                       (dlg.bundle_edit, str(bundle_path()))):
        edit.clear()
        qtbot.keyClicks(edit, text)
    dlg.dlc_edit.clear()
    dlg.workers.setValue(1)
    qtbot.mouseClick(dlg.start_button, QtCore.Qt.MouseButton.LeftButton)
    assert not dlg.start_button.isEnabled() and dlg.cancel_button.isEnabled()
    qtbot.waitUntil(dlg.start_button.isEnabled, timeout=180_000)
    assert dlg.results.rowCount() == 2, dlg.status.text()
    rows = {dlg.results.item(i, 0).text(): [dlg.results.item(i, j).text() for j in range(3)] for i in range(2)}
    assert sorted(rows) == ["A02", "N01"]
    for _, status, verdict in rows.values():
        assert status == "done" and verdict.split(" ")[0] in ("NORMAL", "ABNORMAL", "INDETERMINATE"), rows
    assert "Finished" in dlg.status.text() and dlg.progress.value() == 2
    row = next(i for i in range(2) if dlg.results.item(i, 0).text() == "A02")
    rect = dlg.results.visualItemRect(dlg.results.item(row, 0))
    qtbot.mouseClick(dlg.results.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center())  # a press, then the
    qtbot.mouseDClick(dlg.results.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center())  # double-click
    assert opened == [tmp_path / "out" / "A02" / "A02.gmcase"]
