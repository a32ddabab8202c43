"""The Sweeps tab: write or open a sweep spec, launch it, watch its cells and summary fill in.

The spec is YAML in an editor pane (checked with `sweep.spec.load_spec`, whose one-line message is
shown when it is wrong). Launching starts `tsstudio sweep` as a separate process
(`gui.sweep_process`), so a sweep goes on at the speed of the command line and on a Ray cluster
alike; the view only reads: the cells' states and the summary are polled from the run files on a
worker thread (`gui.sweep_worker`) every ~1.5 s while it runs. Double-clicking a cell opens its run
in the Training tab, which follows the file live. Cancel sends SIGINT: the running cells
checkpoint and stop, and a later launch resumes them.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QFont, QFontDatabase, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from tsstudio.errors import TsstudioError
from tsstudio.gui.controller import AppController
from tsstudio.gui.sweep_process import LaunchOptions, SweepProcess, sweep_command
from tsstudio.gui.sweep_worker import SweepPoll, SweepPoller
from tsstudio.gui.table_csv import model_csv, write_text_atomically
from tsstudio.gui.widgets.sweep_grid import SweepGrid

POLL_MS = 1500
IDLE_POLL_MS = 5000  # a spec whose sweep is not ours: is it being run elsewhere?
MAX_LOG_LINES = 5000
LAST_SPEC_KEY = "sweeps/last_spec"
ERROR_COLORS = {"dark": "#ff7b72", "light": "#b3261e"}

TEMPLATE = """\
# A sweep: each dataset × preset × grid value × seed
# is one cell. Run files go to `workspace` (relative
# to this file); launching again skips finished cells
# and resumes stopped ones from their checkpoints.
name: my-sweep
datasets: [CBF]
presets: [regular, barlowtwins-slice]
seeds: [0, 1]
overrides:        # --set values for every cell
  - trainer.max_steps=200
# grid:           # one cell per value
#   augmentations.aug_recon_rate: [0, 0.1, 0.5]
stages: [tokenizer, eval]   # of tokenizer, prior, eval
workspace: my-sweep
"""


class SweepsView(QWidget):
    """Spec editor, launch controls, the grid of cells, the summary table and the sweep's log."""

    openRunRequested = Signal(str)  # a run file path, for the Training tab
    sweepFinished = Signal(str)  # outcome: finished / failed / cancelled / crashed

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.spec: Any | None = None  # the last spec that loaded (SweepSpec)
        self.spec_path: Path | None = None
        self.states: dict[str, Any] = {}
        self.summary: Any | None = None
        self._running_spec: Any | None = None
        self._summary_finished = -1  # finished cells the shown summary counted
        self._theme = "dark"
        self.process = SweepProcess(self)
        self.process.line.connect(self._append_log)
        self.process.finished.connect(self._on_process_finished)
        self.poller = SweepPoller(self)
        self.poller.polled.connect(self._on_polled)
        self.poller.failed.connect(lambda msg: self._set_message(f"Cannot read the sweep's runs: {msg}", error=True))
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._build()
        self._update_buttons()
        last = QSettings().value(LAST_SPEC_KEY)
        if isinstance(last, str) and last and Path(last).is_file():
            self.open_spec(last)  # where the user left off

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.setSpacing(4)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        outer.addWidget(splitter, 1)
        splitter.addWidget(self._editor_pane())
        splitter.addWidget(self._watch_pane())
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([340, 560])
        self.splitter = splitter

    def _editor_pane(self) -> QWidget:
        pane = QWidget()
        layout = QVBoxLayout(pane)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        files = QHBoxLayout()
        self.new_button = QPushButton("New from template")
        self.new_button.setToolTip("Replace the editor's text with a commented example spec")
        self.new_button.clicked.connect(self.new_from_template)
        self.open_button = QPushButton("Open…")
        self.open_button.clicked.connect(self.ask_open)
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self.save)
        self.save_as_button = QPushButton("Save as…")
        self.save_as_button.clicked.connect(self.ask_save_as)
        for b in (self.new_button, self.open_button, self.save_button, self.save_as_button):
            files.addWidget(b)
        files.addStretch(1)
        layout.addLayout(files)
        self.file_label = QLabel("No spec file")
        self.file_label.setObjectName("SweepSpecFile")
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.file_label)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("SweepSpecEditor")
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.editor.setFont(font)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setPlaceholderText("A sweep spec in YAML: open one, or start from the template.")
        self.editor.modificationChanged.connect(lambda _: self._update_file_label())
        layout.addWidget(self.editor, 1)
        QShortcut(QKeySequence.StandardKey.Save, self.editor, activated=self.save)
        self.message = QLabel("")
        self.message.setObjectName("SweepMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)

        launch = QHBoxLayout()
        self.executor_combo = QComboBox()
        self.executor_combo.addItem("local", "local")
        self.executor_combo.addItem("Ray", "ray")
        self.executor_combo.setToolTip("local: worker processes on this machine; Ray: a cluster at an address")
        self.executor_combo.currentIndexChanged.connect(lambda _: self._update_buttons())
        self.workers_spin = QSpinBox()
        self.workers_spin.setRange(0, max(1, os.cpu_count() or 1) * 4)
        self.workers_spin.setSpecialValueText("auto")
        self.workers_spin.setPrefix("")
        self.workers_spin.setSuffix(" workers")
        self.workers_spin.setToolTip("Worker processes of the local executor (auto: sized to this machine)")
        self.address_edit = QLineEdit()
        self.address_edit.setPlaceholderText("Ray address (empty: RAY_ADDRESS or a local cluster)")
        self.address_edit.setToolTip("host:port of a running cluster (`ray start --head` prints it)")
        launch.addWidget(self.executor_combo)
        launch.addWidget(self.workers_spin)
        launch.addWidget(self.address_edit, 1)
        layout.addLayout(launch)
        run = QHBoxLayout()
        self.launch_button = QPushButton("Launch sweep")
        self.launch_button.setToolTip("Save the spec and run `tsstudio sweep` on it in a separate process")
        self.launch_button.clicked.connect(self.launch)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the sweep: running cells checkpoint and stop (launch again to resume)")
        self.cancel_button.clicked.connect(self.cancel)
        run.addStretch(1)
        run.addWidget(self.launch_button)
        run.addWidget(self.cancel_button)
        layout.addLayout(run)
        return pane

    def _watch_pane(self) -> QWidget:
        pane = QWidget()
        layout = QVBoxLayout(pane)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.progress_label = QLabel("Load a spec to see its cells.")
        self.progress_label.setObjectName("SweepProgress")
        self.workspace_label = QLabel("")
        self.workspace_label.setObjectName("SweepWorkspace")
        self.workspace_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.workspace_label)
        self.grid = SweepGrid()
        self.grid.openRequested.connect(self.open_cell)
        vsplit = QSplitter(Qt.Orientation.Vertical)
        vsplit.setChildrenCollapsible(False)
        vsplit.addWidget(self.grid)
        self.bottom_tabs = QTabWidget()
        self.bottom_tabs.setDocumentMode(True)
        self.bottom_tabs.addTab(self._summary_pane(), "Summary")
        self.log = QPlainTextEdit()
        self.log.setObjectName("SweepLog")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(MAX_LOG_LINES)
        self.log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log.setPlaceholderText("The sweep's output appears here.")
        self.bottom_tabs.addTab(self.log, "Log")
        vsplit.addWidget(self.bottom_tabs)
        vsplit.setStretchFactor(0, 1)
        vsplit.setStretchFactor(1, 1)
        layout.addWidget(vsplit, 1)
        return pane

    def _summary_pane(self) -> QWidget:
        pane = QWidget()
        layout = QVBoxLayout(pane)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(4)
        row = QHBoxLayout()
        row.addWidget(QLabel("Metric:"))
        self.metric_combo = QComboBox()
        self.metric_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.metric_combo.currentIndexChanged.connect(lambda _: self._show_summary_table())
        row.addWidget(self.metric_combo)
        row.addStretch(1)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy every table of the summary as markdown")
        self.copy_button.clicked.connect(self.copy_summary)
        self.export_csv_button = QPushButton("Export CSV…")
        self.export_csv_button.clicked.connect(lambda: self.ask_export("csv"))
        self.export_md_button = QPushButton("Export markdown…")
        self.export_md_button.clicked.connect(lambda: self.ask_export("md"))
        for b in (self.copy_button, self.export_csv_button, self.export_md_button):
            row.addWidget(b)
        layout.addLayout(row)
        self.summary_table = QTableWidget()
        self.summary_table.setObjectName("SweepSummary")
        self.summary_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.summary_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.summary_table.setWordWrap(False)
        layout.addWidget(self.summary_table, 1)
        self.summary_note = QLabel("The summary fills in as cells finish.")
        self.summary_note.setObjectName("SweepSummaryNote")
        self.summary_note.setWordWrap(True)
        layout.addWidget(self.summary_note)
        return pane

    # ------------------------------------------------------------------ theme, state
    def set_theme(self, name: str) -> None:
        """Recolour the grid, its legend and the message for theme `name`."""
        self._theme = name
        self.grid.set_theme(name)
        self._restyle_message()

    def _restyle_message(self) -> None:
        error = bool(self.message.property("error"))
        color = ERROR_COLORS.get(self._theme, ERROR_COLORS["dark"])
        self.message.setStyleSheet(f"QLabel#SweepMessage {{ color: {color}; }}" if error else "")

    def _set_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setProperty("error", error)
        self._restyle_message()

    @property
    def is_running(self) -> bool:
        """True while a sweep launched from this view runs."""
        return self.process.is_running

    def workspace(self) -> Path | None:
        """Where the loaded spec's run files go."""
        spec = self._running_spec or self.spec
        return Path(spec.workspace) if spec is not None else None

    def _update_buttons(self) -> None:
        running = self.is_running
        ray = self.executor_combo.currentData() == "ray"
        self.workers_spin.setVisible(not ray)
        self.address_edit.setVisible(ray)
        for w in (self.executor_combo, self.workers_spin, self.address_edit, self.open_button, self.new_button,
                  self.save_button, self.save_as_button):
            w.setEnabled(not running)
        self.editor.setReadOnly(running)
        self.launch_button.setEnabled(not running and bool(self.editor.toPlainText().strip()))
        self.cancel_button.setEnabled(running)
        has_summary = self.summary is not None
        for b in (self.copy_button, self.export_csv_button, self.export_md_button):
            b.setEnabled(has_summary)

    def _update_file_label(self) -> None:
        name = str(self.spec_path) if self.spec_path else "unsaved spec"
        self.file_label.setText(name + (" (modified)" if self.editor.document().isModified() else ""))
        self.file_label.setToolTip(name)
        self._update_buttons()

    # ------------------------------------------------------------------ spec files
    def _discard_ok(self) -> bool:
        """True if the editor holds no unsaved edits, or the user agrees to drop them."""
        if not self.editor.document().isModified() or not self.editor.toPlainText().strip():
            return True
        answer = QMessageBox.question(self, "Unsaved spec", "The spec in the editor has unsaved changes. Discard them?",
                                      QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                                      QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Discard

    def new_from_template(self) -> None:
        """Start a new, unsaved spec from the commented template (asking before unsaved edits go)."""
        if not self._discard_ok():
            return
        self.spec_path = None
        self.editor.setPlainText(TEMPLATE)
        self.editor.document().setModified(True)
        self._set_message("A new spec: edit it, then Save as… or Launch (which asks where to save it).")
        self._update_file_label()

    def ask_open(self) -> None:
        if not self._discard_ok():
            return
        start = str(self.spec_path.parent if self.spec_path else self.controller.workspace)
        path, _ = QFileDialog.getOpenFileName(self, "Open sweep spec", start, "Sweep specs (*.yaml *.yml);;All files (*)")
        if path:
            self.open_spec(path)

    def open_spec(self, path: str | os.PathLike[str]) -> bool:
        """Show a spec file in the editor and load it (its cells, and the states of any runs it has)."""
        target = Path(path)
        try:
            text = target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self._set_message(f"{target}: cannot read the file ({getattr(exc, 'strerror', None) or exc})", error=True)
            return False
        self.spec_path = target.resolve()
        self.editor.setPlainText(text)
        self.editor.document().setModified(False)
        QSettings().setValue(LAST_SPEC_KEY, str(self.spec_path))
        self._update_file_label()
        return self.load() is not None

    def save(self) -> bool:
        """Write the editor's text to the spec file (Save as… when it has none) and load it."""
        if self.spec_path is None:
            return self.ask_save_as()
        return self.save_to(self.spec_path)

    def ask_save_as(self) -> bool:
        start = str(self.spec_path or (self.controller.workspace / "sweep.yaml"))
        path, _ = QFileDialog.getSaveFileName(self, "Save sweep spec", start, "Sweep specs (*.yaml *.yml)")
        return self.save_to(path) if path else False

    def save_to(self, path: str | os.PathLike[str]) -> bool:
        """Write the editor's text to `path` atomically, make it the spec file, and load it."""
        target = Path(path)
        try:
            write_text_atomically(target, self.editor.toPlainText())
        except OSError as exc:
            self._set_message(f"{target}: cannot save ({exc.strerror or exc})", error=True)
            return False
        self.spec_path = target.resolve()
        self.editor.document().setModified(False)
        QSettings().setValue(LAST_SPEC_KEY, str(self.spec_path))
        self._update_file_label()
        return self.load() is not None

    def load(self) -> Any | None:
        """Parse the saved spec file; its cells fill the grid, or its one-line error is shown."""
        from tsstudio.sweep.spec import load_spec

        if self.spec_path is None:
            return None
        try:
            spec = load_spec(self.spec_path)
        except TsstudioError as exc:
            self.spec = None
            self._set_message(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, error=True)
            self.progress_label.setText("The spec has an error; fix it and save.")
            return None
        self.spec = spec
        cells = spec.cells()
        self.grid.set_cells(cells)
        self.states = {}
        self.summary = None
        self._summary_finished = -1
        self._fill_summary()
        self.workspace_label.setText(f"workspace: {spec.workspace}")
        self.workspace_label.setToolTip(str(spec.workspace))
        self._set_message(f"{len(cells)} cells: {len(spec.datasets)} datasets × {len(spec.columns())} columns × "
                          f"{len(spec.seeds)} seeds; stages {', '.join(spec.stages)}.")
        self._update_progress()
        self.poll()  # the states of runs already in the workspace
        return spec

    # ------------------------------------------------------------------ launching
    def launch(self) -> bool:
        """Save the spec, then run it in a `tsstudio sweep` process; False if it could not start."""
        if self.is_running:
            return False
        if (self.spec_path is None or self.editor.document().isModified()) and not self.save():
            return False
        spec = self.load()  # the file as it is now (it may have been edited elsewhere)
        if spec is None or self.spec_path is None:
            return False
        options = LaunchOptions(executor=str(self.executor_combo.currentData()),
                                workers=self.workers_spin.value() or None, address=self.address_edit.text())
        self._running_spec = spec
        self.log.clear()
        self.bottom_tabs.setCurrentWidget(self.log)
        command = sweep_command(self.spec_path, spec.workspace, options)
        self._append_log("$ " + shlex.join(["python", *command[1:]]))
        self._set_message(f"Sweep running ({options.executor}); Cancel stops it after checkpointing.")
        self._timer.setInterval(POLL_MS)
        self._timer.start()
        self.process.start(self.spec_path, spec.workspace, options)
        self._update_buttons()
        return self.process.exit_code is None  # False when it could not even start (said in the log)

    def cancel(self) -> bool:
        """Stop the running sweep: SIGINT to its process, whose running cells checkpoint and stop."""
        if not self.process.cancel():
            return False
        self._set_message("Cancelling: the running cells checkpoint and stop…")
        self.cancel_button.setEnabled(False)
        return True

    def _on_process_finished(self, code: int, outcome: str) -> None:
        self._timer.stop()
        text = {"finished": "Sweep finished.", "cancelled": "Sweep cancelled; launch it again to resume.",
                "crashed": "The sweep process crashed; launch it again to resume."}.get(
                    outcome, f"The sweep ended with exit status {code}; see the Log tab.")
        self._set_message(text, error=outcome in ("failed", "crashed"))
        self._append_log(f"[sweep process exited with status {code}]")
        self._summary_finished = -1  # the last poll reads the summary again
        self.poll()
        self._running_spec = None
        self._update_progress()
        self._update_buttons()
        self.sweepFinished.emit(outcome)

    def _append_log(self, text: str) -> None:
        self.log.appendPlainText(text)

    # ------------------------------------------------------------------ polling
    def poll(self) -> None:
        """Read the cells' states (and the summary, when more cells have finished) on the worker."""
        spec = self._running_spec or self.spec
        if spec is None or (self.poller.busy and self._timer.isActive()):
            return
        if not self.is_running and self._timer.isActive() and not self.isVisible():
            return  # watching a sweep run elsewhere only while the tab is shown
        finished = sum(1 for s in self.states.values() if getattr(s, "status", "") == "finished")
        with_summary = self._summary_finished < 0 or finished != self._summary_finished
        self.poller.poll(spec, str(spec.workspace), with_summary)

    def _on_polled(self, result: SweepPoll) -> None:
        spec = self._running_spec or self.spec
        if spec is None or set(result.states) - set(self.grid.names()):
            return  # a poll of a spec no longer shown
        self.states = dict(result.states)
        self.grid.set_states(self.states)
        if result.summary is not None:
            self.summary = result.summary
            self._summary_finished = sum(1 for s in self.states.values() if getattr(s, "status", "") == "finished")
            self._fill_summary()
        elif self._summary_finished != sum(1 for s in self.states.values() if s.status == "finished"):
            QTimer.singleShot(0, self.poll)  # more cells finished: read the summary again
        self._follow_elsewhere()
        self._update_progress()
        self._update_buttons()

    def _follow_elsewhere(self) -> None:
        """Keep polling when no sweep of ours runs, for one started elsewhere (a terminal, another
        machine of a Ray cluster): every 1.5 s while cells run, every 5 s until all have finished."""
        if self.is_running:
            return
        statuses = {getattr(s, "status", "pending") for s in self.states.values()}
        if statuses and statuses <= {"finished"}:
            self._timer.stop()
            return
        interval = POLL_MS if "running" in statuses else IDLE_POLL_MS
        if self._timer.interval() != interval:
            self._timer.setInterval(interval)
        if not self._timer.isActive():
            self._timer.start()

    def _update_progress(self) -> None:
        if not self.grid.names():
            self.progress_label.setText("Load a spec to see its cells.")
            return
        counts = self.grid.counts()
        total = sum(counts.values())
        parts = [f"{counts['finished']}/{total} finished"]
        parts += [f"{counts[k]} {k}" for k in ("running", "failed", "stopped") if counts.get(k)]
        if counts.get("pending"):
            parts.append(f"{counts['pending']} pending")
        self.progress_label.setText(" · ".join(parts) + (" — running" if self.is_running else ""))

    # ------------------------------------------------------------------ cells
    def run_path_of(self, name: str) -> Path | None:
        """The run file to watch for cell `name`: the one of its current stage, else its newest."""
        state = self.states.get(name)
        paths = dict(getattr(state, "paths", {}) or {})
        stage = getattr(state, "stage", "")
        if stage in paths and Path(paths[stage]).exists():
            return Path(paths[stage])
        existing = [Path(p) for p in paths.values() if Path(p).exists()]
        return existing[-1] if existing else None

    def open_cell(self, name: str) -> bool:
        """Open cell `name`'s run in the Training tab (followed live while the sweep writes it)."""
        path = self.run_path_of(name)
        if path is None:
            self._set_message(f"{name}: no run file yet (the cell is pending).")
            return False
        self.openRunRequested.emit(str(path))
        return True

    # ------------------------------------------------------------------ summary
    def _fill_summary(self) -> None:
        tables = _summary_tables(self.summary)
        current = self.metric_combo.currentText()
        self.metric_combo.blockSignals(True)
        self.metric_combo.clear()
        for title in tables:
            self.metric_combo.addItem(title)
        if current in tables:
            self.metric_combo.setCurrentText(current)
        self.metric_combo.blockSignals(False)
        self._tables = tables
        self._show_summary_table()
        self._update_buttons()

    def _show_summary_table(self) -> None:
        tables = getattr(self, "_tables", {})
        table = tables.get(self.metric_combo.currentText())
        self.summary_table.clear()
        self.summary_table.verticalHeader().setVisible(False)
        header, rows = table if table is not None else ([], [])
        self.summary_table.setColumnCount(len(header))
        self.summary_table.setRowCount(len(rows))
        self.summary_table.setHorizontalHeaderLabels(header)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                item = QTableWidgetItem(str(value))
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if c and str(value).endswith(" *"):  # the best of its row
                    item.setText(str(value)[:-2])
                    item.setToolTip("the best of this row (by mean)")
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.summary_table.setItem(r, c, item)
        note = ("mean ± sample std over seeds (n); bold: the best of the row (by mean)." if table is not None
                else "The summary fills in as cells finish.")
        failures = list(getattr(self.summary, "failures", []) or [])
        if failures:
            note += f" Failed cells: {', '.join(name for name, _ in failures)}."
        self.summary_note.setText(note)

    def summary_markdown(self) -> str:
        """The summary as markdown (every metric's table), as `tsstudio sweep --summary` prints it."""
        return self.summary.markdown() if self.summary is not None else ""

    def summary_csv(self) -> str:
        """The summary as CSV, as `tsstudio sweep --summary` writes it."""
        return self.summary.csv() if self.summary is not None else model_csv(self.summary_table.model())

    def copy_summary(self) -> None:
        QGuiApplication.clipboard().setText(self.summary_markdown())
        self._set_message("Summary copied as markdown.")

    def ask_export(self, kind: str) -> None:
        if self.summary is None:
            return
        spec = self._running_spec or self.spec
        name = getattr(spec, "name", "sweep")
        folder = self.workspace() or self.controller.workspace
        suffix, filt = (".csv", "CSV (*.csv)") if kind == "csv" else (".md", "Markdown (*.md)")
        path, _ = QFileDialog.getSaveFileName(self, "Export summary", str(folder / f"{name}-summary{suffix}"), filt)
        if path:
            self.export_summary(path, kind)

    def export_summary(self, path: str | os.PathLike[str], kind: str) -> Path | None:
        """Write the summary as `kind` (csv or md) to `path` atomically."""
        text = self.summary_csv() if kind == "csv" else self.summary_markdown()
        try:
            out = write_text_atomically(path, text)
        except OSError as exc:
            self._set_message(f"{path}: cannot write ({exc.strerror or exc})", error=True)
            return None
        self._set_message(f"Summary saved to {out}")
        return out

    # ------------------------------------------------------------------ closing
    def confirm_close(self, event: QCloseEvent | None = None) -> bool:
        """Ask, while a sweep runs, whether to cancel it and quit; False keeps the window open."""
        if not self.is_running:
            return True
        answer = QMessageBox.question(
            self, "A sweep is running",
            "A sweep launched from this window is still running.\n\nCancel it (the running cells checkpoint, "
            "and launching it again resumes them) and quit?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def shutdown(self, timeout_ms: int = 60000) -> bool:
        """Cancel a running sweep and wait for its process, stop polling and the worker thread."""
        self._timer.stop()
        ok = self.process.shutdown(timeout_ms)
        return self.poller.shutdown(min(timeout_ms, 10000)) and ok


def _summary_tables(summary: Any | None) -> dict[str, tuple[list[str], list[list[str]]]]:
    """The summary's tables as {metric: (header, rows of text)}, in its order."""
    if summary is None:
        return {}
    return {metric: summary.table(metric) for metric in summary.tables}
