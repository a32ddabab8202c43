"""The cells of a sweep as a grid: datasets as rows, preset (and grid point) × seed as columns.

Each cell shows its status in words (and the stage it is on while running), tinted with the
status colour of the current theme, with the error of a failed cell and its run files in the
tooltip. A legend names the colours. Double-clicking a cell asks to open its run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tsstudio.gui.theme import STATUS_COLORS

STATUSES = ("pending", "running", "finished", "failed", "stopped")
SYMBOLS = {"pending": "·", "running": "▶", "finished": "✓", "failed": "✗", "stopped": "■"}
PENDING_COLORS = {"dark": "#8a8f98", "light": "#6b6f76"}  # neutral grey: nothing has happened yet
TINT = 0.32  # how much of the status colour a cell's background takes (the rest is the table's base)
NAME_ROLE = Qt.ItemDataRole.UserRole + 1


def _theme_of(palette: QPalette) -> str:
    return "light" if palette.color(QPalette.ColorRole.Base).lightness() >= 128 else "dark"


def _app_palette(widget: QWidget) -> QPalette:
    """The application's palette: right after a theme switch, widgets still hold the old one until
    the palette-change event reaches them."""
    app = QApplication.instance()
    return app.palette() if isinstance(app, QApplication) else widget.palette()


def sweep_status_color(status: str, theme: str) -> QColor:
    """The colour a sweep cell status stands for in `theme` (pending is a neutral grey)."""
    if status == "pending" or status not in STATUS_COLORS[theme]:
        return QColor(PENDING_COLORS[theme])
    return QColor(STATUS_COLORS[theme][status])


def cell_background(status: str, base: QColor, theme: str) -> QColor:
    """The status colour blended into the table's base colour: a tint the text stays readable on."""
    color = sweep_status_color(status, theme)
    share = TINT * (0.5 if status == "pending" else 1.0)
    mix = [round(share * getattr(color, c)() + (1 - share) * getattr(base, c)()) for c in ("red", "green", "blue")]
    return QColor(*mix)


def cell_text(state: Any) -> str:
    """What a cell says: a symbol and the status; below it, the stage (and step, while it runs)."""
    status = getattr(state, "status", "pending") or "pending"
    stage = getattr(state, "stage", "") or ""
    text = f"{SYMBOLS.get(status, '?')} {status}"
    if stage and status in ("running", "stopped", "failed"):
        text += f"\n{stage}"  # a second line keeps the columns narrow enough for a few presets × seeds
        step, total = int(getattr(state, "step", 0) or 0), int(getattr(state, "total_steps", 0) or 0)
        if status == "running" and total:
            text += f" {step}/{total}"
    return text


def cell_tooltip(name: str, state: Any) -> str:
    """The cell's name, status, stage, error (failed cells) and run files."""
    status = getattr(state, "status", "pending") or "pending"
    lines = [name, f"status: {status}"]
    if getattr(state, "stage", ""):
        total = int(getattr(state, "total_steps", 0) or 0)
        lines.append(f"stage: {state.stage}" + (f" (step {state.step} of {total})" if total else ""))
    if getattr(state, "error", ""):
        lines.append(f"error: {state.error}")
    paths = getattr(state, "paths", None) or {}
    for stage, path in (paths.items() if isinstance(paths, dict) else enumerate(paths)):
        lines.append(f"{stage}: {path}")
    if status != "pending":
        lines.append("double-click to watch this run in the Training tab")
    return "\n".join(lines)


class StatusLegend(QWidget):
    """A row of swatches naming what each status colour means."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(10)
        self.labels: dict[str, QLabel] = {}
        for status in STATUSES:
            label = QLabel(f"{SYMBOLS[status]} {status}")
            label.setObjectName(f"SweepLegend-{status}")
            self.labels[status] = label
            row.addWidget(label)
        row.addStretch(1)
        self.set_theme()

    def set_theme(self, theme: str | None = None) -> None:
        """Recolour the swatches for `theme` (default: the application palette's)."""
        palette = _app_palette(self)
        base = palette.color(QPalette.ColorRole.Base)
        theme = theme or _theme_of(palette)
        text = palette.color(QPalette.ColorRole.Text).name()
        for status, label in self.labels.items():
            bg = cell_background(status, base, theme).name()
            edge = sweep_status_color(status, theme).name()
            label.setStyleSheet(f"QLabel {{ background: {bg}; color: {text}; border: 1px solid {edge};"
                                f" border-radius: 3px; padding: 1px 6px; }}")


class SweepGrid(QWidget):
    """The grid of a sweep's cells; `set_cells(cells)` lays it out, `set_states(states)` colours it."""

    openRequested = Signal(str)  # a cell name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.legend = StatusLegend()
        layout.addWidget(self.legend)
        self.table = QTableWidget()
        self.table.setObjectName("SweepGrid")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setMinimumSectionSize(96)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setWordWrap(False)
        self.table.itemDoubleClicked.connect(self._on_double_click)
        self.table.itemActivated.connect(self._on_double_click)
        layout.addWidget(self.table, 1)
        self._positions: dict[str, tuple[int, int]] = {}
        self._states: dict[str, Any] = {}
        self._theme = ""

    # ------------------------------------------------------------------ layout
    def set_cells(self, cells: Sequence[Any]) -> None:
        """Lay out one grid item per cell: row = dataset, column = (preset and grid point, seed)."""
        rows = list(dict.fromkeys(cell.dataset for cell in cells))
        columns = list(dict.fromkeys((_column_of(cell), cell.seed) for cell in cells))
        self.table.clear()
        self.table.setRowCount(len(rows))
        self.table.setColumnCount(len(columns))
        self.table.setVerticalHeaderLabels(rows)
        self.table.setHorizontalHeaderLabels([f"{column}\nseed {seed}" for column, seed in columns])
        self._positions = {}
        for cell in cells:
            r, c = rows.index(cell.dataset), columns.index((_column_of(cell), cell.seed))
            item = QTableWidgetItem()
            item.setData(NAME_ROLE, cell.name)
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            self.table.setItem(r, c, item)
            self._positions[cell.name] = (r, c)
        self._states = {}
        self._paint()

    def names(self) -> list[str]:
        """The cell names, in layout order."""
        return list(self._positions)

    def item_of(self, name: str) -> QTableWidgetItem | None:
        """The grid item showing cell `name`."""
        pos = self._positions.get(name)
        return self.table.item(*pos) if pos else None

    # ------------------------------------------------------------------ states
    def set_states(self, states: dict[str, Any]) -> None:
        """Show each cell's `CellState` (cells missing from `states` stay as they were)."""
        self._states.update(states)
        self._paint()

    def status_of(self, name: str) -> str:
        """The status shown for cell `name` (pending before any poll)."""
        return getattr(self._states.get(name), "status", "pending") or "pending"

    def counts(self) -> dict[str, int]:
        """How many cells show each status."""
        out = dict.fromkeys(STATUSES, 0)
        for name in self._positions:
            status = self.status_of(name)
            out[status] = out.get(status, 0) + 1
        return out

    def set_theme(self, theme: str) -> None:
        """Recolour for `theme` (the palette has already changed)."""
        self._theme = theme
        self.legend.set_theme(theme)
        self._paint()

    def _paint(self) -> None:
        palette = _app_palette(self.table)
        theme = self._theme or _theme_of(palette)
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        for name, (r, c) in self._positions.items():
            item = self.table.item(r, c)
            if item is None:
                continue
            state = self._states.get(name)
            status = self.status_of(name)
            item.setText(cell_text(state))
            item.setToolTip(cell_tooltip(name, state))
            item.setBackground(cell_background(status, base, theme))
            item.setForeground(text)

    def _on_double_click(self, item: QTableWidgetItem) -> None:
        name = item.data(NAME_ROLE)
        if name:
            self.openRequested.emit(str(name))


def _column_of(cell: Any) -> str:
    column = getattr(cell, "column", None)
    return str(column) if column else str(cell.preset)
