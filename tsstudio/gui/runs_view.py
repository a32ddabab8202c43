"""The runs list: one table over the workspace's run files (a model, not one widget per run).

The listing refreshes every 2 s and on job events. The scan (`store.workspace.scan_workspace`)
runs on a pool thread and reopens only files whose size or modification time changed, so runs
started by the CLI in another process appear by themselves without the UI thread reading HDF5.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPoint,
    QSettings,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from tsstudio.errors import TsstudioError
from tsstudio.gui.background_jobs import BackgroundJob, evaluation_job, token_export_job
from tsstudio.gui.controller import AppController
from tsstudio.gui.datasets_view import run_in_thread
from tsstudio.gui.table_csv import model_csv, write_text_atomically
from tsstudio.gui.theme import status_color
from tsstudio.gui.widgets.jobs_panel import JobsPanel
from tsstudio.store.workspace import RunSummary, ScanCache, delete_run, rename_run, scan_workspace

REFRESH_MS = 2000
COLUMNS = ("name", "status", "kind", "dataset", "preset", "seed", "steps", "val_loss", "svm", "knn", "perplexity",
           "fid", "is", "cas")
METRIC_KEYS = {"val_loss": "val_loss", "svm": "svm_accuracy", "knn": "knn_accuracy", "perplexity": "perplexity",
               "fid": "fid", "is": "is_mean", "cas": "cas_accuracy"}  # the last three: a prior's evaluation
PRIOR_METRIC_KEYS = {"val_loss": "val_prior_loss"}  # a prior's own figure in a column a tokenizer fills too
COLUMN_TIPS = {"val_loss": "Latest validation loss: a tokenizer's reconstruction loss; a prior's masked-token "
                           "cross-entropy (val_prior_loss)"}
RESUMABLE = ("stopped", "interrupted")
# The sidebar is narrow: these start hidden (the run name already says dataset and preset);
# the header's context menu shows or hides any column, and the choice is remembered.
DEFAULT_HIDDEN = ("kind", "dataset", "preset", "seed", "perplexity", "fid", "is", "cas")
HIDDEN_COLUMNS_KEY = "runs/hidden_columns"
EMPTY_TEXT = "No runs in this workspace yet.\n\nConfigure a run and press Start, or open another workspace (File menu)."
NAME_MIN_WIDTH = 140  # room for "<dataset>-<preset>…" before the name elides
COLUMN_WIDTHS = {"status": 62, "kind": 64, "dataset": 70, "preset": 80, "seed": 36, "steps": 62,
                 "val_loss": 58, "svm": 46, "knn": 46, "perplexity": 64, "fid": 52, "is": 46, "cas": 46}


EVALUATION_FIGURES = (("fid", "FID"), ("real_fid_floor", "real-vs-real FID floor"), ("is_mean", "IS"),
                      ("cas_accuracy", "CAS"), ("fcn_test_accuracy", "FCN test accuracy"),
                      ("svm_accuracy", "SVM probe"), ("knn_accuracy", "kNN probe"), ("test_mse_time", "test MSE (time)"),
                      ("perplexity", "perplexity"))


def metric_key(s: RunSummary, col: str) -> str:
    """The headline figure a metric column shows for run `s` (a prior's val_loss is its val_prior_loss)."""
    return PRIOR_METRIC_KEYS.get(col, METRIC_KEYS[col]) if s.kind == "prior" else METRIC_KEYS[col]


def evaluation_tooltip(s: RunSummary) -> str:
    """The run's evaluated figures, one per line, for its tooltip ('' when none)."""
    lines = [f"{label}: {s.headline[key]:.4g}" for key, label in EVALUATION_FIGURES
             if key in s.headline and math.isfinite(s.headline[key])]
    return "\n" + "\n".join(lines) if lines else ""


class RunsModel(QAbstractTableModel):
    """Rows are `RunSummary`s keyed by path; updates touch only rows that changed."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[RunSummary] = []

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole and orientation == Qt.Orientation.Horizontal:
            return COLUMN_TIPS.get(COLUMNS[section])
        return None

    def summary(self, row: int) -> RunSummary:
        return self._rows[row]

    def row_of(self, path: Path) -> int:
        for i, s in enumerate(self._rows):
            if s.path == path:
                return i
        return -1

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        s = self._rows[index.row()]
        col = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(s, col)
        if role == Qt.ItemDataRole.UserRole:  # sort key
            return self._sort_key(s, col)
        if role == Qt.ItemDataRole.ForegroundRole and col == "status":
            return status_color(s.status)
        if role == Qt.ItemDataRole.ToolTipRole:
            return s.error or str(s.path) + evaluation_tooltip(s)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in ("seed", "steps", *METRIC_KEYS):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _display(s: RunSummary, col: str) -> str:
        if col == "name":
            return s.name
        if col == "status":
            return s.status or ("error" if s.error else "")
        if col in ("kind", "dataset"):
            return str(getattr(s, col) or "")
        if col == "preset":
            return s.preset or ""
        if col == "seed":
            return "" if s.seed is None else str(s.seed)
        if col == "steps":
            return f"{s.step}/{s.total_steps}" if s.total_steps else str(s.step or "")
        value = s.headline.get(metric_key(s, col))
        if value is None or not math.isfinite(value):
            return ""
        if col in ("fid", "is"):
            return f"{value:.2f}"
        return f"{value:.1f}" if col == "perplexity" else f"{value:.4f}" if col == "val_loss" else f"{value:.3f}"

    @staticmethod
    def _sort_key(s: RunSummary, col: str) -> Any:
        if col == "seed":
            return -1 if s.seed is None else s.seed
        if col == "steps":
            return s.step
        if col in METRIC_KEYS:
            value = s.headline.get(metric_key(s, col))
            return float("-inf") if value is None or not math.isfinite(value) else value
        return RunsModel._display(s, col).lower()

    def set_runs(self, runs: list[RunSummary]) -> None:
        """Replace the rows, emitting fine-grained changes when only values changed."""
        old = [s.path for s in self._rows]
        new = [s.path for s in runs]
        if old == new:
            for i, (a, b) in enumerate(zip(self._rows, runs)):
                if a != b:
                    self._rows[i] = b
                    self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))
            return
        keep = set(new)
        for i in range(len(self._rows) - 1, -1, -1):  # removals
            if self._rows[i].path not in keep:
                self.beginRemoveRows(QModelIndex(), i, i)
                del self._rows[i]
                self.endRemoveRows()
        have = {s.path: i for i, s in enumerate(self._rows)}
        for s in runs:  # updates in place, additions at the end (the view sorts)
            i = have.get(s.path)
            if i is None:
                n = len(self._rows)
                self.beginInsertRows(QModelIndex(), n, n)
                self._rows.append(s)
                self.endInsertRows()
            elif self._rows[i] != s:
                self._rows[i] = s
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))


FILE_COLUMNS = ("name", "kind", "dataset", "facts")
FILE_KIND_NAMES = {"generation": "generations", "export": "tokens"}
FILE_FACT_ORDER = {"generation": ("prior", "class", "N", "length", "settings"),
                   "export": ("tokenizer", "splits", "N", "grid", "codebook size")}
FILE_SHORT_FACTS = {"generation": ("prior", "class", "N"), "export": ("tokenizer", "N")}  # the table's column
FILES_VISIBLE_ROWS = 4  # the section grows to this many rows, then scrolls
EVALUABLE = ("finished", "stopped", "interrupted")


def facts_text(summary: RunSummary, sep: str = " · ", short: bool = False) -> str:
    """A generation file's or token export's facts in their natural order, e.g. `prior p · class 1 · N 64`
    (`short`: only the few the table's column has room for; the tooltip has them all)."""
    order = (FILE_SHORT_FACTS if short else FILE_FACT_ORDER).get(summary.kind, ())
    keys = [k for k in order if summary.facts.get(k)]
    if not short:
        keys += [k for k in summary.facts if k not in order and summary.facts[k]]
    if short:  # wrap only between facts, never inside "N 16"
        return sep.join(f"{k} {summary.facts[k]}".replace(" ", "\u00a0") for k in keys)
    return sep.join(f"{k} {summary.facts[k]}" for k in keys)


class FilesModel(QAbstractTableModel):
    """Generation files and token exports: files that are not runs, with their own facts."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[RunSummary] = []

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(FILE_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return FILE_COLUMNS[section]
        return None

    def summary(self, row: int) -> RunSummary:
        return self._rows[row]

    def row_of(self, path: Path) -> int:
        return next((i for i, s in enumerate(self._rows) if s.path == path), -1)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        s = self._rows[index.row()]
        col = FILE_COLUMNS[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.UserRole):
            if col == "name":
                return s.name
            if col == "kind":
                return FILE_KIND_NAMES.get(s.kind, s.kind)
            if col == "dataset":
                return s.dataset
            return s.error or facts_text(s, short=True)
        if role == Qt.ItemDataRole.ToolTipRole:
            where = f"\ndataset {s.dataset}" if s.dataset else ""
            return s.error or f"{s.path}{where}\n" + facts_text(s, "\n")
        return None

    def set_files(self, files: list[RunSummary]) -> None:
        """Replace the rows (a handful of files: a reset only when something changed)."""
        if files == self._rows:
            return
        if [f.path for f in files] == [f.path for f in self._rows]:
            self._rows = list(files)
            self.dataChanged.emit(self.index(0, 0), self.index(len(files) - 1, len(FILE_COLUMNS) - 1))
            return
        self.beginResetModel()
        self._rows = list(files)
        self.endResetModel()


class RunsView(QWidget):
    """Table of runs with a filter box; open, resume, rename and delete."""

    openRequested = Signal(str)  # double-click / Open: show the run in the training view
    compareRequested = Signal(str)  # "Compare with…": the run becomes run A of the Compare tab
    codebookRequested = Signal(str)  # "Codebook": explore the run's codebook
    fileOpenRequested = Signal(str, str)  # (path, kind): a generation file or token export to show
    jobFinished = Signal(str, str, str)  # (title, status, message) of an evaluation or export job

    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._cache = ScanCache()
        self._scan_token = 0
        self._scanning = False
        self._rescan = False
        self.model = RunsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter runs (name, dataset, status, preset…)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)  # evaluate several
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setWordWrap(False)  # names break at hyphens otherwise, and rows are one line high
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)  # keep "<dataset>-<preset>", drop the stamp
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setMinimumSectionSize(36)
        for col, name in enumerate(COLUMNS[1:], start=1):
            self.table.setColumnWidth(col, COLUMN_WIDTHS[name])
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        self._apply_hidden_columns(self.hidden_columns())
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.doubleClicked.connect(lambda index: self.open_run(self._path_at(index)))
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)

        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open")
        self.resume_button = QPushButton("Resume")
        self.rename_button = QPushButton("Rename…")
        self.delete_button = QPushButton("Delete…")
        self.open_button.clicked.connect(lambda: self.open_run(self.selected_path()))
        self.resume_button.clicked.connect(lambda: self.resume_run(self.selected_path()))
        self.rename_button.clicked.connect(lambda: self.ask_rename(self.selected_path()))
        self.delete_button.clicked.connect(lambda: self.ask_delete(self.selected_path()))
        for b in (self.open_button, self.resume_button, self.rename_button, self.delete_button):
            buttons.addWidget(b)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.filter_edit)
        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setEnabled(False)  # the palette's quieter text
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self.table)
        layout.addWidget(self.stack, 1)
        self._build_files_section(layout)
        self.jobs_panel = JobsPanel()
        layout.addWidget(self.jobs_panel)
        layout.addLayout(buttons)

        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(REFRESH_MS)
        controller.runsChanged.connect(self.refresh)
        controller.workspaceChanged.connect(lambda _: self.refresh())
        controller.jobsChanged.connect(self._update_buttons)
        controller.backgroundJobsChanged.connect(self._on_background_jobs)
        self.refresh()

    # ------------------------------------------------------------------ columns
    @staticmethod
    def hidden_columns() -> list[str]:
        """The columns the user has hidden (remembered across sessions)."""
        value = QSettings().value(HIDDEN_COLUMNS_KEY, None)
        if value is None:
            return list(DEFAULT_HIDDEN)
        names = [value] if isinstance(value, str) else list(value or [])
        return [n for n in names if n in COLUMNS[1:]]

    def set_column_visible(self, name: str, visible: bool) -> None:
        """Show or hide a column (the name column always stays) and remember the choice."""
        if name not in COLUMNS[1:]:
            raise ValueError(f"unknown or fixed column {name!r}")
        hidden = [n for n in self.hidden_columns() if n != name] + ([] if visible else [name])
        QSettings().setValue(HIDDEN_COLUMNS_KEY, hidden)
        self._apply_hidden_columns(hidden)

    def _apply_hidden_columns(self, hidden: list[str]) -> None:
        for col, name in enumerate(COLUMNS):
            self.table.setColumnHidden(col, name in hidden)
        self._fit_name_column()

    def _fit_name_column(self) -> None:
        """The name takes the room the other columns leave, but never less than NAME_MIN_WIDTH
        (a narrow sidebar scrolls sideways rather than cutting names to a letter or two)."""
        if not hasattr(self, "stack"):  # still being built
            return
        others = sum(self.table.columnWidth(c) for c in range(1, len(COLUMNS)) if not self.table.isColumnHidden(c))
        # from the stack's width: the table is hidden (and its viewport stale) while the list is empty
        scrollbar = self.table.verticalScrollBar()
        bar = scrollbar.sizeHint().width() if scrollbar.isVisible() else 0
        room = self.stack.width() - 2 * self.table.frameWidth() - bar - others
        self.table.setColumnWidth(0, max(NAME_MIN_WIDTH, room))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_name_column()

    def _header_menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        hidden = self.hidden_columns()
        for name in COLUMNS[1:]:
            action = menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(name not in hidden)
            action.toggled.connect(lambda on, n=name: self.set_column_visible(n, on))
        menu.exec(self.table.horizontalHeader().mapToGlobal(pos))

    # ------------------------------------------------------------------ listing
    def refresh(self) -> None:
        """Re-scan the workspace on a pool thread (cheap: unchanged files are not reopened)."""
        if self._scanning:
            self._rescan = True  # one more scan when this one is back
            return
        self._scanning = True
        self._scan_token += 1
        folder = self.controller.workspace
        live = {job.path: (job.status, job.read(10**12).step) for job in self.controller.running_jobs()}
        cache = self._cache
        run_in_thread(lambda: scan_workspace(folder, cache, live), self._scan_token, self._on_scanned)

    def _on_scanned(self, answer: tuple[int, Any, str]) -> None:
        _token, runs, _error = answer
        self._scanning = False
        if runs is not None:
            files = [s for s in runs if not s.is_run]
            runs = [s for s in runs if s.is_run]
            self.files_model.set_files(files)
            self.files_label.setVisible(bool(files))
            self.files_table.setVisible(bool(files))
            self._fit_files_height()
            self.model.set_runs(runs)
            self.stack.setCurrentIndex(1 if runs else 0)
            self._fit_name_column()
        self._update_buttons()
        if self._rescan:
            self._rescan = False
            self.refresh()

    def is_scanning(self) -> bool:
        """Whether a scan is in flight (tests wait for it)."""
        return self._scanning or self._rescan

    def paths(self) -> list[Path]:
        return [self.model.summary(i).path for i in range(self.model.rowCount())]

    def summary_for(self, path: Path) -> RunSummary | None:
        row = self.model.row_of(Path(path))
        return self.model.summary(row) if row >= 0 else None

    def _path_at(self, index: QModelIndex) -> Path | None:
        if not index.isValid():
            return None
        return self.model.summary(self.proxy.mapToSource(index).row()).path

    def selected_path(self) -> Path | None:
        return self._path_at(self.table.currentIndex())

    def select_path(self, path: str | os.PathLike[str]) -> None:
        row = self.model.row_of(Path(path))
        if row >= 0:
            self.table.setCurrentIndex(self.proxy.mapFromSource(self.model.index(row, 0)))

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        path = self._path_at(current)
        if path is not None:
            self.controller.select_run(path)
        self._update_buttons()

    def _update_buttons(self) -> None:
        path = self.selected_path()
        summary = self.summary_for(path) if path else None
        busy = path is not None and self._is_busy(path)
        self.open_button.setEnabled(path is not None)
        self.resume_button.setEnabled(summary is not None and summary.status in RESUMABLE and not busy)
        self.rename_button.setEnabled(path is not None and not busy)
        self.delete_button.setEnabled(path is not None and not busy)

    def _is_busy(self, path: Path) -> bool:
        if self.controller.is_training(path) or self.controller.background_job_for(path) is not None:
            return True
        summary = self.summary_for(path)
        return summary is not None and summary.status in ("running", "paused")

    # ------------------------------------------------------------------ actions
    def open_run(self, path: Path | None) -> None:
        if path is None:
            return
        self.controller.select_run(path)
        self.openRequested.emit(str(path))

    def resume_run(self, path: Path | None) -> None:
        if path is None:
            return
        try:
            self.controller.resume_run(path)
        except (TsstudioError, OSError) as exc:
            QMessageBox.warning(self, "Cannot resume", str(exc))
            return
        self.open_run(path)

    def rename_run(self, path: Path, new_name: str) -> Path:
        """Rename a run file (not while it trains); returns the new path."""
        target = rename_run(path, new_name, busy=self._is_busy(path))
        if self.controller.run_path == path:
            self.controller.select_run(target)
        self.refresh()
        return target

    def delete_run(self, path: Path) -> None:
        """Delete a run file (not while it trains)."""
        delete_run(path, busy=self._is_busy(path))
        if self.controller.run_path == path:
            self.controller.select_run(None)
        self.refresh()

    def ask_rename(self, path: Path | None) -> None:
        if path is None:
            return
        name, ok = QInputDialog.getText(self, "Rename run", "New name:", text=path.stem)
        if not ok or not name.strip() or name.strip() == path.stem:
            return
        try:
            self.rename_run(path, name)
        except (TsstudioError, OSError) as exc:
            QMessageBox.warning(self, "Cannot rename", str(exc))

    def ask_delete(self, path: Path | None) -> None:
        if path is None:
            return
        if self._is_busy(path):
            QMessageBox.warning(self, "Cannot delete", f"{path.name} is training; stop it first.")
            return
        answer = QMessageBox.question(
            self,
            "Delete run",
            f"Delete the run file {path.name}?\nIts curves, checkpoints and weights are lost.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            self.delete_run(path)
        except (TsstudioError, OSError) as exc:
            QMessageBox.warning(self, "Cannot delete", str(exc))

    def _context_menu(self, pos: QPoint) -> None:
        path = self._path_at(self.table.indexAt(pos))
        if path is None:
            return
        summary = self.summary_for(path)
        busy = self._is_busy(path)
        menu = QMenu(self)
        entries = [
            ("Open in training view", lambda: self.open_run(path), True),
            ("Resume", lambda: self.resume_run(path), summary is not None and summary.status in RESUMABLE and not busy),
            ("Rename…", lambda: self.ask_rename(path), not busy),
            ("Delete…", lambda: self.ask_delete(path), not busy),
        ]
        tokenizer = summary is not None and summary.kind == "tokenizer" and summary.status == "finished"
        entries[1:1] = [("Compare with…", lambda: self.compareRequested.emit(str(path)), tokenizer),
                        ("Codebook", lambda: self.codebookRequested.emit(str(path)), tokenizer)]
        for text, slot, enabled in entries:
            action = QAction(text, menu)
            action.setEnabled(enabled)
            action.triggered.connect(slot)
            menu.addAction(action)
        self._add_job_actions(menu, path)
        menu.exec(self.table.viewport().mapToGlobal(pos))

    # ------------------------------------------------------------------ files that are not runs
    def _build_files_section(self, layout: QVBoxLayout) -> None:
        self.files_label = QLabel("Other files — generations and token exports")
        self.files_label.setObjectName("FilesSectionLabel")
        font = self.files_label.font()
        font.setBold(True)
        self.files_label.setFont(font)
        self.files_model = FilesModel(self)
        self.files_proxy = QSortFilterProxyModel(self)
        self.files_proxy.setSourceModel(self.files_model)
        self.files_proxy.setFilterKeyColumn(-1)
        self.files_proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter_edit.textChanged.connect(self.files_proxy.setFilterFixedString)
        self.files_table = QTableView()
        self.files_table.setModel(self.files_proxy)
        self.files_table.setSortingEnabled(True)
        self.files_table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.files_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.files_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.files_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.files_table.setAlternatingRowColors(True)
        self.files_table.setWordWrap(True)  # the facts take two lines in a narrow sidebar
        self.files_table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.files_table.verticalHeader().setVisible(False)
        self.files_table.verticalHeader().setDefaultSectionSize(2 * self.fontMetrics().lineSpacing() + 6)
        self.files_table.horizontalHeader().setStretchLastSection(True)
        for col, width in enumerate((124, 88, 70)):
            self.files_table.setColumnWidth(col, width)
        self.files_table.setColumnHidden(FILE_COLUMNS.index("dataset"), True)  # in the tooltip; shown from the header
        self.files_table.horizontalHeader().setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.files_table.horizontalHeader().customContextMenuRequested.connect(self._files_header_menu)
        self.files_table.doubleClicked.connect(lambda index: self.open_file(self._file_at(index)))
        self.files_table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.files_table.customContextMenuRequested.connect(self._files_menu)
        self.files_label.setVisible(False)
        self.files_table.setVisible(False)
        layout.addWidget(self.files_label)
        layout.addWidget(self.files_table)

    def _fit_files_height(self) -> None:
        """As tall as its rows (up to FILES_VISIBLE_ROWS), so the runs keep the rest of the sidebar."""
        t = self.files_table
        rows = min(max(self.files_model.rowCount(), 1), FILES_VISIBLE_ROWS)
        bar = t.horizontalScrollBar().sizeHint().height() if t.horizontalScrollBar().isVisible() else 0
        t.setFixedHeight(t.horizontalHeader().sizeHint().height() + rows * t.verticalHeader().defaultSectionSize()
                         + 2 * t.frameWidth() + bar)

    def _files_header_menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        for col, name in enumerate(FILE_COLUMNS[1:], start=1):
            action = menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(not self.files_table.isColumnHidden(col))
            action.toggled.connect(lambda on, c=col: self.files_table.setColumnHidden(c, not on))
        menu.exec(self.files_table.horizontalHeader().mapToGlobal(pos))

    def _file_at(self, index: QModelIndex) -> Path | None:
        if not index.isValid():
            return None
        return self.files_model.summary(self.files_proxy.mapToSource(index).row()).path

    def file_paths(self) -> list[Path]:
        """The generation files and token exports listed (apart from the runs)."""
        return [self.files_model.summary(i).path for i in range(self.files_model.rowCount())]

    def file_summary(self, path: Path) -> RunSummary | None:
        row = self.files_model.row_of(Path(path))
        return self.files_model.summary(row) if row >= 0 else None

    def open_file(self, path: Path | None) -> None:
        """Ask for a generation file (sampler) or token export (token browser) to be shown."""
        summary = self.file_summary(path) if path is not None else None
        if summary is not None:
            self.fileOpenRequested.emit(str(summary.path), summary.kind)

    def _files_menu(self, pos: QPoint) -> None:
        path = self._file_at(self.files_table.indexAt(pos))
        summary = self.file_summary(path) if path is not None else None
        menu = QMenu(self)
        if summary is not None:
            where = "sampler" if summary.kind == "generation" else "token browser"
            menu.addAction(f"Open in {where}", lambda: self.open_file(path))
            menu.addAction("Delete…", lambda: self.ask_delete(path))
            menu.addSeparator()
        menu.addAction("Copy table as CSV", lambda: self.copy_table_csv(self.files_proxy))
        menu.addAction("Export table as CSV…", lambda: self.ask_export_table_csv(self.files_proxy))
        menu.exec(self.files_table.viewport().mapToGlobal(pos))

    # ------------------------------------------------------------------ evaluation and export jobs
    def selected_paths(self) -> list[Path]:
        """Every selected run (the list allows several, to evaluate them together)."""
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        paths = [self._path_at(self.proxy.index(r, 0)) for r in rows]
        return [p for p in paths if p is not None]

    def can_evaluate(self, path: Path) -> bool:
        summary = self.summary_for(path)
        return (summary is not None and summary.kind in ("tokenizer", "prior") and summary.status in EVALUABLE
                and not self._is_busy(path))

    def evaluate(self, paths: list[Path], **prior_options: Any) -> list[BackgroundJob]:
        """Start one evaluation job per run (as `tsstudio eval`); returns the jobs started.

        `prior_options` (fcn_epochs, cas_epochs, with_cas, …) go to a prior run's evaluation.
        """
        jobs = []
        for path in paths:
            summary = self.summary_for(path)
            if summary is None or not self.can_evaluate(path):
                continue
            job = evaluation_job(path, summary.kind, data_dir=self.controller.data_dir_for(summary.dataset), **prior_options)
            jobs.append(self._start(job))
        return [j for j in jobs if j is not None]

    def _is_prior(self, path: Path) -> bool:
        summary = self.summary_for(path)
        return summary is not None and summary.kind == "prior"

    def ask_evaluate(self, paths: list[Path]) -> None:
        """Evaluate `paths`; when a prior is among them, first ask its options (FCN / CAS epochs, CAS on)."""
        n_priors = len([p for p in paths if self._is_prior(p) and self.can_evaluate(p)])
        if not n_priors:
            self.evaluate(paths)
            return
        from tsstudio.gui.widgets.prior_eval_dialog import PriorEvalDialog

        dialog = PriorEvalDialog(n_priors, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.evaluate(paths, **dialog.options()))
        dialog.open()  # window-modal, not blocking: the event loop (and the jobs) keep running

    def export_tokens(self, path: Path, out: str | os.PathLike[str], split: str = "all") -> BackgroundJob | None:
        """Export a tokenizer run's tokens (as `tsstudio export-tokens`) on a job thread."""
        summary = self.summary_for(path)
        data_dir = self.controller.data_dir_for(summary.dataset) if summary is not None else None
        return self._start(token_export_job(path, out, split=split, data_dir=data_dir))

    def ask_export_tokens(self, path: Path | None) -> None:
        if path is None:
            return
        split, ok = QInputDialog.getItem(self, "Export tokens", "Splits:", ["all", "train", "test"], 0, False)
        if not ok:
            return
        suggested = str(path.with_name(f"{path.stem}-tokens-{split}.h5"))
        out, _ = QFileDialog.getSaveFileName(self, "Export tokens", suggested, "HDF5 (*.h5)")
        if out:
            self.export_tokens(path, out, split)

    def _start(self, job: BackgroundJob) -> BackgroundJob | None:
        job.finished.connect(lambda status, message, j=job: self.jobFinished.emit(j.title, status, message))
        try:
            self.controller.start_background(job)
        except TsstudioError as exc:
            QMessageBox.warning(self, "Cannot start", str(exc))
            job.deleteLater()
            return None
        self._update_buttons()
        return job

    def _on_background_jobs(self) -> None:
        self.jobs_panel.set_jobs([j for j in self.controller.background_jobs if j.is_running])
        self._update_buttons()

    def _add_job_actions(self, menu: QMenu, path: Path) -> None:
        summary = self.summary_for(path)
        selected = [p for p in self.selected_paths() if p != path]
        targets = [path, *selected] if path in self.selected_paths() else [path]
        n = len([p for p in targets if self.can_evaluate(p)])
        menu.addSeparator()
        priors = any(self._is_prior(p) and self.can_evaluate(p) for p in targets)
        label = ("Evaluate" if n <= 1 else f"Evaluate {n} runs") + ("…" if priors else "")
        evaluate = menu.addAction(label, lambda: self.ask_evaluate(targets))
        evaluate.setEnabled(n > 0)
        evaluate.setToolTip("Tokenizer: reconstruction, probes, codebook · prior: FID, IS, CAS (as tsstudio eval)")
        export = menu.addAction("Export tokens…", lambda: self.ask_export_tokens(path))
        export.setEnabled(summary is not None and summary.kind == "tokenizer" and summary.status in EVALUABLE)
        job = self.controller.background_job_for(path)
        if job is not None:
            menu.addAction(f"Cancel: {job.title}", job.cancel)
        menu.addSeparator()
        menu.addAction("Copy table as CSV", lambda: self.copy_table_csv(self.proxy))
        menu.addAction("Export table as CSV…", lambda: self.ask_export_table_csv(self.proxy))

    # ------------------------------------------------------------------ tables as CSV
    def table_csv(self, model: QSortFilterProxyModel | None = None) -> str:
        """A table (default: the runs) as CSV, every column, rows as sorted and filtered on screen."""
        return model_csv(model if model is not None else self.proxy)

    def copy_table_csv(self, model: QSortFilterProxyModel | None = None) -> None:
        QApplication.clipboard().setText(self.table_csv(model))

    def export_table_csv(self, out: str | os.PathLike[str], model: QSortFilterProxyModel | None = None) -> Path:
        """Write a table as CSV to `out` (atomically)."""
        return write_text_atomically(out, self.table_csv(model))

    def ask_export_table_csv(self, model: QSortFilterProxyModel | None = None) -> None:
        suggested = str(self.controller.workspace / ("files.csv" if model is self.files_proxy else "runs.csv"))
        out, _ = QFileDialog.getSaveFileName(self, "Export table as CSV", suggested, "CSV (*.csv)")
        if out:
            try:
                self.export_table_csv(out, model)
            except OSError as exc:
                QMessageBox.warning(self, "Cannot export", f"{out}: {exc}")
