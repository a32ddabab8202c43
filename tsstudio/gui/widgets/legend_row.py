"""A plot's legend in a row of its own above the data, so it never covers a curve.

pyqtgraph puts a legend inside the view box, where it hides whatever is drawn under it (the end
of a reconstruction, the start of a loss curve). Here the legend takes the plot item's title row
(the plots using it have their captions outside the plot), right-aligned, and the row is exactly
as tall as the legend's entries need; the view box keeps the rest.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy

TITLE_ROW = 0  # the row of pyqtgraph's PlotItem layout holding its title label


def legend_above(plot: pg.PlotItem, columns: int = 3, text_size: str = "8pt") -> pg.LegendItem:
    """Give `plot` a legend in its title row (named items added later join it, as with `addLegend`)."""
    plot.layout.removeItem(plot.titleLabel)
    plot.titleLabel.hide()
    legend = pg.LegendItem(offset=None, labelTextSize=text_size, colCount=columns)
    legend.setParentItem(plot)
    legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    plot.layout.addItem(legend, TITLE_ROW, 1)
    plot.layout.setAlignment(legend, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    plot.legend = legend
    fit_legend(plot)
    return legend


def fit_legend(plot: pg.PlotItem) -> float:
    """Make the legend row as tall as its entries (0 without any); returns that height in pixels."""
    legend = plot.legend
    if legend is None:
        return 0.0
    legend.updateSize()
    height = float(legend.layout.preferredHeight()) if legend.items else 0.0
    legend.setVisible(bool(legend.items))
    plot.layout.setRowFixedHeight(TITLE_ROW, height)
    return height


def legend_clear_of_data(plot: pg.PlotItem) -> bool:
    """True when the legend lies wholly above the view box (the data area): it covers no data."""
    legend = plot.legend
    if legend is None or not legend.isVisible():
        return True
    box = plot.vb.mapRectToScene(plot.vb.boundingRect())
    return legend.mapRectToScene(legend.boundingRect()).bottom() <= box.top() + 0.5
