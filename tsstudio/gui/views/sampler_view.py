"""The Sampler view: sample a prior run, look at the generations and replay their decoding.

Controls on the left (class, guidance, steps T, temperatures, number, seed); on the right the
generations as small multiples coloured by class, the selected one's nearest real training series
and a real-vs-generated PCA, and below them the selected generation's token grid, spectrogram and
the series decoded at the replay step. Sampling, file reading and writing run on the sampler's
worker thread (`SamplerService`); this module only lays out widgets and connects signals.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

# isort: off
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
import pyqtgraph as pg
# isort: on

from tsstudio.errors import TsstudioError
from tsstudio.eval.sampling_explore import UNCONDITIONAL, class_id_for, replay_frame
from tsstudio.gui.channels import first_channel, label_stacked, plot_form, side_by_side
from tsstudio.gui.plots import SpectrogramPlot, class_colors, stft_magnitude
from tsstudio.gui.sampling_worker import PriorInfo, SamplerService, SamplingRequest, SamplingResult
from tsstudio.gui.theme import PLOT_COLORS, style_plot
from tsstudio.gui.widgets.caption import captioned
from tsstudio.gui.widgets.series_grid import UNCONDITIONAL_COLOR, SeriesGrid
from tsstudio.gui.widgets.token_grid import TokenGridPlot

PLAY_INTERVAL_MS = 350
REAL_COLOR = (150, 150, 150, 110)
GENERATED_COLOR = "#f28e2b"
_FROM_CONTROLS = object()
SELECTED_COLORS = {"dark": "#ffcc33", "light": "#1a5fb4"}  # the selected generation's frame and PCA ring


def _is_kind(path: str, kind: str) -> bool:
    """Whether an HDF5 file's root says it is a `kind` file (False for anything unreadable)."""
    try:
        import h5py

        with h5py.File(path, "r") as f:
            return f.attrs.get("kind") == kind
    except (OSError, ValueError):
        return False


_CLASS_TIP = "The class to sample (the dataset's class labels), or unconditional"
_GUIDANCE_TIP = "Classifier-free guidance scale w: ℓ_null + w·(ℓ_cond − ℓ_null); 1 = plain conditional"
# the caption is the legend: a legend inside this small, dense plot covered the points
PCA_CAPTION = "PCA: real test (grey) vs generated (▼, class colours)"


class SamplerView(QWidget):
    """Sample a prior run and explore the generations; `shown` after each set of generations is drawn."""

    shown = Signal()
    messageChanged = Signal(str)

    def __init__(self, controller: Any = None, service: SamplerService | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.service = service or SamplerService(parent=self)
        self.info: PriorInfo | None = None
        self.result: SamplingResult | None = None
        self._step_series: dict[int, np.ndarray] = {}  # generation index → (T, L) decoded guesses
        self._theme = "dark"
        self._build()
        self._play_timer = QTimer(self)
        self._play_timer.setInterval(PLAY_INTERVAL_MS)
        self._play_timer.timeout.connect(self._advance)
        s = self.service
        s.loaded.connect(self._on_loaded)
        s.generated.connect(self._on_generated)
        s.stepsDecoded.connect(self._on_steps_decoded)
        s.saved.connect(lambda p: self._say(f"Saved generations to {p}"))
        s.failed.connect(self._on_failed)
        s.busyChanged.connect(self._on_busy)
        if controller is not None and hasattr(controller, "runSelected"):
            controller.runSelected.connect(self._on_run_selected)
        app = pg.QtWidgets.QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self._update_enabled()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        top = QHBoxLayout()
        top.addWidget(QLabel("Prior run:"))
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("a prior run file (.h5): select one in Runs, or browse")
        self.path_edit.returnPressed.connect(lambda: self.load_prior(self.path_edit.text()))
        top.addWidget(self.path_edit, 1)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse_prior)
        self.load_button = QPushButton("Load")
        self.load_button.setToolTip("Load this prior run, its tokenizer and its dataset")
        self.load_button.clicked.connect(lambda: self.load_prior(self.path_edit.text()))
        self.open_button = QPushButton("Open generations…")
        self.open_button.setToolTip("Show a generation file written by the sampler or `tsstudio sample`")
        self.open_button.clicked.connect(self._browse_generations)
        for w in (self.browse_button, self.load_button, self.open_button):
            top.addWidget(w)
        outer.addLayout(top)
        self.message = QLabel("Load a prior run to sample from it.")
        self.message.setObjectName("SamplerMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.message)

        body = QSplitter(Qt.Orientation.Horizontal)
        body.setChildrenCollapsible(False)
        body.addWidget(self._build_controls())
        body.addWidget(self._build_plots())
        body.setStretchFactor(0, 0)
        body.setStretchFactor(1, 1)
        body.setSizes([210, 1100])
        outer.addWidget(body, 1)

    def _build_controls(self) -> QWidget:
        box = QGroupBox("Sampling")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.class_combo = QComboBox()
        self.class_combo.setToolTip(_CLASS_TIP)
        self.guidance = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=20.0, singleStep=0.25, value=1.0)
        self.guidance.setToolTip(_GUIDANCE_TIP)
        self.steps = QSpinBox(minimum=1, maximum=200, value=10)
        self.steps.setToolTip("Decoding steps T of iterative decoding")
        self.choice_temperature = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=50.0, singleStep=0.5, value=4.0)
        self.choice_temperature.setToolTip("Gumbel noise on the confidence, annealed to 0 over the steps")
        self.sampling_temperature = QDoubleSpinBox(decimals=2, minimum=0.05, maximum=10.0, singleStep=0.1, value=1.0)
        self.sampling_temperature.setToolTip("Temperature of the token distribution each step samples from")
        self.n_samples = QSpinBox(minimum=1, maximum=4096, value=16)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        form.addRow("Class", self.class_combo)
        form.addRow("Guidance", self.guidance)
        form.addRow("Steps T", self.steps)
        form.addRow("Choice temp.", self.choice_temperature)
        form.addRow("Sampling temp.", self.sampling_temperature)
        form.addRow("Samples", self.n_samples)
        form.addRow("Seed", self.seed)
        self.generate_button = QPushButton("Generate")
        self.generate_button.setDefault(True)
        self.generate_button.clicked.connect(lambda: self.generate())
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("Write the generations with every setting to an HDF5 generation file")
        self.save_button.clicked.connect(self._browse_save)
        form.addRow(self.generate_button)
        form.addRow(self.save_button)
        self.timing = QLabel("")
        self.timing.setWordWrap(True)
        form.addRow(self.timing)
        self.prior_info = QLabel("")
        self.prior_info.setWordWrap(True)
        self.prior_info.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        form.addRow(self.prior_info)
        box.setMinimumWidth(190)
        box.setMaximumWidth(260)
        return box

    def _build_plots(self) -> QWidget:
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        upper = QSplitter(Qt.Orientation.Horizontal)
        self.grid = SeriesGrid()
        self.grid.selected.connect(self.select)
        upper.addWidget(captioned(self.grid, "Generations (click one)"))
        side = QSplitter(Qt.Orientation.Vertical)
        self.nearest_plot = pg.PlotWidget()
        self.nearest_plot.getPlotItem().setMenuEnabled(False)
        self.nearest_gen = self.nearest_plot.plot([], [], name="generated")
        self.nearest_real = self.nearest_plot.plot([], [], name="real")
        self.pca_plot = pg.PlotWidget()
        self.pca_plot.getPlotItem().setMenuEnabled(False)
        self.pca_real = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(*REAL_COLOR), name="real test")
        self.pca_gen = pg.ScatterPlotItem(size=7, pen=pg.mkPen("#000000", width=0.5), brush=pg.mkBrush(GENERATED_COLOR),
                                          symbol="t")
        self.pca_current = pg.ScatterPlotItem(size=14, pen=pg.mkPen("#ffcc33", width=2), brush=None, symbol="o")
        for item in (self.pca_real, self.pca_gen, self.pca_current):
            self.pca_plot.addItem(item)
        self.nearest_caption = QLabel("Nearest real training series")
        side.addWidget(captioned(self.nearest_plot, self.nearest_caption))
        side.addWidget(captioned(self.pca_plot, PCA_CAPTION))
        upper.addWidget(side)
        upper.setSizes([620, 420])
        split.addWidget(upper)

        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        plots = QSplitter(Qt.Orientation.Horizontal)
        self.token_plot = TokenGridPlot()
        self.token_plot.hovered.connect(lambda text: self.hover_label.setText(text))
        self.spectrogram = SpectrogramPlot()
        self.step_plot = pg.PlotWidget()
        self.step_plot.getPlotItem().setMenuEnabled(False)
        self.step_final = self.step_plot.plot([], [])
        self.step_curve = self.step_plot.plot([], [])
        for w, caption in ((self.token_plot, "Token grid (grey = masked)"),
                           (self.spectrogram, "Spectrogram |STFT|"),
                           (self.step_plot, "Decoded at this step (final: faint)")):
            plots.addWidget(captioned(w, caption))
        plots.setSizes([340, 340, 380])
        lower_layout.addWidget(plots, 1)
        replay = QHBoxLayout()
        self.play_button = QPushButton("▶ Play")
        self.play_button.setToolTip("Replay the iterative decoding step by step")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._on_play)
        self.step_slider = QSlider(Qt.Orientation.Horizontal)
        self.step_slider.setRange(1, 1)
        self.step_slider.setPageStep(1)
        self.step_slider.valueChanged.connect(lambda _v: self._draw_step())
        self.step_label = QLabel("step –")
        self.step_label.setMinimumWidth(230)
        self.hover_label = QLabel("")
        self.hover_label.setMinimumWidth(190)
        replay.addWidget(self.play_button)
        replay.addWidget(QLabel("Step"))
        replay.addWidget(self.step_slider, 1)
        replay.addWidget(self.step_label)
        replay.addWidget(self.hover_label)
        lower_layout.addLayout(replay)
        split.addWidget(lower)
        split.setSizes([380, 300])
        return split

    def plot_widgets(self) -> list[pg.PlotWidget]:
        """Every plot of the view (for theming and screenshots)."""
        return [self.grid, self.nearest_plot, self.pca_plot, self.token_plot, self.spectrogram, self.step_plot]

    def set_theme(self, name: str) -> None:
        """Recolour plot backgrounds, axes and text for the `dark` or `light` theme."""
        self._theme = name
        for widget in self.plot_widgets():
            style_plot(widget, name)
        fg = pg.mkColor(PLOT_COLORS.get(name, PLOT_COLORS["dark"])["foreground"])
        for plot in (self.grid.plot_item, self.pca_plot.getPlotItem()):
            if plot.legend is not None:
                plot.legend.setLabelTextColor(fg)
                for _sample, label in plot.legend.items:  # setLabelTextColor does not re-render existing labels
                    label.setText(label.text, color=fg)
        highlight = SELECTED_COLORS.get(name, SELECTED_COLORS["dark"])
        self.grid.set_highlight_color(highlight)
        self.pca_current.setPen(pg.mkPen(highlight, width=2))
        self._redraw_selection()

    # ------------------------------------------------------------------ messages and state
    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("QLabel#SamplerMessage { color: #e15759; font-weight: bold; }" if error else "")
        self.messageChanged.emit(text)

    def message_text(self) -> str:
        """The view's current one-line message."""
        return self.message.text()

    def _on_busy(self, _busy: bool) -> None:
        self._update_enabled()

    def _update_enabled(self) -> None:
        busy = self.service.busy
        loaded = self.info is not None
        self.generate_button.setEnabled(loaded and not busy)
        self.save_button.setEnabled(self.result is not None and loaded and not busy)
        self.load_button.setEnabled(not busy)
        self.open_button.setEnabled(not busy)
        self.generate_button.setText("Generating…" if busy and loaded else "Generate")

    def _on_failed(self, what: str, message: str) -> None:
        titles = {"load": "Cannot load the prior run", "generate": "Cannot sample", "open": "Cannot open the generation file",
                  "replay": "Cannot decode the steps", "save": "Cannot save the generations"}
        self._say(f"{titles.get(what, what)}: {message}", error=True)
        if what == "load":  # the worker dropped the prior it had
            self._forget_prior()
        self._update_enabled()

    # ------------------------------------------------------------------ prior runs and files
    def _on_run_selected(self, path: str) -> None:
        if path and _is_kind(path, "prior") and not self.service.busy:
            self.path_edit.setText(path)

    def _browse_prior(self) -> None:
        start = str(getattr(self.controller, "workspace", "") or Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open a prior run", start, "Run files (*.h5 *.hdf5);;All files (*)")
        if path:
            self.path_edit.setText(path)
            self.load_prior(path)

    def _browse_generations(self) -> None:
        start = str(getattr(self.controller, "workspace", "") or Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open generations", start, "Generation files (*.h5 *.hdf5);;All files (*)")
        if path:
            self.open_generations(path)

    def _browse_save(self) -> None:
        if self.result is None:
            return
        start = str(getattr(self.controller, "workspace", "") or Path.home())
        name = f"generations-{self.info.dataset if self.info else 'prior'}.h5"
        path, _ = QFileDialog.getSaveFileName(self, "Save generations", os.path.join(start, name), "HDF5 (*.h5)")
        if path:
            self.save_generations(path)

    def open_path(self, path: str | os.PathLike[str]) -> bool:
        """Open a prior run or a generation file, whichever `path` is; False (with a message) otherwise."""
        path = os.fspath(path)
        if _is_kind(path, "generation"):
            return self.open_generations(path)
        return self.load_prior(path)

    def load_prior(self, path: str | os.PathLike[str]) -> bool:
        """Load a prior run on the worker; refuses (one message) a file that is not a prior run."""
        path = os.fspath(path).strip()
        if not path:
            self._say("Choose a prior run file first.", error=True)
            return False
        if not Path(path).is_file():
            self._say(f"{path}: no such file", error=True)
            return False
        if not _is_kind(path, "prior"):
            self._say(f"{path}: not a prior run (expected a run file written by `tsstudio prior` or the app)", error=True)
            return False
        self.path_edit.setText(path)
        self._say(f"Loading {Path(path).name}…")
        self.service.load(path)
        return True

    def open_generations(self, path: str | os.PathLike[str]) -> bool:
        """Show a generation file (written here or by `tsstudio sample`); refuses other files with a message."""
        path = os.fspath(path)
        if not Path(path).is_file():
            self._say(f"{path}: no such file", error=True)
            return False
        if not _is_kind(path, "generation"):
            self._say(f"{path}: not a generation file (expected one written by the sampler or `tsstudio sample`)", error=True)
            return False
        self._say(f"Opening {Path(path).name}…")
        self.service.open_generations(path)
        return True

    def _on_loaded(self, info: PriorInfo) -> None:
        self.info = info
        self.path_edit.setText(info.path)
        self.class_combo.clear()
        self.class_combo.addItem("unconditional", UNCONDITIONAL)
        for i, label in enumerate(info.class_labels):
            self.class_combo.addItem(f"class {label}", i)
        self.class_combo.setCurrentIndex(1 if info.class_labels else 0)
        d = info.defaults
        self.guidance.setValue(d["guidance"] if info.class_labels else 1.0)
        self._set_conditional(bool(info.class_labels))
        self.steps.setValue(int(d["steps"]))
        self.choice_temperature.setValue(d["choice_temperature"])
        self.sampling_temperature.setValue(d["sampling_temperature"])
        self.token_plot.set_codebook_size(info.codebook_size)
        self.pca_real.setData(info.test_plane[:, 0], info.test_plane[:, 1])
        self.prior_info.setText(
            f"<b>{Path(info.path).name}</b><br>dataset {info.dataset}<br>classes {', '.join(info.class_labels)}<br>"
            f"tokens {info.grid[0]} × {info.grid[1]} (frequency × time), {info.codebook_size} codes<br>"
            f"series length {info.length}<br><br>Generated series are in the dataset's scaled units; the nearest "
            "real series is searched among the training series of the same class."
        )
        self._say(f"Loaded {Path(info.path).name}: {info.dataset}, {len(info.class_labels)} classes, "
                  f"{info.grid[0]}×{info.grid[1]} tokens. Choose the settings and press Generate.")
        self._update_enabled()

    # ------------------------------------------------------------------ sampling
    def generate(self, class_label: Any = _FROM_CONTROLS, **settings: Any) -> bool:
        """Sample with the controls' settings; `class_label` (a dataset class label, None =
        unconditional) and keyword settings (n, seed, guidance, steps, choice_temperature,
        sampling_temperature) override the controls. Refuses a class the dataset lacks."""
        if self.info is None:
            self._say("Load a prior run first.", error=True)
            return False
        if self.service.busy:
            self._say("Still working on the last request.", error=True)
            return False
        try:
            if class_label is _FROM_CONTROLS:
                class_id = int(self.class_combo.currentData())
            else:
                class_id = class_id_for(class_label, self.info.class_labels, self.info.dataset)
        except TsstudioError as exc:
            self._say(f"Cannot sample: {exc}", error=True)
            return False
        unknown = set(settings) - {"n", "seed", "guidance", "steps", "choice_temperature", "sampling_temperature"}
        if unknown:
            raise TypeError(f"unknown sampling settings: {sorted(unknown)}")
        for name, widget in (("n", self.n_samples), ("seed", self.seed), ("guidance", self.guidance), ("steps", self.steps),
                             ("choice_temperature", self.choice_temperature),
                             ("sampling_temperature", self.sampling_temperature)):
            if name in settings:
                widget.setValue(settings[name])
        if class_label is not _FROM_CONTROLS:
            self.class_combo.setCurrentIndex(max(0, self.class_combo.findData(class_id)))
        request = SamplingRequest(
            class_id=class_id, n=self.n_samples.value(), guidance=self.guidance.value(), steps=self.steps.value(),
            choice_temperature=self.choice_temperature.value(), sampling_temperature=self.sampling_temperature.value(),
            seed=self.seed.value(),
        )
        self._say(f"Sampling {request.n} series ({self.class_combo.currentText()})…")
        self.service.generate(request)
        self._update_enabled()
        return True

    def _set_conditional(self, conditional: bool) -> None:
        """Class and guidance controls only for a prior trained with labels; otherwise disabled, saying why."""
        from tsstudio.eval.unlabelled import GUIDANCE_NOTE

        for widget, tip in ((self.class_combo, _CLASS_TIP), (self.guidance, _GUIDANCE_TIP)):
            widget.setEnabled(conditional)
            widget.setToolTip(tip if conditional else GUIDANCE_NOTE[0].upper() + GUIDANCE_NOTE[1:] + ".")

    def _forget_prior(self) -> None:
        """The worker holds no prior (a generation file whose prior run is gone): clear what came from one."""
        self.info = None
        self._set_conditional(True)
        self.class_combo.clear()
        self.pca_real.setData([], [])
        self.prior_info.setText("No prior run loaded: sampling, the nearest real series and the PCA need one.")

    def _on_generated(self, result: SamplingResult) -> None:
        self._play_timer.stop()
        self.play_button.setChecked(False)
        self.result = result
        if result.prior is None:
            self._forget_prior()
        gen = result.generations
        self._step_series = {}
        names = list(self.info.class_labels) if self.info else None
        self.grid.set_series(side_by_side(gen.series), gen.classes, names)  # channels side by side per cell
        if result.plane is not None:
            colors = self._generation_brushes(gen.classes)
            self.pca_gen.setData(result.plane[:, 0], result.plane[:, 1], brush=colors)
        else:
            self.pca_gen.setData([], [])
        total = gen.step_tokens.shape[0] if gen.step_tokens is not None else 1
        self.step_slider.blockSignals(True)
        self.step_slider.setRange(1, total)
        self.step_slider.setValue(total)
        self.step_slider.blockSignals(False)
        self.play_button.setEnabled(gen.step_tokens is not None)
        s = gen.settings
        cls = s.get("class", -1)
        what = "unconditional" if cls == -1 else f"class {names[cls] if names and 0 <= cls < len(names) else cls}"
        where = "sampled" if result.source == "sampled" else f"from {Path(result.source).name}"
        self.timing.setText(f"{len(gen.series)} series {where} in {result.elapsed_s:.2f} s")
        extra = "" if self.info is not None else (
            f" (its prior run {s.get('prior_run', '?')} is not available: no nearest real series, PCA or sampling)")
        self._say(f"{len(gen.series)} series, {what}, guidance {s.get('guidance_scale')}, T = {s.get('decoding_steps')}, "
                  f"seed {s.get('seed')}{extra}.")
        self.grid.select(0, emit=False)
        self.select(0)
        self._update_enabled()
        self.shown.emit()

    def _generation_brushes(self, classes: np.ndarray) -> list[Any]:
        palette = class_colors(max(int(classes.max()) + 1, 1))
        return [pg.mkBrush(UNCONDITIONAL_COLOR if c < 0 else palette[int(c)]) for c in classes]

    def save_generations(self, path: str | os.PathLike[str]) -> bool:
        """Write the shown generations with every setting (and the decoding steps) to `path` on the worker."""
        if self.result is None:
            self._say("Nothing to save yet: generate first.", error=True)
            return False
        if not str(path).strip():
            self._say("Choose a file name to save to.", error=True)
            return False
        self._say(f"Saving to {Path(path).name}…")
        self.service.save(os.fspath(path), self.result.generations)
        return True

    # ------------------------------------------------------------------ selection and replay
    def current(self) -> int:
        """Index of the selected generation, -1 when none."""
        return self.grid.current()

    def select(self, i: int) -> None:
        """Show generation `i` in the token grid, spectrogram, replay and nearest-real panels."""
        if self.result is None or not 0 <= i < len(self.result.generations.series):
            return
        if self.grid.current() != i:
            self.grid.select(i, emit=False)
        gen = self.result.generations
        info = self.info
        n_fft, hop = (info.n_fft, info.hop_length) if info else (8, 2)
        self.spectrogram.set_image(stft_magnitude(first_channel(gen.series[i]), n_fft, hop))
        if gen.step_series is None and gen.step_guesses is not None and i not in self._step_series:
            self.service.decode_steps(i, gen.step_guesses[:, i])
        self._redraw_selection()

    def _redraw_selection(self) -> None:
        if self.result is None:
            return
        i = self.current()
        if i < 0:
            return
        gen = self.result.generations
        colors = PLOT_COLORS.get(self._theme, PLOT_COLORS["dark"])
        color = self._series_color(int(gen.classes[i]))
        near = self.result.nearest[i] if self.result.nearest else None
        x, (shown, real) = plot_form(gen.series[i], None if near is None else near.series)  # channels stacked
        both = np.stack([gen.series[i]] + ([] if near is None else [near.series]))
        label_stacked(self.nearest_plot.getPlotItem().getAxis("left"), both, gen.series.shape[1] if gen.series.ndim == 3 else 1)
        self.nearest_gen.setData(x, shown, pen=pg.mkPen(color, width=1.5))
        title = "Nearest real training series"
        if near is not None:
            real_pen = pg.mkPen(colors["foreground"], width=1.2, style=Qt.PenStyle.DashLine)
            self.nearest_real.setData(x, real, pen=real_pen)
            label = self.info.class_labels[near.class_id] if self.info and near.class_id >= 0 else near.class_id
            of_class = f" (class {label})" if near.class_id >= 0 else ""  # unlabelled data: no class
            title = f"Nearest real: train #{near.index}{of_class}, d = {near.distance:.3f}"
        else:
            self.nearest_real.setData([], [])
        self.nearest_caption.setText(title)
        self.nearest_caption.setToolTip(f"{title} (Euclidean, in the scaled units the prior was trained on)")
        if self.result.plane is not None:
            p = self.result.plane[i]
            self.pca_current.setData([p[0]], [p[1]])
        self._draw_step()

    def _series_color(self, class_id: int) -> Any:
        if class_id < 0:
            return pg.mkColor(UNCONDITIONAL_COLOR)
        return class_colors(class_id + 1)[class_id]

    def _on_steps_decoded(self, index: int, series: np.ndarray) -> None:
        self._step_series[index] = series
        if index == self.current():
            self._draw_step()

    def current_step(self) -> int:
        """The replay step shown (1..T)."""
        return self.step_slider.value()

    def set_step(self, step: int) -> None:
        """Show the decoding after step `step` (1..T)."""
        self.step_slider.setValue(step)

    def total_steps(self) -> int:
        """T of the shown generations (1 when their steps were not recorded)."""
        return self.step_slider.maximum()

    def masked_count(self) -> int:
        """Tokens drawn as still masked on the token grid."""
        return self.token_plot.masked_count()

    def _draw_step(self) -> None:
        if self.result is None or self.current() < 0:
            return
        gen = self.result.generations
        i, k = self.current(), self.current_step()
        colors = PLOT_COLORS.get(self._theme, PLOT_COLORS["dark"])
        steps = gen.step_series[:, i] if gen.step_series is not None else self._step_series.get(i)
        step = None if steps is None or gen.step_tokens is None else steps[k - 1]
        channels = gen.series.shape[1] if gen.series.ndim == 3 else 1
        label_stacked(self.step_plot.getPlotItem().getAxis("left"), np.stack([s for s in (gen.series[i], step) if s is not None]),
                      channels)
        x, (final, step) = plot_form(gen.series[i], step)  # multichannel: channels stacked
        final_color = pg.mkColor(colors["foreground"])
        final_color.setAlpha(90)
        self.step_final.setData(x, final, pen=pg.mkPen(final_color, width=1))
        if gen.step_tokens is None:
            self.token_plot.set_tokens(gen.tokens[i])
            self.step_curve.setData([], [])
            self.step_label.setText("decoding steps were not recorded")
            return
        frame = replay_frame(gen.step_tokens, i, k)
        self.token_plot.set_tokens(frame.tokens)
        n_tokens = frame.tokens.size
        self.step_label.setText(f"step {k}/{self.total_steps()}: {frame.masked} of {n_tokens} masked "
                                f"(schedule {frame.scheduled})")
        if step is None:
            self.step_curve.setData([], [])
        else:
            self.step_curve.setData(x, step, pen=pg.mkPen(self._series_color(int(gen.classes[i])), width=1.5))

    def _on_play(self, on: bool) -> None:
        self.play_button.setText("⏸ Pause" if on else "▶ Play")
        if on:
            if self.current_step() >= self.total_steps():
                self.set_step(1)
            self._play_timer.start()
        else:
            self._play_timer.stop()

    def _advance(self) -> None:
        if self.current_step() >= self.total_steps():
            self.play_button.setChecked(False)
            return
        self.set_step(self.current_step() + 1)

    # ------------------------------------------------------------------ shutdown
    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop the replay timer and the sampling thread (after its current request)."""
        self._play_timer.stop()
        return self.service.shutdown(timeout_ms)
