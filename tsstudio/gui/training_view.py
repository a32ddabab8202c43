"""Live view of one training run: loss terms, learning rate, reconstructions, codebook, probes.

The view draws from a *source*: a `JobSource` pulls what is new from a job of this process (and,
for a resumed run, keeps the curves its file held), a `FileSource` follows a run file on a pool
thread with `store.follow.RunFollower`, which reads only the rows appended since its last read
(live through SWMR when another process writes it, or once when finished). A timer asks the
source for news and redraws only then; plot items are created once and updated
with `setData` / `setImage` (explicit levels).
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

os.environ.setdefault("QT_API", "pyside6")  # superqt goes through qtpy
from superqt import QElidingLabel  # noqa: E402

from tsstudio.errors import TsstudioError
from tsstudio.gui.channels import ChannelChooser, channel_centres, channel_spacing, label_channels, one_trace
from tsstudio.gui.controller import AppController
from tsstudio.gui.datasets_view import run_in_thread
from tsstudio.gui.plots import LogAxis, stft_magnitude
from tsstudio.gui.theme import CURVE_COLORS, style_plot
from tsstudio.gui.widgets.prior_panels import PriorPanels
from tsstudio.gui.workers import TrainingJob
from tsstudio.store.follow import RunData, RunFollower, Series, truncate

JOB_REDRAW_MS = 100  # ≤ 10 Hz for a job of this process
FILE_POLL_MS = 1000  # run files written by another process
NOT_LOSS = {"lr", "perplexity"}


class JobSource:
    """Pulls new state from a `TrainingJob` of this process (incrementally, by cursor)."""

    def __init__(self, job: TrainingJob) -> None:
        self.job = job
        self.data = RunData(name=job.path.stem, status="starting", kind=getattr(job, "kind", "tokenizer"))
        self._cursor = 0
        self._steps: list[np.ndarray] = []
        self._values: dict[str, list[np.ndarray]] = {}
        self._first_time: float | None = None
        self._first_step = 0
        self._snapshots = -1
        self._past: RunData | None = None  # a resumed run's curves up to its checkpoint
        self.live = True

    def _merge_past(self, past: RunData, start_step: int) -> None:
        """Keep a resumed run's history: its file's curves up to the step it resumed from."""
        self._past = dataclasses.replace(past, train=truncate(past.train, start_step), evals=truncate(past.evals, start_step))
        d = self.data
        if d.recon is None and past.recon is not None and past.recon_step <= start_step:
            d.recon, d.recon_step, d.usage = past.recon, past.recon_step, past.usage

    @staticmethod
    def _joined(past: dict[str, Series], live: dict[str, Series]) -> dict[str, Series]:
        out = dict(past)
        for name, (steps, values) in live.items():
            old = out.get(name)
            out[name] = (steps, values) if old is None else (np.concatenate([old[0], steps]), np.concatenate([old[1], values]))
        return out

    def poll(self) -> bool:
        """Merge what is new; True if anything changed."""
        up = self.job.read(self._cursor)
        d = self.data
        changed = up.cursor != self._cursor or up.status != d.status or up.snapshot_count != self._snapshots
        changed = changed or len(up.eval_values) != len(d.evals) or any(
            len(v[0]) != len(d.evals.get(k, ((),))[0]) for k, v in up.eval_values.items()
        )
        if not changed:
            return False
        self._cursor = up.cursor
        d.status, d.step, d.total_steps, d.start_step, d.message = up.status, up.step, up.total_steps, up.start_step, up.message
        if up.started is not None:
            cfg = up.started.config
            d.dataset, d.device = up.started.dataset, f"{up.started.device}/{up.started.precision}"
            d.kind = up.started.kind
            d.class_labels = tuple(up.started.class_labels)
            d.preset = str(cfg.get("preset", ""))
            d.n_fft = int(cfg.get("stft", {}).get("n_fft", 8))
            d.hop_length = int(cfg.get("stft", {}).get("hop_length", 2))
            d.inputs, d.labels = up.started.snapshot_inputs, up.started.snapshot_labels
            d.train_metrics = tuple(up.started.train_metrics)
            if self._past is None and up.history is not None:
                self._merge_past(up.history, up.started.start_step)
        live_train: dict[str, Series] = {}
        if len(up.steps):
            if self._first_time is None:
                self._first_time, self._first_step = float(up.times[0]), int(up.steps[0])
            elapsed = float(up.times[-1]) - self._first_time
            if elapsed > 0:
                d.rate_steps_s = (int(up.steps[-1]) - self._first_step) / elapsed
            self._steps.append(up.steps)
            for name, col in up.values.items():
                self._values.setdefault(name, []).append(col)
            steps = np.concatenate(self._steps)
            if len(self._steps) > 1:
                self._steps = [steps]
            for name, parts in self._values.items():
                values = np.concatenate(parts)
                self._values[name] = [values]
                if len(values) == len(steps):
                    live_train[name] = (steps, values)
        elif self._steps:
            steps = self._steps[0]
            live_train = {n: (steps, p[0]) for n, p in self._values.items() if len(p[0]) == len(steps)}
        past = self._past
        d.train = self._joined(past.train, live_train) if past is not None else live_train
        d.evals = self._joined(past.evals, dict(up.eval_values)) if past is not None else dict(up.eval_values)
        if up.snapshot is not None and up.snapshot_count != self._snapshots:
            d.recon, d.recon_step, d.usage = up.snapshot.recon, up.snapshot.step, up.snapshot.codebook_usage
        self._snapshots = up.snapshot_count
        self.live = self.job.is_running or up.status in ("starting", "running", "paused")
        return True

    def close(self) -> None:
        pass


class FileSource(QObject):
    """Follows a run file on a pool thread (`RunFollower` reads only new rows); draws get its copies.

    One poll is in flight at a time; `poll()` returns True when a finished poll brought news.
    The file is opened and read off the UI thread, and closed there too. `arrived` is emitted
    (on the UI thread) when a read brought news, so the view draws at once.
    """

    arrived = Signal()

    def __init__(
        self,
        path: Path,
        parent: QObject | None = None,
        interval_s: float = FILE_POLL_MS / 1000,
        initial: RunData | None = None,
    ) -> None:
        super().__init__(parent)
        self.path = path
        self.interval_s = interval_s
        self._started_at = -math.inf
        self.data = initial if initial is not None else RunData(name=path.stem)  # shown until the file is read
        self.live = True
        self.error = ""
        self._follower: RunFollower | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._in_flight = False
        self._news = False
        self._token = 0
        self._start()

    def _start(self) -> None:
        if self._in_flight or self._closed:
            return
        self._in_flight = True
        self._started_at = time.monotonic()
        self._token += 1
        run_in_thread(self._work, self._token, self._on_polled)

    def _work(self) -> RunData | None:
        with self._lock:  # never two polls at once, never a poll while closing
            if self._closed:
                return None
            if self._follower is None:
                self._follower = RunFollower(self.path)
            data = self._follower.poll()
            if not self._follower.live:
                self._follower.close()
            return data

    def _on_polled(self, answer: tuple[int, Any, str]) -> None:
        _token, data, error = answer
        self._in_flight = False
        if self._closed:
            return
        if error:
            self.error = error
            self.live = False
            self._news = True
        elif data is not None:
            self.data = data
            self.live = data.status == "running"
            self._news = True
        if self._news:
            self.arrived.emit()

    def poll(self) -> bool:
        """Start the next read if none is in flight; True if a finished read brought news."""
        news, self._news = self._news, False
        if self.live and not self._closed and time.monotonic() - self._started_at >= self.interval_s:
            self._start()
        return news

    def is_reading(self) -> bool:
        """Whether a read is in flight."""
        return self._in_flight

    def close(self) -> None:
        self._closed = True
        with self._lock:
            if self._follower is not None:
                self._follower.close()
                self._follower = None


def ema(values: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential moving average with weight `alpha` on the past (0 returns the input)."""
    if alpha <= 0 or len(values) < 2:
        return values
    from scipy.signal import lfilter

    x = np.where(np.isfinite(values), values, np.nan)
    finite = np.isfinite(x)
    if not finite.any():
        return values
    # carry the last finite value over gaps so one NaN does not poison the filter
    idx = np.where(finite, np.arange(len(x)), 0)
    np.maximum.accumulate(idx, out=idx)
    x = x[idx]
    first = x[np.argmax(finite)]
    x = np.where(np.isfinite(x), x, first)
    out, _ = lfilter([1 - alpha], [1, -alpha], x, zi=[alpha * first])
    return out


def loss_color_index(name: str, declared: tuple[str, ...]) -> int:
    """Colour of a loss curve, fixed by the run's declared metrics (the same live and finished)."""
    losses = [n for n in declared if n not in NOT_LOSS]
    if name in losses:
        return losses.index(name)
    if name == "val_loss":
        return len(losses)
    return len(losses) + 1 + zlib.crc32(name.encode()) % 4


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _pen(i: int, alpha: int = 255, width: float = 1, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> Any:
    color = pg.mkColor(CURVE_COLORS[i % len(CURVE_COLORS)])
    color.setAlpha(alpha)
    return pg.mkPen(color, width=width, style=style)


class TrainingView(QWidget):
    """Live and post-hoc view of one run, with Start / Pause / Resume / Stop."""

    startRequested = Signal()  # Start: train the Configure tab's configuration

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.source: JobSource | FileSource | None = None
        self.path: Path | None = None
        self._theme = "dark"
        self._dirty = False
        self._build()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        controller.runSelected.connect(self._on_run_selected)
        controller.jobStarted.connect(self._on_job_started)
        controller.jobFinished.connect(self._on_job_finished)
        controller.jobsChanged.connect(self._update_buttons)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        header = QHBoxLayout()
        # Long run names, dataset details and error messages elide (full text in the tooltip)
        # instead of widening the window past the screen.
        self.title = QElidingLabel("No run")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.status_label = QElidingLabel("")
        self.status_label.setMaximumWidth(320)
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(160)
        self.progress.setMaximumWidth(300)
        self.progress.setFormat("–")
        self.progress.setTextVisible(True)
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Train the configuration of the Configure tab (Ctrl+R)")
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Resume a paused job, or continue a stopped run from its checkpoint")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current step, saving a checkpoint")
        self.start_button.clicked.connect(self.startRequested)
        self.pause_button.clicked.connect(self.pause)
        self.resume_button.clicked.connect(self.resume)
        self.stop_button.clicked.connect(self.stop)
        header.addWidget(self.title, 2)
        header.addWidget(self.status_label, 1)
        header.addWidget(self.progress)
        for b in (self.start_button, self.pause_button, self.resume_button, self.stop_button):
            header.addWidget(b)
        outer.addLayout(header)

        self.stack = QStackedWidget()
        self.empty_hint = QLabel(
            "No run to show yet.\n\nConfigure a run in the Configure tab and press Start,\n"
            "or double-click a run in the Runs list."
        )
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.empty_hint)
        self.stack.addWidget(self._build_plots())
        self.prior_panels = PriorPanels(ema)  # a prior run's own panels (page 2)
        self.stack.addWidget(self.prior_panels)
        outer.addWidget(self.stack, 1)
        self._update_buttons()

    def _build_plots(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        controls = QHBoxLayout()
        self.log_check = QCheckBox("Log scale")
        self.log_check.setChecked(True)
        self.log_check.toggled.connect(self._on_log_toggled)
        self.smooth_slider = QSlider(Qt.Orientation.Horizontal)
        self.smooth_slider.setRange(0, 99)
        self.smooth_slider.setValue(60)
        self.smooth_slider.setMaximumWidth(180)
        self.smooth_label = QLabel()
        self.smooth_slider.valueChanged.connect(self._on_smoothing)
        self.series_spin = QSpinBox()
        self.series_spin.setPrefix("test series ")
        self.series_spin.setRange(0, 0)
        self.series_spin.valueChanged.connect(lambda _: self._redraw_snapshot())
        self.channel_chooser = ChannelChooser()
        self.channel_chooser.currentIndexChanged.connect(lambda _: self._redraw_snapshot())
        self.headline = QLabel("")
        controls.addWidget(self.log_check)
        controls.addWidget(QLabel("EMA smoothing"))
        controls.addWidget(self.smooth_slider)
        controls.addWidget(self.smooth_label)
        controls.addSpacing(16)
        controls.addWidget(self.series_spin)
        controls.addWidget(self.channel_chooser)
        controls.addStretch(1)
        controls.addWidget(self.headline)
        layout.addLayout(controls)

        grid = QGridLayout()
        grid.setSpacing(4)
        self.loss_plot = pg.PlotWidget(title="Loss terms", axisItems={"left": LogAxis("left")})
        self.loss_plot.addLegend(offset=(-10, 10))
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.setLogMode(y=True)
        self.loss_plot.showGrid(x=True, y=True, alpha=0.2)
        self.lr_plot = pg.PlotWidget(title="Learning rate")
        self.lr_plot.setLabel("bottom", "step")
        self.lr_curve = self.lr_plot.plot(pen=_pen(0))
        self.recon_plot = pg.PlotWidget(title="Input vs reconstruction")
        self.recon_plot.addLegend(offset=(-10, 10))
        self.recon_plot.setLabel("bottom", "time")
        self.input_curve = self.recon_plot.plot(pen=_pen(0), name="input")
        self.recon_curve = self.recon_plot.plot(pen=_pen(1), name="reconstruction")
        self.spec_widget = pg.GraphicsLayoutWidget()
        cmap = pg.colormap.get("viridis")
        self.spec_plots: list[pg.PlotItem] = []
        self.spec_images: list[pg.ImageItem] = []
        for col, title in enumerate(("input |STFT|", "reconstruction |STFT|")):
            plot = self.spec_widget.addPlot(row=0, col=col, title=title)
            plot.setLabel("bottom", "time frame")
            plot.setLabel("left", "frequency bin")
            image = pg.ImageItem(axisOrder="row-major")
            image.setColorMap(cmap)
            plot.addItem(image)
            self.spec_plots.append(plot)
            self.spec_images.append(image)
        # one colour bar for both panels: they share their levels, so they compare directly
        self.spec_colorbar = pg.ColorBarItem(colorMap=cmap, interactive=False, width=12, colorMapMenu=False, label="|STFT|")
        self.spec_colorbar.setImageItem(self.spec_images)
        self.spec_widget.addItem(self.spec_colorbar, row=0, col=2)
        self._spec_shape: tuple[int, int] | None = None
        self._snapshot_key: tuple | None = None
        self.usage_plot = pg.PlotWidget(title="Codebook usage (latest)")
        self.usage_plot.setLabel("bottom", "code")
        self.usage_plot.setLabel("left", "tokens")
        self.usage_bars = pg.BarGraphItem(x=np.zeros(0), height=np.zeros(0), width=0.8, brush=CURVE_COLORS[0], pen=None)
        self.usage_plot.addItem(self.usage_bars)
        self.ppl_plot = pg.PlotWidget(title="Perplexity and dead codes")
        self.ppl_plot.addLegend(offset=(-10, 10))
        self.ppl_plot.setLabel("bottom", "step")
        self.ppl_curve = self.ppl_plot.plot(pen=_pen(0), name="perplexity")
        self.dead_curve = self.ppl_plot.plot(
            pen=_pen(3), symbol="o", symbolSize=4, symbolBrush=CURVE_COLORS[3], name="dead codes"
        )
        self.probe_plot = pg.PlotWidget(title="Probe accuracy")
        self.probe_plot.addLegend(offset=(-10, 10))
        self.probe_plot.setLabel("bottom", "step")
        self.probe_plot.setYRange(0, 1)
        self.svm_curve = self.probe_plot.plot(pen=_pen(2), symbol="o", symbolSize=6, symbolBrush=CURVE_COLORS[2], name="svm")
        self.knn_curve = self.probe_plot.plot(pen=_pen(4), symbol="s", symbolSize=6, symbolBrush=CURVE_COLORS[4], name="knn")
        for curve in (self.lr_curve, self.ppl_curve):
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
        grid.addWidget(self.loss_plot, 0, 0, 1, 2)
        grid.addWidget(self.lr_plot, 0, 2)
        grid.addWidget(self.recon_plot, 1, 0)
        grid.addWidget(self.spec_widget, 1, 1, 1, 2)
        grid.addWidget(self.usage_plot, 2, 0)
        grid.addWidget(self.ppl_plot, 2, 1)
        grid.addWidget(self.probe_plot, 2, 2)
        for r in range(3):
            grid.setRowStretch(r, 1)
        for c in range(3):
            grid.setColumnStretch(c, 1)
        layout.addLayout(grid, 1)
        self.loss_curves: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        self._on_smoothing(self.smooth_slider.value())
        return page

    def plot_widgets(self) -> list[pg.PlotWidget | pg.GraphicsLayoutWidget]:
        return [self.loss_plot, self.lr_plot, self.recon_plot, self.spec_widget, self.usage_plot, self.ppl_plot, self.probe_plot]

    def set_theme(self, name: str) -> None:
        self._theme = name
        for widget in self.plot_widgets():
            style_plot(widget, name)
        self.prior_panels.set_theme(name)

    def shows_prior_panels(self) -> bool:
        """Whether the prior's panels (not the tokenizer's) are on screen."""
        return self.stack.currentWidget() is self.prior_panels

    # ------------------------------------------------------------------ what to show
    def show_run(self, path: str | os.PathLike[str] | None) -> None:
        """Show the run at `path`: from its job when this process trains it, else from its file."""
        previous = self.source.data if isinstance(self.source, JobSource) and self.path == Path(path or "") else None
        self._close_source()
        if not path:
            self.path = None
            self.stack.setCurrentIndex(0)
            self.title.setText("No run")
            self._update_buttons()
            return
        self.path = Path(path)
        job = self.controller.job_for(self.path)
        if job is not None and job.is_running:
            self.source = JobSource(job)
        else:
            self.source = FileSource(self.path, parent=self, initial=previous)  # the job's last state until read
            self.source.arrived.connect(self._tick)
        self._reset_plots()
        self.prior_panels.reset()
        self.stack.setCurrentIndex(2 if self.source.data.kind == "prior" else 1)
        self.title.setText(self.path.stem)
        self._tick()
        self._timer.start(JOB_REDRAW_MS)

    def _close_source(self) -> None:
        self._timer.stop()
        if self.source is not None:
            self.source.close()
            if isinstance(self.source, FileSource):
                self.source.deleteLater()  # its read in flight, if any, no longer reports back
        self.source = None

    def _reset_plots(self) -> None:
        for raw, smooth in self.loss_curves.values():
            self.loss_plot.removeItem(raw)
            self.loss_plot.removeItem(smooth)
            if self.loss_plot.plotItem.legend is not None:
                self.loss_plot.plotItem.legend.removeItem(smooth)
        self.loss_curves.clear()
        curves = (self.lr_curve, self.input_curve, self.recon_curve, self.ppl_curve, self.dead_curve)
        for curve in (*curves, self.svm_curve, self.knn_curve):
            curve.setData([], [])
        self.usage_bars.setOpts(x=np.zeros(0), height=np.zeros(0))
        for image in self.spec_images:
            image.clear()
        self._spec_shape = None
        self._snapshot_key = None

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt naming)
        self._close_source()
        super().closeEvent(event)

    # ------------------------------------------------------------------ controller events
    def _on_run_selected(self, path: str) -> None:
        if path and Path(path) != self.path:
            self.show_run(path)

    def _on_job_started(self, path: str) -> None:
        if self.path is not None and Path(path) == self.path:
            self.show_run(path)  # resumed in place: follow the job

    def _on_job_finished(self, path: str, status: str) -> None:
        if self.path is not None and Path(path) == self.path:
            self.show_run(path)  # final state from the file, which now holds everything
        self._update_buttons()

    # ------------------------------------------------------------------ buttons
    def _job(self) -> TrainingJob | None:
        job = self.controller.job_for(self.path)
        return job if job is not None and job.is_running else None

    def pause(self) -> None:
        job = self._job()
        if job is not None:
            job.pause()
        self._update_buttons()

    def resume(self) -> None:
        job = self._job()
        if job is not None:
            job.resume()
        elif self.path is not None:
            try:
                self.controller.resume_run(self.path)
            except TsstudioError as exc:
                self.status_label.setText(str(exc))
        self._update_buttons()

    def stop(self) -> None:
        job = self._job()
        if job is not None:
            job.stop()
            self.status_label.setText("stopping…")

    def _update_buttons(self) -> None:
        job = self._job()
        status = self.source.data.status if self.source is not None else ""
        self.pause_button.setEnabled(job is not None and not job.control.paused)
        self.stop_button.setEnabled(job is not None)
        resumable = job is None and status in ("stopped", "interrupted")
        self.resume_button.setEnabled((job is not None and job.control.paused) or resumable)

    # ------------------------------------------------------------------ drawing
    def _tick(self) -> None:
        source = self.source
        if source is None:
            return
        try:
            changed = source.poll()
        except (TsstudioError, OSError, KeyError, ValueError) as exc:
            self.status_label.setText(f"cannot read: {exc}")
            return
        if isinstance(source, FileSource) and source.error:
            self._timer.stop()
            self.stack.setCurrentIndex(0)
            self.empty_hint.setText(f"Cannot open {source.path.name}:\n{source.error}")
            self._update_buttons()
            return
        if changed or self._dirty:
            self._dirty = False
            self.redraw()
        if not source.live and not (isinstance(source, FileSource) and source.is_reading()):
            self._timer.stop()

    def redraw(self) -> None:
        """Draw the source's current data into the persistent plot items."""
        if self.source is None:
            return
        d = self.source.data
        self._redraw_header(d)
        if d.kind == "prior":
            self.stack.setCurrentWidget(self.prior_panels)
            self.prior_panels.draw(d)
            self._update_buttons()
            return
        if self.stack.currentWidget() is self.prior_panels:
            self.stack.setCurrentIndex(1)
        self._redraw_losses(d)
        if "lr" in d.train:
            self.lr_curve.setData(*d.train["lr"])
        ppl = d.train.get("perplexity")
        if ppl is not None:
            self.ppl_curve.setData(*ppl)
        dead = d.evals.get("dead_codes")
        if dead is not None:
            self.dead_curve.setData(*dead)
        for key, curve in (("svm_accuracy", self.svm_curve), ("knn_accuracy", self.knn_curve)):
            if key in d.evals:
                curve.setData(*d.evals[key])
        if d.total_steps:  # probes are sparse: show them on the run's whole step axis
            self.probe_plot.setXRange(0, d.total_steps, padding=0.03)
        if d.usage is not None and len(d.usage):
            k = len(d.usage)
            self.usage_bars.setOpts(x=np.arange(k), height=d.usage.astype(np.float64), width=0.8)
            self.usage_plot.setXRange(-0.5, k - 0.5, padding=0.02)
        self._redraw_snapshot()
        self._update_buttons()

    def _redraw_header(self, d: RunData) -> None:
        parts = [self.path.stem if self.path else d.name]
        details = [x for x in (d.dataset, d.preset, d.device.strip("/")) if x]
        if details:
            parts.append("  ·  ".join(details))
        self.title.setText("   ".join(parts))
        self.title.setToolTip("   ".join(parts))
        status = d.status if not d.message else f"{d.status}: {d.message}"
        self.status_label.setText(status)
        self.status_label.setToolTip(status)
        total = max(d.total_steps, 1)
        self.progress.setRange(0, total)
        self.progress.setValue(min(d.step, total))
        left = (d.total_steps - d.step) / d.rate_steps_s if d.rate_steps_s > 0 else float("nan")
        eta = f" — ETA {format_duration(left)}" if d.status in ("running", "paused") else ""
        self.progress.setFormat(f"step {d.step} / {d.total_steps}{eta}")
        latest = []
        for key, label in (("val_loss", "val"), ("svm_accuracy", "svm"), ("knn_accuracy", "knn")):
            if key in d.evals and len(d.evals[key][1]):
                latest.append(f"{label} {d.evals[key][1][-1]:.3f}")
        self.headline.setText("   ".join(latest))

    def _redraw_losses(self, d: RunData) -> None:
        alpha = self.smooth_slider.value() / 100.0
        names = [n for n in d.train if n not in NOT_LOSS]
        curves: list[tuple[str, tuple[np.ndarray, np.ndarray], bool]] = [(n, d.train[n], True) for n in names]
        if "val_loss" in d.evals:
            curves.append(("val_loss", d.evals["val_loss"], False))
        for name, (steps, values), smooth in curves:
            items = self.loss_curves.get(name)
            if items is None:
                i = loss_color_index(name, d.train_metrics)
                style = Qt.PenStyle.SolidLine if smooth else Qt.PenStyle.DashLine
                raw = pg.PlotDataItem(pen=_pen(i, alpha=60))
                line = pg.PlotDataItem(pen=_pen(i, style=style), name=name)
                if not smooth:
                    line.setSymbol("o")
                    line.setSymbolSize(5)
                    line.setSymbolBrush(CURVE_COLORS[i % len(CURVE_COLORS)])
                for item in (raw, line):
                    item.setDownsampling(auto=True, method="peak")
                    item.setClipToView(True)
                self.loss_plot.addItem(raw)
                self.loss_plot.addItem(line)
                items = self.loss_curves[name] = (raw, line)
            raw, line = items
            keep = np.isfinite(values) & (values > 0 if self.log_check.isChecked() else True)
            steps, values = steps[keep], values[keep]
            if smooth and alpha > 0:
                raw.setData(steps, values)
                raw.setVisible(True)
                line.setData(steps, ema(values, alpha))
            else:
                raw.setVisible(False)
                line.setData(steps, values)

    def _redraw_snapshot(self) -> None:
        if self.source is None:
            return
        d = self.source.data
        if d.inputs is None or not len(d.inputs):
            return
        key = (id(self.source), id(d.inputs), id(d.recon), d.recon_step, self.series_spin.value(),
               self.channel_chooser.channel())
        if key == self._snapshot_key:  # nothing new to draw: curves and spectrograms stay as they are
            return
        self._snapshot_key = key
        n = len(d.inputs)
        if self.series_spin.maximum() != n - 1:
            self.series_spin.setRange(0, n - 1)
        i = min(self.series_spin.value(), n - 1)
        x = np.asarray(d.inputs[i], np.float32)
        cid = int(d.labels[i]) if d.labels is not None and len(d.labels) > i else None
        label = "?" if cid is None else d.class_name(cid)
        of_class = f" (class {label})" if cid is None or cid >= 0 else ""  # unlabelled series (-1): no class
        count = x.shape[0] if x.ndim == 2 else 1
        self.channel_chooser.set_count(count)
        c = min(self.channel_chooser.channel(), count - 1)
        self.recon_plot.setTitle(f"Series {i}{of_class} at step {d.recon_step}")
        on = f", ch {c + 1}" if count > 1 else ""  # short: a longer title squeezes the colour bar out
        for plot, title in zip(self.spec_plots, ("input |STFT|", "recon. |STFT|" if on else "reconstruction |STFT|")):
            plot.setTitle(title + on)
        r = np.asarray(d.recon[i], np.float32) if d.recon is not None and len(d.recon) > i else None
        stack = (channel_spacing(d.inputs), channel_centres(d.inputs)) if count > 1 else None
        label_channels(self.recon_plot.getPlotItem().getAxis("left"), count, stack[0] if stack else 1.0)
        for curve, series in ((self.input_curve, x), (self.recon_curve, r)):
            if series is None:
                continue
            if stack is not None:  # channels stacked as offset traces, on the input's offsets
                curve.setData(*one_trace(series, *stack), connect="finite")
            else:
                curve.setData(np.arange(len(series)), series)
        images = [stft_magnitude(x[c] if stack else x, d.n_fft, d.hop_length)]
        if r is not None:
            images.append(stft_magnitude(r[c] if stack else r, d.n_fft, d.hop_length))
        high = float(max(img.max() for img in images)) or 1.0
        self.spec_colorbar.setLevels((0.0, high))  # the bar pushes its levels to both images
        for image, data in zip(self.spec_images, images):
            freq, frames = data.shape
            image.setImage(data, levels=(0.0, high), autoLevels=False)
            image.setRect(0, 0, frames, freq)  # pixel (bin, frame) -> axes in bins and frames
        if self._spec_shape != images[0].shape:
            self._spec_shape = images[0].shape
            freq, frames = images[0].shape
            for plot in self.spec_plots:
                plot.setRange(xRange=(0, frames), yRange=(0, freq), padding=0)

    def _on_log_toggled(self, on: bool) -> None:
        self.loss_plot.setLogMode(y=on)
        self._dirty = True
        self._tick_now()

    def _on_smoothing(self, value: int) -> None:
        self.smooth_label.setText(f"{value / 100:.2f}")
        self._dirty = True
        self._tick_now()

    def _tick_now(self) -> None:
        if self.source is not None:
            self._dirty = False
            self.redraw()

