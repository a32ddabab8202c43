"""A prior run's live panels: loss, masked-token accuracy, learning rate and the class-conditional
samples the trainer decodes every `snapshot_every_steps` (time and |STFT|, beside a real series
of the same class), one column per class, titled with the dataset's class label.

Plot items are created once per run and updated with `setData` / `setImage` (explicit levels);
`draw` takes a `store.follow.RunData`, whoever produced it (a job of this process or a file).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# isort: off
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QCheckBox, QGridLayout, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget
import pyqtgraph as pg
# isort: on

from tsstudio.gui.channels import label_stacked, stacked_traces
from tsstudio.gui.plots import COLORMAP, LogAxis, class_colors, stft_magnitude
from tsstudio.gui.theme import CURVE_COLORS, style_plot
from tsstudio.store.follow import RunData, Series

MAX_CLASSES = 8  # columns of decoded samples shown, one per class (the trainer decodes n_snapshot_series)


def _pen(i: int, alpha: int = 255, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> object:
    color = pg.mkColor(CURVE_COLORS[i % len(CURVE_COLORS)])
    color.setAlpha(alpha)
    return pg.mkPen(color, width=1, style=style)


class _Curves:
    """A training metric (raw, faint + smoothed) and its validation points, in one plot."""

    def __init__(self, plot: pg.PlotWidget, name: str, val_name: str, color: int) -> None:
        self.name, self.val_name = name, val_name
        self.raw = plot.plot(pen=_pen(color, alpha=60))
        self.line = plot.plot(pen=_pen(color), name="train")  # the plot's title says which metric
        self.val = plot.plot(pen=_pen(color + 1, style=Qt.PenStyle.DashLine), symbol="o", symbolSize=5,
                             symbolBrush=CURVE_COLORS[(color + 1) % len(CURVE_COLORS)], name="test")
        for item in (self.raw, self.line):
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)

    def draw(self, d: RunData, alpha: float, smooth: Callable[[np.ndarray, float], np.ndarray], positive: bool) -> None:
        train: Series | None = d.train.get(self.name)
        if train is not None:
            steps, values = train
            keep = np.isfinite(values) & (values > 0 if positive else True)
            steps, values = steps[keep], values[keep]
            self.raw.setData(steps, values)
            self.raw.setVisible(alpha > 0)
            self.line.setData(steps, smooth(values, alpha) if alpha > 0 else values)
        val = d.evals.get(self.val_name)
        if val is not None:
            self.val.setData(*val)

    def clear(self) -> None:
        for item in (self.raw, self.line, self.val):
            item.setData([], [])


class PriorPanels(QWidget):
    """Loss, masked-token accuracy, learning rate and decoded class-conditional samples of a prior run."""

    def __init__(self, smooth: Callable[[np.ndarray, float], np.ndarray], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._smooth = smooth
        self._theme = "dark"
        self._data: RunData | None = None
        self._samples_key: tuple | None = None
        self._n = 0
        self._columns: list[np.ndarray] = []  # snapshot rows drawn in each column
        self._built, self._building = 0, 0  # columns complete / the count being built
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        controls = QHBoxLayout()
        self.log_check = QCheckBox("Log scale")
        self.log_check.setChecked(True)
        self.log_check.toggled.connect(self._on_log_toggled)
        self.smooth_slider = QSlider(Qt.Orientation.Horizontal)
        self.smooth_slider.setRange(0, 99)
        self.smooth_slider.setValue(60)
        self.smooth_slider.setMaximumWidth(180)
        self.smooth_label = QLabel("0.60")
        self.smooth_slider.valueChanged.connect(self._on_smoothing)
        self.headline = QLabel("")
        controls.addWidget(self.log_check)
        controls.addWidget(QLabel("EMA smoothing"))
        controls.addWidget(self.smooth_slider)
        controls.addWidget(self.smooth_label)
        controls.addStretch(1)
        controls.addWidget(self.headline)
        layout.addLayout(controls)

        self.loss_plot = pg.PlotWidget(title="Loss (masked tokens)", axisItems={"left": LogAxis("left")})
        self.loss_plot.addLegend(offset=(-10, 10))
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.setLogMode(y=True)
        self.loss_plot.showGrid(x=True, y=True, alpha=0.2)
        self.loss = _Curves(self.loss_plot, "loss", "val_prior_loss", 0)
        self.accuracy_plot = pg.PlotWidget(title="Masked-token accuracy")
        self.accuracy_plot.addLegend(offset=(-10, -10))
        self.accuracy_plot.setLabel("bottom", "step")
        self.accuracy_plot.showGrid(x=True, y=True, alpha=0.2)
        self.accuracy = _Curves(self.accuracy_plot, "masked_accuracy", "val_masked_accuracy", 2)
        self.lr_plot = pg.PlotWidget(title="Learning rate")
        self.lr_plot.setLabel("bottom", "step")
        self.lr_curve = self.lr_plot.plot(pen=_pen(0))
        self.samples_widget = pg.GraphicsLayoutWidget()
        self.samples_widget.setMinimumHeight(260)
        self.samples_title = self.samples_widget.addLabel("Class-conditional samples: none decoded yet", row=0, col=0)
        self.time_plots: list[pg.PlotItem] = []
        self.sample_curves: list[pg.PlotDataItem] = []
        self.real_curves: list[pg.PlotDataItem] = []
        self.spec_plots: list[pg.PlotItem] = []
        self.spec_images: list[pg.ImageItem] = []
        self.colorbar: pg.ColorBarItem | None = None
        grid = QGridLayout()
        grid.setSpacing(4)
        grid.addWidget(self.loss_plot, 0, 0)
        grid.addWidget(self.accuracy_plot, 0, 1)
        grid.addWidget(self.lr_plot, 0, 2)
        grid.addWidget(self.samples_widget, 1, 0, 1, 3)
        grid.setRowStretch(0, 2)
        grid.setRowStretch(1, 3)
        for c in range(3):
            grid.setColumnStretch(c, 1)
        layout.addLayout(grid, 1)

    # ------------------------------------------------------------------ public
    def plot_widgets(self) -> list[pg.PlotWidget | pg.GraphicsLayoutWidget]:
        return [self.loss_plot, self.accuracy_plot, self.lr_plot, self.samples_widget]

    def set_theme(self, name: str) -> None:
        self._theme = name
        for widget in self.plot_widgets():
            style_plot(widget, name)

    def sample_count(self) -> int:
        """Decoded samples shown (over every column)."""
        return self._n

    def reset(self) -> None:
        """Empty every panel (another run is about to be shown)."""
        self.loss.clear()
        self.accuracy.clear()
        self.lr_curve.setData([], [])
        for curve in (*self.sample_curves, *self.real_curves):
            curve.setData([], [])
        for image in self.spec_images:
            image.clear()
        self.samples_title.setText("Class-conditional samples: none decoded yet")
        self.headline.setText("")
        self._data, self._samples_key, self._n, self._columns = None, None, 0, []

    def draw(self, d: RunData) -> None:
        """Draw `d` into the persistent items (the samples only when a newer snapshot arrived)."""
        self._data = d
        alpha = self.smooth_slider.value() / 100.0
        self.loss.draw(d, alpha, self._smooth, positive=self.log_check.isChecked())
        self.accuracy.draw(d, alpha, self._smooth, positive=False)
        if "lr" in d.train:
            self.lr_curve.setData(*d.train["lr"])
        latest = []
        for key, label, digits in (("val_prior_loss", "val loss", 3), ("val_masked_accuracy", "val accuracy", 3),
                                   ("sample_perplexity", "sample perplexity", 1)):
            if key in d.evals and len(d.evals[key][1]):
                latest.append(f"{label} {d.evals[key][1][-1]:.{digits}f}")
        self.headline.setText("   ".join(latest))
        self._draw_samples(d)

    # ------------------------------------------------------------------ samples
    def _ensure_columns(self, n: int) -> bool:
        """One time plot and one |STFT| plot per class shown, created once per column count.

        A column's two plots cost tens of milliseconds to build, so one column is built per call
        (the caller comes back on the next event-loop turn) instead of stalling the UI for all of
        them at once; True when all `n` exist. Columns stay hidden until the last one is built.
        """
        if n == self._built:
            return True
        if n != self._building:
            self.samples_widget.clear()
            self.time_plots, self.sample_curves, self.real_curves, self.spec_plots, self.spec_images = [], [], [], [], []
            self.colorbar = None
            self._built, self._building = -1, n
            self.samples_title = self.samples_widget.addLabel("", row=0, col=0, colspan=max(n, 1) + 1)
        cmap = pg.colormap.get(COLORMAP)
        i = len(self.time_plots)
        if i < n:
            # no context menus: building a ViewBox menu per plot is a quarter of what a column costs
            time_plot = self.samples_widget.addPlot(row=1, col=i, enableMenu=False)
            time_plot.hideButtons()
            time_plot.getAxis("left").setWidth(28)
            time_plot.setLabel("bottom", "time")
            real = time_plot.plot(pen=pg.mkPen(pg.mkColor(128, 128, 128, 150), width=1))
            sample = time_plot.plot(pen=pg.mkPen(CURVE_COLORS[0], width=1.4), connect="finite")
            spec_plot = self.samples_widget.addPlot(row=2, col=i, enableMenu=False)
            spec_plot.hideButtons()
            spec_plot.getAxis("left").setWidth(28)
            spec_plot.setLabel("bottom", "frame")
            image = pg.ImageItem(axisOrder="row-major")
            image.setColorMap(cmap)
            spec_plot.addItem(image)
            for plot in (time_plot, spec_plot):
                plot.setVisible(False)
            self.time_plots.append(time_plot)
            self.real_curves.append(real)
            self.sample_curves.append(sample)
            self.spec_plots.append(spec_plot)
            self.spec_images.append(image)
            if len(self.time_plots) < n:
                return False
        if n:
            self.time_plots[0].setLabel("left", "value")
            self.spec_plots[0].setLabel("left", "bin")
            self.colorbar = pg.ColorBarItem(colorMap=cmap, interactive=False, width=10, colorMapMenu=False, label="|STFT|")
            self.colorbar.setImageItem(self.spec_images)
            self.samples_widget.addItem(self.colorbar, row=2, col=n)
        style_plot(self.samples_widget, self._theme)
        for plot in (*self.time_plots, *self.spec_plots):
            plot.setVisible(True)
        self._built = n
        return True

    def samples_pending(self) -> bool:
        """Whether decoded samples wait for their columns to be built (a few event-loop turns)."""
        return self._data is not None and self._data.recon is not None and len(self._data.recon) > 0 \
            and self._samples_key is None

    def panel_titles(self) -> list[str]:
        """The title of each decoded-samples column, left to right (what the user reads)."""
        return [str(plot.titleLabel.text) for plot in self.time_plots[: len(self._columns)]]

    def _draw_samples(self, d: RunData) -> None:
        if d.recon is None or not len(d.recon):
            return
        key = (id(d.recon), d.recon_step)
        if key == self._samples_key:
            return
        self._samples_key = key
        samples = np.asarray(d.recon, np.float32)
        n = len(samples)
        labels = np.asarray(d.labels[:n], np.int64) if d.labels is not None and len(d.labels) >= n else np.full(n, -1)
        real = np.asarray(d.inputs[:n], np.float32) if d.inputs is not None and len(d.inputs) >= n else None
        # one column per class, in the order the trainer decoded them: a class decoded twice is
        # drawn twice in its own column, never as a second column that repeats a class
        classes = list(dict.fromkeys(int(c) for c in labels))[:MAX_CLASSES]
        if not self._ensure_columns(len(classes)):
            self._samples_key = None  # drawn once every column exists, a turn of the event loop later
            QTimer.singleShot(0, self, lambda: self._data is d and self._draw_samples(d))
            return
        self._columns = [np.flatnonzero(labels == c) for c in classes]
        self._n = int(sum(len(rows) for rows in self._columns))
        n_classes = max(len(d.class_labels), int(labels.max()) + 1, 1)
        shown = f" — {len(classes)} of {n_classes} classes" if labels.min() >= 0 and len(classes) < n_classes else ""
        self.samples_title.setText(
            f"Class-conditional samples decoded at step {d.recon_step}{shown} (grey: a real test series of the class)"
        )
        colors = class_colors(n_classes)
        drawn = np.concatenate(self._columns)
        mags = {int(i): stft_magnitude(samples[i][0] if samples.ndim == 3 else samples[i], d.n_fft, d.hop_length)
                for i in drawn}
        high = float(max(m.max() for m in mags.values())) or 1.0
        length = samples.shape[-1]
        t = np.arange(length, dtype=np.float64)
        channels, source = (samples.shape[1] if samples.ndim == 3 else 1), samples
        if samples.ndim == 3:  # multichannel: channels stacked in each time plot, channel 1's |STFT| below
            t, samples, real = stacked_traces(samples, real)
        lo = float(min(np.nanmin(samples[drawn]), np.nanmin(real[drawn]) if real is not None else np.inf))
        hi = float(max(np.nanmax(samples[drawn]), np.nanmax(real[drawn]) if real is not None else -np.inf))
        for col, (cid, rows) in enumerate(zip(classes, self._columns, strict=True)):
            color = colors[cid] if cid >= 0 else pg.mkColor(CURVE_COLORS[0])
            # the class's samples as one curve, each followed by a NaN gap so they stay apart
            xs = np.concatenate([np.append(t, np.nan) for _ in rows])
            ys = np.concatenate([np.append(samples[i], np.nan) for i in rows])
            self.sample_curves[col].setData(xs, ys, pen=pg.mkPen(color, width=1.4), connect="finite")
            if real is not None:
                self.real_curves[col].setData(t, real[rows[0]])
            else:
                self.real_curves[col].setData([], [])
            name = f"class {d.class_name(cid)}" if cid >= 0 else "unconditional"
            count = f" ({len(rows)} samples)" if len(rows) > 1 else ""
            self.time_plots[col].setTitle(f"{name}{count}", size="9pt")
            self.time_plots[col].setYRange(lo, hi, padding=0.05)
            label_stacked(self.time_plots[col].getAxis("left"), source, channels)
            self.time_plots[col].setXRange(0, length - 1, padding=0.02)
            mag = mags[int(rows[0])]
            freq, frames = mag.shape
            self.spec_images[col].setImage(mag, levels=(0.0, high), autoLevels=False)
            self.spec_images[col].setRect(0, 0, frames, freq)
            self.spec_plots[col].setRange(xRange=(0, frames), yRange=(0, freq), padding=0)
        if self.colorbar is not None:
            self.colorbar.setLevels((0.0, high))

    # ------------------------------------------------------------------ controls
    def _on_log_toggled(self, on: bool) -> None:
        self.loss_plot.setLogMode(y=on)
        if self._data is not None:
            self.draw(self._data)

    def _on_smoothing(self, value: int) -> None:
        self.smooth_label.setText(f"{value / 100:.2f}")
        if self._data is not None:
            self.draw(self._data)
