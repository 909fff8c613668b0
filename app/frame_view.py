"""The frame view: the video frame (or a blank canvas) with the draggable skeleton on it, point picking, and
the legend of its colours."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from gmdesk.core.posetrack import PointStatus

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

#: Point colours by status (observed / low-likelihood / outlier / imputed / edited / missing / repaired).
STATUS_COLOURS = {
    PointStatus.OBSERVED: (60, 200, 90),
    PointStatus.LOW_LIKELIHOOD: (255, 170, 0),
    PointStatus.OUTLIER: (230, 40, 40),
    PointStatus.IMPUTED: (80, 160, 255),
    PointStatus.EDITED: (230, 60, 230),
    PointStatus.MISSING: (128, 128, 128),
    PointStatus.REPAIRED: (0, 200, 200),
}


#: Fill colours by body side; the status colour is the ring around each point.
SIDE_COLOURS = {"left": (250, 225, 60), "right": (40, 60, 175), "centre": (245, 245, 245)}
PICK_RADIUS_PX = 12.0
#: Drawn symbol diameters (screen pixels) of a point and of the selected point, and the status ring's width.
POINT_PX, SELECTED_PX, RING_PX = 12, 17, 3
#: A press this close to the selected point's centre is inside its drawn symbol (ring included): it acts on
#: the selected point even when another point's centre is nearer (as SLEAP and napari give the selection
#: priority), so a crowded face or hand never moves the neighbour of the point being corrected.
SELECTED_HIT_PX = SELECTED_PX / 2 + RING_PX / 2


def landmark_sides(landmarks, mirror_pairs) -> list[str]:
    """"left" / "right" / "centre" for each landmark (from the skeleton's mirror pairs)."""
    left = {a for a, _ in mirror_pairs}
    right = {b for _, b in mirror_pairs}
    return ["left" if n in left else "right" if n in right else "centre" for n in landmarks]


def pick_point(points: np.ndarray, at: tuple[float, float], selected: int | None,
               radius: float = PICK_RADIUS_PX, selected_hit: float = SELECTED_HIT_PX) -> int | None:
    """The landmark under the cursor (``points`` in screen pixels, NaN = not shown): the selected landmark
    when ``at`` is inside its drawn symbol (within ``selected_hit`` px of its centre), else the nearest
    point within ``radius`` of ``at``, else None."""
    d = np.hypot(points[:, 0] - at[0], points[:, 1] - at[1])
    d[~np.isfinite(d)] = np.inf
    if selected is not None and 0 <= selected < len(d) and d[selected] <= selected_hit:
        return int(selected)
    if not np.isfinite(d).any() or d.min() > radius:
        return None
    return int(np.argmin(d))


_FILLS: dict[str, QtGui.QBrush] = {}
_RINGS: dict[int, QtGui.QPen] = {}


def _fill(side: str) -> QtGui.QBrush:
    if side not in _FILLS:
        _FILLS[side] = pg.mkBrush(*SIDE_COLOURS[side])
    return _FILLS[side]


def _ring(status: int) -> QtGui.QPen:
    if status not in _RINGS:
        _RINGS[status] = pg.mkPen(*STATUS_COLOURS[PointStatus(status)], width=RING_PX)
    return _RINGS[status]


class _PassiveScatter(pg.ScatterPlotItem):
    """Points that never take a mouse click (pyqtgraph's scatter would eat it): the frame view's
    box picks points itself, nearest first."""

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 - Qt naming
        ev.ignore()


class SkeletonItem(pg.ItemGroup):
    """One frame's skeleton: bones and points filled by body side (left / right / centre), ringed
    in their status colour; the selected landmark has a white halo. Draws only — picking and
    dragging are done by :class:`FrameView`."""

    def __init__(self) -> None:
        super().__init__()
        self.bones = {side: pg.PlotCurveItem(connect="pairs", pen=pg.mkPen(*rgb, 190, width=2))
                      for side, rgb in SIDE_COLOURS.items()}
        for item in self.bones.values():
            self.addItem(item)
        self.halo = _PassiveScatter(size=28, brush=None, pen=pg.mkPen(255, 255, 255, 235, width=2.5), pxMode=True)
        self.points = _PassiveScatter(pxMode=True)
        self.addItem(self.halo)
        self.addItem(self.points)
        self.xy = np.zeros((0, 2))
        self.status = np.zeros(0, dtype=np.uint8)
        self.edges = np.zeros((0, 2), dtype=int)
        self.sides: list[str] = []
        self.selected: int | None = None

    def set_pose(self, xy: np.ndarray, status: np.ndarray, edges: np.ndarray, selected: int | None,
                 sides: list[str] | None = None) -> None:
        """Show one frame's points (NaN points are not drawn)."""
        self.xy = np.array(xy, dtype=float)
        self.status = np.asarray(status)
        self.edges = np.asarray(edges, dtype=int).reshape(-1, 2)
        self.sides = sides or ["centre"] * len(self.xy)
        self.selected = selected
        self._draw()

    def move_point(self, j: int, x: float, y: float) -> None:
        """Show landmark ``j`` at (x, y) (while it is being dragged)."""
        self.xy[j] = (x, y)
        self._draw()

    def _draw(self) -> None:
        xy, ok = self.xy, np.isfinite(self.xy).all(axis=1)
        for side, item in self.bones.items():
            segs = [(a, b) for a, b in self.edges if ok[a] and ok[b] and side in (self.sides[a], self.sides[b])
                    and (side != "centre" or self.sides[a] == self.sides[b] == "centre")]
            pts = xy[np.asarray(segs, dtype=int).reshape(-1)] if segs else np.zeros((0, 2))
            item.setData(pts[:, 0], pts[:, 1], connect="pairs")
        idx = np.flatnonzero(ok)
        sel = self.selected
        # the same pen and brush objects every frame: pyqtgraph's symbol atlas is keyed by object
        # identity, so new ones would re-render every symbol (and grow the atlas) on each frame
        self.points.setData(pos=xy[idx], size=[SELECTED_PX if j == sel else POINT_PX for j in idx],
                            brush=[_fill(self.sides[j]) for j in idx], pen=[_ring(int(self.status[j])) for j in idx])
        if sel is not None and 0 <= sel < len(xy) and ok[sel]:
            self.halo.setData(pos=xy[[sel]])
        else:
            self.halo.setData(pos=np.zeros((0, 2)))


class _EditViewBox(pg.ViewBox):
    """The frame view's box: left clicks and drags on points go to the frame view; drags
    elsewhere pan as usual."""

    def __init__(self, owner: FrameView) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self.owner = owner

    def mouseClickEvent(self, ev) -> None:  # noqa: N802
        if ev.button() != QtCore.Qt.MouseButton.LeftButton:
            super().mouseClickEvent(ev)
            return
        ev.accept()
        self.owner._click(ev.scenePos())

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802
        if ev.button() == QtCore.Qt.MouseButton.LeftButton and self.owner._drag_event(ev):
            return
        super().mouseDragEvent(ev, axis)


class FrameView(pg.GraphicsLayoutWidget):
    """Video frame (or a blank canvas of the recording's size) with the skeleton on it.

    A press inside the selected point's drawn symbol acts on it; elsewhere a click selects the nearest point
    within 12 px (:func:`pick_point`); a drag moves exactly the point pressed; hovering shows the landmark's name; a click on
    an empty spot is reported (the window places a missing landmark there).

    Signals
    -------
    point_clicked(int), point_pressed(int)
        A click on / the start of a drag on landmark ``j``.
    point_moved(int, float, float)
        A drag of landmark ``j`` ended at (x, y) (image pixels).
    empty_clicked(float, float)
        A click away from every point, at (x, y).
    """

    point_clicked = QtCore.Signal(int)
    point_pressed = QtCore.Signal(int)
    point_moved = QtCore.Signal(int, float, float)
    empty_clicked = QtCore.Signal(float, float)

    def __init__(self) -> None:
        super().__init__()
        self.setBackground((30, 30, 30))
        self.vb = _EditViewBox(self)
        self.addItem(self.vb)
        self.image = pg.ImageItem()
        self.vb.addItem(self.image)
        self.skeleton = SkeletonItem()
        self.vb.addItem(self.skeleton)
        self.hover = pg.TextItem(color=(255, 255, 255), anchor=(0, 1.2), fill=pg.mkBrush(0, 0, 0, 170))
        self.hover.setZValue(10)
        self.hover.hide()
        self.vb.addItem(self.hover, ignoreBounds=True)
        self.names: list[str] = []
        self.hovered: int | None = None
        self.exact = True
        self._size: tuple[int, int] | None = None
        self._drag: int | None = None
        self._offset = np.zeros(2)
        self._last_mouse = None
        self.scene().sigMouseMoved.connect(self._moved)

    # -- image --------------------------------------------------------------------------------
    def show_frame(self, bgr: np.ndarray | None, size: tuple[int, int], exact: bool = True) -> None:
        """Show a BGR frame — possibly a smaller proxy frame, stretched to ``size`` = (width, height)
        of the recording — or a blank canvas of ``size``."""
        import cv2

        w, h = size
        if bgr is None:
            if self._size != (w, h) or self.exact is not None:
                self.image.setImage(np.full((h, w, 3), 40, np.uint8), autoLevels=False, levels=None)
            self.exact = None
        else:
            self.image.setImage(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), autoLevels=False, levels=None)
            self.exact = exact
        self.image.setRect(QtCore.QRectF(0, 0, w, h))
        if self._size != (w, h):
            self._size = (w, h)
            self.vb.autoRange(padding=0.01)

    def displayed_rgb(self) -> np.ndarray:
        """The image currently shown (RGB), for tests and screenshots."""
        return np.asarray(self.image.image)

    # -- picking --------------------------------------------------------------------------------
    def screen_points(self) -> np.ndarray:
        """The skeleton's points in scene (= viewport pixel) coordinates, NaN where not shown."""
        out = np.full_like(self.skeleton.xy, np.nan)
        for j, (x, y) in enumerate(self.skeleton.xy):
            if np.isfinite(x) and np.isfinite(y):
                p = self.vb.mapViewToScene(QtCore.QPointF(float(x), float(y)))
                out[j] = (p.x(), p.y())
        return out

    def pick(self, scene_pos) -> int | None:
        """Landmark under ``scene_pos`` (the selected one inside its symbol, else the nearest within the radius)."""
        if not len(self.skeleton.xy):
            return None
        return pick_point(self.screen_points(), (scene_pos.x(), scene_pos.y()), self.skeleton.selected)

    def _click(self, scene_pos) -> None:
        j = self.pick(scene_pos)
        if j is not None:
            self.point_clicked.emit(j)
        else:
            p = self.vb.mapSceneToView(scene_pos)
            self.empty_clicked.emit(float(p.x()), float(p.y()))

    def _drag_event(self, ev) -> bool:
        """Handle a left drag on a point; False lets the box pan."""
        if ev.isStart():
            self._drag = self.pick(ev.buttonDownScenePos())
            if self._drag is None:
                return False
            self.point_pressed.emit(self._drag)
            down = self.vb.mapSceneToView(ev.buttonDownScenePos())
            self._offset = self.skeleton.xy[self._drag] - (down.x(), down.y())
        elif self._drag is None:
            return False
        ev.accept()
        p = self.vb.mapSceneToView(ev.scenePos())
        x, y = np.array([p.x(), p.y()]) + self._offset
        j = self._drag
        self.skeleton.move_point(j, float(x), float(y))
        if ev.isFinish():
            self._drag = None
            self.point_moved.emit(j, float(x), float(y))
        return True

    def refresh_hover(self) -> None:
        """Update the hover label after the points changed (another frame, an edit)."""
        if self.underMouse() and self._last_mouse is not None:
            self._moved(self._last_mouse)
        else:
            self.hovered = None
            self.hover.hide()

    def _moved(self, scene_pos) -> None:
        self._last_mouse = scene_pos
        j = self.pick(scene_pos) if self._drag is None else self._drag
        self.hovered = j
        if j is None or j >= len(self.names):
            self.hover.hide()
            self.setToolTip("")
            return
        st = PointStatus(int(self.skeleton.status[j])).name.lower().replace("_", "-")
        self.hover.setText(f"{self.names[j]} ({st})")
        self.hover.setPos(*self.skeleton.xy[j])
        self.hover.show()
        self.setToolTip(self.names[j])


def colour_icon(rgb: tuple[int, int, int]) -> QtGui.QIcon:
    """A small square icon of one colour with a dark edge (legends)."""
    pm = QtGui.QPixmap(12, 12)
    pm.fill(QtGui.QColor(*rgb))
    p = QtGui.QPainter(pm)
    p.setPen(QtGui.QPen(QtGui.QColor(60, 60, 60), 1))
    p.drawRect(0, 0, 11, 11)
    p.end()
    return QtGui.QIcon(pm)


def legend_widget() -> QtWidgets.QWidget:
    """One line under the frame: fill colours by side, ring colours by status."""
    w = QtWidgets.QWidget()
    lay = QtWidgets.QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(3)

    def label(text: str) -> None:
        lab = QtWidgets.QLabel(text)
        lab.setStyleSheet("font-size: 11px;")
        lay.addWidget(lab)

    def icon(pm: QtGui.QPixmap) -> None:
        lab = QtWidgets.QLabel()
        lab.setPixmap(pm)
        lay.addWidget(lab)

    label("fill:")
    for side, rgb in SIDE_COLOURS.items():
        icon(colour_icon(rgb).pixmap(12, 12))
        label(side)
    label("  ring:")
    for st, rgb in STATUS_COLOURS.items():
        pm = QtGui.QPixmap(12, 12)
        pm.fill(QtGui.QColor(0, 0, 0, 0))
        p = QtGui.QPainter(pm)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.setPen(QtGui.QPen(QtGui.QColor(*rgb), 3))
        p.drawEllipse(2, 2, 8, 8)
        p.end()
        icon(pm)
        label(st.name.lower().replace("_", "-").replace("low-likelihood", "low-lik."))
    lay.addStretch()
    return w
