"""The Compare view: two tokenizer runs on the same test series, side by side.

Pick run A and run B (finished tokenizer runs of the workspace, or any file). The worker runs
both on their test split once, from their best weights (`tsstudio.store.run_compare.compare_runs`),
and the view keeps the result, so stepping through series (arrow keys, the series table) only
redraws. Shown for the current series: the input with both reconstructions (time domain), the
input's and both reconstructions' spectrograms on shared colour levels, both token grids, and
the per-series errors; beside them the whole-test errors, the probes and the configuration keys
whose values differ. Series are ordered by |error A − error B| (largest first) or by either
run's error, optionally of one class.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

# isort: off
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
import pyqtgraph as pg
# isort: on

from tsstudio.gui.channels import label_stacked, stacked_traces
from tsstudio.gui.compare_worker import CompareResult, ExplorationService
from tsstudio.gui.plots import SpectrogramPlot
from tsstudio.gui.theme import PLOT_COLORS, style_plot
from tsstudio.gui.widgets.caption import captioned, set_caption
from tsstudio.gui.widgets.legend_row import fit_legend, legend_above
from tsstudio.gui.widgets.run_picker import RunPicker
from tsstudio.gui.widgets.token_grid import TokenGridPlot

RUN_COLORS = {"a": "#4c9be8", "b": "#f28e2b"}
ORDERS = (("difference", "|A − B| (largest first)"), ("a", "A's error (largest first)"), ("b", "B's error (largest first)"))
ERRORS = (("mse_time", "MSE (time)"), ("mse_stft", "MSE (STFT)"))
NEXT_KEYS = (Qt.Key.Key_Down, Qt.Key.Key_Right, Qt.Key.Key_PageDown, Qt.Key.Key_J, Qt.Key.Key_N)
PREVIOUS_KEYS = (Qt.Key.Key_Up, Qt.Key.Key_Left, Qt.Key.Key_PageUp, Qt.Key.Key_K, Qt.Key.Key_P)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def restyle_colorbar(bar: pg.ColorBarItem, name: str) -> None:
    """A colour bar's axis and tick labels in the theme's foreground (`style_plot` does not reach it)."""
    fg = pg.mkColor(PLOT_COLORS.get(name, PLOT_COLORS["dark"])["foreground"])
    bar.axis.setPen(fg)
    bar.axis.setTextPen(fg)


def restyle_legend(plot: pg.PlotItem, name: str) -> None:
    """Legend text in the theme's foreground (existing labels are not re-rendered by pyqtgraph)."""
    if plot.legend is None:
        return
    fg = pg.mkColor(PLOT_COLORS.get(name, PLOT_COLORS["dark"])["foreground"])
    plot.legend.setLabelTextColor(fg)
    for _sample, label in plot.legend.items:
        label.setText(label.text, color=fg)


class CompareView(QWidget):
    """Compare run A with run B; `shown` after a comparison is drawn, `seriesShown(i)` per series."""

    shown = Signal()
    seriesShown = Signal(int)
    messageChanged = Signal(str)

    def __init__(self, controller: Any = None, service: ExplorationService | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.service = service or ExplorationService(parent=self)
        self.result: CompareResult | None = None
        self._comparing = 0  # this view's comparisons queued on the (possibly shared) service
        self._order = np.zeros(0, dtype=np.int64)
        self._position = -1
        self._theme = "dark"
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._build()
        self.service.compared.connect(self._on_compared)
        self.service.failed.connect(self._on_failed)
        self.service.busyChanged.connect(lambda _busy: self._update_enabled())
        app = pg.QtWidgets.QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self._update_enabled()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        top = QHBoxLayout()
        self.picker_a = RunPicker("Run A:", self.controller)
        self.picker_b = RunPicker("Run B:", self.controller)
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Run both tokenizers (best weights) on the test split of their dataset")
        self.compare_button.clicked.connect(lambda: self.compare())
        top.addWidget(self.picker_a, 1)
        top.addWidget(self.picker_b, 1)
        top.addWidget(self.compare_button)
        outer.addLayout(top)
        self.message = QLabel("Pick two tokenizer runs on the same dataset and press Compare.")
        self.message.setObjectName("CompareMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.message)

        body = QSplitter(Qt.Orientation.Horizontal)
        body.setChildrenCollapsible(False)
        body.addWidget(self._build_side())
        body.addWidget(self._build_plots())
        body.setStretchFactor(0, 0)
        body.setStretchFactor(1, 1)
        body.setSizes([320, 1000])
        outer.addWidget(body, 1)

    def _build_side(self) -> QWidget:
        side = QWidget()
        layout = QVBoxLayout(side)
        layout.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.summary)
        self.config_table = QTableWidget(0, 3)
        self.config_table.setHorizontalHeaderLabels(["key", "A", "B"])
        self.config_table.verticalHeader().setVisible(False)
        self.config_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.config_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.config_table.verticalHeader().setDefaultSectionSize(20)
        self.config_table.setToolTip("The configuration keys whose values differ between A and B (only those)")
        layout.addWidget(captioned(self.config_table, "Configuration difference"), 2)

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        self.order_combo = QComboBox()
        for key, text in ORDERS:
            self.order_combo.addItem(text, key)
        self.error_combo = QComboBox()
        for key, text in ERRORS:
            self.error_combo.addItem(text, key)
        self.class_combo = QComboBox()
        self.class_combo.addItem("all classes", None)
        for combo in (self.order_combo, self.error_combo, self.class_combo):
            combo.currentIndexChanged.connect(lambda _i: self._reorder())
        form.addRow("Sort by", self.order_combo)
        form.addRow("Error", self.error_combo)
        form.addRow("Class", self.class_combo)
        layout.addLayout(form)
        self.series_table = QTableWidget(0, 5)
        self.series_table.setHorizontalHeaderLabels(["series", "class", "A", "B", "|A−B|"])
        self.series_table.verticalHeader().setVisible(False)
        self.series_table.verticalHeader().setDefaultSectionSize(20)
        self.series_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.series_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.series_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.series_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.series_table.currentCellChanged.connect(lambda row, *_: self._show_position(row))
        self.series_caption = QLabel("Test series")
        layout.addWidget(captioned(self.series_table, self.series_caption), 5)
        side.setMinimumWidth(230)
        side.setMaximumWidth(420)
        return side

    def _build_plots(self) -> QWidget:
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        self.time_plot = pg.PlotWidget()
        self.time_plot.getPlotItem().setMenuEnabled(False)
        legend_above(self.time_plot.getPlotItem(), columns=3)  # above the curves: it hides no part of them
        self.curve_input = self.time_plot.plot([], [], name="input")
        self.curve_a = self.time_plot.plot([], [], name="A")
        self.curve_b = self.time_plot.plot([], [], name="B")
        fit_legend(self.time_plot.getPlotItem())
        self.time_caption = QLabel("Input and reconstructions")
        split.addWidget(captioned(self.time_plot, self.time_caption))

        specs = QSplitter(Qt.Orientation.Horizontal)
        self.spec_input, self.spec_a, self.spec_b = SpectrogramPlot(), SpectrogramPlot(), SpectrogramPlot()
        self.spec_captions = [QLabel("Input |STFT|"), QLabel("A's reconstruction |STFT|"), QLabel("B's reconstruction |STFT|")]
        for plot, caption in zip((self.spec_input, self.spec_a, self.spec_b), self.spec_captions):
            specs.addWidget(captioned(plot, caption))
        split.addWidget(specs)

        grids = QWidget()
        grid_layout = QVBoxLayout(grids)
        grid_layout.setContentsMargins(0, 0, 0, 0)
        grid_layout.setSpacing(1)
        row = QSplitter(Qt.Orientation.Horizontal)
        self.tokens_a, self.tokens_b = TokenGridPlot(), TokenGridPlot()
        self.token_captions = [QLabel("A's tokens (frequency × time)"), QLabel("B's tokens (frequency × time)")]
        for plot, caption in zip((self.tokens_a, self.tokens_b), self.token_captions):
            plot.hovered.connect(self._on_hover)
            row.addWidget(captioned(plot, caption))
        grid_layout.addWidget(row, 1)
        self.hover_label = QLabel("Hover a token to see its code.  Keys: ↓/→ next series, ↑/← previous.")
        grid_layout.addWidget(self.hover_label)
        split.addWidget(grids)
        split.setSizes([250, 220, 200])
        return split

    def plot_widgets(self) -> list[pg.PlotWidget]:
        """Every plot of the view (for theming and screenshots)."""
        return [self.time_plot, self.spec_input, self.spec_a, self.spec_b, self.tokens_a, self.tokens_b]

    def set_theme(self, name: str) -> None:
        """Recolour plot backgrounds, axes, legend and the input curve for the `dark` or `light` theme."""
        self._theme = name
        for widget in self.plot_widgets():
            style_plot(widget, name)
        restyle_legend(self.time_plot.getPlotItem(), name)
        for plot in (self.spec_input, self.spec_a, self.spec_b):
            restyle_colorbar(plot.colorbar, name)
        self._draw_series()

    # ------------------------------------------------------------------ messages and state
    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("QLabel#CompareMessage { color: #e15759; font-weight: bold; }" if error else "")
        self.messageChanged.emit(text)

    def message_text(self) -> str:
        """The view's current one-line message."""
        return self.message.text()

    @property
    def comparing(self) -> bool:
        """True while a comparison this view asked for is queued or running (the service may serve other views)."""
        return self._comparing > 0

    def _update_enabled(self) -> None:
        busy = self.comparing
        self.compare_button.setEnabled(not busy)
        self.compare_button.setText("Comparing…" if busy else "Compare")

    def _on_failed(self, kind: str, message: str) -> None:
        if kind == "compare":
            self._comparing = max(0, self._comparing - 1)
            text = message[:1].upper() + message[1:] if message.startswith("cannot compare") else f"Cannot compare: {message}"
            self._say(text, error=True)
        self._update_enabled()

    # ------------------------------------------------------------------ comparing
    def compare(self, path_a: str | os.PathLike[str] | None = None, path_b: str | os.PathLike[str] | None = None) -> bool:
        """Compare `path_a` with `path_b` (default: the pickers' runs) on the worker; False with a message if not."""
        if path_a is not None:
            self.picker_a.set_path(path_a)
        if path_b is not None:
            self.picker_b.set_path(path_b)
        a, b = self.picker_a.path(), self.picker_b.path()
        if not a or not b:
            self._say("Pick run A and run B first.", error=True)
            return False
        for label, path in (("run A", a), ("run B", b)):
            if not Path(path).is_file():
                self._say(f"Cannot compare: {label} {path}: no such file", error=True)
                return False
        if self.comparing:
            self._say("Still working on the last comparison.", error=True)
            return False
        self._say(f"Comparing {Path(a).name} with {Path(b).name} on their test split…")
        self._comparing += 1
        self.service.compare(a, b)
        self._update_enabled()
        return True

    def set_run_a(self, path: str | os.PathLike[str]) -> None:
        """Make `path` run A (e.g. from the runs list), without comparing yet."""
        self.picker_a.set_path(path)
        self._say(f"Run A: {Path(path).name}. Pick run B and press Compare.")

    def _on_compared(self, result: CompareResult) -> None:
        self._comparing = max(0, self._comparing - 1)
        self.result = result
        comp = result.comparison
        for plot, size in zip((self.tokens_a, self.tokens_b), result.codebook_sizes):
            plot.set_codebook_size(max(size, 1))
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItem("all classes", None)
        for c in np.unique(comp.labels):
            self.class_combo.addItem(f"class {self._class_name(int(c))}", int(c))
        self.class_combo.blockSignals(False)
        self._fill_summary()
        self._fill_config_difference()
        self._reorder()
        where = " (from the cache)" if result.cached else ""
        self._say(f"{comp.a.path.name} vs {comp.b.path.name}: {len(comp.labels)} test series of {comp.dataset}{where}.")
        self._update_enabled()
        self.shown.emit()

    def _class_name(self, c: int) -> str:
        labels = self.result.class_labels if self.result else ()
        return labels[c] if 0 <= c < len(labels) else str(c)

    def _fill_summary(self) -> None:
        comp = self.result.comparison
        rows = []
        for tag, side in (("A", comp.a), ("B", comp.b)):
            e = side.recon.whole_split_errors()
            probes = ", ".join(f"{k.replace('_accuracy', '').upper()} {v:.3f}" for k, v in side.probes.items())
            color = RUN_COLORS[tag.lower()]
            rows.append(f"<b style='color:{color}'>{tag}</b> {side.path.name} ({side.weights} weights, step {side.step})"
                        f"<br>&nbsp;&nbsp;test MSE time {_fmt(e['mse_time'])}, STFT {_fmt(e['mse_stft'])}"
                        + (f"<br>&nbsp;&nbsp;probes: {probes}" if probes else ""))
        self.summary.setText("<br>".join(rows))

    def _fill_config_difference(self) -> None:
        diff = self.result.comparison.config_difference
        self.config_table.setRowCount(len(diff))
        for r, (key, (va, vb)) in enumerate(sorted(diff.items())):
            for c, text in enumerate((key, _value_text(va), _value_text(vb))):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.config_table.setItem(r, c, item)
        self.config_table.resizeColumnToContents(1)
        self.config_table.resizeColumnToContents(2)

    def config_difference_rows(self) -> list[tuple[str, str, str]]:
        """The configuration difference as shown: (key, value A, value B) per row."""
        t = self.config_table
        return [tuple(t.item(r, c).text() for c in range(3)) for r in range(t.rowCount())]  # type: ignore[misc]

    # ------------------------------------------------------------------ ordering and stepping
    def set_order(self, by: str, error: str | None = None, class_id: int | None | str = "keep") -> None:
        """Order the series `by` "difference", "a" or "b"; optionally the error and a class (None: all)."""
        self.order_combo.blockSignals(True)
        self.error_combo.blockSignals(True)
        self.class_combo.blockSignals(True)
        self.order_combo.setCurrentIndex(max(self.order_combo.findData(by), 0))
        if error is not None:
            self.error_combo.setCurrentIndex(max(self.error_combo.findData(error), 0))
        if class_id != "keep":
            i = 0 if class_id is None else self.class_combo.findData(class_id)
            self.class_combo.setCurrentIndex(max(i, 0))
        for combo in (self.order_combo, self.error_combo, self.class_combo):
            combo.blockSignals(False)
        self._reorder()

    def order(self) -> np.ndarray:
        """Test-series indices in the order listed."""
        return self._order.copy()

    def error_name(self) -> str:
        """The error the series are sorted by and listed with."""
        return str(self.error_combo.currentData())

    def _reorder(self) -> None:
        if self.result is None:
            return
        comp = self.result.comparison
        by, error = str(self.order_combo.currentData()), self.error_name()
        class_id = self.class_combo.currentData()
        self._order = comp.order(by=by, error=error, class_id=class_id)
        ea, eb = comp.a.recon.errors(error), comp.b.recon.errors(error)
        table = self.series_table
        table.blockSignals(True)
        table.setUpdatesEnabled(False)
        table.setRowCount(len(self._order))
        for r, i in enumerate(self._order):
            values = (str(int(i)), self._class_name(int(comp.labels[i])), f"{ea[i]:.3g}", f"{eb[i]:.3g}",
                      f"{abs(ea[i] - eb[i]):.3g}")
            for c, text in enumerate(values):
                item = table.item(r, c)
                if item is None:
                    table.setItem(r, c, QTableWidgetItem(text))
                else:
                    item.setText(text)
        table.setUpdatesEnabled(True)
        table.blockSignals(False)
        which = "all classes" if class_id is None else f"class {self._class_name(int(class_id))}"
        set_caption(self.series_caption, f"Test series ({len(self._order)}, {which}), sorted by "
                                         f"{self.order_combo.currentText().split(' (')[0]}")
        self._position = -1
        self._show_position(0)

    def current_series(self) -> int:
        """The test series shown, -1 when none."""
        return int(self._order[self._position]) if 0 <= self._position < len(self._order) else -1

    def step(self, delta: int) -> int:
        """Show the series `delta` places further in the listed order (clamped); returns it."""
        if len(self._order):
            self._show_position(min(max(self._position + delta, 0), len(self._order) - 1))
        return self.current_series()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt naming)
        key = event.key()
        if key in NEXT_KEYS:
            self.step(1)
        elif key in PREVIOUS_KEYS:
            self.step(-1)
        elif key == Qt.Key.Key_Home:
            self.step(-len(self._order))
        elif key == Qt.Key.Key_End:
            self.step(len(self._order))
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def _show_position(self, row: int) -> None:
        if not 0 <= row < len(self._order) or row == self._position:
            return
        self._position = row
        if self.series_table.currentRow() != row:
            self.series_table.blockSignals(True)
            self.series_table.setCurrentCell(row, 0)
            self.series_table.blockSignals(False)
        self.series_table.scrollToItem(self.series_table.item(row, 0))
        self._draw_series()
        self.seriesShown.emit(self.current_series())

    def _draw_series(self) -> None:
        i = self.current_series()
        if self.result is None or i < 0:
            return
        comp = self.result.comparison
        ra, rb = comp.a.recon, comp.b.recon
        fg = pg.mkColor(PLOT_COLORS.get(self._theme, PLOT_COLORS["dark"])["foreground"])
        x, shown = np.arange(ra.x.shape[-1]), (ra.x[i], ra.x_hat[i], rb.x_hat[i])
        images = (ra.stft_mag[i], ra.stft_mag_hat[i], rb.stft_mag_hat[i])
        label_stacked(self.time_plot.getPlotItem().getAxis("left"), np.stack(shown), ra.x.shape[1] if ra.x.ndim == 3 else 1)
        if ra.x.ndim == 3:  # multichannel: channels stacked as offset traces; the |STFT| of channel 1
            x, shown, _ = stacked_traces(np.stack(shown))
            images = tuple(m[0] for m in images)
        self.curve_input.setData(x, shown[0], pen=pg.mkPen(fg, width=1.5))
        self.curve_a.setData(x, shown[1], pen=pg.mkPen(RUN_COLORS["a"], width=1.2))
        self.curve_b.setData(x, shown[2], pen=pg.mkPen(RUN_COLORS["b"], width=1.2, style=Qt.PenStyle.DashLine))
        high = max(float(np.nanmax(m)) for m in images)
        levels = (0.0, high if high > 0 else 1.0)
        for plot, image in zip((self.spec_input, self.spec_a, self.spec_b), images):
            plot.set_image(image, levels)
        self.tokens_a.set_tokens(ra.tokens[i])
        self.tokens_b.set_tokens(rb.tokens[i])
        label = self._class_name(int(comp.labels[i]))
        set_caption(self.time_caption,
                    f"Series {i} (class {label}, {self._position + 1} of {len(self._order)}) — "
                    f"A: MSE time {_fmt(ra.mse_time[i])}, STFT {_fmt(ra.mse_stft[i])} · "
                    f"B: MSE time {_fmt(rb.mse_time[i])}, STFT {_fmt(rb.mse_stft[i])}")
        set_caption(self.spec_captions[0], f"Input |STFT| (shared levels 0–{_fmt(levels[1])})")
        set_caption(self.spec_captions[1], f"A's reconstruction |STFT| (MSE {_fmt(ra.mse_stft[i])})")
        set_caption(self.spec_captions[2], f"B's reconstruction |STFT| (MSE {_fmt(rb.mse_stft[i])})")

    def shown_curves(self) -> dict[str, np.ndarray]:
        """The time-domain curves drawn: input, A and B."""
        return {name: np.asarray(c.yData) for name, c in
                (("input", self.curve_input), ("a", self.curve_a), ("b", self.curve_b))}

    def _on_hover(self, text: str) -> None:
        if text:
            who = "A" if self.sender() is self.tokens_a else "B"
            self.hover_label.setText(f"{who}: {text}")

    # ------------------------------------------------------------------ shutdown
    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Stop the worker thread (after its current request)."""
        return self.service.shutdown(timeout_ms)


def _value_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, tuple):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    return str(value)
