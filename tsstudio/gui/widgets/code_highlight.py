"""Where one code occurs: a token grid that dims every other cell and outlines the code's cells,
and a spectrogram that outlines the frequency × time regions those cells stand for.

Both compose the Sampler's widgets (`TokenGridPlot`, `SpectrogramPlot`) without changing them:
the highlight is one extra image (dimming) and one NaN-separated outline curve per plot.
"""

from __future__ import annotations

import numpy as np

# isort: off
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QWidget
import pyqtgraph as pg
# isort: on

from tsstudio.gui.plots import SpectrogramPlot
from tsstudio.gui.widgets.token_grid import TokenGridPlot

HIGHLIGHT_COLORS = {"dark": "#ffffff", "light": "#000000"}  # outlines stand out on the theme
DIM_RGBA = {"dark": (30, 31, 34, 190), "light": (255, 255, 255, 190)}  # the plot background, mostly opaque


def cell_outlines(cells: np.ndarray, cell_w: float = 1.0, cell_h: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """NaN-separated x, y of one rectangle per (h, w) cell, each `cell_w` × `cell_h` centred on w, h."""
    cells = np.asarray(cells).reshape(-1, 2)
    xs, ys = [], []
    for h, w in cells:
        x0, x1 = (w - 0.5) * cell_w, (w + 0.5) * cell_w
        y0, y1 = (h - 0.5) * cell_h, (h + 0.5) * cell_h
        xs += [x0, x1, x1, x0, x0, np.nan]
        ys += [y0, y0, y1, y1, y0, np.nan]
    return np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)


class CodeTokenGrid(TokenGridPlot):
    """A token grid where `set_code(k)` dims every cell but those holding code k, and outlines them."""

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.dim = pg.ImageItem(axisOrder="row-major")
        self.dim.setZValue(5)
        self.plot_item.addItem(self.dim)
        self.outline = pg.PlotDataItem(connect="finite", pen=pg.mkPen(HIGHLIGHT_COLORS["dark"], width=2))
        self.outline.setZValue(6)
        self.plot_item.addItem(self.outline)
        self._code: int | None = None
        self._theme = "dark"
        self._mask = np.zeros((0, 0), dtype=bool)  # cells drawn as highlighted

    def set_tokens(self, tokens: np.ndarray | None) -> None:
        super().set_tokens(tokens)
        self._draw_highlight()

    def set_code(self, code: int | None) -> None:
        """Highlight code `code` (None: no highlight)."""
        self._code = None if code is None else int(code)
        self._draw_highlight()

    def code(self) -> int | None:
        """The highlighted code, or None."""
        return self._code

    def set_theme(self, name: str) -> None:
        """Dimming and outline colours that suit the `dark` or `light` background."""
        self._theme = name
        self.outline.setPen(pg.mkPen(HIGHLIGHT_COLORS.get(name, HIGHLIGHT_COLORS["dark"]), width=2))
        self._draw_highlight()

    def highlighted_cells(self) -> np.ndarray:
        """(M, 2) (frequency row, time column) of the cells drawn highlighted, row-major order."""
        return np.argwhere(self._mask)

    def _draw_highlight(self) -> None:
        tokens = self._tokens
        if self._code is None or not tokens.size:
            self._mask = np.zeros(tokens.shape, dtype=bool)
            self.dim.clear()
            self.outline.setData([], [])
            return
        self._mask = tokens == self._code
        h, w = tokens.shape
        rgba = np.zeros((h, w, 4), dtype=np.uint8)
        rgba[~self._mask] = DIM_RGBA.get(self._theme, DIM_RGBA["dark"])
        self.dim.setImage(rgba, autoLevels=False, levels=(0, 255))
        self.dim.setRect(QRectF(-0.5, -0.5, w, h))
        xs, ys = cell_outlines(np.argwhere(self._mask))
        self.outline.setData(xs, ys)


class CodeSpectrogram(SpectrogramPlot):
    """A spectrogram with the regions of some token-grid cells outlined (`set_cells`)."""

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.outline = pg.PlotDataItem(connect="finite", pen=pg.mkPen(HIGHLIGHT_COLORS["dark"], width=2))
        self.outline.setZValue(6)
        self.plot_item.addItem(self.outline)
        self._cells = np.zeros((0, 2), dtype=np.int64)
        self._grid = (1, 1)

    def set_theme(self, name: str) -> None:
        """An outline colour that suits the `dark` or `light` background."""
        self.outline.setPen(pg.mkPen(HIGHLIGHT_COLORS.get(name, HIGHLIGHT_COLORS["dark"]), width=2))

    def set_cells(self, cells: np.ndarray, grid: tuple[int, int]) -> None:
        """Outline the (h, w) cells of an H × W token grid on the image (each covers F/H bins, T/W frames)."""
        self._cells = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
        self._grid = (max(int(grid[0]), 1), max(int(grid[1]), 1))
        self._draw_outline()

    def set_image(self, mag: np.ndarray, levels: tuple[float, float] | None = None) -> None:
        super().set_image(mag, levels)
        if hasattr(self, "outline"):
            self._draw_outline()

    def outlined_regions(self) -> list[tuple[float, float, float, float]]:
        """(time from, time to, frequency from, frequency to) of each outlined region, in image coordinates."""
        f, t = self._shape()
        ch, cw = f / self._grid[0], t / self._grid[1]
        return [(w * cw - 0.5, (w + 1) * cw - 0.5, h * ch - 0.5, (h + 1) * ch - 0.5) for h, w in self._cells]

    def _shape(self) -> tuple[int, int]:
        image = self.image.image
        return (image.shape[0], image.shape[1]) if image is not None and image.ndim == 2 else (0, 0)

    def _draw_outline(self) -> None:
        f, t = self._shape()
        if not len(self._cells) or not f:
            self.outline.setData([], [])
            return
        xs, ys = [], []
        for x0, x1, y0, y1 in self.outlined_regions():
            xs += [x0, x1, x1, x0, x0, np.nan]
            ys += [y0, y0, y1, y1, y0, np.nan]
        self.outline.setData(np.asarray(xs), np.asarray(ys))
