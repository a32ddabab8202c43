"""Small multiples: many series in one plot, one cell each, coloured by class; click selects.

All series are drawn by one curve per class (NaN-separated), so showing 64 or 256 generations costs
a handful of items, not one plot per series. Every cell shares one y-scale, so amplitudes compare.
"""

from __future__ import annotations

import math

import numpy as np

# isort: off
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsRectItem, QWidget
import pyqtgraph as pg
# isort: on

from tsstudio.gui.plots import class_colors

UNCONDITIONAL_COLOR = "#9aa0a6"
LEGEND_PX = 44  # height of the class legend over the grid
MARGIN = 0.06


def grid_shape(n: int, aspect: float = 1.6) -> tuple[int, int]:
    """(rows, columns) for n cells in a region `aspect` times wider than high."""
    if n <= 0:
        return 0, 0
    cols = max(1, min(n, math.ceil(math.sqrt(n * aspect))))
    return math.ceil(n / cols), cols


class SeriesGrid(pg.PlotWidget):
    """Series (N, L) in a grid of cells; `selected(i)` when a cell is clicked."""

    selected = Signal(int)

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.plot_item: pg.PlotItem = self.getPlotItem()
        if title:
            self.plot_item.setTitle(title)
        self.plot_item.setMenuEnabled(False)
        self.plot_item.hideAxis("left")
        self.plot_item.hideAxis("bottom")
        self.plot_item.hideButtons()
        self.plot_item.getViewBox().setMouseEnabled(False, False)
        self.plot_item.getViewBox().setDefaultPadding(0.01)
        self.frames = pg.PlotDataItem(connect="finite", pen=pg.mkPen(QColor(128, 128, 128, 70), width=1))
        self.plot_item.addItem(self.frames)
        self.curves: dict[int, pg.PlotDataItem] = {}
        self.legend = self.plot_item.addLegend(offset=(4, 4), labelTextSize="8pt", colCount=4)
        self.highlight = QGraphicsRectItem()
        self.highlight.setPen(pg.mkPen("#ffcc33", width=2.5, cosmetic=True))
        self.highlight.setZValue(10)
        self.highlight.setVisible(False)
        self.plot_item.addItem(self.highlight)
        self._n, self._cols, self._rows = 0, 1, 0
        self._classes = np.zeros(0, dtype=np.int64)
        self._current = -1
        self.setMinimumSize(240, 160)
        self.scene().sigMouseClicked.connect(self._on_click)

    def set_series(self, series: np.ndarray, classes: np.ndarray, class_names: list[str] | None = None) -> None:
        """Show `series` (N, L) with `classes` (N,) (-1 = unconditional); names label the legend."""
        series = np.asarray(series, dtype=np.float64)
        classes = np.asarray(classes, dtype=np.int64)
        n = len(series)
        self._n, self._classes = n, classes.copy()
        self._rows, self._cols = grid_shape(n)
        self.legend.clear()
        for curve in self.curves.values():
            curve.setData([], [])
            curve.setVisible(False)
        if n == 0:
            self.frames.setData([], [])
            self.highlight.setVisible(False)
            return
        length = series.shape[1]
        finite = series[np.isfinite(series)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        span = hi - lo if hi > lo else 1.0
        t = np.linspace(MARGIN, 1 - MARGIN, length)
        palette = class_colors(max(int(classes.max()) + 1, 1))
        for c in np.unique(classes):
            members = np.flatnonzero(classes == c)
            xs = np.full((len(members), length + 1), np.nan)
            ys = np.full((len(members), length + 1), np.nan)
            for j, i in enumerate(members):
                row, col = divmod(int(i), self._cols)
                xs[j, :length] = col + t
                ys[j, :length] = -row - 1 + MARGIN + (series[i] - lo) / span * (1 - 2 * MARGIN)
            curve = self.curves.get(int(c))
            if curve is None:
                curve = self.curves[int(c)] = pg.PlotDataItem(connect="finite", skipFiniteCheck=False)
                self.plot_item.addItem(curve)
            color = QColor(UNCONDITIONAL_COLOR) if c < 0 else palette[int(c)]
            curve.setData(xs.ravel(), ys.ravel(), pen=pg.mkPen(color, width=1.2))
            curve.setVisible(True)
            name = "unconditional" if c < 0 else (class_names[int(c)] if class_names and c < len(class_names) else str(c))
            self.legend.addItem(curve, f"class {name}" if c >= 0 else name)
        self._draw_frames()
        # room above the first row for the legend (about 44 px), so it never covers a series
        headroom = max(0.35, LEGEND_PX * self._rows / max(self.height() - LEGEND_PX, 1))
        self.plot_item.setRange(xRange=(0, self._cols), yRange=(-self._rows, headroom), padding=0.01)
        self.select(min(max(self._current, 0), n - 1), emit=False)

    def _draw_frames(self) -> None:
        xs, ys = [], []
        for i in range(self._n):
            row, col = divmod(i, self._cols)
            x0, y0 = col + 0.02, -row - 1 + 0.02
            x1, y1 = col + 0.98, -row - 0.02
            xs += [x0, x1, x1, x0, x0, np.nan]
            ys += [y0, y0, y1, y1, y0, np.nan]
        self.frames.setData(np.asarray(xs), np.asarray(ys))

    def set_highlight_color(self, color: str) -> None:
        """Colour of the selected cell's frame (pick one that stands out on the theme's background)."""
        self.highlight.setPen(pg.mkPen(color, width=2.5, cosmetic=True))

    def count(self) -> int:
        """Series shown."""
        return self._n

    def classes(self) -> np.ndarray:
        """Class id of each series shown."""
        return self._classes.copy()

    def current(self) -> int:
        """The selected cell, -1 when none."""
        return self._current if self._n else -1

    def cell_at(self, x: float, y: float) -> int:
        """Index of the series whose cell holds plot point (x, y), or -1."""
        col, row = math.floor(x), math.floor(-y)
        if not (0 <= col < self._cols and 0 <= row < self._rows):
            return -1
        i = row * self._cols + col
        return i if i < self._n else -1

    def select(self, i: int, emit: bool = True) -> None:
        """Highlight cell `i` (and tell listeners when `emit`)."""
        if not 0 <= i < self._n:
            return
        self._current = i
        row, col = divmod(i, self._cols)
        self.highlight.setRect(QRectF(col + 0.01, -row - 1 + 0.01, 0.98, 0.98))
        self.highlight.setVisible(True)
        if emit:
            self.selected.emit(i)

    def _on_click(self, event) -> None:  # noqa: ANN001 (pyqtgraph's MouseClickEvent)
        if event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.plot_item.getViewBox().mapSceneToView(event.scenePos())
        i = self.cell_at(point.x(), point.y())
        if i >= 0:
            self.select(i)
