"""The window on a 1366x768 screen (pytest-qt, real key and mouse events, offscreen): the first window fits the
available geometry (a restored size is clamped), F1's list scrolls, the joint-angle plot keeps readable ticks,
review rows are not cut off, actions are disabled where nothing can act (no case; a read-only case), empty axes
read without "(x0.001)", and form messages name their field."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtWidgets  # noqa: E402

from app.main import DEMO_MODEL, demo_case  # noqa: E402
from app.window import MainWindow  # noqa: E402
from tests.gui.editor_support import LEFT, activate  # noqa: E402


def window(qtbot, tmp_path, size=None):
    win = MainWindow(settings_file=tmp_path / "settings.ini")
    qtbot.addWidget(win)
    if size:
        win.resize(*size)
    win.show()
    activate(qtbot, win)
    return win


def close(win):
    win.close()
    assert win.wait_closed(20)


def test_the_first_window_fits_the_screen_and_a_restored_size_is_clamped(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    settings.setValue("layout/window_size", "1920x1200")  # last used on a larger screen
    settings.sync()
    win = window(qtbot, tmp_path)
    avail = win.screen().availableGeometry()  # offscreen: 800x800, below the window's minimum width
    assert win.width() <= max(avail.width(), win.minimumSizeHint().width()) and win.height() <= avail.height()
    laptop = QtCore.QRect(0, 0, 1366, 728)  # 1366x768 less a 40-px taskbar
    size = win.fit_to_screen(laptop)
    assert size.width() <= 1366 and size.height() <= 728 - 30  # room for the title bar
    assert win.minimumSizeHint().width() <= size.width() and win.minimumSizeHint().height() <= size.height()
    assert laptop.contains(win.geometry())
    win.resize(1200, 700)
    close(win)
    win2 = window(qtbot, tmp_path)
    assert win2.fit_to_screen(laptop) == QtCore.QSize(1200, 680)  # the remembered size, clamped to fit
    close(win2)


def test_no_case_disables_what_cannot_act_and_f1_scrolls(qtbot, tmp_path):
    win = window(qtbot, tmp_path, (1366, 768))
    acts = win.actions_by_name
    for name in ("mark_reviewed", "delete", "undo", "assess", "next_review", "play"):
        assert not acts[name].isEnabled(), name
    assert acts["open"].isEnabled() and acts["help"].isEnabled()
    assert not win.link_video_action.isEnabled() and not win.patient_action.isEnabled()
    assert not win.report_action.isEnabled() and not win.signoff_action.isEnabled()
    qtbot.keyClick(win, QtCore.Qt.Key.Key_M)  # nothing happens, no error
    assert win.last_error == ""
    for plot in (win.trajectory, win.angles, win.timeline):
        for side in ("bottom", "left"):
            assert "x0.001" not in plot.getPlotItem().getAxis(side).labelString()
    qtbot.keyClick(win, QtCore.Qt.Key.Key_F1)
    dlg = win.help_dialog
    qtbot.waitExposed(dlg)
    browser = dlg.findChild(QtWidgets.QTextBrowser)
    assert "Mark the current review item reviewed" in browser.toPlainText()
    assert dlg.height() <= win.screen().availableGeometry().height()
    dlg.resize(dlg.width(), 300)  # a short screen: the list scrolls
    qtbot.wait(20)
    assert browser.verticalScrollBar().maximum() > 0
    dlg.reject()
    close(win)


def test_on_a_case_at_1366x768_angles_rows_and_read_only(qtbot, tmp_path, monkeypatch):
    import gmdesk.record.schema

    pose, video = demo_case(tmp_path)
    win = window(qtbot, tmp_path, (1366, 768))
    assert win.open_path(pose, video), win.last_error
    assert win.actions_by_name["mark_reviewed"].isEnabled() and win.actions_by_name["delete"].isEnabled()
    win.select_landmark(win.session.track.landmarks.index("left_elbow"))
    qtbot.wait(50)
    axis = win.angles.getPlotItem().getAxis("left")
    ticks = [v for level in axis.tickValues(*win.angles.getPlotItem().vb.viewRange()[1], win.angles.height())
             for v in level[1]]
    assert 2 <= len(ticks) <= 5 and win.angles.height() >= 80  # a few ticks, not piled up
    table = win.review.table
    fm = table.fontMetrics()
    for r in range(table.rowCount()):
        cell = table.item(r, 0)
        wide = fm.horizontalAdvance(cell.text()) > table.columnWidth(0) - 8
        if wide:  # a long cell wraps onto a taller row instead of being cut off
            assert table.rowHeight(r) >= 2 * fm.lineSpacing(), cell.text()
    case_path = win.session.case.path
    close(win)

    monkeypatch.setattr(gmdesk.record.schema, "_writable", lambda p: False)  # a read-only disk
    ro = window(qtbot, tmp_path, (1366, 768))
    assert ro.open_path(case_path), ro.last_error
    for name in ("mark_reviewed", "delete", "paste", "interpolate", "swap", "undo", "assess"):
        assert not ro.actions_by_name[name].isEnabled(), name
    assert ro.actions_by_name["next_frame"].isEnabled() and not ro.link_video_action.isEnabled()
    n = len(ro.session.case.history())
    qtbot.keyClick(ro, QtCore.Qt.Key.Key_Delete)
    assert len(ro.session.case.history()) == n and ro.last_error == ""  # not offered, so nothing fails
    close(ro)


def test_form_messages_name_their_field(qtbot, tmp_path):
    pose, _ = demo_case(tmp_path)
    win = window(qtbot, tmp_path, (1366, 768))
    assert win.open_path(pose), win.last_error
    win.patient_action.trigger()
    dlg = win.patient_dialog
    qtbot.waitExposed(dlg)
    qtbot.keyClicks(dlg.edits["date_of_birth"], "2026-01-10")
    qtbot.keyClicks(dlg.edits["recording_date"], "2026-02-30")
    qtbot.mouseClick(dlg.save_button, LEFT)
    assert dlg.isVisible() and "recording date '2026-02-30' is not a date" in dlg.error_label.text()
    assert win.session.case.patient() == {}
    dlg.reject()
    close(win)


def test_a_disk_that_refuses_a_write_stops_the_edit_actions(qtbot, tmp_path, monkeypatch):
    import contextlib

    from gmdesk.record.store import CaseError

    pose, _ = demo_case(tmp_path)
    win = window(qtbot, tmp_path, (1366, 768))
    assert win.open_path(pose), win.last_error
    case = win.session.case
    n = len(case.history())

    @contextlib.contextmanager
    def refused(what):  # what SQLite says when the disk turned read-only under an open case
        raise CaseError(f"case file {case.path}: {what} was not saved (attempt to write a readonly database: is the "
                        "disk full or read-only?); everything saved before is intact")
        yield

    monkeypatch.setattr(case, "_writing", refused)
    win.seek(100)
    qtbot.keyClick(win, QtCore.Qt.Key.Key_Delete)
    assert "was not saved" in win.last_error and len(case.history()) == n
    assert not win.actions_by_name["delete"].isEnabled() and not win.actions_by_name["paste"].isEnabled()
    assert "(not writable)" in win.windowTitle() and win.actions_by_name["next_frame"].isEnabled()
    assert not win.assessment.run_button.isEnabled() and not win.actions_by_name["assess"].isEnabled()
    monkeypatch.undo()
    close(win)


def test_the_assessment_tab_is_whole_at_1366x768(qtbot, tmp_path):
    """At the size the window takes on a 1366x768 screen, the assessed demo's Assessment tab gets the height it
    needs: the timeline keeps its minimum height with its time axis above the caption, and the review row is
    inside the tab (not drawn over one another, as a squeezed tab did)."""
    win = window(qtbot, tmp_path)
    size = win.fit_to_screen(QtCore.QRect(0, 0, 1366, 728))
    win.resize(size)
    win.set_model(DEMO_MODEL)
    assert win.open_path(*demo_case(tmp_path / "demo"))
    qtbot.keyClick(win, QtCore.Qt.Key.Key_R, QtCore.Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: win.result is not None, timeout=60_000)
    bar = win.tabs.tabBar()
    qtbot.mouseClick(bar, LEFT, pos=bar.tabRect(win.tabs.indexOf(win.assessment)).center())
    qtbot.waitUntil(lambda: win.tabs.currentWidget() is win.assessment)
    panel, tl = win.assessment, win.assessment.timeline
    caption = win.assessment.timeline_box.caption
    assert tl.height() >= tl.minimumHeight()
    assert tl.mapTo(panel, QtCore.QPoint(0, tl.height())).y() <= caption.mapTo(panel, QtCore.QPoint(0, 0)).y()
    note = win.assessment.note_edit
    assert note.mapTo(panel, QtCore.QPoint(0, note.height())).y() <= panel.height()
    assert caption.mapTo(panel, QtCore.QPoint(0, caption.height())).y() <= note.mapTo(panel, QtCore.QPoint(0, 0)).y()
    close(win)
