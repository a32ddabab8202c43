"""The Curves view: one metric of any number of runs overlaid, by step or epoch, optionally grouped over seeds.

The run list comes from the workspace's cached results index; only the ticked runs' curves are
read, on the exploration worker. With grouping on, runs that differ only in seed
(`store.curves.group_curves`) are drawn as their mean line with a min–max or ± std band
(`store.curves.stats_of_curves`, aligned on step); otherwise each run is its own line. Changing
the x axis, grouping, band or log scale redraws from the curves already read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

# isort: off
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
import pyqtgraph as pg
# isort: on

from tsstudio.gui.exploration_worker import CurveSet, CurvesRequest, ExplorationService, IndexResult
from tsstudio.gui.theme import CURVE_COLORS, PLOT_COLORS, style_plot
from tsstudio.gui.views.workspace_follow import FollowsWorkspace
from tsstudio.gui.widgets.check_list import CheckList
from tsstudio.gui.widgets.legend_row import fit_legend, legend_above

READ_DEBOUNCE_MS = 150
REFRESH_DEBOUNCE_MS = 400
DEFAULT_METRIC = "loss"
BAND_ALPHA = 45
LEGEND_COLUMNS = 2
FEW_POINTS = 24  # curves with at most this many points also get markers (validation and probe metrics)


def _color(i: int) -> Any:
    return pg.mkColor(CURVE_COLORS[i % len(CURVE_COLORS)])


class CurvesView(FollowsWorkspace, QWidget):
    """Overlay a metric of the ticked runs; `drawn` after every redraw."""

    drawn = Signal()
    indexedSignal = Signal(object)  # IndexResult, after the run list is in
    messageChanged = Signal(str)

    def __init__(self, controller: Any = None, service: ExplorationService | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.service = service or ExplorationService(parent=self)
        self.folder: Path | None = Path(controller.workspace) if controller is not None else None
        self.curves: CurveSet | None = None
        self.mean_items: list[pg.PlotDataItem] = []
        self.band_items: list[pg.FillBetweenItem] = []
        self.run_items: list[pg.PlotDataItem] = []
        self._theme = "dark"
        self._dirty = True
        self._paths: dict[str, str] = {}  # run list key (relative path) → absolute path
        self._pending_show: set[str] | None = None  # runs to tick once the list is in (`show_runs`)
        self._build()
        self._read_timer = QTimer(self, singleShot=True, interval=READ_DEBOUNCE_MS)
        self._read_timer.timeout.connect(self.read_curves)
        self.follow_workspace(controller, REFRESH_DEBOUNCE_MS)
        self.service.indexed.connect(self._on_indexed)
        self.service.curvesRead.connect(self._on_curves)
        self.service.failed.connect(self._on_failed)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.setSpacing(4)
        body = QSplitter(Qt.Orientation.Horizontal)
        body.setChildrenCollapsible(False)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        runs_box = QGroupBox("Runs")
        rl = QVBoxLayout(runs_box)
        rl.setContentsMargins(4, 4, 4, 4)
        self.run_list = CheckList("search runs…")
        self.run_list.changed.connect(self._schedule_read)
        rl.addWidget(self.run_list)
        ll.addWidget(runs_box, 1)
        plot_box = QGroupBox("Plot")
        form = QFormLayout(plot_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.metric_combo = QComboBox()
        self.metric_combo.addItem(DEFAULT_METRIC)
        self.metric_combo.setToolTip("Loss terms, validation loss, probes, perplexity: any metric the ticked runs logged")
        self.metric_combo.currentTextChanged.connect(lambda _t: self._schedule_read())
        self.x_combo = QComboBox()
        self.x_combo.addItem("step", "step")
        self.x_combo.addItem("epoch", "epoch")
        self.x_combo.currentIndexChanged.connect(lambda _i: self.redraw())
        self.group_check = QCheckBox("Group runs that differ only in seed")
        self.group_check.setToolTip("Draw each seed group as its mean line with a band")
        self.group_check.toggled.connect(lambda _on: self.redraw())
        self.band_combo = QComboBox()
        self.band_combo.addItem("min – max", "minmax")
        self.band_combo.addItem("mean ± std", "std")
        self.band_combo.currentIndexChanged.connect(lambda _i: self.redraw())
        self.log_check = QCheckBox("Logarithmic y")
        self.log_check.toggled.connect(self._on_log)
        form.addRow("Metric", self.metric_combo)
        form.addRow("x", self.x_combo)
        form.addRow(self.group_check)
        form.addRow("Band", self.band_combo)
        form.addRow(self.log_check)
        ll.addWidget(plot_box)
        refresh_row = QHBoxLayout()
        self.refresh_button = QPushButton("Refresh runs")
        self.refresh_button.setToolTip("List the workspace's runs again (only changed run files are read)")
        self.refresh_button.clicked.connect(self.refresh)
        refresh_row.addWidget(self.refresh_button)
        ll.addLayout(refresh_row)
        left.setMinimumWidth(230)
        left.setMaximumWidth(360)
        body.addWidget(left)

        right = QWidget()
        pl = QVBoxLayout(right)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.setSpacing(2)
        self.caption = QLabel("Tick runs to plot their curves.")
        self.caption.setObjectName("CurvesCaption")
        self.caption.setWordWrap(True)
        pl.addWidget(self.caption)
        self.plot = pg.PlotWidget()
        self.plot.getPlotItem().setMenuEnabled(False)
        self.plot.getPlotItem().showGrid(x=True, y=True, alpha=0.15)
        self.legend = legend_above(self.plot.getPlotItem(), columns=LEGEND_COLUMNS)  # above the curves, never on them
        self.plot.setLabel("bottom", "step")
        pl.addWidget(self.plot, 1)
        body.addWidget(right)
        body.setStretchFactor(0, 0)
        body.setStretchFactor(1, 1)
        body.setSizes([270, 1100])
        outer.addWidget(body, 1)
        self._update_band_enabled()

    def set_theme(self, name: str) -> None:
        """Recolour the plot for the `dark` or `light` theme."""
        self._theme = name
        style_plot(self.plot, name)
        self.redraw()

    # ------------------------------------------------------------------ messages
    def _say(self, text: str, error: bool = False) -> None:
        self.caption.setText(text)
        self.caption.setStyleSheet("QLabel#CurvesCaption { color: #e15759; font-weight: bold; }" if error else "")
        self.messageChanged.emit(text)

    def message_text(self) -> str:
        return self.caption.text()

    def _on_failed(self, what: str, message: str) -> None:
        self._say(f"Cannot {'list the runs' if what == 'index' else 'read the curves'}: {message}", error=True)

    # ------------------------------------------------------------------ the run list
    def set_folder(self, folder: str | os.PathLike[str]) -> None:
        """List the runs of `folder` (the main window's workspace)."""
        self.folder = Path(folder)
        self.run_list.set_entries([])
        self._paths = {}
        self._dirty = True
        if self.isVisible():
            self.refresh()
        self._schedule_read()

    def refresh(self) -> bool:
        """List the folder's runs on the worker (from the cached index); False without a folder."""
        if self.folder is None:
            return False
        self._refreshing()
        self.service.index(str(self.folder))
        return True

    def _on_indexed(self, result: IndexResult) -> None:
        if self.folder is None or Path(result.folder) != self.folder:
            return
        root = Path(result.folder)
        ticked = set(self.run_list.checked())
        paths: dict[str, str] = {}
        tips: dict[str, str] = {}
        for row in result.rows:
            if row.error is not None:
                continue
            key = row.path.relative_to(root).as_posix() if row.path.is_relative_to(root) else str(row.path)
            paths[key] = str(row.path)
            tips[key] = f"{row.kind} run on {row.dataset}, seed {row.seed}, {row.status}, step {row.step}"
        reread = bool(ticked - set(paths))  # a ticked run is gone: draw without it
        self._paths = paths
        if self._pending_show is not None:
            ticked = {k for k, p in paths.items() if os.path.realpath(p) in self._pending_show}
            self._pending_show, reread = None, True
        self.run_list.set_entries(list(paths), ticked & set(paths), tooltips=tips)
        self.watch_folder(root)
        self.indexedSignal.emit(result)
        if reread:
            self.read_curves()

    def run_keys(self) -> list[str]:
        """The listed runs (paths relative to the workspace)."""
        return self.run_list.keys()

    def checked_paths(self) -> list[str]:
        """Absolute paths of the ticked runs."""
        return [self._paths[k] for k in self.run_list.checked() if k in self._paths]

    def show_runs(self, paths: list[str], metric: str | None = None) -> None:
        """Tick exactly the runs at `paths` (and choose `metric`), then read and draw their curves."""
        wanted = {os.path.realpath(p) for p in paths}
        listed = {os.path.realpath(p) for p in self._paths.values()}
        if metric:
            self.set_metric(metric)
        if not wanted <= listed and self.folder is not None:  # not listed yet: tick them once the list is in
            self._pending_show = wanted
            self.refresh()
            return
        keys = [k for k, p in self._paths.items() if os.path.realpath(p) in wanted]
        self.run_list.set_checked(keys, emit=False)
        self.read_curves()

    def set_metric(self, metric: str) -> None:
        if self.metric_combo.findText(metric) < 0:
            self.metric_combo.addItem(metric)
        self.metric_combo.setCurrentText(metric)

    # ------------------------------------------------------------------ reading and drawing
    def _schedule_read(self) -> None:
        self._read_timer.start()

    def read_curves(self) -> None:
        """Read the ticked runs' curves of the chosen metric on the worker (then `drawn`)."""
        self._read_timer.stop()
        paths = tuple(self.checked_paths())
        metric = self.metric_combo.currentText() or DEFAULT_METRIC
        if not paths:
            self.curves = None
            self.redraw()
            return
        self.service.curves(CurvesRequest(paths, metric))

    def _on_curves(self, result: CurveSet) -> None:
        self.curves = result
        current = self.metric_combo.currentText()
        names = result.metric_names or [current]
        if current not in names:
            names = [current, *names]
        if [self.metric_combo.itemText(i) for i in range(self.metric_combo.count())] != names:
            self.metric_combo.blockSignals(True)
            self.metric_combo.clear()
            self.metric_combo.addItems(names)
            self.metric_combo.setCurrentText(current)
            self.metric_combo.blockSignals(False)
        self.redraw()

    def x_kind(self) -> str:
        return str(self.x_combo.currentData())

    def set_x(self, kind: str) -> None:
        """Plot against "step" or "epoch"."""
        self.x_combo.setCurrentIndex(self.x_combo.findData(kind))

    def set_grouping(self, on: bool, band: str = "minmax") -> None:
        """Group runs over seeds (mean line and a "minmax" or "std" band) or draw every run."""
        self.band_combo.setCurrentIndex(self.band_combo.findData(band))
        self.group_check.setChecked(on)
        self.redraw()

    def _update_band_enabled(self) -> None:
        self.band_combo.setEnabled(self.group_check.isChecked())

    def _on_log(self, on: bool) -> None:
        self.plot.getPlotItem().setLogMode(y=on)

    def _clear(self) -> None:
        plot = self.plot.getPlotItem()
        for item in [*self.run_items, *self.mean_items, *self.band_items]:
            plot.removeItem(item)
        self.legend.clear()
        fit_legend(self.plot.getPlotItem())
        self.run_items, self.mean_items, self.band_items = [], [], []

    def _line(self, x: np.ndarray, y: np.ndarray, color: Any, name: str, width: float) -> pg.PlotDataItem:
        few = len(x) <= FEW_POINTS
        item = pg.PlotDataItem(x, y, pen=pg.mkPen(color, width=width), name=name,
                               symbol="o" if few else None, symbolSize=5, symbolBrush=color, symbolPen=None)
        self.plot.addItem(item)
        item.setDownsampling(auto=True, method="peak")  # set once in the view box (not before: pyqtgraph needs it)
        item.setClipToView(True)
        return item

    def redraw(self) -> None:
        """Draw the curves already read with the current x axis, grouping and band."""
        self._update_band_enabled()
        self._clear()
        x_kind = self.x_kind()
        self.plot.setLabel("bottom", x_kind)
        result = self.curves
        if result is None or not self.checked_paths():
            self.curves = None if not self.checked_paths() else result
            self._say("Tick runs to plot their curves.")
            self.drawn.emit()
            return
        self.plot.setLabel("left", result.metric)
        drawn = 0
        if self.group_check.isChecked():
            for i, (group, stats, label) in enumerate(zip(result.groups, result.stats, result.labels)):
                if not len(stats.steps):
                    continue
                color = _color(i)
                x = stats.steps.astype(np.float64) if x_kind == "step" else stats.epochs
                if len(group) > 1:
                    if self.band_combo.currentData() == "std":
                        low, high = stats.mean - stats.std, stats.mean + stats.std
                    else:
                        low, high = stats.min, stats.max
                    low_curve, high_curve = pg.PlotCurveItem(x, low), pg.PlotCurveItem(x, high)
                    fill = _with_alpha(color, BAND_ALPHA)
                    band = pg.FillBetweenItem(low_curve, high_curve, brush=pg.mkBrush(fill), pen=pg.mkPen(None))
                    self.plot.addItem(band)
                    self.band_items.append(band)
                self.mean_items.append(self._line(x, stats.mean, color, label, 2.0))
                drawn += 1
        else:
            i = 0
            for group in result.groups:
                for curve in group:
                    if not len(curve.steps):
                        continue
                    x = curve.steps.astype(np.float64) if x_kind == "step" else curve.epochs
                    self.run_items.append(self._line(x, curve.values, _color(i), curve.path.stem, 1.0))
                    i += 1
            drawn = i
        fg = pg.mkColor(PLOT_COLORS.get(self._theme, PLOT_COLORS["dark"])["foreground"])
        self.legend.setLabelTextColor(fg)
        for _sample, label in self.legend.items:
            label.setText(label.text, color=fg)
        fit_legend(self.plot.getPlotItem())
        n_runs = sum(len(g) for g in result.groups)
        without = sum(1 for g in result.groups for c in g if not len(c.steps))
        parts = [f"{result.metric} of {n_runs} run{'s' if n_runs != 1 else ''} by {x_kind}"]
        if self.group_check.isChecked():
            parts.append(f"{drawn} seed group{'s' if drawn != 1 else ''}, band "
                         f"{'min–max' if self.band_combo.currentData() == 'minmax' else '± std'}")
        if without:
            parts.append(f"{without} without this metric")
        if result.skipped:
            parts.append(f"{len(result.skipped)} could not be read ({', '.join(result.skipped[:3])})")
        self._say("; ".join(parts))
        self.drawn.emit()

    # ------------------------------------------------------------------ shutdown
    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop the timers and the worker thread."""
        self._read_timer.stop()
        self._refresh_timer.stop()
        return self.service.shutdown(timeout_ms)


def _with_alpha(color: Any, alpha: int) -> Any:
    """`color` with `alpha` (0–255)."""
    c = pg.mkColor(color)
    c.setAlpha(alpha)
    return c
