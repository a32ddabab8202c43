"""The main window: runs sidebar, Data / Augmentations / Configure / Training tabs, menus, status bar."""

from __future__ import annotations

import os
import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt, QThreadPool
from PySide6.QtGui import QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

os.environ.setdefault("QT_API", "pyside6")  # superqt goes through qtpy
from superqt import QElidingLabel  # noqa: E402

from tsstudio.config.schema import RunConfig
from tsstudio.errors import TsstudioError
from tsstudio.gui.compare_worker import ExplorationService
from tsstudio.gui.controller import AppController
from tsstudio.gui.runs_view import RunsView
from tsstudio.gui.theme import ThemeManager, repolish
from tsstudio.gui.training_view import TrainingView
from tsstudio.gui.views.codebook_view import CodebookView
from tsstudio.gui.views.compare_view import CompareView
from tsstudio.gui.views.curves_view import CurvesView
from tsstudio.gui.views.results_view import ResultsView
from tsstudio.gui.views.sampler_view import SamplerView
from tsstudio.gui.views.sweeps_view import SweepsView
from tsstudio.gui.views.token_browser_view import TokenBrowserView

GEOMETRY_KEY = "window/geometry"
STATE_KEY = "window/state"
LAYOUT_VERSION = 1
QUIT_WAIT_MS = 15000
POOL_WAIT_MS = 3000
FIRST_HINT = "Next: configure a run (Configure tab) and press Start"
HINT_COLORS = {"dark": "#8ab4ff", "light": "#1a4fa0"}  # an accent that keeps ≥ 4.5:1 on the window colour


def _placeholder(what: str, error: str) -> QWidget:
    label = QLabel(f"{what} is not available in this build.\n\n{error}")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    return label


def _part_b_widget(module: str, cls: str, controller: AppController) -> tuple[QWidget, bool]:
    """Build one of the data/augmentation/config widgets, or a placeholder if it cannot load."""
    try:
        mod = __import__(f"tsstudio.gui.{module}", fromlist=[cls])
        return getattr(mod, cls)(controller), True
    except Exception as exc:  # a missing or broken view must not keep the app from starting
        traceback.print_exc()
        return _placeholder(cls, f"{type(exc).__name__}: {exc}"), False


class MainWindow(QMainWindow):
    """tsstudio's window; all state lives in `controller`, the views listen to it."""

    def __init__(self, controller: AppController | None = None, theme: ThemeManager | None = None) -> None:
        super().__init__()
        self.setWindowTitle("tsstudio")
        self.setObjectName("MainWindow")
        self.controller = controller or AppController(parent=self)
        self.theme = theme or ThemeManager(self)
        self._closing = False
        self._error_boxes: list[QMessageBox] = []

        self.runs_view = RunsView(self.controller)
        self.runs_dock = QDockWidget("Runs", self)
        self.runs_dock.setObjectName("RunsDock")
        self.runs_dock.setWidget(self.runs_view)
        features = QDockWidget.DockWidgetFeature
        # closable, so that View → Runs can hide and show it
        self.runs_dock.setFeatures(features.DockWidgetMovable | features.DockWidgetFloatable | features.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.runs_dock)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.datasets_view, ok_data = _part_b_widget("datasets_view", "DatasetsView", self.controller)
        self.augment_view, _ = _part_b_widget("augment_view", "AugmentationPreview", self.controller)
        self.config_form, self._has_form = _part_b_widget("config_form", "ConfigForm", self.controller)
        self.training_view = TrainingView(self.controller)
        self.tabs.addTab(self._data_page(ok_data), "Data")
        self.tabs.addTab(self.augment_view, "Augmentations")
        self.tabs.addTab(self._configure_page(), "Configure")
        self.tabs.addTab(self.training_view, "Training")
        # One exploration worker for both: a run's probe features are computed once for Compare and Codebook.
        self.exploration = ExplorationService(parent=self)
        self.compare_view = CompareView(self.controller, service=self.exploration)
        self.codebook_view = CodebookView(self.controller, service=self.exploration)
        self.tabs.addTab(self.compare_view, "Compare")
        self.tabs.addTab(self.codebook_view, "Codebook")
        self.sampler_view = SamplerView(self.controller)
        self.theme.changed.connect(self.sampler_view.set_theme)
        self.sampler_view.set_theme(self.theme.name)
        self.tabs.addTab(self.sampler_view, "Sampler")
        self.token_browser = TokenBrowserView(self.controller)
        self.theme.changed.connect(self.token_browser.set_theme)
        self.token_browser.set_theme(self.theme.name)
        self.tabs.insertTab(self.tabs.indexOf(self.sampler_view), self.token_browser, "Tokens")
        self.results_view = ResultsView(self.controller)  # follows the workspace, refreshes when runs change
        self.tabs.addTab(self.results_view, "Results")
        self.curves_view = CurvesView(self.controller)
        self.tabs.addTab(self.curves_view, "Curves")
        self.results_view.curvesRequested.connect(self.show_curves)
        self.sweeps_view = SweepsView(self.controller)  # runs `tsstudio sweep` in its own process
        self.tabs.addTab(self.sweeps_view, "Sweeps")
        self.sweeps_view.openRunRequested.connect(self.open_run)
        self.setCentralWidget(self.tabs)

        self._build_menus()
        self._build_status_bar()
        if self._has_form:
            self._on_validity(self.current_config() is not None)
        self._connect()
        self.theme.changed.connect(self.set_theme)
        self.set_theme(self.theme.name)
        self.resize(1400, 860)
        self._restore_layout()
        self.tabs.setCurrentIndex(0)

    # ------------------------------------------------------------------ pages
    def _data_page(self, ok: bool) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.hint = QLabel(FIRST_HINT)
        self.hint.setObjectName("NextStepHint")
        row = QHBoxLayout()
        row.addWidget(self.hint, 1)
        go = QPushButton("Configure →")
        go.clicked.connect(lambda: self.tabs.setCurrentIndex(2))
        row.addWidget(go)
        layout.addLayout(row)
        layout.addWidget(self.datasets_view, 1)
        return page

    def _configure_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.config_form, 1)
        row = QHBoxLayout()
        self.config_message = QLabel("")
        self.start_button = QPushButton("Start training")
        self.start_button.setToolTip("Train this configuration into a new run file in the workspace (Ctrl+R)")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start_training)
        row.addWidget(self.config_message, 1)
        row.addWidget(self.start_button)
        layout.addLayout(row)
        if self._has_form and hasattr(self.config_form, "validityChanged"):
            self.config_form.validityChanged.connect(self._on_validity)
        return page

    def _on_validity(self, valid: bool) -> None:
        self.start_button.setEnabled(bool(valid))
        if hasattr(self, "start_action"):
            self.start_action.setEnabled(bool(valid))
        self.config_message.setText("" if valid else "Fix the highlighted fields to start.")

    def set_theme(self, name: str) -> None:
        """Recolour what the palette alone does not reach: every view's plots, the hint, form headers."""
        views = (self.datasets_view, self.augment_view, self.config_form, self.training_view, self.compare_view,
                 self.codebook_view, self.results_view, self.curves_view, self.sweeps_view)
        for view in views:
            if hasattr(view, "set_theme"):
                view.set_theme(name)
        color = HINT_COLORS.get(name, HINT_COLORS["dark"])
        self.hint.setStyleSheet(f"QLabel#NextStepHint {{ padding: 6px 10px; font-weight: bold; color: {color}; }}")
        repolish(self)

    # ------------------------------------------------------------------ menus, status bar
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        open_ws = file_menu.addAction("Open workspace…")
        open_ws.triggered.connect(self.choose_workspace)
        self.recent_menu = QMenu("Recent workspaces", self)
        file_menu.addMenu(self.recent_menu)
        self._fill_recent()
        add_dir = file_menu.addAction("Add data folder…")
        add_dir.triggered.connect(self.choose_data_dir)
        file_menu.addSeparator()
        self.export_plot_action = file_menu.addAction("Export plot…")
        self.export_plot_action.setToolTip("Save one of the current tab's plots as PNG or SVG")
        self.export_plot_action.triggered.connect(self.ask_export_plot)
        file_menu.addSeparator()
        quit_action = file_menu.addAction("Quit")
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(self.close)

        view_menu = bar.addMenu("&View")
        self.theme_action = view_menu.addAction("Dark theme")
        self.theme_action.setCheckable(True)
        self.theme_action.setChecked(self.theme.name == "dark")
        self.theme_action.toggled.connect(lambda on: self.theme.apply("dark" if on else "light"))
        view_menu.addAction(self.runs_dock.toggleViewAction())
        reset = view_menu.addAction("Reset layout")
        reset.triggered.connect(self.reset_layout)

        run_menu = bar.addMenu("&Run")
        self.start_action = run_menu.addAction("Start")
        self.start_action.setShortcut(QKeySequence("Ctrl+R"))
        self.start_action.triggered.connect(self.start_training)
        self.stop_action = run_menu.addAction("Stop")
        self.stop_action.triggered.connect(self.training_view.stop)
        self.pause_action = run_menu.addAction("Pause")
        self.pause_action.triggered.connect(self.training_view.pause)
        self.resume_action = run_menu.addAction("Resume")
        self.resume_action.triggered.connect(self.training_view.resume)

        help_menu = bar.addMenu("&Help")
        about = help_menu.addAction("About tsstudio")
        about.triggered.connect(self.show_about)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.controller.recent_workspaces()
        for folder in recent:
            action = self.recent_menu.addAction(folder)
            action.triggered.connect(lambda _=False, f=folder: self.controller.set_workspace(f))
        self.recent_menu.setEnabled(bool(recent))

    def _build_status_bar(self) -> None:
        from tsstudio.gui.workers import ui_friendly_threads
        from tsstudio.models.runtime import resolve_device

        device = resolve_device("auto")
        self.device_label = QLabel(f"device: {device}")
        self.threads_label = QLabel(f"torch threads: {ui_friendly_threads()} per job (of {os.cpu_count()} cores)")
        self.jobs_label = QLabel()
        self.workspace_label = QElidingLabel()  # a long workspace path must not widen the window
        self.workspace_label.setElideMode(Qt.TextElideMode.ElideMiddle)
        bar = self.statusBar()
        bar.addWidget(self.workspace_label, 1)
        for w in (self.jobs_label, self.threads_label, self.device_label):
            bar.addPermanentWidget(w)
        self._update_jobs_label()
        self._update_workspace_label()

    def _update_jobs_label(self) -> None:
        n = len(self.controller.running_jobs())
        background = len([j for j in self.controller.background_jobs if j.is_running])
        self.jobs_label.setText(f"jobs running: {n}" + (f" · evaluations/exports: {background}" if background else ""))

    def _update_workspace_label(self) -> None:
        self.workspace_label.setText(f"workspace: {self.controller.workspace}")
        self.workspace_label.setToolTip(str(self.controller.workspace))

    # ------------------------------------------------------------------ wiring
    def _connect(self) -> None:
        c = self.controller
        c.jobsChanged.connect(self._update_jobs_label)
        c.workspaceChanged.connect(lambda _: self._update_workspace_label())
        c.recentWorkspacesChanged.connect(self._fill_recent)
        c.jobFailed.connect(self._on_job_failed)
        c.jobFinished.connect(self._on_job_finished)
        self.runs_view.openRequested.connect(self.open_run)
        self.runs_view.compareRequested.connect(self.open_in_compare)
        self.runs_view.codebookRequested.connect(self.open_in_codebook)
        self.runs_view.fileOpenRequested.connect(self.open_file)
        self.runs_view.jobFinished.connect(self._on_background_job_finished)
        c.backgroundJobsChanged.connect(self._update_jobs_label)
        self.training_view.startRequested.connect(self.start_training)

    def open_run(self, path: str) -> None:
        """Show a run in the Training tab."""
        self.training_view.show_run(path)
        self.tabs.setCurrentWidget(self.training_view)

    def open_in_sampler(self, path: str) -> bool:
        """Show a prior run or a generation file in the Sampler tab."""
        self.tabs.setCurrentWidget(self.sampler_view)
        return self.sampler_view.open_path(path)

    def show_curves(self, paths: list[str]) -> None:
        """Plot the curves of these runs in the Curves tab."""
        self.tabs.setCurrentWidget(self.curves_view)
        self.curves_view.show_runs(paths)

    def open_in_compare(self, path: str) -> None:
        """Make a tokenizer run run A of the Compare tab (the user picks run B)."""
        self.compare_view.set_run_a(path)
        self.tabs.setCurrentWidget(self.compare_view)

    def open_in_codebook(self, path: str) -> bool:
        """Explore a tokenizer run's codebook in the Codebook tab."""
        self.tabs.setCurrentWidget(self.codebook_view)
        return self.codebook_view.open_run(path)
    def open_file(self, path: str, kind: str) -> None:
        """Show a file that is not a run where it fits: generations in the sampler, token exports in
        the token browser (never an empty Training view)."""
        if kind == "generation":
            self.open_in_sampler(path)
        elif kind == "export":
            self.tabs.setCurrentWidget(self.token_browser)
            self.token_browser.open_path(path)

    def _on_background_job_finished(self, title: str, status: str, message: str) -> None:
        if status == "failed":
            self.show_error("Job failed", f"{title}: {message}")
        else:
            self.statusBar().showMessage(f"{title}: {status}" + (f" — {message}" if message else ""), 10000)

    def current_plots(self) -> list[Any]:
        """The plots of the current tab (what File → Export plot… offers)."""
        from tsstudio.gui.plot_export import plot_widgets_in

        return plot_widgets_in(self.tabs.currentWidget())

    def ask_export_plot(self) -> None:
        """Pick one of the current tab's plots and a .png or .svg file name, and export it."""
        from PySide6.QtWidgets import QInputDialog

        from tsstudio.gui.plot_export import export_plot, plot_title

        plots = self.current_plots()
        if not plots:
            self.statusBar().showMessage("This tab shows no plot to export", 5000)
            return
        names = [f"{i + 1}. {plot_title(w)}" for i, w in enumerate(plots)]
        choice = names[0]
        if len(plots) > 1:
            choice, ok = QInputDialog.getItem(self, "Export plot", "Plot:", names, 0, False)
            if not ok:
                return
        widget = plots[names.index(choice)]
        out, _ = QFileDialog.getSaveFileName(self, "Export plot", str(self.controller.workspace / "plot.png"),
                                             "PNG image (*.png);;SVG drawing (*.svg)")
        if not out:
            return
        try:
            export_plot(widget, out)
        except (TsstudioError, OSError) as exc:
            self.show_error("Cannot export plot", str(exc))
            return
        self.statusBar().showMessage(f"Plot saved to {out}", 10000)

    def current_config(self) -> RunConfig | None:
        """The Configure tab's configuration (None when it is invalid or the form is missing)."""
        if not self._has_form:
            return None
        return self.config_form.config()

    def start_training(self, config: RunConfig | None = None) -> Any:
        """Train `config` (default: the Configure tab's) into a new run file; returns the job."""
        from_form = not isinstance(config, RunConfig)  # a prior when the form says so, never a given config
        if from_form:
            config = self.current_config()
        if config is None:
            self.config_message.setText("The configuration is not valid (or the form is missing); nothing started.")
            self.tabs.setCurrentIndex(2)
            return None
        try:
            if from_form and getattr(self.config_form, "run_kind", lambda: "tokenizer")() == "prior":
                job = self.controller.start_prior(config, self.config_form.tokenizer_run())
            else:
                job = self.controller.start_training(config)
        except (TsstudioError, OSError) as exc:
            self.show_error("Cannot start training", str(exc))
            return None
        self.hint.setText(f"Training {job.path.name} — follow it in the Training tab")
        self.runs_view.refresh()
        self.runs_view.select_path(job.path)
        self.open_run(str(job.path))
        return job

    def _on_job_failed(self, path: str, message: str) -> None:
        self.show_error("Training failed", f"{Path(path).name}: {message}")

    def _on_job_finished(self, path: str, status: str) -> None:
        self.statusBar().showMessage(f"{Path(path).name}: {status}", 10000)

    def show_error(self, title: str, text: str) -> QMessageBox:
        """One non-modal message box; the app stays usable behind it."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _=0, b=box: self._error_boxes.remove(b) if b in self._error_boxes else None)
        self._error_boxes.append(box)
        box.show()
        return box

    # ------------------------------------------------------------------ actions
    def choose_workspace(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open workspace", str(self.controller.workspace))
        if folder:
            self.controller.set_workspace(folder)

    def choose_data_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add data folder", str(Path.home()))
        if folder:
            try:
                self.controller.add_data_dir(folder)
            except TsstudioError as exc:
                self.show_error("Cannot add data folder", str(exc))

    def show_about(self) -> None:
        from tsstudio import __version__

        QMessageBox.about(
            self,
            "About tsstudio",
            f"<b>tsstudio {__version__}</b><br>A workbench for self-supervised VQ-VAE time-series tokenizers.<br>"
            "Run files written here open in the CLI, and the other way round.",
        )

    # ------------------------------------------------------------------ layout persistence
    def _restore_layout(self) -> None:
        settings = QSettings()
        geometry = settings.value(GEOMETRY_KEY)
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = settings.value(STATE_KEY)
        if not (isinstance(state, QByteArray) and self.restoreState(state, LAYOUT_VERSION)):
            self.resizeDocks([self.runs_dock], [440], Qt.Orientation.Horizontal)
        self._default_state = self.saveState(LAYOUT_VERSION)

    def save_layout(self) -> None:
        settings = QSettings()
        settings.setValue(GEOMETRY_KEY, self.saveGeometry())
        settings.setValue(STATE_KEY, self.saveState(LAYOUT_VERSION))

    def reset_layout(self) -> None:
        self.runs_dock.setFloating(False)
        self.runs_dock.show()
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.runs_dock)
        self.resizeDocks([self.runs_dock], [420], Qt.Orientation.Horizontal)
        QSettings().remove(STATE_KEY)

    # ------------------------------------------------------------------ shutdown
    def shutdown(self, timeout_ms: int = QUIT_WAIT_MS) -> bool:
        """Stop every job cooperatively and wait a bounded time; True if all threads ended."""
        self.training_view._close_source()
        self.sweeps_view.shutdown()  # a running sweep checkpoints its cells and ends: no orphan process
        self.sampler_view.shutdown(timeout_ms)
        self.results_view.shutdown()
        self.curves_view.shutdown()
        self.compare_view.shutdown(timeout_ms)
        self.codebook_view.shutdown(timeout_ms)
        ok = self.controller.stop_all(timeout_ms)
        QThreadPool.globalInstance().waitForDone(POOL_WAIT_MS)  # short reads (run files, datasets) in flight
        if not ok:
            print(f"tsstudio: some training threads did not stop within {timeout_ms} ms", flush=True)
        return ok

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt naming)
        if not self._closing and not self.sweeps_view.confirm_close():
            event.ignore()  # the sweep goes on, and so does the window
            return
        if not self._closing:
            self._closing = True
            self.save_layout()
            for box in list(self._error_boxes):
                box.close()
            self.shutdown()
        super().closeEvent(event)
