"""A token grid (frequency × time) as an image, one colour per code, masked cells in grey.

Hovering a cell tells its position and code id (tooltip and `hovered` signal). The image is an
RGBA array built from a fixed code palette, so no level or lookup-table state can drift.
"""

from __future__ import annotations

import numpy as np

# isort: off
from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget
import pyqtgraph as pg
# isort: on

MASKED_RGBA = (128, 128, 128, 255)


def code_palette(codebook_size: int) -> np.ndarray:
    """(K, 4) uint8 colours, one per code id: golden-ratio hues at two lightness levels, deterministic."""
    colors = np.empty((max(codebook_size, 1), 4), dtype=np.uint8)
    for k in range(len(colors)):
        c = QColor.fromHsvF((k * 0.618034) % 1.0, 0.65 if k % 2 else 0.85, 0.95 if k % 2 else 0.75)
        colors[k] = (c.red(), c.green(), c.blue(), 255)
    return colors


class TokenGridPlot(pg.PlotWidget):
    """Token ids (H, W), -1 where still masked; rows are frequency bands (low at the bottom)."""

    hovered = Signal(str)

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.plot_item: pg.PlotItem = self.getPlotItem()
        if title:
            self.plot_item.setTitle(title)
        self.plot_item.setLabel("bottom", "time")
        self.plot_item.setLabel("left", "frequency")
        self.plot_item.setMenuEnabled(False)
        self.plot_item.getViewBox().setMouseEnabled(False, False)
        self.plot_item.hideButtons()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot_item.addItem(self.image)
        self._tokens = np.zeros((0, 0), dtype=np.int64)
        self._palette = code_palette(32)
        self.setMinimumSize(160, 110)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)

    def set_codebook_size(self, codebook_size: int) -> None:
        """Colours for `codebook_size` codes (call before `set_tokens` when the prior changes)."""
        self._palette = code_palette(codebook_size)

    def set_tokens(self, tokens: np.ndarray | None) -> None:
        """Show a (H, W) grid of code ids (-1 = masked), or nothing."""
        if tokens is None or not np.size(tokens):
            self._tokens = np.zeros((0, 0), dtype=np.int64)
            self.image.clear()
            return
        tokens = np.asarray(tokens, dtype=np.int64)
        self._tokens = tokens.copy()
        rgba = np.empty((*tokens.shape, 4), dtype=np.uint8)
        masked = tokens < 0
        rgba[masked] = MASKED_RGBA
        rgba[~masked] = self._palette[np.clip(tokens[~masked], 0, len(self._palette) - 1)]
        self.image.setImage(rgba, autoLevels=False, levels=(0, 255))
        h, w = tokens.shape
        self.image.setRect(QRectF(-0.5, -0.5, w, h))
        self.plot_item.setRange(xRange=(-0.5, w - 0.5), yRange=(-0.5, h - 0.5), padding=0)

    def tokens(self) -> np.ndarray:
        """The grid shown (a copy)."""
        return self._tokens.copy()

    def masked_count(self) -> int:
        """Cells shown as masked."""
        return int((self._tokens < 0).sum())

    def describe(self, x: float, y: float) -> str:
        """What the cell at plot coordinates (x = time, y = frequency) holds, or '' outside the grid."""
        if not self._tokens.size:
            return ""
        row, col = int(round(y)), int(round(x))
        h, w = self._tokens.shape
        if not (0 <= row < h and 0 <= col < w):
            return ""
        code = int(self._tokens[row, col])
        return f"frequency {row}, time {col}: " + ("masked" if code < 0 else f"code {code}")

    def _on_mouse_moved(self, pos: QPointF) -> None:
        point = self.plot_item.getViewBox().mapSceneToView(pos)
        text = self.describe(point.x(), point.y())
        self.setToolTip(text)
        self.hovered.emit(text)
