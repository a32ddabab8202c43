"""Datasets page: pick a dataset from the data folders, look at its series and their spectrograms.

Listing and loading run on a worker thread (they read files, up to ~1 s for a big archive); each
request carries a token so a late answer to an old request is dropped. The plots use persistent
items: a pool of class-coloured curves, one highlighted curve and one spectrogram image.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

# PySide6 first so pyqtgraph binds to it; QT_API before superqt (qtpy).
# isort: off
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPalette, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QRadioButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
import pyqtgraph as pg

os.environ.setdefault("QT_API", "pyside6")
from superqt.utils import create_worker  # noqa: E402

# isort: on
from tsstudio.data import BUILTIN_DATASET, Dataset, DatasetInfo  # noqa: E402
from tsstudio.data.folders import load_by_name, scan_datasets  # noqa: E402
from tsstudio.errors import TsstudioError  # noqa: E402
from tsstudio.gui.channels import (  # noqa: E402
    ChannelChooser,
    channel_centres,
    channel_spacing,
    label_channels,
    one_trace,
    stacked,
)
from tsstudio.gui.plots import CurveSet, SpectrogramPlot, class_colors  # noqa: E402
from tsstudio.gui.theme import style_plot  # noqa: E402

__all__ = ["DatasetsView", "ERROR_COLOR", "load_by_name", "run_in_thread", "scan_datasets"]

ERROR_COLOR = "#e5534b"  # readable on dark and light backgrounds
_COLUMNS = ("Dataset", "Train", "Test", "Length", "Classes", "Ch", "Format")  # Ch: channels per series
_MAX_LEGEND = 12


# --------------------------------------------------------------------------- Qt-free helpers


def run_in_thread(fn: Callable[[], Any], token: int, slot: Callable[[tuple[int, Any, str]], None]) -> Any:
    """Run `fn` on a pool thread; `slot` gets (token, result, error message) on the UI thread.

    Errors become a one-line message (never a traceback); `slot` should be a bound method of a
    QObject so the connection dies with the widget.
    """

    def job() -> tuple[int, Any, str]:
        try:
            return token, fn(), ""
        except TsstudioError as exc:
            return token, None, str(exc)
        except Exception as exc:  # noqa: BLE001 - shown to the user, the app stays usable
            return token, None, f"{type(exc).__name__}: {exc}"

    worker = create_worker(job)
    worker.returned.connect(slot)
    worker.start()
    return worker


def controller_dirs(controller: QObject | None) -> list[str]:
    """The controller's data folders (empty when it has none or fails)."""
    try:
        return [str(d) for d in controller.data_dirs()] if controller is not None else []
    except Exception:  # noqa: BLE001 - a broken settings file must not break the view
        return []


def _interleave_classes(y: np.ndarray) -> np.ndarray:
    """Indices ordered round-robin over classes (first of each class, then second, ...), so that
    a handful of overlaid series shows every class even when the split is sorted by label."""
    if y.size == 0:
        return np.zeros(0, dtype=np.int64)
    rank = np.empty(y.size, dtype=np.int64)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        rank[members] = np.arange(members.size)
    return np.lexsort((np.arange(y.size), rank))


def _swatch(color: QColor) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(color)
    return QIcon(pixmap)


# --------------------------------------------------------------------------- view


class DatasetsView(QWidget):
    """Dataset browser: folder chooser, searchable listing, class-coloured series and a spectrogram."""

    datasetLoaded = Signal(object)  # Dataset, emitted before controller.select_dataset is called
    seriesSelected = Signal(int)  # index within the current split

    def __init__(self, controller: QObject, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._infos: dict[str, DatasetInfo] = {}
        self._dataset: Dataset | None = None
        self._loading_name = ""
        self._list_token = 0
        self._load_token = 0
        self._pending = 0
        self._shown: np.ndarray = np.zeros(0, dtype=np.int64)
        self._legend_key: tuple = ()
        self._n_fft, self._hop = 8, 2
        self._stack: tuple[float, np.ndarray] | None = None  # (spacing, centres) of stacked channels
        self._build()
        self._list_timer = QTimer(self, singleShot=True, interval=0)
        self._list_timer.timeout.connect(self._start_listing)
        if hasattr(controller, "dataDirsChanged"):
            controller.dataDirsChanged.connect(self.refresh)
        if hasattr(controller, "datasetSelected"):
            controller.datasetSelected.connect(self._on_controller_selected)
        self.refresh()
        self.load(getattr(controller, "dataset_name", "") or BUILTIN_DATASET)

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        self.folder_button = QPushButton("Choose data folder…")
        self.folder_button.setToolTip("Add a folder in UCR layout (<Name>/<Name>_TRAIN.tsv, _TEST.tsv) to the data folders")
        self.folder_button.clicked.connect(self._choose_folder)
        self.filter_edit = QLineEdit(placeholderText="Filter datasets…", clearButtonEnabled=True)
        self.filter_edit.textChanged.connect(self._apply_filter)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(_COLUMNS))
        self.tree.setHeaderLabels(list(_COLUMNS))
        self.tree.headerItem().setToolTip(5, "Channels per series (1: univariate)")
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(_COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemSelectionChanged.connect(self._on_tree_selection)
        self.tree.itemClicked.connect(self._on_item_clicked)
        self.busy = QProgressBar(maximumHeight=6, textVisible=False)
        self.busy.setRange(0, 0)
        self.busy.hide()
        self.status = QLabel(wordWrap=True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.folder_button)
        lv.addWidget(self.filter_edit)
        lv.addWidget(self.tree, 1)
        lv.addWidget(self.busy)
        lv.addWidget(self.status)

        # controls above the plots
        self.split_group = QButtonGroup(self)
        self.train_button = QRadioButton("Train", toolTip="Show the training split")
        self.test_button = QRadioButton("Test", toolTip="Show the test split")
        self.test_button.setChecked(True)
        for i, button in enumerate((self.train_button, self.test_button)):
            self.split_group.addButton(button, i)
        self.split_group.idToggled.connect(lambda _id, on: on and self._on_split_changed())
        self.class_combo = QComboBox(toolTip="Show the series of one class, or of all classes")
        self.class_combo.addItem("All classes", -1)
        self.class_combo.currentIndexChanged.connect(self._redraw)
        self.count_spin = QSpinBox(minimum=1, maximum=50, value=10, toolTip="How many series to overlay (1–50)")
        self.count_spin.valueChanged.connect(self._redraw)
        self.index_spin = QSpinBox(minimum=0, maximum=0, toolTip="Series shown highlighted and as a spectrogram")
        self.index_spin.valueChanged.connect(self._show_selected)
        self.channel_chooser = ChannelChooser()
        self.channel_chooser.currentIndexChanged.connect(self._show_selected)
        controls = QHBoxLayout()
        controls.addWidget(self.train_button)
        controls.addWidget(self.test_button)
        controls.addSpacing(12)
        controls.addWidget(QLabel("Classes"))
        controls.addWidget(self.class_combo)
        controls.addSpacing(12)
        controls.addWidget(QLabel("Series shown"))
        controls.addWidget(self.count_spin)
        controls.addSpacing(12)
        controls.addWidget(QLabel("Selected #"))
        controls.addWidget(self.index_spin)
        controls.addSpacing(12)
        controls.addWidget(self.channel_chooser)
        controls.addStretch(1)

        self.series_plot = pg.PlotWidget()
        self.series_item: pg.PlotItem = self.series_plot.getPlotItem()
        self.series_item.setLabel("bottom", "time step")
        self.series_item.setLabel("left", "value")
        self.series_item.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.series_item.addLegend(offset=(-10, 10))
        self.series_curves = CurveSet(self.series_item, clickable=True)
        self.series_curves.on_click(lambda i: self.select_series(int(self._shown[i // self._curves_per_series()])))
        self.selected_curve = pg.PlotDataItem(skipFiniteCheck=True)
        self.selected_curve.setZValue(10)
        self.series_item.addItem(self.selected_curve)
        self.spectrogram = SpectrogramPlot()
        self.spectrogram.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        plots = QSplitter(Qt.Orientation.Vertical)
        plots.addWidget(self.series_plot)
        plots.addWidget(self.spectrogram)
        plots.setStretchFactor(0, 3)
        plots.setStretchFactor(1, 2)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addLayout(controls)
        rv.addWidget(plots, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([330, 770])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    # ------------------------------------------------------------------ public

    def refresh(self) -> None:
        """Re-list the datasets of the data folders (coalesced, on a worker)."""
        self._list_timer.start()

    def load(self, name: str) -> None:
        """Select dataset `name` in the list (or load it directly when not listed)."""
        item = self._item(name)
        if item is not None and item.flags() & Qt.ItemFlag.ItemIsSelectable:
            self.tree.setCurrentItem(item)
            if self._loading_name != name:
                self._start_loading(name)
        else:
            self._start_loading(name)

    def current_dataset(self) -> Dataset | None:
        """The dataset shown, or None before the first load."""
        return self._dataset

    def current_split(self) -> str:
        """'train' or 'test'."""
        return "train" if self.train_button.isChecked() else "test"

    def set_split(self, split: str) -> None:
        """Show the 'train' or 'test' split."""
        (self.train_button if split == "train" else self.test_button).setChecked(True)

    def set_class_filter(self, class_id: int) -> None:
        """Show only class id `class_id` (-1: all classes)."""
        index = self.class_combo.findData(class_id)
        if index >= 0:
            self.class_combo.setCurrentIndex(index)

    def select_series(self, index: int) -> None:
        """Highlight series `index` of the current split and show its spectrogram."""
        if self.index_spin.value() == index:
            self._show_selected()
        else:
            self.index_spin.setValue(index)

    def selected_index(self) -> int:
        """Index (in the current split) of the highlighted series."""
        return self.index_spin.value()

    def shown_indices(self) -> np.ndarray:
        """Indices (in the current split) of the overlaid series, in curve order."""
        return self._shown.copy()

    def dataset_names(self) -> list[str]:
        """Names in the listing, in order (broken ones included)."""
        return list(self._infos)

    def dataset_info(self, name: str) -> DatasetInfo | None:
        """The listing entry of `name`, or None."""
        return self._infos.get(name)

    def set_stft(self, n_fft: int, hop_length: int) -> None:
        """STFT used for the spectrogram (the run configuration's; default 8 / 2)."""
        self._n_fft, self._hop = int(n_fft), int(hop_length)
        self._show_selected()

    def plot_widgets(self) -> list[pg.PlotWidget]:
        """The plot widgets (for theme changes)."""
        return [self.series_plot, self.spectrogram]

    def set_theme(self, name: str) -> None:
        """Recolour the plots for theme `name` (background, axes, titles, legend)."""
        for widget in self.plot_widgets():
            style_plot(widget, name)

    def is_busy(self) -> bool:
        """Whether a listing or a load is in progress."""
        return self._pending > 0 or self._list_timer.isActive()

    # ------------------------------------------------------------------ listing

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {ERROR_COLOR};" if error else "")

    def _busy(self, delta: int) -> None:
        self._pending = max(0, self._pending + delta)
        self.busy.setVisible(self._pending > 0)

    def _start_listing(self) -> None:
        self._list_token += 1
        self._busy(+1)
        dirs = controller_dirs(self.controller)
        run_in_thread(lambda: scan_datasets(dirs), self._list_token, self._on_listed)

    def _on_listed(self, answer: tuple[int, Any, str]) -> None:
        token, infos, error = answer
        self._busy(-1)
        if token != self._list_token:
            return
        if error:
            self._set_status(error, error=True)
            return
        self._fill_tree(infos)

    def _fill_tree(self, infos: list[DatasetInfo]) -> None:
        self._infos = {info.name: info for info in infos}
        grey = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        selected = self._dataset.name if self._dataset is not None else self._loading_name
        self.tree.blockSignals(True)
        self.tree.clear()
        current = None
        for info in infos:
            if info.error:
                item = QTreeWidgetItem([info.name, "", "", "", "", "", info.format])
                item.setToolTip(0, info.error)
                for col in range(len(_COLUMNS)):
                    item.setForeground(col, QBrush(grey))
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                item.setText(1, "error")
            else:
                item = QTreeWidgetItem([info.name])
                for col, value in enumerate((info.n_train, info.n_test, info.length, info.n_classes, info.channels),
                                            start=1):
                    item.setData(col, Qt.ItemDataRole.DisplayRole, int(value))
                    item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if not info.n_classes:
                    item.setData(4, Qt.ItemDataRole.DisplayRole, "none")
                item.setText(6, "built-in" if info.source == "built-in" else info.format)
                item.setToolTip(0, f"{info.name} — {info.source}")
            self.tree.addTopLevelItem(item)
            if info.name == selected and not info.error:
                current = item
        if current is not None:
            self.tree.setCurrentItem(current)
        self.tree.blockSignals(False)
        self._apply_filter(self.filter_edit.text())
        broken = sum(1 for info in infos if info.error)
        note = f" ({broken} cannot be read: hover for why)" if broken else ""
        if not self._pending:
            self._set_status(f"{len(infos)} datasets{note}")

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setHidden(bool(needle) and needle not in item.text(0).lower())

    def _item(self, name: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.text(0) == name:
                return item
        return None

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a data folder (UCR layout)")
        if path:
            self.add_folder(path)

    def add_folder(self, path: str) -> None:
        """Add a data folder through the controller and re-list."""
        try:
            self.controller.add_data_dir(path)
        except Exception as exc:  # noqa: BLE001 - shown in the view
            self._set_status(str(exc), error=True)
            return
        self.refresh()

    # ------------------------------------------------------------------ loading

    def _on_item_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        info = self._infos.get(item.text(0))
        if info is not None and info.error:
            self._set_status(info.error, error=True)

    def _on_tree_selection(self) -> None:
        items = self.tree.selectedItems()
        if items:
            name = items[0].text(0)
            if name != self._loading_name:
                self._start_loading(name)

    def _on_controller_selected(self, name: str) -> None:
        if name and name != self._loading_name:
            self.load(name)

    def _start_loading(self, name: str) -> None:
        self._loading_name = name
        self._load_token += 1
        self._busy(+1)
        self._set_status(f"Loading {name}…")
        info = self._infos.get(name)
        source = info.source if info is not None else None
        dirs = controller_dirs(self.controller)
        run_in_thread(lambda: load_by_name(name, dirs, source), self._load_token, self._on_loaded)

    def _on_loaded(self, answer: tuple[int, Any, str]) -> None:
        token, dataset, error = answer
        self._busy(-1)
        if token != self._load_token:
            return
        if error:
            self.clear_plots()  # the previous dataset's curves must not pass for this one's
            self._set_status(error, error=True)
            return
        self.set_dataset(dataset)
        self.datasetLoaded.emit(dataset)
        if getattr(self.controller, "dataset_name", None) != dataset.name:
            self.controller.select_dataset(dataset.name)

    def set_dataset(self, dataset: Dataset) -> None:
        """Show an already loaded dataset (resets the class filter and selects series 0)."""
        self._dataset = dataset
        self._loading_name = dataset.name
        self._set_status(
            f"{dataset.name}: {dataset.n_train} train / {dataset.n_test} test series of length "
            f"{dataset.length}" + (f", {dataset.n_channels} channels" if dataset.n_channels > 1 else "") + ", "
            + (f"{dataset.n_classes} classes" if dataset.labelled else "no class labels")
            + ("" if dataset.source == "built-in" else f" ({dataset.format})")
        )
        self.channel_chooser.set_count(dataset.n_channels)
        self._stack = None
        colors = class_colors(dataset.n_classes)
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItem("All classes" if dataset.labelled else "Unlabelled", -1)
        for cid, label in enumerate(dataset.class_labels):
            self.class_combo.addItem(_swatch(colors[cid]), f"class {label}", cid)
        self.class_combo.blockSignals(False)
        self._legend_key = ()
        self._on_split_changed()

    def clear_plots(self) -> None:
        """Show no dataset: no curves, no legend, no spectrogram (after a failed load)."""
        self._dataset = None
        self._shown = np.zeros(0, dtype=np.int64)
        self.series_curves.set_data(np.zeros((0, 0)), [])
        self.selected_curve.setData([], [])
        self.legend.clear()
        self._legend_key = ()
        self.spectrogram.clear_image()
        self.spectrogram.plot_item.setTitle("")
        self.series_item.setTitle("")
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItem("All classes", -1)
        self.class_combo.blockSignals(False)

    # ------------------------------------------------------------------ drawing

    def _split_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        d = self._dataset
        assert d is not None
        return (d.x_train, d.y_train) if self.current_split() == "train" else (d.x_test, d.y_test)

    def _on_split_changed(self) -> None:
        if self._dataset is None:
            return
        x, _ = self._split_arrays()
        self.index_spin.blockSignals(True)
        self.index_spin.setMaximum(x.shape[0] - 1)
        self.index_spin.blockSignals(False)
        self._redraw()
        self._show_selected()

    def _redraw(self) -> None:
        """Overlay the first `count` series of the chosen class(es), coloured by class."""
        if self._dataset is None:
            return
        x, y = self._split_arrays()
        class_id = self.class_combo.currentData()
        if class_id is None or class_id < 0:
            candidates = _interleave_classes(y)
        else:
            candidates = np.flatnonzero(y == class_id)
        self._shown = candidates[: self.count_spin.value()]
        colors = class_colors(max(self._dataset.n_classes, 1))  # unlabelled (id -1): one colour
        pens = []
        for i in self._shown:
            color = QColor(colors[max(int(y[i]), 0)])
            color.setAlpha(170)
            pens.append(pg.mkPen(color, width=1))
        shown = x[self._shown] if self._shown.size else np.zeros((0, *x.shape[1:]))
        if x.ndim == 3:  # channels stacked: C curves per series, all in the series' colour
            self._stack = (channel_spacing(x), channel_centres(x))  # of the whole split: stable while browsing
            shown = stacked(shown, *self._stack).reshape(-1, x.shape[-1])
            pens = [pen for pen in pens for _ in range(x.shape[1])]
        label_channels(self.series_item.getAxis("left"), self._dataset.n_channels, self._stack[0] if self._stack else 1)
        self.series_item.setLabel("left", "channel" if x.ndim == 3 else "value")
        self.series_curves.set_data(shown, pens)
        self._update_legend(sorted({int(c) for c in y[self._shown]}))
        if self.index_spin.value() not in set(self._shown.tolist()) and self._shown.size:
            self.select_series(int(self._shown[0]))

    def _curves_per_series(self) -> int:
        return self._dataset.n_channels if self._dataset is not None else 1

    def _update_legend(self, classes: list[int]) -> None:
        key = (self._dataset.name if self._dataset else "", tuple(classes))
        if key == self._legend_key:
            return
        self._legend_key = key
        self.legend.clear()
        self.legend.setColumnCount(max(1, -(-min(len(classes), _MAX_LEGEND + 1) // 4)))  # at most 4 rows
        colors = class_colors(self._dataset.n_classes if self._dataset else 0)
        for cid in [c for c in classes if c >= 0][:_MAX_LEGEND]:  # no legend for unlabelled series
            sample = pg.PlotDataItem(pen=pg.mkPen(colors[cid], width=2))
            self.legend.addItem(sample, f"class {self._dataset.class_labels[cid]}")
        if len(classes) > _MAX_LEGEND:
            self.legend.addItem(pg.PlotDataItem(pen=None), f"… {len(classes) - _MAX_LEGEND} more")

    def _show_selected(self) -> None:
        if self._dataset is None:
            return
        x, y = self._split_arrays()
        index = min(self.index_spin.value(), x.shape[0] - 1)
        series = x[index]
        cid = int(y[index])
        color = class_colors(max(self._dataset.n_classes, 1))[max(cid, 0)]
        pen = pg.mkPen(color, width=3)
        channel = ""
        if series.ndim == 2 and self._stack is not None:
            xs, ys = one_trace(series, *self._stack)
            self.selected_curve.setData(xs, ys, pen=pen, connect="finite", skipFiniteCheck=False)
            c = min(self.channel_chooser.channel(), series.shape[0] - 1)
            self.spectrogram.set_series(series[c], self._n_fft, self._hop)
            channel = f" channel {c + 1}"
        else:
            self.selected_curve.setData(np.arange(series.shape[-1], dtype=np.float32), series, pen=pen)
            self.spectrogram.set_series(series, self._n_fft, self._hop)
        label = f"class {self._dataset.class_labels[cid]}" if cid >= 0 else "unlabelled"
        self.spectrogram.plot_item.setTitle(f"|STFT| of {self.current_split()} series #{index}{channel} ({label})")
        self.series_item.setTitle(f"{self._dataset.name} — {self.current_split()} split, #{index} highlighted")
        self.seriesSelected.emit(index)
