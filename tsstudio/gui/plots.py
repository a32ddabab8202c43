"""Small plotting helpers shared by the views: a class palette, a pool of persistent curves and
an STFT-magnitude spectrogram with real axes.

All items are created once and updated with `setData` / `setImage` (explicit levels), following
pyqtgraph's performance advice; nothing here computes more than one short STFT.
"""

from __future__ import annotations

import numpy as np

# PySide6 first so pyqtgraph binds to it.
# isort: off
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget
import pyqtgraph as pg
# isort: on

from tsstudio.models.stft import stft_magnitude

__all__ = ["CurveSet", "LogAxis", "SpectrogramPlot", "class_colors", "minor_log_labels", "stft_magnitude"]

# Tableau 10: distinguishable, colour-blind aware, readable on both dark and light backgrounds.
_PALETTE = (
    "#4E79A7",
    "#F28E2B",
    "#E15759",
    "#76B7B2",
    "#59A14F",
    "#EDC948",
    "#B07AA1",
    "#FF9DA7",
    "#9C755F",
    "#BAB0AC",
)

COLORMAP = "viridis"


def minor_log_labels(pixels_per_decade: float) -> tuple[int, ...]:
    """Which minor mantissas (2…9) of a log axis get a label, given the room one decade has."""
    if pixels_per_decade >= 240:
        return (2, 3, 5, 7)
    if pixels_per_decade >= 120:
        return (2, 5)
    if pixels_per_decade >= 60:
        return (5,)
    return ()


class LogAxis(pg.AxisItem):
    """An axis whose log mode labels decades always and minor ticks only where they have room.

    pyqtgraph labels every minor tick (0.2 … 0.9) when few decades are in view, so on a
    short plot the labels overprint each other; the tick lines themselves are kept.
    """

    def logTickStrings(self, values: list[float], scale: float, spacing: float | None) -> list[str]:  # noqa: N802
        strings = super().logTickStrings(values, scale, spacing)
        if spacing is not None:  # a level of whole decades
            return strings
        low, high = self.range
        extent = self.size().height() if self.orientation in ("left", "right") else self.size().width()
        keep = (1, *minor_log_labels(extent / max(high - low, 1e-9)))  # this level can hold the decades too
        mantissas = [round(10 ** (v - np.floor(v + 1e-9))) for v in values]
        return [s if m in keep else "" for s, m in zip(strings, mantissas)]


def class_colors(n: int) -> list[QColor]:
    """`n` fixed colours, one per class id: the same class always gets the same colour."""
    colors = [QColor(c) for c in _PALETTE[: max(n, 0)]]
    for i in range(len(_PALETTE), n):  # beyond ten classes: evenly spaced hues, still deterministic
        colors.append(QColor.fromHsvF(((i - len(_PALETTE)) * 0.618034) % 1.0, 0.55, 0.9))
    return colors


class CurveSet:
    """A growable pool of persistent curves in one plot; `set_data` reuses them and hides the rest."""

    def __init__(self, plot: pg.PlotItem, clickable: bool = False) -> None:
        self.plot = plot
        self.clickable = clickable
        self.items: list[pg.PlotDataItem] = []
        self._n = 0
        self._on_click = None

    def on_click(self, callback) -> None:
        """Call `callback(i)` with the curve's position in the last `set_data` when a curve is clicked."""
        self._on_click = callback

    def _grow(self, n: int) -> None:
        while len(self.items) < n:
            item = pg.PlotDataItem(skipFiniteCheck=True)
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
            item.setCurveClickable(self.clickable, width=6)
            position = len(self.items)
            item.sigClicked.connect(lambda *_args, i=position: self._clicked(i))
            self.plot.addItem(item)
            self.items.append(item)

    def _clicked(self, i: int) -> None:
        if self._on_click is not None and i < self._n:
            self._on_click(i)

    def set_data(self, ys: np.ndarray, pens: list, x: np.ndarray | None = None) -> None:
        """Show one curve per row of `ys` (n, L) with `pens[i]`; curves beyond n are emptied and hidden."""
        ys = np.atleast_2d(np.asarray(ys, dtype=np.float32))
        n = ys.shape[0] if ys.size else 0
        self._grow(n)
        xs = np.arange(ys.shape[1], dtype=np.float32) if x is None else x
        for i, item in enumerate(self.items):
            if i < n:
                item.setData(xs, ys[i], pen=pens[i])
                item.setVisible(True)
            elif item.isVisible():
                item.setData([], [])
                item.setVisible(False)
        self._n = n

    def count(self) -> int:
        """Number of curves shown."""
        return self._n

    def data(self, i: int) -> np.ndarray:
        """y values of curve `i` as drawn."""
        return np.asarray(self.items[i].yData)


class SpectrogramPlot(pg.PlotWidget):
    """STFT magnitude as an image: x in time frames, y in frequency bins, viridis, explicit levels."""

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.plot_item: pg.PlotItem = self.getPlotItem()
        if title:
            self.plot_item.setTitle(title)
        self.plot_item.setLabel("bottom", "time frame")
        self.plot_item.setLabel("left", "frequency bin")
        self.plot_item.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot_item.addItem(self.image)
        self.colormap = pg.colormap.get(COLORMAP)
        self.image.setColorMap(self.colormap)
        self.colorbar = pg.ColorBarItem(colorMap=self.colormap, interactive=False, width=12, colorMapMenu=False)
        self.colorbar.setImageItem(self.image, insert_in=self.plot_item)
        self.setMinimumHeight(120)
        self._levels = (0.0, 1.0)

    def set_series(self, x: np.ndarray, n_fft: int = 8, hop: int = 2, levels: tuple[float, float] | None = None) -> np.ndarray:
        """Show |STFT| of one series (L,); returns the (F, T) magnitude drawn."""
        mag = stft_magnitude(x, n_fft, hop)
        self.set_image(mag, levels)
        return mag

    def set_image(self, mag: np.ndarray, levels: tuple[float, float] | None = None) -> None:
        """Show a precomputed (F, T) magnitude; levels default to (0, max) of the image."""
        mag = np.ascontiguousarray(np.nan_to_num(mag, nan=0.0, posinf=0.0, neginf=0.0), dtype=np.float32)
        if levels is None:
            high = float(mag.max()) if mag.size else 1.0
            levels = (0.0, high if high > 0 else 1.0)
        self._levels = (float(levels[0]), float(levels[1]))
        self.image.setImage(mag, autoLevels=False, levels=self._levels)
        self.colorbar.setLevels(self._levels)  # the bar pushes its levels to the image: keep them in step
        f, t = mag.shape if mag.ndim == 2 else (0, 0)
        # pixel centres land on integer frames and bins
        self.image.setRect(QRectF(-0.5, -0.5, max(t, 1), max(f, 1)))
        self.plot_item.setRange(xRange=(-0.5, t - 0.5), yRange=(-0.5, f - 0.5), padding=0)

    def clear_image(self) -> None:
        """Show nothing (e.g. no series selected)."""
        self.image.clear()

    def image_data(self) -> np.ndarray | None:
        """The (F, T) array shown, or None."""
        return self.image.image

    def levels(self) -> tuple[float, float]:
        """The explicit (low, high) levels of the image."""
        low, high = self.image.getLevels()
        return float(low), float(high)
