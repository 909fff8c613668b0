"""What the editor tests share: a small recording with its video, a window on it, and real mouse and key
events in image coordinates (pytest-qt, offscreen)."""

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import pyqtgraph as pg  # noqa: E402
from PySide6 import QtCore, QtWidgets  # noqa: E402

from app.window import MainWindow  # noqa: E402

pg.setConfigOption("mouseRateLimit", 0)
SCALE = 0.25
LEFT = QtCore.Qt.MouseButton.LeftButton
CTRL = QtCore.Qt.KeyboardModifier.ControlModifier
SHIFT = QtCore.Qt.KeyboardModifier.ShiftModifier


def make_window(qtbot, tmp_path, size=(1200, 800)):
    win = MainWindow(settings_file=tmp_path / "settings.ini")
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    activate(qtbot, win)
    return win


def activate(qtbot, win):
    """Make ``win`` the active window: keyboard shortcuts go to the active window."""
    if QtWidgets.QApplication.activeWindow() is not win:
        win.activateWindow()
        qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is win, timeout=3000)


def vp_pos(win, x, y):
    """Viewport position of image point (x, y)."""
    return win.view.mapFromScene(win.view.vb.mapViewToScene(QtCore.QPointF(float(x), float(y))))


def px_per_image_px(win):
    a, b = vp_pos(win, 0, 0), vp_pos(win, 100, 0)
    return (b.x() - a.x()) / 100


def isolated_landmark(win, clearance_px=30, exclude=()):
    """A landmark shown in this frame with no other point within ``clearance_px`` screen pixels."""
    pts = win.view.screen_points()
    for j in range(len(pts)):
        if j in exclude or not np.isfinite(pts[j]).all():
            continue
        d = np.hypot(*(pts - pts[j]).T)
        d[j] = np.inf
        if np.nanmin(np.where(np.isfinite(d), d, np.inf)) > clearance_px:
            return j
    raise AssertionError("no isolated landmark in this frame")


def drag(qtbot, win, start, end, steps=10):
    vp = win.view.viewport()
    qtbot.mousePress(vp, LEFT, pos=start)
    for k in range(1, steps + 1):
        qtbot.mouseMove(vp, pos=start + (end - start) * (k / steps))
    qtbot.mouseRelease(vp, LEFT, pos=end)


def answer_dialog(text=None):
    """Accept the next modal input dialog (optionally typing ``text``); returns what it proposed."""
    seen = {}

    def go():
        dlg = QtWidgets.QApplication.activeModalWidget()
        if not isinstance(dlg, QtWidgets.QInputDialog):
            QtCore.QTimer.singleShot(10, go)
            return
        seen["default"] = dlg.textValue()
        if text is not None:
            dlg.setTextValue(text)
        dlg.accept()

    QtCore.QTimer.singleShot(0, go)
    return seen


def key(qtbot, win, k, mod=QtCore.Qt.KeyboardModifier.NoModifier):
    activate(qtbot, win)
    qtbot.keyClick(win, k, mod)


def close(win):
    """Close the window and wait until its background jobs have stopped."""
    win.close()
    assert win.wait_closed(30)


def pdf_text(path):
    """The text of every page of a PDF."""
    import pypdf

    return "\n".join(page.extract_text() for page in pypdf.PdfReader(str(path)).pages)


def timeline_pos(tl, t, y):
    """Viewport position of time ``t`` (s) and row height ``y`` on the timeline."""
    return tl.mapFromScene(tl.getPlotItem().vb.mapViewToScene(QtCore.QPointF(float(t), float(y))))


def drawn_bands(tl):
    """The snippet bands as drawn: (x0, y0, width, height) of each, in plot coordinates."""
    o = tl.bars.opts
    n = len(tl.snippets)
    return [(float(o["x0"][i]), float(o["y0"][i]), float(o["width"]), float(o["height"])) for i in range(n)]


def band_pos(tl, i, dt=5.0):
    """Viewport position ``dt`` seconds into snippet ``i``'s band as drawn, halfway up it."""
    x0, y0, _, h = drawn_bands(tl)[i]
    return timeline_pos(tl, x0 + dt, y0 + h / 2)

