"""Token browser: a token export's grids, one series at a time, with code ids on hover.

Opens files written by `tsstudio export-tokens` or the runs list's "Export tokens…"; pick the
split and the series, see its (frequency × time) grid and how often the split uses each code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

# isort: off
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget
import pyqtgraph as pg
# isort: on

from tsstudio.gui.datasets_view import run_in_thread
from tsstudio.gui.theme import CURVE_COLORS, style_plot
from tsstudio.gui.widgets.token_grid import TokenGridPlot
from tsstudio.store.class_labels import class_name, recorded_class_labels
from tsstudio.store.exports import TokenExport, read_token_export

USAGE_TITLE = "code usage in the split (highlighted: the codes of the series shown)"
EMPTY_TEXT = "Open a token export from the runs list (Other files) to browse its token grids."


class TokenBrowserView(QWidget):
    """Split and series pickers over a loaded `TokenExport`, its grid and the split's code usage."""

    loaded = Signal(str)  # path, once a file is shown

    def __init__(self, controller: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.export: TokenExport | None = None
        self.path: Path | None = None
        self._token = 0

        self.facts = QLabel(EMPTY_TEXT)
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.split_combo = QComboBox()
        self.split_combo.currentTextChanged.connect(lambda _: self._on_split())
        self.series_spin = QSpinBox()
        self.series_spin.setMinimum(0)
        self.series_spin.setMaximum(0)
        self.series_spin.valueChanged.connect(lambda _: self._show())
        self.class_label = QLabel("")
        self.hover_label = QLabel("Hover a cell to see its code id.")

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Split"))
        controls.addWidget(self.split_combo)
        controls.addSpacing(12)
        controls.addWidget(QLabel("Series"))
        controls.addWidget(self.series_spin)
        controls.addWidget(self.class_label)
        controls.addStretch(1)
        controls.addWidget(self.hover_label)

        self.grid = TokenGridPlot("token grid")
        self.grid.hovered.connect(lambda text: self.hover_label.setText(text or "Hover a cell to see its code id."))
        self.usage_plot = pg.PlotWidget()
        self.usage_plot.getPlotItem().setTitle(USAGE_TITLE)
        self.usage_plot.getPlotItem().setLabel("bottom", "code id")
        self.usage_plot.getPlotItem().setLabel("left", "% of cells")
        self.usage_plot.getPlotItem().getAxis("left").enableAutoSIPrefix(False)
        self.usage_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=CURVE_COLORS[0])
        self.usage_plot.addItem(self.usage_bars)
        self.current_code = pg.BarGraphItem(x=[], height=[], width=0.8, brush=CURVE_COLORS[1])
        self.usage_plot.addItem(self.current_code)
        self.usage_plot.setMaximumHeight(220)

        layout = QVBoxLayout(self)
        layout.addWidget(self.facts)
        layout.addLayout(controls)
        layout.addWidget(self.grid, 3)
        layout.addWidget(self.usage_plot, 1)
        self._set_enabled(False)

    def plot_widgets(self) -> list[pg.PlotWidget]:
        return [self.grid, self.usage_plot]

    def set_theme(self, name: str) -> None:
        for widget in self.plot_widgets():
            style_plot(widget, name)

    # ------------------------------------------------------------------ loading
    def open_path(self, path: str | os.PathLike[str]) -> None:
        """Read a token export on a pool thread and show it; a bad file gets one message line."""
        self._token += 1
        target = Path(path)
        self.facts.setText(f"Loading {target.name}…")
        run_in_thread(lambda: (target, read_token_export(target)), self._token, self._on_loaded)

    def _on_loaded(self, answer: tuple[int, Any, str]) -> None:
        token, result, error = answer
        if token != self._token:
            return
        if result is None:
            self.facts.setText(error)
            return
        self.show_export(*result)

    def show_export(self, path: Path, export: TokenExport) -> None:
        """Show an already loaded export (the first split, series 0)."""
        self.path, self.export = Path(path), export
        attrs = export.attrs
        splits = list(export.tokens)
        counts = ", ".join(f"{s} {len(export.tokens[s])}" for s in splits)
        h, w = next(iter(export.tokens.values())).shape[1:] if splits else (0, 0)
        tokenizer = Path(str(attrs.get("tokenizer_run", ""))).stem
        self.facts.setText(
            f"<b>{self.path.name}</b> — tokenizer {tokenizer} (step {attrs.get('tokenizer_step', '?')}), "
            f"dataset {attrs.get('dataset', '?')}, splits {counts}, grid {h} × {w}, "
            f"codebook {len(export.codebook)} codes"
        )
        self.grid.set_codebook_size(len(export.codebook))
        self.split_combo.blockSignals(True)
        self.split_combo.clear()
        self.split_combo.addItems(splits)
        self.split_combo.blockSignals(False)
        self._set_enabled(bool(splits))
        self._on_split()
        self.loaded.emit(str(self.path))

    def _set_enabled(self, on: bool) -> None:
        for w in (self.split_combo, self.series_spin):
            w.setEnabled(on)

    # ------------------------------------------------------------------ showing
    def split(self) -> str:
        return self.split_combo.currentText()

    def _on_split(self) -> None:
        if self.export is None or self.split() not in self.export.tokens:
            return
        tokens = self.export.tokens[self.split()]
        self.series_spin.blockSignals(True)
        self.series_spin.setMaximum(max(0, len(tokens) - 1))
        self.series_spin.setValue(min(self.series_spin.value(), max(0, len(tokens) - 1)))
        self.series_spin.blockSignals(False)
        k = len(self.export.codebook)
        usage = 100.0 * np.bincount(tokens.reshape(-1).astype(np.int64), minlength=k)[:k] / max(tokens.size, 1)
        self.usage_bars.setOpts(x=np.arange(k), height=usage, width=0.8)
        self._usage = usage
        self._show()

    def select(self, split: str, index: int) -> None:
        """Show series `index` of `split`."""
        self.split_combo.setCurrentText(split)
        self.series_spin.setValue(index)
        self._show()

    def _show(self) -> None:
        if self.export is None or self.split() not in self.export.tokens:
            return
        i = self.series_spin.value()
        grid = self.export.tokens[self.split()][i]
        self.grid.set_tokens(grid)
        h, w = grid.shape
        for axis, n in (("left", h), ("bottom", w)):  # cells are whole numbers: no 0.5 ticks
            step = max(1, n // 12)
            self.grid.plot_item.getAxis(axis).setTicks([[(i, str(i)) for i in range(0, n, step)]])
        self.grid.plot_item.setTitle(f"{self.split()} series {i}: token grid (frequency × time)")
        labels = self.export.labels[self.split()]
        self.class_label.setText(self._class_text(int(labels[i])) if len(labels) > i else "")
        codes = np.unique(grid)
        self.current_code.setOpts(x=codes, height=self._usage[codes], width=0.8)

    def _class_text(self, label: int) -> str:
        """`class 2`: the dataset's own label of class id `label` (`class id 1` when the export lacks them)."""
        names = recorded_class_labels(self.export.attrs) if self.export else ()
        return f"class {class_name(names, label)}"
