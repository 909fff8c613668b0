"""Widgets: frame view with draggable skeleton, trajectory plot, snippet timeline, heatmap."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

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


class SkeletonItem(pg.GraphItem):
    """Skeleton overlay whose points can be dragged; emits ``moved(landmark, x, y)`` on release."""

    def __init__(self) -> None:
        super().__init__()
        self.moved = _Signal()
        self.clicked = _Signal()
        self._drag: int | None = None
        self._offset = np.zeros(2)
        self._pos = np.zeros((0, 2))
        self._index = np.zeros(0, dtype=int)  # node -> landmark
        self._kw: dict = {}

    def set_pose(self, xy: np.ndarray, status: np.ndarray, edges: np.ndarray, selected: int | None) -> None:
        """Show one frame's points (NaN points are not drawn)."""
        ok = np.isfinite(xy).all(axis=1)
        self._index = np.flatnonzero(ok)
        node = -np.ones(len(xy), dtype=int)
        node[self._index] = np.arange(len(self._index))
        adj = np.array([[node[a], node[b]] for a, b in edges if ok[a] and ok[b]], dtype=int).reshape(-1, 2)
        self._pos = xy[ok].astype(float)
        brushes = [pg.mkBrush(*STATUS_COLOURS[PointStatus(int(status[j]))]) for j in self._index]
        sizes = [16 if j == selected else 10 for j in self._index]
        pens = [pg.mkPen("w", width=2) if j == selected else pg.mkPen(0, 0, 0, 160) for j in self._index]
        self._kw = dict(adj=adj, pen=pg.mkPen(255, 255, 255, 170, width=2), symbolBrush=brushes, size=sizes,
                        symbolPen=pens, pxMode=True)
        self.setData(pos=self._pos, **self._kw)

    def mouseDragEvent(self, ev) -> None:  # noqa: N802 - Qt naming
        if ev.button() != QtCore.Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        if ev.isStart():
            pts = self.scatter.pointsAt(ev.buttonDownPos())
            if len(pts) == 0:
                ev.ignore()
                return
            self._drag = int(pts[0].index())
            self._offset = self._pos[self._drag] - np.array([ev.buttonDownPos().x(), ev.buttonDownPos().y()])
        elif self._drag is None:
            ev.ignore()
            return
        new = np.array([ev.pos().x(), ev.pos().y()]) + self._offset
        self._pos[self._drag] = new
        self.setData(pos=self._pos, **self._kw)
        ev.accept()
        if ev.isFinish():
            j = int(self._index[self._drag])
            self._drag = None
            self.moved.emit(j, float(new[0]), float(new[1]))

    def mouseClickEvent(self, ev) -> None:  # noqa: N802
        pts = self.scatter.pointsAt(ev.pos())
        if len(pts):
            self.clicked.emit(int(self._index[int(pts[0].index())]))
            ev.accept()
        else:
            ev.ignore()


class _Signal:
    """Tiny callback list (GraphItem is not a QObject we can add signals to cleanly)."""

    def __init__(self) -> None:
        self._slots = []

    def connect(self, fn) -> None:
        self._slots.append(fn)

    def emit(self, *args) -> None:
        for fn in self._slots:
            fn(*args)


class FrameView(pg.GraphicsLayoutWidget):
    """Video frame (or a blank canvas of the recording's size) with the skeleton drawn on it."""

    def __init__(self) -> None:
        super().__init__()
        self.setBackground((30, 30, 30))
        self.vb = self.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image = pg.ImageItem()
        self.vb.addItem(self.image)
        self.skeleton = SkeletonItem()
        self.vb.addItem(self.skeleton)
        self.label = pg.TextItem(color=(255, 255, 255), anchor=(0, 0))
        self.vb.addItem(self.label)
        self._shape: tuple[int, int] | None = None

    def show_frame(self, bgr: np.ndarray | None, size: tuple[int, int]) -> None:
        """Show a BGR frame (or a blank canvas ``size`` = (width, height))."""
        if bgr is None:
            w, h = size
            if self._shape != (h, w):
                self.image.setImage(np.full((h, w, 3), 40, np.uint8), autoLevels=False, levels=(0, 255))
        else:
            self.image.setImage(bgr[..., ::-1], autoLevels=False, levels=(0, 255))
        shape = self.image.image.shape[:2]
        if shape != self._shape:
            self._shape = shape
            self.vb.autoRange(padding=0.01)

    def displayed_rgb(self) -> np.ndarray:
        """The image currently shown (RGB), for tests and screenshots."""
        return np.asarray(self.image.image)


class TrajectoryPlot(pg.PlotWidget):
    """x and y of the selected landmark over time, flagged frames marked, current frame cursor.
    Clicking seeks (``seek`` callback)."""

    def __init__(self) -> None:
        super().__init__(background=(250, 250, 250))
        self.addLegend(offset=(5, 5))
        self.setLabel("bottom", "frame")
        self.setLabel("left", "pixels")
        self.x = self.plot(pen=pg.mkPen((30, 90, 200), width=1.5), name="x")
        self.y = self.plot(pen=pg.mkPen((220, 120, 20), width=1.5), name="y")
        self.flags = pg.ScatterPlotItem(size=6, brush=pg.mkBrush(230, 40, 40), pen=None, name="flagged")
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
    """A small square icon of one colour (legend of statuses)."""
    pm = QtGui.QPixmap(12, 12)
    pm.fill(QtGui.QColor(*rgb))
    return QtGui.QIcon(pm)
