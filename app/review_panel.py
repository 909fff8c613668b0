"""The review list: cleaning's one review queue (what the cleaner removed, filled, put back or could
not fix), with navigation (``N`` / ``Shift+N``) and "mark reviewed" recorded in the case."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from gmdesk.pipeline.review import ReviewItem

KIND_NAMES = {"gap": "gap", "side_swap": "side swap", "swap": "swap", "long_fill": "long fill", "outlier": "outlier",
              "low_likelihood": "low lik.", "missing": "missing"}


def frame_order(item: ReviewItem) -> tuple:
    """Order of ``N`` / ``Shift+N``: by first frame, then most important first."""
    return (item.start, -item.importance, item.landmark, item.kind)


def step_item(items: list[ReviewItem], frame: int, current: ReviewItem | None, direction: int) -> ReviewItem | None:
    """The review item ``N`` (``direction`` +1) or ``Shift+N`` (-1) goes to from ``frame``.

    Items are visited by first frame; several starting on the same frame are visited one after
    the other. ``current`` is the item last visited, if the view is still on its first frame.
    """
    order = sorted(items, key=frame_order)
    if current is not None and current.start == frame:
        here = frame_order(current)
        after = [it for it in order if frame_order(it) > here]
        before = [it for it in order if frame_order(it) < here]
    else:
        after = [it for it in order if it.start >= frame]
        before = [it for it in order if it.start < frame]
    if direction > 0:
        return after[0] if after else None
    return before[-1] if before else None


class ReviewPanel(QtWidgets.QWidget):
    """A table of review items (landmark, frames, kind, confidence), most important first; the item
    being looked at (``current``), ``N``/``Shift+N`` order and "mark reviewed".

    Signals
    -------
    activated(object)
        The user picked an item (click or keyboard): the window seeks to it.
    mark_requested()
        "Mark reviewed" was pressed for the current item.
    """

    activated = QtCore.Signal(object)
    mark_requested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = None
        self.items: list[ReviewItem] = []
        self.reviewed: set[str] = set()
        self.current: ReviewItem | None = None
        self.title = QtWidgets.QLabel("Review: no case open")
        self.table = QtWidgets.QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["landmark", "frames", "kind", "conf."])
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(True)  # a swap's two landmarks wrap onto a second line instead of being cut off
        self.table.verticalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        for c in (1, 2, 3):
            hh.setSectionResizeMode(c, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # keys stay with the editor's shortcuts
        self.table.itemClicked.connect(self._clicked)
        self.show_done = QtWidgets.QCheckBox("show reviewed")
        self.show_done.toggled.connect(lambda _: self._fill())
        self.mark_button = QtWidgets.QPushButton("Mark reviewed (M)")
        self.mark_button.clicked.connect(self.mark_requested)
        self.detail = QtWidgets.QLabel()
        self.detail.setWordWrap(True)
        self.detail.setMinimumHeight(32)
        self.detail.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.mark_button)
        row.addWidget(self.show_done)
        row.addStretch()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.title)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.detail)
        lay.addLayout(row)
        self.setMinimumWidth(240)

    def set_session(self, session) -> None:
        """Show ``session``'s review queue (None: nothing open)."""
        self.session = session
        self.current = None
        self.set_items(session.review if session else [], session.reviewed_keys() if session else set())

    def step(self, frame: int, direction: int) -> ReviewItem | None:
        """The open item ``N`` (+1) or ``Shift+N`` (-1) goes to from ``frame`` (None: no more)."""
        if self.session is None:
            return None
        return step_item(self.session.open_items(), frame, self.current, direction)

    def mark_current(self) -> ReviewItem | None:
        """Record in the case that the current item was reviewed; it leaves the queue. Returns it
        (None when there is no current item or it was reviewed already)."""
        item, s = self.current, self.session
        if s is None or item is None or item.key in s.reviewed_keys():
            return None
        s.mark_reviewed(item)
        self.set_items(s.review, s.reviewed_keys())
        return item

    def set_items(self, items: list[ReviewItem], reviewed: set[str]) -> None:
        """Show ``items`` (queue order); ``reviewed`` are the keys already marked reviewed."""
        self.items, self.reviewed = list(items), set(reviewed)
        if self.current is not None and self.current.key not in {it.key for it in self.items}:
            self.current = None
        self._fill()

    def _visible(self) -> list[ReviewItem]:
        return [it for it in self.items if self.show_done.isChecked() or it.key not in self.reviewed]

    def _fill(self) -> None:
        shown = self._visible()
        left = sum(it.key not in self.reviewed for it in self.items)
        self.title.setText(f"Review: {left} of {len(self.items)} items left" if self.items else
                           "Review: nothing to review")
        self.table.setRowCount(len(shown))
        grey = QtGui.QBrush(QtGui.QColor(150, 150, 150))
        for r, it in enumerate(shown):
            cells = [it.landmark, f"{it.start}–{it.stop - 1}", KIND_NAMES.get(it.kind, it.kind), f"{it.confidence:.2f}"]
            for c, text in enumerate(cells):
                cell = QtWidgets.QTableWidgetItem(("✓ " if c == 0 and it.key in self.reviewed else "") + text)
                cell.setData(QtCore.Qt.ItemDataRole.UserRole, it.key)
                cell.setToolTip(it.detail)
                if it.key in self.reviewed:
                    cell.setForeground(grey)
                self.table.setItem(r, c, cell)
        self._select_current()

    def _select_current(self) -> None:
        self.table.blockSignals(True)
        self.table.clearSelection()
        if self.current is not None:
            for r in range(self.table.rowCount()):
                if self.table.item(r, 0).data(QtCore.Qt.ItemDataRole.UserRole) == self.current.key:
                    self.table.selectRow(r)
                    self.table.scrollToItem(self.table.item(r, 0))
                    break
        self.table.blockSignals(False)
        self.detail.setText(self.current.detail if self.current is not None else "")
        self.mark_button.setEnabled(self.current is not None and self.current.key not in self.reviewed)

    def set_current(self, item: ReviewItem | None) -> None:
        """Highlight ``item`` (the one the view is on) without emitting ``activated``."""
        self.current = item
        self._select_current()

    def item_for_row(self, row: int) -> ReviewItem:
        key = self.table.item(row, 0).data(QtCore.Qt.ItemDataRole.UserRole)
        return next(it for it in self.items if it.key == key)

    def _clicked(self, cell: QtWidgets.QTableWidgetItem) -> None:
        item = self.item_for_row(cell.row())
        self.set_current(item)
        self.activated.emit(item)
