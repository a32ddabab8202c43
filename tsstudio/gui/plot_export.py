"""Plots to PNG or SVG through pyqtgraph's exporters, written atomically (no partial file on failure)."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters as pg_exporters
from PySide6.QtWidgets import QWidget

from tsstudio.errors import TsstudioError

FORMATS = (".png", ".svg")
PNG_WIDTH = 1600  # px; a plot on screen is smaller, an export for a paper wants more


def plot_widgets_in(root: QWidget) -> list[pg.GraphicsView]:
    """The visible pyqtgraph plots (PlotWidget, GraphicsLayoutWidget) under `root`, in layout order."""
    found = [w for w in root.findChildren(pg.GraphicsView) if w.isVisibleTo(root)]
    return [w for w in found if isinstance(w, (pg.PlotWidget, pg.GraphicsLayoutWidget))]


def plot_title(widget: pg.GraphicsView) -> str:
    """A readable name for a plot: its title text (without markup), or its class name."""
    items = [widget.getPlotItem()] if isinstance(widget, pg.PlotWidget) else [
        i for i in widget.ci.items if isinstance(i, pg.PlotItem)] if isinstance(widget, pg.GraphicsLayoutWidget) else []
    for item in items:
        text = re.sub(r"<[^>]+>", "", item.titleLabel.text or "").strip()
        if text:
            return text
    return widget.objectName() or type(widget).__name__


@contextlib.contextmanager
def _closed_paths_understood() -> Iterator[None]:
    """While exporting SVG, drop the close-path `Z` commands that pyqtgraph 0.14's coordinate
    correction cannot parse (pyqtgraph#3495: every plot's view-box rectangle is a closed path).

    Each such path already ends where it started, so the drawing is unchanged. The exporter
    module's function is swapped only for the duration of one export, on the UI thread.
    """
    module = sys.modules[pg_exporters.SVGExporter.__module__]
    original = module.correctCoordinates

    def correct(node, defs, item, options):  # noqa: ANN001, ANN202 - pyqtgraph's signature
        for path in node.getElementsByTagName("path"):
            d = path.getAttribute("d")
            if "Z" in d or "z" in d:
                path.setAttribute("d", " ".join(t for t in d.split() if t not in ("Z", "z")))
        return original(node, defs, item, options)

    module.correctCoordinates = correct
    try:
        yield
    finally:
        module.correctCoordinates = original


def export_plot(widget: pg.GraphicsView, path: str | os.PathLike[str], width: int = PNG_WIDTH) -> Path:
    """Write `widget`'s plot to `path` (.png or .svg, by its suffix); returns the path.

    Raises TsstudioError for another suffix; a failed export leaves no file.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FORMATS:
        raise TsstudioError(f"{target.name}: expected a .png or .svg file name")
    item = widget.getPlotItem() if isinstance(widget, pg.PlotWidget) else widget.scene()
    tmp = target.with_name(f".{target.stem}.partial{suffix}")  # the suffix tells Qt the image format
    try:
        if suffix == ".png":
            exporter = pg_exporters.ImageExporter(item)
            exporter.parameters()["width"] = int(width)
            exporter.export(str(tmp))
        else:
            with _closed_paths_understood():
                pg_exporters.SVGExporter(item).export(str(tmp))
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise TsstudioError(f"{target.name}: the plot could not be exported")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target
