"""The Results view: every run of the workspace as a row, grouped over seeds, filtered, with best and baseline.

The rows come from the workspace's cached results index (`store.results_index.index_runs`) built
on the exploration worker, so opening the view on a thousand runs reads only the files that
changed and never a curve. Filters (`store.results_filters`) act on runs before grouping;
grouping, the best group per column and the differences to the pinned baseline are the core's
(`group_rows`, `best_per_metric`, `baseline_differences`). The table is a QAbstractTableModel
behind a QSortFilterProxyModel (sorting, the find box, the baseline pinned on top), so a
thousand rows cost nothing to show. Copy and export use the core's CSV and markdown writers.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QBrush, QColor, QDoubleValidator, QFont, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from tsstudio.errors import TsstudioError
from tsstudio.gui.exploration_worker import ExplorationService, IndexResult
from tsstudio.gui.views.workspace_follow import FollowsWorkspace
from tsstudio.gui.widgets.check_list import CheckList
from tsstudio.store.results_filters import RowFilter, distinct_values, filter_rows, is_numeric_key, value_text
from tsstudio.store.results_index import (
    DEFAULT_METRICS,
    IDENTITY_KEYS,
    Group,
    ResultRow,
    ResultsTable,
    baseline_differences,
    best_per_metric,
    config_keys,
    default_group_keys,
    distinct_columns,
    group_rows,
    group_value,
    metric_direction,
    run_groups,
    stat_text,
    table_csv,
    table_markdown,
    telling_keys,
    varying_keys,
    write_table,
)

REFRESH_DEBOUNCE_MS = 400
LEAD_KEYS = 4  # key columns before the metrics (those that tell the rows apart); the other differing keys follow them
KEY_COLUMN_MAX_PX = 104
METRIC_HEADERS = {"test_mse_time": "mse time", "test_mse_stft": "mse stft", "svm_accuracy": "svm",
                  "knn_accuracy": "knn", "cas_accuracy": "cas", "is_mean": "IS", "perplexity": "perplexity"}
"""Short headers of the usual metrics (as in the runs list), so the columns are as wide as their numbers; the
header's tooltip names the metric in full."""
SHOWN_METRICS = ("test_mse_time", "svm_accuracy", "knn_accuracy", "fid", "cas_accuracy")
"""The metric columns ticked at first (reconstruction, probes; FID and CAS for priors): they fit beside the keys at
1366 px; every other metric is one tick away in Columns."""
DIGITS = 4
GROUP_DEFAULT, GROUP_CUSTOM, GROUP_NONE = "default", "custom", "none"

VALUE_ROLE = Qt.ItemDataRole.UserRole + 1  # key value, n, or a metric's mean (float)
STD_ROLE = Qt.ItemDataRole.UserRole + 2
N_ROLE = Qt.ItemDataRole.UserRole + 3
DIFF_ROLE = Qt.ItemDataRole.UserRole + 4  # mean minus the baseline's mean
BEST_ROLE = Qt.ItemDataRole.UserRole + 5  # True on the best group(s) of a metric column

# The best cells: bold, on a green tint that keeps the palette's text readable in either theme.
BEST_BACKGROUND = {"dark": QColor(70, 140, 70, 110), "light": QColor(89, 161, 79, 70)}
BASELINE_BACKGROUND = {"dark": QColor(76, 155, 232, 55), "light": QColor(76, 155, 232, 45)}


def _num(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{DIGITS}f}"


def _sort_key(value: Any) -> tuple:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return (2, 0.0, "")  # missing values go last in ascending order
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, value_text(value))


def header_names(names: list[str]) -> list[str]:
    """Column headers: each key's last part (`codebook_size`), or more of it where two shown columns would read alike."""
    headers = []
    for name in names:
        parts = name.split(".")
        depth = 1
        while depth < len(parts):
            suffix = ".".join(parts[-depth:])
            if sum(1 for other in names if other == suffix or other.endswith("." + suffix)) <= 1:
                break
            depth += 1
        headers.append(".".join(parts[-depth:]))
    return headers


class ResultsModel(QAbstractTableModel):
    """A `ResultsTable` as a Qt table: the leading key columns, n, one `mean ± std` column per metric, the other keys.

    The last `trailing` key columns of the table are shown after the metrics, so on a narrow
    screen the keys that tell the rows apart and the metrics come first.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.table = ResultsTable([], [], [], {})
        self.theme = "dark"
        self._sort_keys: dict[int, list[tuple]] = {}  # column → each row's sort key, computed on first sort
        self._sort_ranks: dict[int, list[int]] = {}  # column → each row's ascending position
        self._n_rows = 0
        self._columns: list[tuple[str, str]] = [("n", "n")]  # (kind: key / n / metric, name) per column
        self._headers: list[str] = ["n"]

    def set_table(self, table: ResultsTable, trailing: int = 0) -> None:
        self.beginResetModel()
        self.table = table
        self._sort_keys: dict[int, list[tuple]] = {}
        self._sort_ranks: dict[int, list[int]] = {}
        self._n_rows = len(table.groups)
        lead = len(table.key_columns) - max(0, min(trailing, len(table.key_columns)))
        self._columns = [*(("key", k) for k in table.key_columns[:lead]), ("n", "n"),
                         *(("metric", m) for m in table.metrics), *(("key", k) for k in table.key_columns[lead:])]
        self._headers = header_names([name for _kind, name in self._columns])
        self.endResetModel()

    def set_theme(self, name: str) -> None:
        self.theme = name
        if self.rowCount() and self.columnCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, self.columnCount() - 1))

    def column_name(self, col: int) -> str:
        """The key, "n" or metric that column `col` shows."""
        return self._columns[col][1]

    def column_names(self) -> list[str]:
        """What every column shows, in display order."""
        return [name for _kind, name in self._columns]

    def column_of(self, name: str) -> int:
        """The column showing `name` (a key, "n" or a metric); -1 when it is not shown."""
        for col, (_kind, shown) in enumerate(self._columns):
            if shown == name:
                return col
        return -1

    def metric_of(self, col: int) -> str | None:
        kind, name = self._columns[col]
        return name if kind == "metric" else None

    def is_n(self, col: int) -> bool:
        return self._columns[col][0] == "n"

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else self._n_rows

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._columns)

    def group(self, row: int) -> Group:
        return self.table.groups[row]

    def key_value(self, group: Group, key: str) -> Any:
        """The group's value of `key`: its grouping value, or the runs' common value (None when they differ)."""
        return group_value(group, key)

    def _key_text(self, group: Group, key: str) -> str:
        if key not in group.values and len({repr(r.value(key)) for r in group.rows}) > 1:
            return "(mixed)"
        return value_text(self.key_value(group, key))

    def sort_key(self, row: int, col: int) -> tuple:
        """The key rows sort by in column `col`: numbers as numbers, then text, missing values last."""
        keys = self._sort_keys.get(col)
        if keys is None:
            keys = self._sort_keys[col] = [self._compute_sort_key(r, col) for r in range(len(self.table.groups))]
        return keys[row]

    def sort_ranks(self, col: int) -> list[int]:
        """Each row's position when sorted ascending by column `col` (ties keep the row order)."""
        ranks = self._sort_ranks.get(col)
        if ranks is None:
            keys = [self.sort_key(r, col) for r in range(self._n_rows)]
            ranks = [0] * self._n_rows
            for position, row in enumerate(sorted(range(self._n_rows), key=keys.__getitem__)):
                ranks[row] = position
            self._sort_ranks[col] = ranks
        return ranks

    def _compute_sort_key(self, row: int, col: int) -> tuple:
        g = self.table.groups[row]
        metric = self.metric_of(col)
        if metric is not None:
            stat = g.stats.get(metric)
            return _sort_key(None if stat is None else stat.mean)
        if self.is_n(col):
            return _sort_key(g.n)
        return _sort_key(self.key_value(g, self.column_name(col)))

    def is_best(self, row: int, metric: str) -> bool:
        return row in self.table.best.get(metric, ())

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        g = self.table.groups[row]
        metric = self.metric_of(col)
        base = self.table.baseline
        if metric is None:
            is_n = self.is_n(col)
            if role == Qt.ItemDataRole.DisplayRole:
                return str(g.n) if is_n else self._key_text(g, self.column_name(col))
            if role == VALUE_ROLE:
                return g.n if is_n else self.key_value(g, self.column_name(col))
            if role == Qt.ItemDataRole.ToolTipRole:
                names = ", ".join(r.name for r in g.rows[:12]) + (", …" if g.n > 12 else "")
                runs = f"{g.n} run{'s' if g.n != 1 else ''}: {names}"
                return runs if is_n else f"{self.column_name(col)} = {self._key_text(g, self.column_name(col))}\n{runs}"
            if role == Qt.ItemDataRole.TextAlignmentRole and is_n:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if role == Qt.ItemDataRole.BackgroundRole and row == base:
                return QBrush(BASELINE_BACKGROUND.get(self.theme, BASELINE_BACKGROUND["dark"]))
            return None
        stat = g.stats.get(metric)
        diff = None
        if self.table.differences is not None and row != base:
            diff = self.table.differences[row].get(metric)
        best = self.is_best(row, metric)
        if role == Qt.ItemDataRole.DisplayRole:
            if stat is None:
                return "-"
            text = stat_text(stat, DIGITS)
            if stat.n != g.n:
                text += f" [n={stat.n}]"
            if diff is not None:
                text += f"  ({diff:+.{DIGITS}f})"
            return text
        if role == VALUE_ROLE:
            return None if stat is None else stat.mean
        if role == STD_ROLE:
            return None if stat is None else stat.std
        if role == N_ROLE:
            return 0 if stat is None else stat.n
        if role == DIFF_ROLE:
            return diff
        if role == BEST_ROLE:
            return best
        if role == Qt.ItemDataRole.FontRole and (best or row == base):
            font = QFont()
            font.setBold(best)
            font.setItalic(row == base)
            return font
        if role == Qt.ItemDataRole.BackgroundRole:
            if best:
                return QBrush(BEST_BACKGROUND.get(self.theme, BEST_BACKGROUND["dark"]))
            if row == base:
                return QBrush(BASELINE_BACKGROUND.get(self.theme, BASELINE_BACKGROUND["dark"]))
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and stat is not None:
            tip = f"{metric}: mean {stat.mean:.6g}, std {stat.std:.6g} over {stat.n} run{'s' if stat.n != 1 else ''}"
            if best:
                tip += f"\nbest of the column ({metric_direction(metric)} is better)"
            if diff is not None:
                tip += f"\n{diff:+.6g} from the baseline"
            return tip
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Vertical:
            if role == Qt.ItemDataRole.DisplayRole:
                return "base" if section == self.table.baseline else str(section + 1)
            if role == Qt.ItemDataRole.ToolTipRole and section == self.table.baseline:
                return "the pinned baseline: the other rows show their difference to it"
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            name = self.column_name(section)
            arrow = {"lower": " ↓", "higher": " ↑"}.get(metric_direction(name) or "", "")
            metric = self.metric_of(section)
            return (METRIC_HEADERS.get(metric, metric) + arrow) if metric else self._headers[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            name = self.column_name(section)
            direction = metric_direction(name) if self.metric_of(section) else None
            return name + (f" ({direction} is better; the best is in bold)" if direction else "")
        return None


class ResultsProxy(QSortFilterProxyModel):
    """Sorts by value (numbers as numbers, missing last) with the baseline pinned on top; the find box filters."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setFilterKeyColumn(-1)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        self._ascending = True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._ascending = order == Qt.SortOrder.AscendingOrder
        super().sort(column, order)

    def lessThan(self, left: QModelIndex | QPersistentModelIndex, right: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802
        # Called ~n log n times from Qt's sort: compare precomputed ranks, the baseline first either way.
        model: ResultsModel = self.sourceModel()  # type: ignore[assignment]
        a, b = left.row(), right.row()
        base = model.table.baseline
        if a == base:
            return self._ascending and a != b
        if b == base:
            return not self._ascending
        ranks = model.sort_ranks(left.column())
        return ranks[a] < ranks[b]


class ResultsView(FollowsWorkspace, QWidget):
    """The workspace's results table; `shown` after each rebuild, `curvesRequested(paths)` for the Curves view."""

    shown = Signal()
    indexedSignal = Signal(object)  # IndexResult, after the rows are in
    messageChanged = Signal(str)
    curvesRequested = Signal(list)

    def __init__(self, controller: Any = None, service: ExplorationService | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.service = service or ExplorationService(parent=self)
        self.folder: Path | None = Path(controller.workspace) if controller is not None else None
        self.rows: list[ResultRow] = []
        self.filters: list[RowFilter] = []
        self.table = ResultsTable([], [], [], {})
        self._baseline_values: dict[str, Any] | None = None
        self._columns_init = False
        self._user_unticked: set[str] = set()
        self._dirty = True
        self._theme = "dark"
        self._last: IndexResult | None = None
        self._single: dict[int, Group] = {}  # id(row) → the row as a group of one, per index result
        self._facts: dict[str, Any] = {}  # what the view derives from `rows`, once per index result
        self._facts_of: list[ResultRow] | None = None
        self._build()
        self.follow_workspace(controller, REFRESH_DEBOUNCE_MS)
        self.service.indexed.connect(self._on_indexed)
        self.service.failed.connect(self._on_failed)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.setSpacing(4)
        top = QHBoxLayout()
        self.summary = QLabel("No workspace indexed yet.")
        self.summary.setObjectName("ResultsSummary")
        top.addWidget(self.summary, 1)
        self.find_edit = QLineEdit()
        self.find_edit.setPlaceholderText("find in the table…")
        self.find_edit.setClearButtonEnabled(True)
        self.find_edit.setMaximumWidth(220)
        top.addWidget(self.find_edit)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Index the workspace again (only changed run files are read)")
        self.refresh_button.clicked.connect(self.refresh)
        top.addWidget(self.refresh_button)
        outer.addLayout(top)
        self.message = QLabel("")
        self.message.setObjectName("ResultsMessage")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        outer.addWidget(self.message)

        body = QSplitter(Qt.Orientation.Horizontal)
        body.setChildrenCollapsible(False)
        body.addWidget(self._build_controls())
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(4)
        rl.addLayout(self._build_actions())
        self.model = ResultsModel(self)
        self.proxy = ResultsProxy(self)
        self.proxy.setSourceModel(self.model)
        self.find_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)  # stable: the groups' own order, baseline on top
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(False)
        self.view.horizontalHeader().setResizeContentsPrecision(60)  # widths from the first rows: quick on 1000
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._row_menu)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        copy = QAction("Copy", self.view)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        copy.triggered.connect(self.copy_to_clipboard)
        self.view.addAction(copy)
        rl.addWidget(self.view, 1)
        body.addWidget(right)
        body.setStretchFactor(0, 0)
        body.setStretchFactor(1, 1)
        body.setSizes([200, 1100])
        outer.addWidget(body, 1)
        self._update_actions()

    def _build_controls(self) -> QWidget:
        tabs = QTabWidget()
        tabs.setMinimumWidth(200)
        tabs.setMaximumWidth(340)

        group_page = QWidget()
        gl = QVBoxLayout(group_page)
        gl.setContentsMargins(4, 4, 4, 4)
        self.group_mode = QComboBox()
        self.group_mode.addItem("All keys but the seed", GROUP_DEFAULT)
        self.group_mode.addItem("The keys ticked below", GROUP_CUSTOM)
        self.group_mode.addItem("No grouping: one row per run", GROUP_NONE)
        self.group_mode.setToolTip("Rows are groups of runs sharing these keys, shown as mean ± std over the group")
        self.group_mode.currentIndexChanged.connect(lambda _i: self._on_group_mode())
        gl.addWidget(self.group_mode)
        self.group_keys = CheckList("search keys…")
        self.group_keys.changed.connect(self._on_group_keys)
        gl.addWidget(self.group_keys, 1)
        tabs.addTab(group_page, "Group")

        self.columns = CheckList("search columns…")
        self.columns.changed.connect(self._on_columns)
        col_page = QWidget()
        cl = QVBoxLayout(col_page)
        cl.setContentsMargins(4, 4, 4, 4)
        cl.addWidget(self.columns)
        tabs.addTab(col_page, "Columns")

        filter_page = QWidget()
        fl = QVBoxLayout(filter_page)
        fl.setContentsMargins(4, 4, 4, 4)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.filter_key = QComboBox()
        self.filter_key.setEditable(True)
        self.filter_key.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.filter_key.setToolTip("Any metric or configuration key")
        self.filter_key.currentTextChanged.connect(lambda _t: self._on_filter_key())
        self.filter_kind = QComboBox()
        self.filter_kind.addItem("range", "range")
        self.filter_kind.addItem("value", "value")
        self.filter_kind.currentIndexChanged.connect(lambda _i: self._update_filter_inputs())
        self.filter_value = QComboBox()
        self.filter_low, self.filter_high = QLineEdit(), QLineEdit()
        for edit, text in ((self.filter_low, "min (open)"), (self.filter_high, "max (open)")):
            edit.setPlaceholderText(text)
            edit.setValidator(QDoubleValidator())
        bounds = QHBoxLayout()
        bounds.addWidget(self.filter_low)
        bounds.addWidget(self.filter_high)
        form.addRow("Key", self.filter_key)
        form.addRow("Kind", self.filter_kind)
        form.addRow("Value", self.filter_value)
        form.addRow("Range", bounds)
        fl.addLayout(form)
        self.add_filter_button = QPushButton("Add filter")
        self.add_filter_button.clicked.connect(self._add_filter_from_inputs)
        fl.addWidget(self.add_filter_button)
        fl.addWidget(QLabel("Active filters (runs must pass all):"))
        self.filter_list = QListWidget()
        fl.addWidget(self.filter_list, 1)
        self.remove_filter_button = QPushButton("Remove selected filter")
        self.remove_filter_button.clicked.connect(self._remove_selected_filter)
        fl.addWidget(self.remove_filter_button)
        tabs.addTab(filter_page, "Filters")
        self.control_tabs = tabs
        self._update_filter_inputs()
        return tabs

    def _build_actions(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.pin_button = QPushButton("Pin as baseline")
        self.pin_button.setToolTip("Pin the selected row on top; the others show their difference to it")
        self.pin_button.clicked.connect(self.pin_selected)
        self.unpin_button = QPushButton("Unpin")
        self.unpin_button.clicked.connect(lambda: self.set_baseline(None))
        self.curves_button = QPushButton("Curves of selected")
        self.curves_button.setToolTip("Plot the curves of the selected rows' runs in the Curves tab")
        self.curves_button.clicked.connect(self._request_curves)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the table as CSV (Ctrl+C in the table)")
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.clicked.connect(lambda: self._browse_export("csv"))
        self.md_button = QPushButton("Export markdown…")
        self.md_button.clicked.connect(lambda: self._browse_export("markdown"))
        for w in (self.pin_button, self.unpin_button, self.curves_button):
            row.addWidget(w)
        row.addStretch(1)
        for w in (self.copy_button, self.csv_button, self.md_button):
            row.addWidget(w)
        return row

    def set_theme(self, name: str) -> None:
        """Recolour the best and baseline marks for the `dark` or `light` theme."""
        self._theme = name
        self.model.set_theme(name)

    # ------------------------------------------------------------------ messages
    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.message.setStyleSheet("QLabel#ResultsMessage { color: #e15759; font-weight: bold; }" if error else "")
        self.messageChanged.emit(text)

    def message_text(self) -> str:
        return self.message.text()

    def _on_failed(self, what: str, message: str) -> None:
        if what == "index":
            self._say(f"Cannot index {self.folder}: {message}", error=True)

    # ------------------------------------------------------------------ indexing
    def set_folder(self, folder: str | os.PathLike[str]) -> None:
        """Show the runs of `folder` (the main window's workspace)."""
        self.folder = Path(folder)
        self._baseline_values = None
        self.filters = []
        self._refresh_filter_list()
        self._columns_init = False
        self._user_unticked = set()
        self._dirty = True
        if self.isVisible():
            self.refresh()

    def refresh(self) -> bool:
        """Index the folder on the worker (unchanged run files come from the cached index); False without a folder."""
        if self.folder is None:
            self._say("No workspace folder to index.", error=True)
            return False
        self._refreshing()
        self.summary.setText(f"Indexing {self.folder}…")
        self.service.index(str(self.folder))
        return True

    def _on_indexed(self, result: IndexResult) -> None:
        if self.folder is None or Path(result.folder) != self.folder:
            return
        self._last = result
        self.rows = result.rows
        self._single = {}
        with contextlib.suppress(OSError):  # a folder that vanished: the next refresh says so
            self.watch_folder(self.folder)
        self._refresh_choices()
        self.rebuild()
        bad = [r for r in self.rows if r.error is not None]
        text = (f"{len(self.rows)} runs in {self.folder} ({result.n_read} read, {result.n_reused} from the index, "
                f"{result.elapsed_s:.2f} s)")
        if bad:
            text += f"; {len(bad)} could not be read"
            self.summary.setToolTip("\n".join(f"{r.name}: {r.error}" for r in bad[:20]))
        else:
            self.summary.setToolTip(str(self.folder))
        self.summary.setText(text)
        self.indexedSignal.emit(result)

    # ------------------------------------------------------------------ choices (keys, columns, filters)
    def _derived(self, name: str, compute: Any) -> Any:
        """What the view derives from the indexed rows (good rows, names, default keys), once per index result."""
        if self._facts_of is not self.rows:  # a new index result (held, so its identity cannot be reused)
            self._facts, self._facts_of = {}, self.rows
        if name not in self._facts:
            self._facts[name] = compute()
        return self._facts[name]

    def _good_rows(self) -> list[ResultRow]:
        return self._derived("good", lambda: [r for r in self.rows if r.error is None])

    def metric_names(self) -> list[str]:
        """Every final metric any run has: those shown at first, the other usual ones, then the rest alphabetically."""
        def compute() -> list[str]:
            have = {m for r in self._good_rows() for m in r.metrics}
            usual = list(dict.fromkeys([*SHOWN_METRICS, *DEFAULT_METRICS]))
            return [m for m in usual if m in have] + sorted(have - set(usual))

        return list(self._derived("metrics", compute))

    def key_names(self) -> list[str]:
        """Identity fields and every flattened configuration key."""
        return list(self._derived("keys", lambda: list(dict.fromkeys([*IDENTITY_KEYS, *config_keys(self._good_rows())]))))

    def _default_keys(self) -> list[str]:
        return list(self._derived("default", lambda: default_group_keys(self._good_rows())))

    def _refresh_choices(self) -> None:
        rows = self._good_rows()
        keys = self.key_names()
        metrics = self.metric_names()
        defaults = self._default_keys()
        ticked = set(self.group_keys.checked()) if self.group_mode.currentData() == GROUP_CUSTOM else set(defaults)
        self.group_keys.set_entries(keys, ticked & set(keys) or set(defaults))
        if not self._columns_init:
            shown = [m for m in SHOWN_METRICS if m in metrics] or metrics[:4]
            self._columns_init = bool(rows)
        else:
            shown = [c for c in self.columns.checked()]
        self.columns.set_entries([*metrics, *keys], shown,
                                 labels={m: f"{m} (metric)" for m in metrics})
        current = self.filter_key.currentText()
        self.filter_key.blockSignals(True)
        self.filter_key.clear()
        self.filter_key.addItems([*metrics, *keys])
        self.filter_key.blockSignals(False)
        self.filter_key.setCurrentIndex(max(0, self.filter_key.findText(current)))
        self._on_filter_key()

    def _on_group_mode(self) -> None:
        mode = self.group_mode.currentData()
        self.group_keys.setEnabled(mode != GROUP_NONE)
        if mode == GROUP_DEFAULT:
            self.group_keys.set_checked(self._default_keys(), emit=False)
        self._baseline_values = None
        self.rebuild()

    def _on_group_keys(self) -> None:
        if self.group_mode.currentData() != GROUP_CUSTOM:
            self.group_mode.blockSignals(True)
            self.group_mode.setCurrentIndex(self.group_mode.findData(GROUP_CUSTOM))
            self.group_mode.blockSignals(False)
        self._baseline_values = None
        self.rebuild()

    def _on_columns(self) -> None:
        checked = set(self.columns.checked())
        auto = set(varying_keys(self.table.groups))
        self._user_unticked = {k for k in auto if k not in checked} | (self._user_unticked - checked)
        self.rebuild()

    def _on_filter_key(self) -> None:
        key = self.filter_key.currentText()
        rows = self._good_rows()
        numeric = key in self.metric_names() or is_numeric_key(rows, key)
        values = distinct_values(rows, key)
        self.filter_kind.blockSignals(True)
        self.filter_kind.setCurrentIndex(self.filter_kind.findData("range" if key in self.metric_names() else "value"))
        self.filter_kind.model().item(0).setEnabled(numeric)  # type: ignore[attr-defined]
        self.filter_kind.blockSignals(False)
        self.filter_value.clear()
        for v in values[:500]:
            self.filter_value.addItem(value_text(v), v)
        self._update_filter_inputs()

    def _update_filter_inputs(self) -> None:
        is_range = self.filter_kind.currentData() == "range"
        self.filter_value.setEnabled(not is_range)
        self.filter_low.setEnabled(is_range)
        self.filter_high.setEnabled(is_range)

    def _add_filter_from_inputs(self) -> None:
        key = self.filter_key.currentText().strip()
        if key not in self.key_names() and key not in self.metric_names():
            self._say(f"filter on {key}: no run has this key or metric", error=True)
            return
        if self.filter_kind.currentData() == "range":
            try:
                low = float(self.filter_low.text().replace(",", ".")) if self.filter_low.text().strip() else None
                high = float(self.filter_high.text().replace(",", ".")) if self.filter_high.text().strip() else None
                self.add_filter(RowFilter.range(key, low, high))
            except ValueError as exc:
                self._say(str(exc), error=True)
        elif self.filter_value.count():
            self.add_filter(RowFilter.value(key, self.filter_value.currentData()))

    def add_filter(self, row_filter: RowFilter) -> None:
        """Keep only the runs `row_filter` accepts (with the other active filters)."""
        self.filters.append(row_filter)
        self._refresh_filter_list()
        self._say("")
        self.rebuild()

    def remove_filter(self, i: int) -> None:
        del self.filters[i]
        self._refresh_filter_list()
        self.rebuild()

    def clear_filters(self) -> None:
        self.filters = []
        self._refresh_filter_list()
        self.rebuild()

    def _remove_selected_filter(self) -> None:
        row = self.filter_list.currentRow()
        if 0 <= row < len(self.filters):
            self.remove_filter(row)

    def _refresh_filter_list(self) -> None:
        self.filter_list.clear()
        for f in self.filters:
            self.filter_list.addItem(QListWidgetItem(f.describe()))

    # ------------------------------------------------------------------ the table
    def group_by(self) -> list[str] | None:
        """The grouping keys in force (None: one row per run)."""
        mode = self.group_mode.currentData()
        if mode == GROUP_NONE:
            return None
        if mode == GROUP_DEFAULT:
            return self._default_keys()
        return self.group_keys.checked()

    def rebuild(self) -> None:
        """Filter the runs, group them, and show the chosen columns with the best marks and the baseline."""
        rows = filter_rows(self._good_rows(), self.filters)
        keys = self.group_by()
        try:
            groups = self._run_groups(rows) if keys is None else group_rows(rows, keys)
        except TsstudioError as exc:
            self._say(str(exc), error=True)
            groups = []
        checked = self.columns.checked()
        metrics_all = set(self.metric_names())
        metrics = [c for c in checked if c in metrics_all]
        varying = ["name"] if keys is None else [k for k in varying_keys(groups) if k not in self._user_unticked]
        # Lead with the few keys that tell the rows apart, then n and the metrics, then the other differing keys;
        # a key repeating another's values (data.dataset beside dataset) is left to the column chooser.
        auto = distinct_columns(groups, varying)
        lead = telling_keys(groups, auto, LEAD_KEYS) or auto[:1]
        chosen = [c for c in checked if c not in metrics_all and c not in varying]
        trailing = [k for k in auto if k not in lead]
        key_columns = list(dict.fromkeys([*lead, *chosen, *trailing]))
        if not key_columns and groups:
            key_columns = ["dataset"]
        if self.columns.model.rowCount():
            self.columns.set_checked([*metrics, *key_columns], emit=False)
        best = best_per_metric(groups, metrics)
        baseline = None
        if self._baseline_values is not None:
            for i, g in enumerate(groups):
                if repr(g.values) == repr(self._baseline_values):
                    baseline = i
                    break
            else:
                self._baseline_values = None
                self._say("The baseline row is no longer in the table (filtered out or regrouped); unpinned.")
        diffs = baseline_differences(groups, baseline, metrics) if baseline is not None else None
        self.table = ResultsTable(groups, key_columns, metrics, best, baseline, diffs)
        self.model.set_table(self.table, trailing=len([k for k in trailing if k not in chosen]))
        self._size_columns()
        self._update_actions()
        self.shown.emit()

    def _size_columns(self) -> None:
        """Widths from the contents, key columns capped (elided, the full value in the tooltip) so the metrics fit."""
        self.view.resizeColumnsToContents()
        header = self.view.horizontalHeader()
        for col in range(self.model.columnCount()):
            if self.model.metric_of(col) is None and not self.model.is_n(col):
                header.resizeSection(col, min(header.sectionSize(col), KEY_COLUMN_MAX_PX))

    def _run_groups(self, rows: list[ResultRow]) -> list[Group]:
        missing = [r for r in rows if id(r) not in self._single]
        for row, group in zip(missing, run_groups(missing)):
            self._single[id(row)] = group
        return [self._single[id(r)] for r in rows]

    def visible_groups(self) -> list[Group]:
        """The groups in the order the table shows them (after sorting and the find box)."""
        return [self.table.groups[self.proxy.mapToSource(self.proxy.index(r, 0)).row()] for r in range(self.proxy.rowCount())]

    def cell(self, group_row: int, column: str, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """The model's data of group `group_row` (source order) in the column named `column`."""
        col = self.model.column_of(column)
        if col < 0:
            shown = [self.model.column_name(c) for c in range(self.model.columnCount())]
            raise KeyError(f"column {column!r} is not shown (shown: {shown})")
        return self.model.data(self.model.index(group_row, col), role)

    def row_of(self, **values: Any) -> int:
        """The source row of the group whose key values include `values`; -1 when none."""
        for i, g in enumerate(self.table.groups):
            if all(self.model.key_value(g, k) == v for k, v in values.items()):
                return i
        return -1

    def selected_rows(self) -> list[int]:
        """Source rows of the selected table rows."""
        rows = {self.proxy.mapToSource(i).row() for i in self.view.selectionModel().selectedRows()}
        return sorted(rows)

    def _update_actions(self) -> None:
        has = bool(self.table.groups)
        selected = self.selected_rows() if self.view.selectionModel() is not None else []
        self.pin_button.setEnabled(len(selected) == 1)
        self.unpin_button.setEnabled(self.table.baseline is not None)
        self.curves_button.setEnabled(bool(selected))
        for b in (self.copy_button, self.csv_button, self.md_button):
            b.setEnabled(has)

    # ------------------------------------------------------------------ baseline
    def set_baseline(self, group_row: int | None) -> None:
        """Pin group `group_row` (source order) as the baseline, or unpin with None."""
        if group_row is not None and not 0 <= group_row < len(self.table.groups):
            raise IndexError(f"no row {group_row} (the table has {len(self.table.groups)})")
        self._baseline_values = None if group_row is None else dict(self.table.groups[group_row].values)
        self._say("")
        self.rebuild()

    def pin_selected(self) -> None:
        rows = self.selected_rows()
        if len(rows) == 1:
            self.set_baseline(rows[0])

    def _row_menu(self, pos: Any) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        row = self.proxy.mapToSource(index).row()
        menu = QMenu(self)
        menu.addAction("Pin as baseline", lambda: self.set_baseline(row))
        if self.table.baseline is not None:
            menu.addAction("Unpin the baseline", lambda: self.set_baseline(None))
        menu.addAction("Curves of this row's runs", lambda: self.curvesRequested.emit(
            [str(r.path) for r in self.table.groups[row].rows]))
        menu.exec(self.view.viewport().mapToGlobal(pos))

    def _request_curves(self) -> None:
        paths = [str(r.path) for i in self.selected_rows() for r in self.table.groups[i].rows]
        if paths:
            self.curvesRequested.emit(paths)

    # ------------------------------------------------------------------ copy and export
    def csv_text(self) -> str:
        """The table as shown (groups, columns, best, baseline) as CSV text."""
        return table_csv(self.table)

    def markdown_text(self) -> str:
        return table_markdown(self.table)

    def copy_to_clipboard(self) -> str:
        """Put the table on the clipboard as CSV text; returns the text."""
        text = self.csv_text()
        QGuiApplication.clipboard().setText(text)
        self._say(f"Copied {len(self.table.groups)} rows as CSV.")
        return text

    def export(self, path: str | os.PathLike[str], fmt: str) -> bool:
        """Write the table to `path` as `csv` or `markdown` (whole or not at all); False with a message on failure."""
        try:
            out = write_table(self.table, path, fmt)
        except (TsstudioError, OSError) as exc:
            self._say(f"Cannot export: {exc}", error=True)
            return False
        self._say(f"Exported {len(self.table.groups)} rows to {out}")
        return True

    def _browse_export(self, fmt: str) -> None:
        start = str(self.folder or Path.home())
        suffix, pattern = (".csv", "CSV (*.csv)") if fmt == "csv" else (".md", "Markdown (*.md)")
        path, _ = QFileDialog.getSaveFileName(self, "Export the results table", os.path.join(start, "results" + suffix),
                                              pattern)
        if path:
            self.export(path, fmt)

    # ------------------------------------------------------------------ shutdown
    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop the refresh timer and the worker thread."""
        self._refresh_timer.stop()
        return self.service.shutdown(timeout_ms)
