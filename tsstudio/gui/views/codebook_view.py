"""The Codebook explorer: how a tokenizer run uses its codebook, and what its probes see.

For run A (a tokenizer run file): the usage histogram of every code on the whole train and test
splits (best weights), dead codes marked, perplexity; the codewords' cosine-similarity heatmap; a
PCA of the codewords sized by usage. Selecting a code (spin box, or a click on the histogram or
the PCA) outlines where it occurs in a test series' token grid and spectrogram and lists the test
series that use it most. Below, the test set's pooled representations (what the probes see) in
2-D, PCA or t-SNE on request, coloured by class, for run A next to run B, each titled with its
probe accuracies. All computation runs on the exploration worker (`ExplorationService`); this
module lays out widgets and connects signals.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

# isort: off
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
import pyqtgraph as pg
# isort: on

from tsstudio.eval.codebook_usage import code_cells, series_using_code
from tsstudio.gui.compare_worker import CodebookResult, ExplorationService, ProjectionResult
from tsstudio.gui.plots import class_colors, stft_magnitude
from tsstudio.gui.theme import PLOT_COLORS, style_plot
from tsstudio.gui.views.compare_view import restyle_colorbar, restyle_legend
from tsstudio.gui.widgets.caption import captioned, set_caption
from tsstudio.gui.widgets.code_highlight import HIGHLIGHT_COLORS, CodeSpectrogram, CodeTokenGrid
from tsstudio.gui.widgets.legend_row import fit_legend, legend_above
from tsstudio.gui.widgets.run_picker import RunPicker
from tsstudio.gui.widgets.token_grid import code_palette

SPLIT_COLORS = {"train": "#4c9be8", "test": "#f28e2b"}
DEAD_COLOR = "#e15759"
TOP_SERIES = 50
SIMILARITY_COLORMAP = "CET-D1"  # diverging: −1 blue, 0 grey, +1 red
PROJECTION_LEGEND_COLUMNS = 5  # class entries per legend row above the projections


class CodebookView(QWidget):
    """Explore one tokenizer run's codebook; `shown` after a report is drawn, `projected(side)` per projection."""

    shown = Signal()
    projected = Signal(str)
    codeSelected = Signal(int)
    messageChanged = Signal(str)

    def __init__(self, controller: Any = None, service: ExplorationService | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.service = service or ExplorationService(parent=self)
        self.result: CodebookResult | None = None
        self.projections: dict[str, ProjectionResult] = {}
        self._code = -1
        self._series = -1
        self._theme = "dark"
        self._class_scatter: dict[str, dict[int, pg.ScatterPlotItem]] = {"a": {}, "b": {}}
        self._build()
        s = self.service
        s.codebookReady.connect(self._on_codebook)
        s.projected.connect(self._on_projected)
        s.failed.connect(self._on_failed)
        self.picker_a.pathChanged.connect(lambda p: self.open_run(p) if p else None)
        self.picker_b.pathChanged.connect(lambda p: self.set_run_b(p) if p else None)
        app = pg.QtWidgets.QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        top = QHBoxLayout()
        self.picker_a = RunPicker("Run A:", self.controller)
        self.picker_b = RunPicker("Run B (projection):", self.controller)
        self.method_combo = QComboBox()
        self.method_combo.addItem("PCA", "pca")
        self.method_combo.addItem("t-SNE (slower)", "tsne")
        self.method_combo.setToolTip("Projection of the pooled test representations; t-SNE is computed on request")
        self.method_combo.currentIndexChanged.connect(lambda _i: self._request_projections())
        top.addWidget(self.picker_a, 1)
        top.addWidget(self.picker_b, 1)
        top.addWidget(QLabel("Projection:"))
        top.addWidget(self.method_combo)
        outer.addLayout(top)
        self.message = QLabel("Pick a tokenizer run to explore its codebook.")
        self.message.setObjectName("CodebookMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.message)

        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(self._build_codebook_row())
        split.addWidget(self._build_lower_row())
        split.setSizes([330, 370])
        outer.addWidget(split, 1)

    def _plot(self) -> pg.PlotWidget:
        widget = pg.PlotWidget()
        widget.getPlotItem().setMenuEnabled(False)
        widget.getPlotItem().hideButtons()
        return widget

    def _build_codebook_row(self) -> QWidget:
        row = QSplitter(Qt.Orientation.Horizontal)
        self.usage_plot = self._plot()
        usage = self.usage_plot.getPlotItem()
        usage.setLabel("bottom", "code")
        usage.setLabel("left", "share of tokens")
        usage.getAxis("left").enableAutoSIPrefix(False)
        legend_above(usage, columns=3)
        self.bars_train = pg.BarGraphItem(x=[], height=[], width=0.4, brush=SPLIT_COLORS["train"], pen=None, name="train")
        self.bars_test = pg.BarGraphItem(x=[], height=[], width=0.4, brush=SPLIT_COLORS["test"], pen=None, name="test")
        self.dead_marks = pg.ScatterPlotItem(size=9, symbol="x", pen=pg.mkPen(DEAD_COLOR, width=1.5),
                                             brush=pg.mkBrush(DEAD_COLOR), name="dead")
        for item in (self.bars_train, self.bars_test, self.dead_marks):
            usage.addItem(item)
        fit_legend(usage)
        self.usage_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(HIGHLIGHT_COLORS["dark"], width=1))
        self.usage_line.setVisible(False)
        usage.addItem(self.usage_line)
        self.usage_plot.scene().sigMouseClicked.connect(self._on_usage_click)
        self.usage_caption = QLabel("Code usage (train, test)")
        row.addWidget(captioned(self.usage_plot, self.usage_caption))

        self.similarity_plot = self._plot()
        sim = self.similarity_plot.getPlotItem()
        sim.setLabel("bottom", "code")
        sim.setLabel("left", "code")
        self.similarity_image = pg.ImageItem(axisOrder="row-major")
        sim.addItem(self.similarity_image)
        cmap = pg.colormap.get(SIMILARITY_COLORMAP)
        self.similarity_image.setColorMap(cmap)
        self.similarity_bar = pg.ColorBarItem(colorMap=cmap, values=(-1, 1), interactive=False, width=12,
                                              colorMapMenu=False)
        self.similarity_bar.setImageItem(self.similarity_image, insert_in=sim)
        self.sim_h = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(HIGHLIGHT_COLORS["dark"], width=1))
        self.sim_v = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(HIGHLIGHT_COLORS["dark"], width=1))
        for line in (self.sim_h, self.sim_v):
            line.setVisible(False)
            sim.addItem(line)
        row.addWidget(captioned(self.similarity_plot, "Codeword cosine similarity"))

        self.codeword_plot = self._plot()
        self.codeword_points = pg.ScatterPlotItem(pxMode=True, hoverable=True)
        self.codeword_points.sigClicked.connect(self._on_codeword_click)
        self.codeword_ring = pg.ScatterPlotItem(size=22, symbol="o", brush=None,
                                                pen=pg.mkPen(HIGHLIGHT_COLORS["dark"], width=2))
        self.codeword_plot.addItem(self.codeword_points)
        self.codeword_plot.addItem(self.codeword_ring)
        row.addWidget(captioned(self.codeword_plot, "Codewords, PCA (size = usage; × = dead; click one)"))
        row.setSizes([560, 330, 420])
        return row

    def _build_lower_row(self) -> QWidget:
        row = QSplitter(Qt.Orientation.Horizontal)
        chooser = QWidget()
        layout = QVBoxLayout(chooser)
        layout.setContentsMargins(0, 0, 0, 0)
        line = QHBoxLayout()
        line.addWidget(QLabel("Code"))
        self.code_spin = QSpinBox(minimum=0, maximum=0)
        self.code_spin.setToolTip("The code to highlight (or click the histogram or the codeword PCA)")
        self.code_spin.valueChanged.connect(lambda k: self.select_code(k))
        line.addWidget(self.code_spin, 1)
        layout.addLayout(line)
        self.code_info = QLabel("")
        self.code_info.setWordWrap(True)
        layout.addWidget(self.code_info)
        self.series_list = QListWidget()
        self.series_list.setToolTip("Test series that use the code most (click one to show it)")
        self.series_list.currentItemChanged.connect(self._on_series_item)
        layout.addWidget(captioned(self.series_list, "Test series using it most"), 1)
        chooser.setMinimumWidth(170)
        chooser.setMaximumWidth(240)
        row.addWidget(chooser)

        where = QSplitter(Qt.Orientation.Vertical)
        self.token_grid = CodeTokenGrid()
        self.token_grid.hovered.connect(lambda text: set_caption(self.hover_label, text) if text else None)
        self.spectrogram = CodeSpectrogram()
        self.grid_caption = QLabel("Token grid of a test series")
        self.hover_label = QLabel("Hover a token to see its code.")
        grid_box = captioned(self.token_grid, self.grid_caption)
        grid_box.layout().addWidget(self.hover_label)
        where.addWidget(grid_box)
        where.addWidget(captioned(self.spectrogram, "Its |STFT| (the code's regions outlined)"))
        row.addWidget(where)

        self.projection_plots: dict[str, pg.PlotWidget] = {}
        self.projection_captions: dict[str, QLabel] = {}
        for side in ("a", "b"):
            plot = self._plot()
            legend_above(plot.getPlotItem(), columns=PROJECTION_LEGEND_COLUMNS)
            self.projection_plots[side] = plot
            self.projection_captions[side] = QLabel(f"Run {side.upper()}: pooled test representations")
            row.addWidget(captioned(plot, self.projection_captions[side]))
        row.setSizes([190, 380, 380, 380])
        return row

    def plot_widgets(self) -> list[pg.PlotWidget]:
        """Every plot of the view (for theming and screenshots)."""
        return [self.usage_plot, self.similarity_plot, self.codeword_plot, self.token_grid, self.spectrogram,
                *self.projection_plots.values()]

    def set_theme(self, name: str) -> None:
        """Recolour plot backgrounds, axes, legends and the selection marks for the `dark` or `light` theme."""
        self._theme = name
        for widget in self.plot_widgets():
            style_plot(widget, name)
        for plot in (self.usage_plot, *self.projection_plots.values()):
            restyle_legend(plot.getPlotItem(), name)
        restyle_colorbar(self.similarity_bar, name)
        restyle_colorbar(self.spectrogram.colorbar, name)
        mark = pg.mkPen(HIGHLIGHT_COLORS.get(name, HIGHLIGHT_COLORS["dark"]), width=1)
        for line in (self.usage_line, self.sim_h, self.sim_v):
            line.setPen(mark)
        self.codeword_ring.setPen(pg.mkPen(HIGHLIGHT_COLORS.get(name, HIGHLIGHT_COLORS["dark"]), width=2))
        self.token_grid.set_theme(name)
        self.spectrogram.set_theme(name)
        self._draw_codewords()

    # ------------------------------------------------------------------ messages
    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("QLabel#CodebookMessage { color: #e15759; font-weight: bold; }" if error else "")
        self.messageChanged.emit(text)

    def message_text(self) -> str:
        """The view's current one-line message."""
        return self.message.text()

    def _on_failed(self, kind: str, message: str) -> None:
        if kind == "codebook":
            self._say(f"Cannot explore the codebook: {message}", error=True)
        elif kind == "projection":
            self._say(f"Cannot project the representations: {message}", error=True)

    # ------------------------------------------------------------------ runs
    def _check_file(self, path: str, what: str) -> bool:
        if not path:
            self._say(f"Pick {what} first.", error=True)
            return False
        if not Path(path).is_file():
            self._say(f"{what}: {path}: no such file", error=True)
            return False
        return True

    def open_run(self, path: str | os.PathLike[str]) -> bool:
        """Explore run A's codebook (computed on the worker, from its best weights)."""
        path = os.fspath(path)
        if not self._check_file(path, "run A"):
            return False
        if Path(path).resolve() != Path(self.picker_a.path() or ".").resolve():
            self.picker_a.blockSignals(True)
            self.picker_a.set_path(path)
            self.picker_a.blockSignals(False)
        self._say(f"Computing the codebook usage of {Path(path).name} on the whole train and test splits…")
        self.service.codebook(path)  # its projection is asked for once the codebook is shown (one error, one message)
        return True

    def set_run_b(self, path: str | os.PathLike[str]) -> bool:
        """Show run B's pooled test representations next to run A's."""
        path = os.fspath(path)
        if not self._check_file(path, "run B"):
            return False
        if Path(path).resolve() != Path(self.picker_b.path() or ".").resolve():
            self.picker_b.blockSignals(True)
            self.picker_b.set_path(path)
            self.picker_b.blockSignals(False)
        self.service.projection(path, self.method(), "b")
        return True

    def method(self) -> str:
        """The projection asked for: "pca" or "tsne"."""
        return str(self.method_combo.currentData())

    def set_method(self, method: str) -> None:
        """Project with "pca" or "tsne" (recomputed on the worker for the runs shown, then cached)."""
        self.method_combo.setCurrentIndex(max(self.method_combo.findData(method), 0))

    def _request_projections(self) -> None:
        for side, picker in (("a", self.picker_a), ("b", self.picker_b)):
            path = picker.path()
            if path and Path(path).is_file():
                if self.method() == "tsne":
                    self._say("Computing t-SNE of the pooled test representations (this takes a while)…")
                self.service.projection(path, self.method(), side)

    # ------------------------------------------------------------------ the codebook
    def _on_codebook(self, result: CodebookResult) -> None:
        self.result = result
        rep = result.report
        k = len(rep.codebook)
        self.token_grid.set_codebook_size(k)
        self._draw_usage()
        sim = np.ascontiguousarray(rep.similarity, dtype=np.float32)
        self.similarity_image.setImage(sim, autoLevels=False, levels=(-1.0, 1.0))
        self.similarity_bar.setLevels((-1.0, 1.0))
        self.similarity_image.setRect(pg.QtCore.QRectF(-0.5, -0.5, k, k))
        self.similarity_plot.getPlotItem().setRange(xRange=(-0.5, k - 0.5), yRange=(-0.5, k - 0.5), padding=0)
        self._draw_codewords()
        self.code_spin.blockSignals(True)
        self.code_spin.setMaximum(k - 1)
        self.code_spin.blockSignals(False)
        name = Path(result.path).name
        dead = rep.dead_codes
        self._say(f"{name}: {k} codes on {result.dataset}; {len(dead)} dead on both splits"
                  f"{' (from the cache)' if result.cached else ''}. Select a code to see where it occurs.")
        used = np.argsort(-(rep.test.counts), kind="stable")
        self._code = -1
        self.select_code(int(used[0]) if len(used) else 0)
        shown = self.projections.get("a")
        if shown is None or shown.path != result.path or shown.method != self.method():
            self.service.projection(result.path, self.method(), "a")
        self.shown.emit()

    def _draw_usage(self) -> None:
        rep = self.result.report
        k = len(rep.codebook)
        codes = np.arange(k, dtype=np.float64)
        share = {s: u.counts / max(int(u.counts.sum()), 1) for s, u in (("train", rep.train), ("test", rep.test))}
        self.bars_train.setOpts(x=codes - 0.2, height=share["train"], width=0.4)
        self.bars_test.setOpts(x=codes + 0.2, height=share["test"], width=0.4)
        dead = rep.dead_codes
        self.dead_marks.setData(dead.astype(np.float64), np.zeros(len(dead)))
        top = max(float(share["train"].max(initial=0)), float(share["test"].max(initial=0)), 1e-6)
        self.usage_plot.getPlotItem().setRange(xRange=(-0.8, k - 0.2), yRange=(0, top * 1.08), padding=0)
        dead_text = ", ".join(str(int(c)) for c in dead)
        set_caption(self.usage_caption,
                    f"Usage, whole splits · perplexity train {rep.train.perplexity:.1f}, test {rep.test.perplexity:.1f} "
                    f"of {k} · dead {len(dead)} (train {rep.train.n_dead}, test {rep.test.n_dead})")
        self.usage_caption.setToolTip(self.usage_caption.text() + (f"\nDead on both splits: {dead_text}" if len(dead) else ""))

    def _draw_codewords(self) -> None:
        if self.result is None:
            return
        rep = self.result.report
        k = len(rep.codebook)
        counts = rep.train.counts + rep.test.counts
        sizes = 6 + 24 * np.sqrt(counts / max(int(counts.max()), 1))
        palette = code_palette(k)
        fg = PLOT_COLORS.get(self._theme, PLOT_COLORS["dark"])["foreground"]
        spots = []
        for c in range(k):
            x, y = rep.codewords_2d[c]
            if counts[c] == 0:
                spots.append({"pos": (x, y), "size": 9, "symbol": "x", "data": c,
                              "pen": pg.mkPen(DEAD_COLOR, width=1.5), "brush": pg.mkBrush(DEAD_COLOR)})
            else:
                spots.append({"pos": (x, y), "size": float(sizes[c]), "symbol": "o", "data": c,
                              "pen": pg.mkPen(fg, width=0.5), "brush": pg.mkBrush(*palette[c])})
        self.codeword_points.setData(spots)
        self._draw_code_marks()

    def select_code(self, code: int) -> None:
        """Highlight `code`: marks on the histogram, heatmap and PCA, the series using it most, its cells."""
        if self.result is None:
            return
        rep = self.result.report
        code = int(code)
        if not 0 <= code < len(rep.codebook) or code == self._code:
            return
        self._code = code
        if self.code_spin.value() != code:
            self.code_spin.blockSignals(True)
            self.code_spin.setValue(code)
            self.code_spin.blockSignals(False)
        ids, counts = series_using_code(rep.test_tokens, code, top=TOP_SERIES)
        labels = self.result.class_labels
        self.series_list.blockSignals(True)
        self.series_list.clear()
        for i, n in zip(ids, counts):
            c = int(self.result.y_test[i])
            item = QListWidgetItem(f"#{int(i)}  class {labels[c] if c < len(labels) else c}: {int(n)} cells")
            item.setData(Qt.ItemDataRole.UserRole, int(i))
            self.series_list.addItem(item)
        self.series_list.blockSignals(False)
        n_train, n_test = int(rep.train.counts[code]), int(rep.test.counts[code])
        n_series = int((rep.test_tokens.reshape(len(rep.test_tokens), -1) == code).any(axis=1).sum())
        self.code_info.setText(f"code {code}: {n_train} train and {n_test} test tokens; "
                               f"in {n_series} of {len(rep.test_tokens)} test series"
                               + (" — dead" if n_train + n_test == 0 else ""))
        self._draw_code_marks()
        if len(ids):
            self.series_list.setCurrentRow(0)  # shows the series that uses it most
        else:
            self._show_series(max(self._series, 0))
        self.codeSelected.emit(code)

    def _draw_code_marks(self) -> None:
        if self.result is None or self._code < 0:
            return
        code = self._code
        self.usage_line.setValue(code)
        self.usage_line.setVisible(True)
        self.sim_h.setValue(code)
        self.sim_v.setValue(code)
        self.sim_h.setVisible(True)
        self.sim_v.setVisible(True)
        x, y = self.result.report.codewords_2d[code]
        self.codeword_ring.setData([x], [y])

    def current_code(self) -> int:
        """The highlighted code, -1 before a report is shown."""
        return self._code

    def listed_series(self) -> list[int]:
        """The test series listed as using the current code most, in order."""
        return [int(self.series_list.item(r).data(Qt.ItemDataRole.UserRole)) for r in range(self.series_list.count())]

    def _on_series_item(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None = None) -> None:
        if item is not None:
            self._show_series(int(item.data(Qt.ItemDataRole.UserRole)))

    def select_series(self, i: int) -> None:
        """Show test series `i`'s token grid and spectrogram with the current code highlighted."""
        self._show_series(i)

    def current_series(self) -> int:
        """The test series whose grid and spectrogram are shown, -1 when none."""
        return self._series

    def _show_series(self, i: int) -> None:
        if self.result is None or not 0 <= i < len(self.result.report.test_tokens):
            return
        self._series = i
        res = self.result
        tokens = res.report.test_tokens[i]
        self.token_grid.set_code(self._code)
        self.token_grid.set_tokens(tokens)
        series = res.x_test[i][0] if res.x_test.ndim == 3 else res.x_test[i]  # multichannel: channel 1's |STFT|
        self.spectrogram.set_image(stft_magnitude(series, res.n_fft, res.hop_length))
        cells = code_cells(tokens[None], self._code)[:, 1:]
        self.spectrogram.set_cells(cells, tokens.shape)
        c = int(res.y_test[i])
        label = res.class_labels[c] if c < len(res.class_labels) else c
        set_caption(self.grid_caption, f"Test series {i} (class {label}): code {self._code} in {len(cells)} "
                                       f"of {tokens.size} cells (outlined)")

    # ------------------------------------------------------------------ projections
    def _on_projected(self, result: ProjectionResult) -> None:
        picker = self.picker_a if result.side == "a" else self.picker_b
        if not picker.path() or Path(picker.path()).resolve() != Path(result.path) or result.method != self.method():
            return  # an answer to an earlier choice
        self.projections[result.side] = result
        plot = self.projection_plots[result.side].getPlotItem()
        scatters = self._class_scatter[result.side]
        if plot.legend is not None:
            plot.legend.clear()
        for item in scatters.values():
            item.setData([], [])
        labels = self.result.class_labels if self.result is not None else ()
        classes = np.unique(result.labels)
        palette = class_colors(int(classes.max()) + 1 if len(classes) else 1)
        for c in classes:
            c = int(c)
            item = scatters.get(c)
            if item is None:
                item = scatters[c] = pg.ScatterPlotItem(size=5, pen=None)
                plot.addItem(item)
            members = result.labels == c
            color = palette[c]
            color.setAlpha(190)
            item.setData(result.points[members, 0], result.points[members, 1], brush=pg.mkBrush(color))
            if plot.legend is not None:
                plot.legend.addItem(item, f"class {labels[c] if c < len(labels) else c}")
        fit_legend(plot)
        plot.autoRange(padding=0.05)
        restyle_legend(plot, self._theme)
        method = "PCA" if result.method == "pca" else "t-SNE"
        probes = ", ".join(f"{k.replace('_accuracy', '').upper()} {v:.3f}" for k, v in result.probes.items())
        set_caption(self.projection_captions[result.side],
                    f"{result.side.upper()}: {Path(result.path).stem} · {method} · {probes or 'no probes'}")
        self.projection_captions[result.side].setToolTip(
            f"Run {result.side.upper()} ({result.path}): {method} of the mean-pooled quantised test latents, "
            f"what the probes classify; probe accuracies {probes or 'not computed'}")
        if result.method == "tsne":
            self._say(f"t-SNE of run {result.side.upper()}'s pooled test representations shown.")
        self.projected.emit(result.side)

    # ------------------------------------------------------------------ clicks
    def _on_usage_click(self, event) -> None:  # noqa: ANN001 (pyqtgraph's MouseClickEvent)
        if self.result is None or event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.usage_plot.getPlotItem().getViewBox().mapSceneToView(event.scenePos())
        self.select_code(int(round(point.x())))

    def _on_codeword_click(self, _item: Any, points: Any, *_args: Any) -> None:
        if len(points):
            self.select_code(int(points[0].data()))

    # ------------------------------------------------------------------ shutdown
    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Stop the worker thread (after its current request)."""
        return self.service.shutdown(timeout_ms)
