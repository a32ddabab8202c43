"""Augmentation preview: pick the SSL branch's augmentations and parameters, see their effect live.

Views of one series are cheap (one batched call, well under a millisecond after warm-up), so they
are computed on the UI thread, debounced to one recomputation per 100 ms of edits. Loading the
dataset runs on a worker. `OrderedCheckList` is reused by the configuration form.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

# PySide6 first so pyqtgraph binds to it; QT_API before superqt (qtpy).
# isort: off
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
import pyqtgraph as pg

os.environ.setdefault("QT_API", "pyside6")
from superqt import QLabeledDoubleSlider, QLabeledSlider  # noqa: E402
from superqt.utils import qdebounced  # noqa: E402

# isort: on
from tsstudio.config.io import allowed, validate  # noqa: E402
from tsstudio.config.schema import AUGMENTATIONS, AugmentationConfig, RunConfig  # noqa: E402
from tsstudio.data import BUILTIN_DATASET, Dataset  # noqa: E402
from tsstudio.data.preview import changed_views  # noqa: E402
from tsstudio.gui.channels import stacked_traces  # noqa: E402
from tsstudio.gui.datasets_view import ERROR_COLOR, controller_dirs, load_by_name, run_in_thread  # noqa: E402
from tsstudio.gui.plots import CurveSet, SpectrogramPlot, class_colors, stft_magnitude  # noqa: E402
from tsstudio.gui.theme import style_plot  # noqa: E402

__all__ = ["AugmentationPreview", "OrderedCheckList", "method_of_field"]

_AUG_FIELDS = {f.name: f for f in dataclasses.fields(AugmentationConfig) if f.name != "methods"}


def method_of_field(name: str) -> str:
    """The augmentation a parameter field belongs to (fields are prefixed by the method's name)."""
    for method in AUGMENTATIONS:
        if name.startswith(method + "_"):
            return method
    for method in AUGMENTATIONS:  # shortened prefixes, e.g. slice_segments → slice_and_shuffle
        if name.startswith(method.split("_")[0] + "_"):
            return method
    return ""


def _decimals(f: dataclasses.Field) -> int:
    """Enough decimals to show the default and steps well below it (0.005 → 5)."""
    default = float(f.default)
    if default <= 0:
        return 3
    return max(2, min(6, 2 - math.floor(math.log10(default))))


class OrderedCheckList(QWidget):
    """Checkable names in an order the user can change (up/down buttons or drag and drop)."""

    changed = Signal()

    def __init__(self, names: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._all = tuple(names)
        self.list = QListWidget()
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.list.itemChanged.connect(lambda _item: self.changed.emit())
        self.list.model().rowsMoved.connect(lambda *_args: self.changed.emit())
        self.up = QToolButton(text="▲", toolTip="Apply the selected augmentation earlier")
        self.down = QToolButton(text="▼", toolTip="Apply the selected augmentation later")
        self.up.clicked.connect(lambda: self._move(-1))
        self.down.clicked.connect(lambda: self._move(+1))
        buttons = QVBoxLayout()
        buttons.addWidget(self.up)
        buttons.addWidget(self.down)
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.set_checked(())
        rows = len(self._all)
        height = rows * self.list.sizeHintForRow(0) + 2 * self.list.frameWidth() + 4
        self.list.setMinimumHeight(min(height, 200))
        self.list.setMaximumHeight(max(height, 60))

    def set_checked(self, names: Sequence[str]) -> None:
        """Check `names` (placed first, in this order); the others follow unchecked in default order."""
        names = [n for n in names if n in self._all]
        order = names + [n for n in self._all if n not in names]
        if order == self._order() and tuple(names) == self.checked():
            return
        self.list.blockSignals(True)
        self.list.clear()
        for name in order:
            item = QListWidgetItem(name)
            item.setFlags(
                Qt.ItemFlag.ItemIsEnabled
                | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsUserCheckable
                | Qt.ItemFlag.ItemIsDragEnabled
            )
            item.setCheckState(Qt.CheckState.Checked if name in names else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.list.blockSignals(False)

    def _order(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def checked(self) -> tuple[str, ...]:
        """Checked names in list order (the order they are applied in)."""
        return tuple(
            self.list.item(i).text() for i in range(self.list.count()) if self.list.item(i).checkState() == Qt.CheckState.Checked
        )

    def set_item_tooltip(self, name: str, text: str) -> None:
        """Tooltip of one entry."""
        for i in range(self.list.count()):
            if self.list.item(i).text() == name:
                self.list.item(i).setToolTip(text)

    def _move(self, step: int) -> None:
        row = self.list.currentRow()
        target = row + step
        if row < 0 or not 0 <= target < self.list.count():
            return
        self.list.blockSignals(True)
        item = self.list.takeItem(row)
        self.list.insertItem(target, item)
        self.list.setCurrentRow(target)
        self.list.blockSignals(False)
        self.changed.emit()


class AugmentationPreview(QWidget):
    """Chosen augmentations and parameters, and several augmented views of one series, live."""

    configChanged = Signal()  # the user edited the augmentation configuration

    def __init__(self, controller: QObject, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._dataset: Dataset | None = None
        self._loading_name = ""
        self._load_token = 0
        self._pending = 0
        self._n_fft, self._hop = 8, 2
        self._original: np.ndarray | None = None
        self._views: np.ndarray | None = None
        self._schedule = qdebounced(self.refresh, timeout=100, parent=self)
        self._build()
        self.set_config(AugmentationConfig(methods=("gaussian_noise",)))
        if hasattr(controller, "datasetSelected"):
            controller.datasetSelected.connect(self._on_controller_selected)
        self._start_loading(getattr(controller, "dataset_name", "") or BUILTIN_DATASET)

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        self.method_list = OrderedCheckList(AUGMENTATIONS)
        for method in AUGMENTATIONS:
            params = [n for n in _AUG_FIELDS if method_of_field(n) == method]
            self.method_list.set_item_tooltip(method, f"{method}: parameters {', '.join(params) or 'none'}")
        self.method_list.changed.connect(self._on_methods_changed)

        self.params_form = QFormLayout()
        self.params_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self._editors: dict[str, QWidget] = {}
        for name, f in _AUG_FIELDS.items():
            editor = self._make_editor(f)
            tip = f"{f.metadata.get('help', '')}\nAllowed: {allowed(f)}"
            editor.setToolTip(tip)
            label = QLabel(name)
            label.setToolTip(tip)
            self.params_form.addRow(label, editor)
            self._editors[name] = editor

        self.index_spin = QSpinBox(minimum=0, maximum=0, toolTip="Test series to augment")
        self.index_spin.valueChanged.connect(self._schedule)
        self.seed_spin = QSpinBox(minimum=0, maximum=2**31 - 1, value=0, toolTip="Seed of the random draws")
        self.seed_spin.valueChanged.connect(self._schedule)
        self.views_spin = QSpinBox(minimum=1, maximum=16, value=4, toolTip="How many augmented views to draw")
        self.views_spin.valueChanged.connect(self._schedule)
        self.view_select = QSpinBox(minimum=1, maximum=4, toolTip="The view whose spectrogram is shown (or click its curve)")
        self.view_select.valueChanged.connect(lambda _v: self._draw())
        draws = QFormLayout()
        draws.addRow("Test series #", self.index_spin)
        draws.addRow("Seed", self.seed_spin)
        draws.addRow("Views", self.views_spin)
        draws.addRow("Spectrogram of view", self.view_select)

        self.message = QLabel(wordWrap=True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        controls = QWidget()
        cv = QVBoxLayout(controls)
        cv.addWidget(QLabel("<b>Augmentations</b> (applied top to bottom)"))
        cv.addWidget(self.method_list)
        cv.addWidget(QLabel("<b>Parameters</b>"))
        cv.addLayout(self.params_form)
        cv.addWidget(QLabel("<b>Draws</b>"))
        cv.addLayout(draws)
        cv.addWidget(self.message)
        cv.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(controls)
        scroll.setMinimumWidth(340)

        self.series_plot = pg.PlotWidget()
        self.series_item: pg.PlotItem = self.series_plot.getPlotItem()
        self.series_item.setLabel("bottom", "time step")
        self.series_item.setLabel("left", "value")
        self.series_item.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.series_item.addLegend(offset=(-10, 10))
        self.view_curves = CurveSet(self.series_item, clickable=True)
        self.view_curves.on_click(self.select_view)
        self.original_curve = pg.PlotDataItem(skipFiniteCheck=True, name="original")
        self.original_curve.setZValue(10)
        self.series_item.addItem(self.original_curve)
        self._views_legend = pg.PlotDataItem(pen=pg.mkPen(self._view_color(0), width=1))
        self.legend.addItem(self._views_legend, "augmented views")

        self.spectrogram_original = SpectrogramPlot("|STFT| of the original")
        self.spectrogram_view = SpectrogramPlot("|STFT| of view 1")
        spectra = QWidget()
        sh = QHBoxLayout(spectra)
        sh.setContentsMargins(0, 0, 0, 0)
        sh.addWidget(self.spectrogram_original)
        sh.addWidget(self.spectrogram_view)
        plots = QSplitter(Qt.Orientation.Vertical)
        plots.addWidget(self.series_plot)
        plots.addWidget(spectra)
        plots.setStretchFactor(0, 3)
        plots.setStretchFactor(1, 2)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(plots)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([360, 740])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    def _make_editor(self, f: dataclasses.Field) -> QWidget:
        meta = f.metadata
        low, high = meta.get("low"), meta.get("high")
        if isinstance(f.default, int):
            editor = QLabeledSlider(Qt.Orientation.Horizontal)
            editor.setRange(int(low) + (1 if meta.get("low_open") else 0), int(high))
            editor.setValue(int(f.default))
        else:
            editor = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
            decimals = _decimals(f)
            editor.setDecimals(decimals)
            editor.setRange(float(low) + (10.0**-decimals if meta.get("low_open") else 0.0), float(high))
            editor.setValue(float(f.default))
        editor.valueChanged.connect(self._on_param_changed)
        return editor

    @staticmethod
    def _view_color(i: int) -> QColor:
        color = QColor(class_colors(10)[(i % 9) + 1])  # skip the first palette colour
        color.setAlpha(150)
        return color

    # ------------------------------------------------------------------ public

    def config(self) -> AugmentationConfig:
        """The augmentation configuration shown (methods in order, every parameter)."""
        values: dict[str, Any] = {"methods": self.method_list.checked()}
        for name, f in _AUG_FIELDS.items():
            value = self._editors[name].value()
            values[name] = int(round(value)) if isinstance(f.default, int) else float(value)
        return AugmentationConfig(**values)

    def set_config(self, config: AugmentationConfig) -> None:
        """Show `config` (does not emit configChanged); the preview follows, debounced."""
        self.method_list.blockSignals(True)
        self.method_list.set_checked(config.methods)
        self.method_list.blockSignals(False)
        for name in _AUG_FIELDS:
            editor = self._editors[name]
            editor.blockSignals(True)
            editor.setValue(getattr(config, name))
            editor.blockSignals(False)
        self._update_rows()
        self._schedule()

    def set_stft(self, n_fft: int, hop_length: int) -> None:
        """STFT used for the spectrograms (the run configuration's)."""
        self._n_fft, self._hop = int(n_fft), int(hop_length)
        self._schedule()

    def set_dataset(self, dataset: Dataset) -> None:
        """Preview on an already loaded dataset (its test split)."""
        self._dataset = dataset
        self._loading_name = dataset.name
        self.index_spin.blockSignals(True)
        self.index_spin.setMaximum(dataset.n_test - 1)
        self.index_spin.setValue(min(self.index_spin.value(), dataset.n_test - 1))
        self.index_spin.blockSignals(False)
        self.refresh()

    def set_series_index(self, index: int) -> None:
        """Augment test series `index`."""
        self.index_spin.setValue(index)

    def param_editor(self, name: str) -> QWidget:
        """The slider editing AugmentationConfig field `name`."""
        return self._editors[name]

    def original(self) -> np.ndarray | None:
        """The series shown as the original (L,)."""
        return None if self._original is None else self._original.copy()

    def views(self) -> np.ndarray | None:
        """The augmented views shown (n_views, L)."""
        return None if self._views is None else self._views.copy()

    def current_dataset(self) -> Dataset | None:
        """The dataset the series comes from."""
        return self._dataset

    def is_busy(self) -> bool:
        """Whether a dataset load is in progress."""
        return self._pending > 0

    def set_theme(self, name: str) -> None:
        """Recolour the plots for theme `name`; the original's curve takes the new foreground."""
        for widget in self.plot_widgets():
            style_plot(widget, name)
        self.refresh()

    def plot_widgets(self) -> list[pg.PlotWidget]:
        """The plot widgets (for theme changes)."""
        return [self.series_plot, self.spectrogram_original, self.spectrogram_view]

    # ------------------------------------------------------------------ editing

    def _update_rows(self) -> None:
        chosen = set(self.method_list.checked())
        for name in _AUG_FIELDS:
            self.params_form.setRowVisible(self._editors[name], method_of_field(name) in chosen)

    def _on_methods_changed(self) -> None:
        self._update_rows()
        self.configChanged.emit()
        self._schedule()

    def _on_param_changed(self, *_args: Any) -> None:
        self.configChanged.emit()
        self._schedule()

    def _set_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {ERROR_COLOR};" if error else "")

    # ------------------------------------------------------------------ data

    def _on_controller_selected(self, name: str) -> None:
        if name and name != self._loading_name:
            self._start_loading(name)

    def _start_loading(self, name: str) -> None:
        self._loading_name = name
        self._load_token += 1
        self._pending += 1
        self._set_message(f"Loading {name}…")
        dirs = controller_dirs(self.controller)
        run_in_thread(lambda: load_by_name(name, dirs), self._load_token, self._on_loaded)

    def _on_loaded(self, answer: tuple[int, Any, str]) -> None:
        token, dataset, error = answer
        self._pending -= 1
        if token != self._load_token:
            return
        if error:
            self._set_message(error, error=True)
            return
        self.set_dataset(dataset)

    # ------------------------------------------------------------------ drawing

    def refresh(self) -> None:
        """Recompute the views and redraw now (edits call this debounced)."""
        if self._dataset is None:
            return
        self._schedule.cancel()
        config = self.config()
        series = self._dataset.x_test[min(self.index_spin.value(), self._dataset.n_test - 1)]
        n_views = self.views_spin.value()
        try:
            validate(RunConfig(augmentations=config))
            views, dropped = changed_views(series, config, n_views=n_views, seed=self.seed_spin.value())
        except Exception as exc:  # noqa: BLE001 - a bad parameter is shown, never raised
            self._set_message(str(exc), error=True)
            return
        if not config.methods:
            self._set_message("No augmentation checked: there is no augmented view to show.")
        else:
            text = f"{self._dataset.name}, test series #{self.index_spin.value()}: " + " → ".join(config.methods)
            if dropped:
                text += f"\n{dropped} of {n_views} draws left the series unchanged and were redrawn with other seeds."
            if len(views) < n_views:
                text += f"\nOnly {len(views)} of {n_views} draws change this series."
            self._set_message(text)
        self._original = np.ascontiguousarray(series, dtype=np.float32)
        self._views = np.ascontiguousarray(views, dtype=np.float32)
        self._draw()

    def _draw(self) -> None:
        """Curves of the original and its views; spectrograms of the original and the chosen view."""
        if self._original is None or self._views is None:
            return
        fg = pg.mkColor(pg.getConfigOption("foreground"))
        original, views, spectra = self._original, self._views, (self._original, self._views)
        x = np.arange(original.shape[-1], dtype=np.float32)
        if original.ndim == 2:  # multichannel: channels stacked, the |STFT| of channel 1
            x, stacked, _ = stacked_traces(np.concatenate([original[None], views]))
            original, views, spectra = stacked[0], stacked[1:], (self._original[0], self._views[:, 0])
        self.original_curve.setData(x, original, pen=pg.mkPen(fg, width=2))
        n = len(views)
        self.view_select.blockSignals(True)
        self.view_select.setRange(1, max(n, 1))
        self.view_select.setEnabled(n > 0)
        self.view_select.blockSignals(False)
        chosen = self.view_select.value() - 1
        pens = [pg.mkPen(self._view_color(i), width=2 if i == chosen else 1) for i in range(n)]
        self.view_curves.set_data(views if n else np.zeros((0, len(x))), pens, x=x)
        mag_original = stft_magnitude(spectra[0], self._n_fft, self._hop)
        if n:
            mag_view = stft_magnitude(spectra[1][chosen], self._n_fft, self._hop)
            high = float(max(mag_original.max(), mag_view.max(), 1e-12))
            self.spectrogram_view.set_image(mag_view, (0.0, high))
            self.spectrogram_view.plot_item.setTitle(f"|STFT| of view {chosen + 1}")
        else:
            high = float(max(mag_original.max(), 1e-12))
            self.spectrogram_view.clear_image()
            self.spectrogram_view.plot_item.setTitle("no augmented view")
        self.spectrogram_original.set_image(mag_original, (0.0, high))

    def select_view(self, index: int) -> None:
        """Show the spectrogram of view `index` (0-based) and highlight its curve."""
        self.view_select.setValue(index + 1)

    def selected_view(self) -> int:
        """0-based index of the view whose spectrogram is shown."""
        return self.view_select.value() - 1
