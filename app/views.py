"""Widgets: frame view with draggable skeleton, trajectory plot, snippet timeline, heatmap."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from gmdesk.posetrack import PointStatus

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
TIE_PX = 0.5


def landmark_sides(landmarks, mirror_pairs) -> list[str]:
    """"left" / "right" / "centre" for each landmark (from the skeleton's mirror pairs)."""
    left = {a for a, _ in mirror_pairs}
    right = {b for _, b in mirror_pairs}
    return ["left" if n in left else "right" if n in right else "centre" for n in landmarks]


def pick_point(points: np.ndarray, at: tuple[float, float], selected: int | None,
               radius: float = PICK_RADIUS_PX, tie: float = TIE_PX) -> int | None:
    """The landmark under the cursor: the nearest of ``points`` (screen pixels, NaN = not shown)
    within ``radius`` of ``at``; the selected landmark wins ties (within ``tie`` px)."""
    d = np.hypot(points[:, 0] - at[0], points[:, 1] - at[1])
    d[~np.isfinite(d)] = np.inf
    if not np.isfinite(d).any() or d.min() > radius:
        return None
    best = int(np.argmin(d))
    if selected is not None and 0 <= selected < len(d) and d[selected] <= d[best] + tie:
        return int(selected)
    return best


_FILLS: dict[str, QtGui.QBrush] = {}
_RINGS: dict[int, QtGui.QPen] = {}


def _fill(side: str) -> QtGui.QBrush:
    if side not in _FILLS:
        _FILLS[side] = pg.mkBrush(*SIDE_COLOURS[side])
    return _FILLS[side]


def _ring(status: int) -> QtGui.QPen:
    if status not in _RINGS:
        _RINGS[status] = pg.mkPen(*STATUS_COLOURS[PointStatus(status)], width=3)
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
        self.points.setData(pos=xy[idx], size=[17 if j == sel else 12 for j in idx],
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

    A click selects the point under the cursor (nearest within 12 px; the selected point wins
    ties); a drag moves exactly the point pressed; hovering shows the landmark's name; a click on
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
        """Landmark under ``scene_pos`` (nearest within the radius; the selected one wins ties)."""
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


class TrajectoryPlot(pg.PlotWidget):
    """x and y of the selected landmark over time, flagged frames marked, current frame cursor.
    Clicking seeks (``seek`` callback)."""

    def __init__(self) -> None:
        super().__init__(background=(250, 250, 250))
        self.setMinimumHeight(130)
        self.addLegend(offset=(5, 2), colCount=3)
        self.setLabel("bottom", "frame")
        self.setLabel("left", "pixels")
        self.x = self.plot(pen=pg.mkPen((30, 90, 200), width=1.5), name="x")
        self.y = self.plot(pen=pg.mkPen((220, 120, 20), width=1.5), name="y")
        self.flags = pg.ScatterPlotItem(size=6, brush=pg.mkBrush(230, 40, 40), pen=None, name="to review")
        self.addItem(self.flags)
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen((0, 0, 0), width=1))
        self.addItem(self.cursor)
        self.seek = None
        self.scene().sigMouseClicked.connect(self._clicked)

    def set_series(self, xy: np.ndarray, flagged: np.ndarray) -> None:
        t = np.arange(len(xy))
        self.x.setData(t, xy[:, 0], connect="finite")
        self.y.setData(t, xy[:, 1], connect="finite")
        f = np.flatnonzero(flagged)
        base = np.nanmin(xy) if np.isfinite(xy).any() else 0
        self.flags.setData(f, np.full(len(f), base))

    def _clicked(self, ev) -> None:
        if self.seek is None or ev.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        p = self.getPlotItem().vb.mapSceneToView(ev.scenePos())
        self.seek(int(round(p.x())))


class SnippetTimeline(pg.PlotWidget):
    """Each snippet a band coloured by P(abnormal) (blue normal → red abnormal); overlapping
    snippets alternate between two rows. Hatched outline: too much imputed data. Clicking a
    band calls ``open_snippet(index)``."""

    def __init__(self) -> None:
        super().__init__(background=(250, 250, 250))
        self.setMinimumHeight(110)
        self.setLabel("bottom", "time (s)")
        self.getPlotItem().hideAxis("left")
        self.setMouseEnabled(y=False)
        self.cmap = pg.colormap.get("coolwarm", source="matplotlib")
        self.bars: pg.BarGraphItem | None = None
        self.snippets: list[dict] = []
        self.window_s = 10.0
        self.open_snippet = None
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen((0, 0, 0), width=1))
        self.addItem(self.cursor)
        self.scene().sigMouseClicked.connect(self._clicked)
        self.imputed_limit = 0.2

    def set_snippets(self, snippets: list[dict], window_s: float, dropped_s: list[float] | None = None) -> None:
        """Show scored snippets; ``dropped_s`` are start times of windows left out for missing
        data (drawn grey, labelled "gap")."""
        for item in list(self.getPlotItem().items):
            if item is not self.cursor:
                self.removeItem(item)
        self.snippets, self.window_s = snippets, window_s
        merged: list[list[float]] = []
        for t0 in sorted(dropped_s or []):
            if merged and t0 <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], t0 + window_s)
            else:
                merged.append([t0, t0 + window_s])
        for a, b in merged:
            band = pg.BarGraphItem(x0=[a], y0=[-0.05], width=b - a, height=2.25, brush=pg.mkBrush(200, 200, 200, 90),
                                   pen=pg.mkPen(150, 150, 150, 120))
            self.addItem(band)
            label = pg.TextItem("missing data", color=(110, 110, 110), anchor=(0.5, 0))
            label.setPos((a + b) / 2, 2.2)
            self.addItem(label)
        if not snippets:
            return
        x0 = np.array([s["start_s"] for s in snippets])
        p = np.array([s["p_abnormal"] for s in snippets])
        rows = np.arange(len(snippets)) % 2
        brushes = [pg.mkBrush(self.cmap.map(float(v), mode="qcolor")) for v in p]
        pens = [pg.mkPen((0, 0, 0), width=3, style=QtCore.Qt.PenStyle.DashLine) if s["imputed_fraction"] > self.imputed_limit
                else pg.mkPen((60, 60, 60), width=1) for s in snippets]
        self.bars = pg.BarGraphItem(x0=x0, y0=rows * 1.1, width=window_s, height=1.0, brushes=brushes, pens=pens)
        self.addItem(self.bars)
        for s, r in zip(snippets, rows, strict=True):
            t = pg.TextItem("A" if s["class"] == "abnormal" else "n", color=(0, 0, 0), anchor=(0.5, 0.5))
            t.setPos(s["start_s"] + window_s / 2, r * 1.1 + 0.5)
            self.addItem(t)
        self.setYRange(-0.1, 2.2)
        self.setXRange(0, x0.max() + window_s)

    def snippet_at(self, t: float, y: float) -> int | None:
        """Index of the snippet band under (t, y)."""
        for i, s in enumerate(self.snippets):
            row = i % 2
            if s["start_s"] <= t <= s["start_s"] + self.window_s and row * 1.1 <= y <= row * 1.1 + 1.0:
                return i
        return None

    def _clicked(self, ev) -> None:
        if self.open_snippet is None:
            return
        p = self.getPlotItem().vb.mapSceneToView(ev.scenePos())
        i = self.snippet_at(p.x(), p.y())
        if i is not None:
            self.open_snippet(i)


class SimilarityView(pg.GraphicsLayoutWidget):
    """Cosine-similarity heatmap of snippet embeddings; hover shows the pair, click opens the
    row's snippet (``open_snippet(index)``)."""

    def __init__(self) -> None:
        super().__init__()
        self.setBackground((250, 250, 250))
        self.plot = self.addPlot()
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.img = pg.ImageItem()
        self.plot.addItem(self.img)
        self.bar = pg.ColorBarItem(values=(-1, 1), colorMap=pg.colormap.get("viridis"), label="cosine similarity")
        self.bar.setImageItem(self.img, insert_in=self.plot)
        self.names: list[str] = []
        self.sim = np.zeros((0, 0))
        self.hover_text = pg.TextItem(color=(0, 0, 0), anchor=(0, 1), fill=pg.mkBrush(255, 255, 255, 220))
        self.plot.addItem(self.hover_text)
        self.open_snippet = None
        self.scene().sigMouseMoved.connect(self._moved)
        self.scene().sigMouseClicked.connect(self._clicked)

    def set_matrix(self, sim: np.ndarray, names: list[str], col_names: list[str] | None = None, title: str = "") -> None:
        """Rows: this infant's snippets (``names``); columns: ``col_names`` (default the same)."""
        self.sim, self.names, self.col_names = sim, names, col_names or names
        self.img.setImage(sim, levels=(-1, 1))
        self.plot.setTitle(title or f"Cosine similarity of {len(names)} snippets' embeddings")
        self.plot.setAspectLocked(col_names is None)
        self.plot.setLabel("left", "this infant's snippets")
        self.plot.setLabel("bottom", "reference snippets (normal first)" if col_names else "this infant's snippets")
        self.plot.autoRange()

    def cell_at(self, scene_pos) -> tuple[int, int] | None:
        p = self.plot.vb.mapSceneToView(scene_pos)
        i, j = int(np.floor(p.y())), int(np.floor(p.x()))
        return (i, j) if 0 <= i < len(self.names) and 0 <= j < len(getattr(self, "col_names", [])) else None

    def pair_text(self, i: int, j: int) -> str:
        return f"{self.names[i]}  ×  {self.col_names[j]}: {self.sim[i, j]:.3f}"

    def _moved(self, pos) -> None:
        cell = self.cell_at(pos)
        if cell is None:
            self.hover_text.setText("")
            return
        self.hover_text.setText(self.pair_text(*cell))
        self.hover_text.setPos(cell[1], cell[0])

    def _clicked(self, ev) -> None:
        cell = self.cell_at(ev.scenePos())
        if cell is not None and self.open_snippet is not None:
            self.open_snippet(cell[0])


class IcaView(pg.PlotWidget):
    """Distribution of the first independent component of the model's training snippets,
    normal vs abnormal, with this infant's snippets marked (click one to play it)."""

    def __init__(self) -> None:
        super().__init__(background=(250, 250, 250))
        self.addLegend(offset=(5, 5))
        self.setLabel("bottom", "first independent component (training ICA space)")
        self.setLabel("left", "density")
        self.open_snippet = None
        self.marks: pg.ScatterPlotItem | None = None
        self.infant: np.ndarray = np.zeros(0)

    def set_data(self, ref_ic1: np.ndarray, ref_labels: np.ndarray, infant_ic1: np.ndarray, classes: list[str]) -> None:
        self.clear()
        ref_ic1, ref_labels = np.asarray(ref_ic1), np.asarray(ref_labels)
        self.infant = np.asarray(infant_ic1)
        allv = np.concatenate([ref_ic1, self.infant])
        bins = np.linspace(np.percentile(allv, 0.5), np.percentile(allv, 99.5), 40)
        top = 0.0
        for lab, name, col in ((0, "reference normal", (40, 110, 220)), (1, "reference abnormal", (220, 50, 50))):
            h, e = np.histogram(ref_ic1[ref_labels == lab], bins=bins, density=True)
            top = max(top, h.max() if h.size else 0)
            self.plot(e, h, stepMode="center", fillLevel=0, brush=pg.mkBrush(*col, 70), pen=pg.mkPen(col, width=2),
                      name=name)
        brushes = [pg.mkBrush(220, 50, 50) if c == "abnormal" else pg.mkBrush(40, 110, 220) for c in classes]
        self.marks = pg.ScatterPlotItem(self.infant, np.full(len(self.infant), -0.06 * max(top, 1e-9)), size=12,
                                        symbol="t1", brush=brushes, pen=pg.mkPen("k"), name="this infant's snippets")
        self.marks.sigClicked.connect(self._clicked)
        self.addItem(self.marks)

    def _clicked(self, item, points, ev=None) -> None:
        if self.open_snippet is not None and len(points):
            self.open_snippet(int(points[0].index()))


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


class SeriesPanel(QtWidgets.QSplitter):
    """The selected landmark over time: x and y (frames to review in red; a click seeks) above the
    joint angles whose vertex it is."""

    def __init__(self) -> None:
        super().__init__(QtCore.Qt.Orientation.Vertical)
        self.setObjectName("traj_split")
        self.trajectory = TrajectoryPlot()
        self.angles = pg.PlotWidget(background=(250, 250, 250))
        self.angles.setMinimumHeight(90)
        self.angles.addLegend(offset=(5, 2), colCount=2)
        self.angles.setLabel("left", "degrees")
        self.angles.setXLink(self.trajectory)
        self.addWidget(self.trajectory)
        self.addWidget(self.angles)
        self.setSizes([300, 180])
        self.setChildrenCollapsible(False)

    def show_landmark(self, session, j: int) -> None:
        """Show landmark ``j`` of ``session``'s current track."""
        from gmdesk.features import joint_angles

        name = session.track.landmarks[j]
        self.trajectory.set_series(session.track.xy[:, j], session.flagged[:, j])
        self.trajectory.setTitle(f"{name}: x, y over time (red: frames to review)")
        self.angles.clear()
        angles = [i for i, a in enumerate(session.skeleton.angles) if a.points[1] == name]
        if not angles:
            self.angles.setTitle("no joint angle at this landmark")
            return
        ang = joint_angles(session.track.xy, session.skeleton)[:, angles]
        for k, i in enumerate(angles):
            self.angles.plot(np.arange(len(ang)), ang[:, k], pen=(k, max(2, len(angles))),
                             name=session.skeleton.angles[i].name, connect="finite")
        self.angles.setTitle(f"joint angle (degrees): {', '.join(session.skeleton.angles[i].name for i in angles)}")
