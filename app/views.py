"""Plots: the selected landmark over time (trajectory and joint angles), the snippet timeline, the similarity
heatmap, and the caption under a plot."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from gmdesk.screening.result import snippet_step

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)


def light_curves(plot: pg.PlotWidget) -> None:
    """Make ``plot``'s curves cheap to redraw: the frame cursor moving over them makes pyqtgraph repaint the
    plot area on every frame, so curves over the whole recording are drawn with 1-px cosmetic pens (Qt's fast
    line path; a 1.5-px antialiased stroke cost ~10x more), thinned to the pixels shown (peak decimation keeps
    every minimum and maximum) and clipped to the visible range."""
    plot.setDownsampling(auto=True, mode="peak")
    plot.setClipToView(True)


class TrajectoryPlot(pg.PlotWidget):
    """x and y of the selected landmark over time, flagged frames marked, current frame cursor.
    Clicking seeks (``seek`` callback)."""

    def __init__(self) -> None:
        super().__init__(background=(250, 250, 250))
        self.setMinimumHeight(130)
        self.addLegend(offset=(5, 2), colCount=3)
        self.setLabel("left", "pixels")
        for side in ("bottom", "left"):  # frames and pixels, never "(x0.001)" (an empty plot's range is 0-1)
            self.getAxis(side).enableAutoSIPrefix(False)
        light_curves(self)
        self.x = self.plot(pen=pg.mkPen((30, 90, 200), width=1), name="x")
        self.y = self.plot(pen=pg.mkPen((220, 120, 20), width=1), name="y")
        self.flags = pg.ScatterPlotItem(size=6, brush=pg.mkBrush(230, 40, 40), pen=None, name="to review")
        self.addItem(self.flags)
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen((0, 0, 0), width=1))
        self.addItem(self.cursor, ignoreBounds=True)  # moving it never re-ranges the view
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
        self.angles.setLabel("bottom", "frame")  # one time axis, under both plots (they share x)
        for side in ("bottom", "left"):
            self.angles.getAxis(side).enableAutoSIPrefix(False)
        self.angles.getAxis("left").setTickSpacing(90, 45)  # a few readable ticks even when the plot is low
        self.trajectory.getAxis("bottom").setStyle(showValues=False)
        self.trajectory.getAxis("bottom").setHeight(6)
        self.angles.setXLink(self.trajectory)
        light_curves(self.angles)
        self.addWidget(self.trajectory)
        self.addWidget(self.angles)
        self.setSizes([240, 240])  # equal: the angles stay readable on a 768-px screen
        self.setChildrenCollapsible(False)

    def show_landmark(self, session, j: int) -> None:
        """Show landmark ``j`` of ``session``'s current track."""
        from gmdesk.pipeline.features import joint_angles

        name = session.track.landmarks[j]
        self.trajectory.set_series(session.track.xy[:, j], session.flagged[:, j])
        # names in the axis labels, not in titles: a title costs a line of each plot's height
        self.trajectory.setLabel("left", f"{name} (px)")
        self.angles.clear()
        angles = [i for i, a in enumerate(session.skeleton.angles) if a.points[1] == name]
        if not angles:
            self.angles.setLabel("left", "no joint angle here")
            return
        ang = joint_angles(session.track.xy, session.skeleton)[:, angles]
        for k, i in enumerate(angles):
            self.angles.plot(np.arange(len(ang)), ang[:, k], pen=pg.mkPen(pg.intColor(k, max(2, len(angles))), width=1),
                             name=session.skeleton.angles[i].name, connect="finite")
        self.angles.setLabel("left", "angle (°)")


#: Verdict colours (text and badges): abnormal red, normal green, indeterminate amber.
VERDICT_COLOURS = {"abnormal": "#c0392b", "normal": "#1e8449", "indeterminate": "#b9770e"}
#: The colour of the verdict of a model not validated on its cohort (research only): amber, never red or green.
RESEARCH_COLOUR = "#b9770e"
REVIEW_MARKS = {"agree": "✓", "disagree": "✗", "unsure": "?"}


def captioned(widget: QtWidgets.QWidget, caption: str) -> QtWidgets.QWidget:
    """``widget`` with a one-line caption under it that says what it shows and how to read it."""
    box = QtWidgets.QWidget()
    lay = QtWidgets.QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(1)
    lay.addWidget(widget, 1)
    lab = QtWidgets.QLabel(caption)
    lab.setWordWrap(True)
    lab.setStyleSheet("font-size: 11px; color: #444; padding: 0 4px 2px 4px;")
    lab.setObjectName("caption")
    lay.addWidget(lab)
    box.caption = lab
    return box


def merged_gaps(dropped: list[dict], fps: float, window: int) -> list[dict]:
    """Windows left out for missing data, merged where they overlap: start and end (s) and the landmarks
    that were missing, most-missing first."""
    out: list[dict] = []
    for d in sorted(dropped, key=lambda d: d["start"]):
        a, b = d["start"] / fps, (d["start"] + window) / fps
        if out and a <= out[-1]["end_s"]:
            out[-1]["end_s"] = max(out[-1]["end_s"], b)
        else:
            out.append({"start_s": a, "end_s": b, "missing": {}})
        for name, n in (d.get("missing") or {}).items():
            out[-1]["missing"][name] = max(out[-1]["missing"].get(name, 0), int(n))
    for g in out:
        missing = g.pop("missing")
        g["landmarks"] = sorted(missing, key=lambda k: (-missing[k], k))
    return out


def seconds_text(t: float) -> str:
    """Seconds as a reader wants them: whole when they are ("30"), else to a tenth ("31.7")."""
    return f"{t:.0f}" if abs(t - round(t)) < 0.05 else f"{t:.1f}"


#: Most snippet rows on the timeline: ten hold the paper's overlaps up to 270 frames; above that (290, 299: a window
#: every 10 or 1 frames) bands share rows and the hover names the earliest under the pointer.
MAX_TIMELINE_ROWS = 10


class SnippetTimeline(pg.PlotWidget):
    """Each snippet a band coloured by P(abnormal) (blue normal → red abnormal); overlapping
    snippets take turns over as many rows as overlap at one instant (two at the paper's 150-frame overlap, six
    at 250), so no band hides another; with more than two rows the "A"/"n" letters give way to the colours
    (hover names each snippet; review marks stay written). Amber outline and "?": borderline (P within
    ``borderline`` of 0.5); dashed outline: too much imputed data; grey bands: windows left out for
    missing data, labelled with the landmark behind them. Hovering shows a snippet's P(abnormal);
    clicking a band calls ``open_snippet(index)``."""

    def __init__(self) -> None:
        super().__init__(background=(250, 250, 250))
        self.setMinimumHeight(95)
        self.getPlotItem().getAxis("bottom").enableAutoSIPrefix(False)  # seconds, never "x0.001"
        self.getPlotItem().hideAxis("left")
        self.getPlotItem().hideButtons()
        self.selection = pg.BarGraphItem(x0=[0], y0=[0], width=0, height=0, brush=pg.mkBrush(0, 0, 0, 0),
                                         pen=pg.mkPen((20, 20, 20), width=3))
        self.selection.setZValue(10)
        self.selected: int | None = None
        self.setMouseEnabled(y=False)
        self.cmap = pg.colormap.get("coolwarm", source="matplotlib")
        self.bars: pg.BarGraphItem | None = None
        self.snippets: list[dict] = []
        self.gaps: list[dict] = []
        self.reviews: dict[int, dict] = {}
        self.window_s = 10.0
        self.borderline = 0.1
        self.open_snippet = None
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen((0, 0, 0), width=1))
        self.addItem(self.cursor)
        self.hover_info = ""
        self.on_hover = None  # called with the hover text (the panel shows it in a line above)
        self.scene().sigMouseClicked.connect(self._clicked)
        self.scene().sigMouseMoved.connect(self._moved)
        self.imputed_limit = 0.2
        self.n_rows = 2
        self.set_snippets([], 10.0)

    def is_borderline(self, p: float) -> bool:
        """P(abnormal) within the borderline band around 0.5."""
        return abs(float(p) - 0.5) <= self.borderline

    def set_snippets(self, snippets: list[dict], window_s: float, gaps: list[dict] | None = None,
                     reviews: dict[int, dict] | None = None) -> None:
        """Show scored snippets; ``gaps`` (see :func:`merged_gaps`) are windows left out for missing data,
        ``reviews`` the clinician's marks by snippet index."""
        for item in list(self.getPlotItem().items):
            if item is not self.cursor:
                self.removeItem(item)
        self.snippets, self.window_s, self.gaps, self.reviews = snippets, window_s, list(gaps or []), dict(reviews or {})
        self._hover("")
        self.addItem(self.selection)
        self.selected = None
        self.selection.setOpts(x0=[0], y0=[0], width=0, height=0)
        for g in self.gaps:
            band = pg.BarGraphItem(x0=[g["start_s"]], y0=[-0.6], width=g["end_s"] - g["start_s"], height=2.8,
                                   brush=pg.mkBrush(200, 200, 200, 90), pen=pg.mkPen(150, 150, 150, 120))
            self.addItem(band)
            names = g["landmarks"]
            text = "missing " + (", ".join(names[:2]) + (f" +{len(names) - 2}" if len(names) > 2 else "") if names else "data")
            label = pg.TextItem(text, color=(90, 90, 90), anchor=(0.5, 0))
            label.setPos((g["start_s"] + g["end_s"]) / 2, -0.08)
            self.addItem(label)
        if not snippets:
            self.bars = None
            end = max([g["end_s"] for g in self.gaps] + [60.0])
            empty = pg.TextItem("no assessment yet", color=(120, 120, 120), anchor=(0.5, 0.5))
            empty.setPos(end / 2, 1.05)
            self.addItem(empty)
            self.setYRange(-0.6, 2.2, padding=0.02)
            self.setXRange(0, end)
            return
        x0 = np.array([s["start_s"] for s in snippets])
        p = np.array([s["p_abnormal"] for s in snippets])
        step = snippet_step(x0, window_s)
        # a tolerance for frame rounding (a 29.97-fps model on a 30-fps recording: 10.01 s windows every 1.667 s)
        self.n_rows = int(min(MAX_TIMELINE_ROWS, max(2, np.ceil(window_s / step - 0.05))))
        rows = np.arange(len(snippets)) % self.n_rows
        pitch, height = self._row_geometry()
        brushes = [pg.mkBrush(self.cmap.map(float(v), mode="qcolor")) for v in p]
        pens = []
        for s in snippets:
            if self.is_borderline(s["p_abnormal"]):
                pens.append(pg.mkPen((230, 140, 0), width=3))
            elif s["imputed_fraction"] > self.imputed_limit:
                pens.append(pg.mkPen((0, 0, 0), width=3, style=QtCore.Qt.PenStyle.DashLine))
            else:
                pens.append(pg.mkPen((60, 60, 60), width=1))
        self.bars = pg.BarGraphItem(x0=x0, y0=rows * pitch, width=window_s, height=height, brushes=brushes, pens=pens)
        self.addItem(self.bars)
        for i, (s, r) in enumerate(zip(snippets, rows, strict=True)):
            mark = "?" if self.is_borderline(s["p_abnormal"]) else ("A" if s["class"] == "abnormal" else "n")
            review = self.reviews.get(i)
            if review:
                mark += " " + REVIEW_MARKS.get(review.get("mark"), "")
            elif self.n_rows > 2:
                continue  # dense rows: the colours speak, letters would cover each other
            t = pg.TextItem(mark, color=(0, 0, 0), anchor=(0.5, 0.5))
            t.setPos(s["start_s"] + window_s / 2, r * pitch + height / 2)
            self.addItem(t)
        self.setYRange(-0.62 if self.gaps else -0.1, 2.2, padding=0.02)
        self.setXRange(0, max(x0.max() + window_s, max([g["end_s"] for g in self.gaps] + [0.0])))

    def set_selected(self, index: int | None) -> None:
        """Outline snippet ``index`` (the one the review buttons act on); None clears it."""
        self.selected = index
        if index is None or not 0 <= index < len(self.snippets):
            self.selection.setOpts(x0=[0], y0=[0], width=0, height=0)
            return
        s = self.snippets[index]
        pitch, height = self._row_geometry()
        self.selection.setOpts(x0=[s["start_s"]], y0=[(index % self.n_rows) * pitch], width=self.window_s,
                               height=height)

    def _row_geometry(self) -> tuple[float, float]:
        """Distance between the rows' bottoms and a band's height (two rows: 1.1 and 1.0)."""
        pitch = 2.2 / self.n_rows
        return pitch, pitch / 1.1

    def snippet_at(self, t: float, y: float) -> int | None:
        """Index of the snippet band under (t, y)."""
        pitch, height = self._row_geometry()
        for i, s in enumerate(self.snippets):
            row = i % self.n_rows
            if s["start_s"] <= t <= s["start_s"] + self.window_s and row * pitch <= y <= row * pitch + height:
                return i
        return None

    def gap_at(self, t: float) -> dict | None:
        """The left-out band under time ``t`` (s)."""
        return next((g for g in self.gaps if g["start_s"] <= t <= g["end_s"]), None)

    def describe(self, i: int) -> str:
        """What hovering over snippet ``i`` shows."""
        s = self.snippets[i]
        p = float(s["p_abnormal"])
        finding = f", {s['finding']}" if s.get("finding") and s.get("class") == "abnormal" else ""
        t0, t1 = seconds_text(s["start_s"]), seconds_text(s["start_s"] + self.window_s)
        text = (f"snippet {i + 1}: {t0}–{t1} s, P(abnormal) {p:.2f}{finding}"
                f" ({'borderline' if self.is_borderline(p) else s['class']})")
        if s.get("imputed_fraction", 0) > self.imputed_limit:
            text += f", {100 * s['imputed_fraction']:.0f} % imputed"
        review = self.reviews.get(i)
        if review:
            text += f"; reviewed: {review.get('mark')}" + (f" — {review['note']}" if review.get("note") else "")
        return text

    def _moved(self, pos) -> None:
        p = self.getPlotItem().vb.mapSceneToView(pos)
        i = self.snippet_at(p.x(), p.y())
        if i is not None:
            text = self.describe(i)
        else:
            g = self.gap_at(p.x())
            text = (f"left out {g['start_s']:.0f}–{g['end_s']:.0f} s: missing {', '.join(g['landmarks']) or 'data'}"
                    if g is not None and -0.6 <= p.y() <= 2.2 else "")
        self._hover(text)

    def _hover(self, text: str) -> None:
        if text == self.hover_info:
            return
        self.hover_info = text
        self.setToolTip(text)
        if self.on_hover is not None:
            self.on_hover(text)

    def _clicked(self, ev) -> None:
        if self.open_snippet is None:
            return
        p = self.getPlotItem().vb.mapSceneToView(ev.scenePos())
        i = self.snippet_at(p.x(), p.y())
        if i is not None:
            self.open_snippet(i)


class SimilarityView(pg.GraphicsLayoutWidget):
    """Cosine-similarity heatmap of snippet embeddings; rows are this infant's snippets, numbered
    from 1 like the timeline; a line divides the normal reference snippets from the abnormal ones.
    Hover shows the pair, click opens the row's snippet (``open_snippet(index)``)."""

    def __init__(self) -> None:
        super().__init__()
        self.setBackground((250, 250, 250))
        self.plot = self.addPlot()
        self.plot.invertY(True)
        self.img = pg.ImageItem()
        self.plot.addItem(self.img)
        self.bar = pg.ColorBarItem(values=(-1, 1), colorMap=pg.colormap.get("viridis"), label="cosine similarity")
        self.bar.setImageItem(self.img, insert_in=self.plot)
        self.names: list[str] = []
        self.col_names: list[str] = []
        self.sim = np.zeros((0, 0))
        self.divider: pg.InfiniteLine | None = None
        self.divider_at: int | None = None
        self.hover_text = pg.TextItem(color=(0, 0, 0), anchor=(0, 1), fill=pg.mkBrush(255, 255, 255, 220))
        self.hover_text.setZValue(20)
        self.plot.addItem(self.hover_text)
        self.open_snippet = None
        self.scene().sigMouseMoved.connect(self._moved)
        self.scene().sigMouseClicked.connect(self._clicked)
        self.clear_matrix("Run the assessment to compare this infant's snippets with the model's reference snippets.")

    def clear_matrix(self, title: str) -> None:
        """Show nothing, with ``title`` saying why."""
        self.set_matrix(np.zeros((0, 0)), [], title=title)

    def set_matrix(self, sim: np.ndarray, names: list[str], col_names: list[str] | None = None, title: str = "",
                   reference_labels: list[int] | None = None) -> None:
        """Rows: this infant's snippets (``names``); columns: ``col_names`` (default the same) with their
        ``reference_labels`` (0 normal, 1 abnormal; normal first) for the divider."""
        self.sim, self.names, self.col_names = sim, names, col_names or names
        if self.divider is not None:
            self.plot.removeItem(self.divider)
            self.divider = self.divider_at = None
        self.img.setImage(sim if sim.size else np.zeros((1, 1)), levels=(-1, 1))
        for item in (self.img, self.bar):
            item.setVisible(bool(sim.size))
        for axis in ("left", "bottom"):
            self.plot.showAxis(axis, bool(sim.size))
        self.plot.setTitle(title or f"Cosine similarity of {len(names)} snippets' embeddings")
        self.plot.setAspectLocked(col_names is None)
        n = len(names)
        step = max(1, int(np.ceil(n / 8)))
        self.plot.getAxis("left").setTicks([[(i + 0.5, str(i + 1)) for i in range(0, n, step)],
                                            [(i + 0.5, "") for i in range(n)]])
        self.plot.setLabel("left", "snippet")
        if col_names and reference_labels is not None and 0 < int(np.sum(np.asarray(reference_labels) == 0)) < len(col_names):
            self.divider_at = int(np.sum(np.asarray(reference_labels) == 0))
            self.divider = pg.InfiniteLine(pos=self.divider_at, angle=90, pen=pg.mkPen((255, 255, 255), width=3))
            self.plot.addItem(self.divider)
            self.plot.setLabel("bottom", f"reference snippets: normal (1–{self.divider_at}) | abnormal "
                                         f"({self.divider_at + 1}–{len(col_names)})")
        else:
            self.plot.setLabel("bottom", "reference snippets" if col_names else "this infant's snippets")
        if sim.size:
            self.plot.autoRange()

    def cell_at(self, scene_pos) -> tuple[int, int] | None:
        p = self.plot.vb.mapSceneToView(scene_pos)
        i, j = int(np.floor(p.y())), int(np.floor(p.x()))
        return (i, j) if 0 <= i < len(self.names) and 0 <= j < len(self.col_names) else None

    def pair_text(self, i: int, j: int) -> str:
        return f"snippet {i + 1} ({self.names[i]})  ×  {self.col_names[j]}: {self.sim[i, j]:.3f}"

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
