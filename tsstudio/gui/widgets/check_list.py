"""A searchable list of check boxes (keys to group by, columns to show, runs to plot).

A model/view list (QStandardItemModel behind a filter proxy), so thousands of entries stay quick.
`changed` is emitted only when the user ticks or unticks an entry, not when the code sets them.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QLineEdit, QListView, QPushButton, QVBoxLayout, QWidget

KEY_ROLE = Qt.ItemDataRole.UserRole + 1


class CheckList(QWidget):
    """Entries with a check box each, a search field over them, and buttons to tick or untick those shown."""

    changed = Signal()

    def __init__(self, placeholder: str = "search…", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = QStandardItemModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.search = QLineEdit()
        self.search.setPlaceholderText(placeholder)
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.view = QListView()
        self.view.setModel(self.proxy)
        self.view.setUniformItemSizes(True)
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # long keys keep their last part visible
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.all_button = QPushButton("Tick shown")
        self.all_button.setToolTip("Tick every entry the search shows")
        self.none_button = QPushButton("Untick shown")
        self.none_button.setToolTip("Untick every entry the search shows")
        self.all_button.clicked.connect(lambda: self._set_shown(True))
        self.none_button.clicked.connect(lambda: self._set_shown(False))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self.search)
        layout.addWidget(self.view, 1)
        row = QHBoxLayout()
        row.addWidget(self.all_button)
        row.addWidget(self.none_button)
        layout.addLayout(row)
        self._quiet = False
        self.model.itemChanged.connect(self._on_item_changed)

    def _on_item_changed(self, _item: QStandardItem) -> None:
        if not self._quiet:
            self.changed.emit()

    def set_entries(self, keys: Iterable[str], checked: Iterable[str] = (), labels: dict[str, str] | None = None,
                    tooltips: dict[str, str] | None = None) -> None:
        """Replace the entries (`keys`, shown as `labels[key]` where given), ticking those in `checked`."""
        ticked = set(checked)
        self._quiet = True
        try:
            self.model.clear()
            for key in keys:
                item = QStandardItem((labels or {}).get(key, key))
                item.setData(key, KEY_ROLE)
                item.setCheckable(True)
                item.setEditable(False)
                item.setCheckState(Qt.CheckState.Checked if key in ticked else Qt.CheckState.Unchecked)
                tip = (tooltips or {}).get(key)
                if tip:
                    item.setToolTip(tip)
                self.model.appendRow(item)
        finally:
            self._quiet = False

    def keys(self) -> list[str]:
        """Every entry's key, in order."""
        return [self.model.item(i).data(KEY_ROLE) for i in range(self.model.rowCount())]

    def checked(self) -> list[str]:
        """The ticked entries' keys, in order."""
        out = []
        for i in range(self.model.rowCount()):
            item = self.model.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(KEY_ROLE))
        return out

    def set_checked(self, keys: Iterable[str], emit: bool = True) -> None:
        """Tick exactly `keys` (the others are unticked)."""
        wanted = set(keys)
        self._apply(lambda key: key in wanted, range(self.model.rowCount()), emit)

    def set_key_checked(self, key: str, on: bool, emit: bool = True) -> None:
        """Tick or untick one entry."""
        rows = [i for i in range(self.model.rowCount()) if self.model.item(i).data(KEY_ROLE) == key]
        current = set(self.checked())
        self._apply(lambda k: on if k == key else k in current, rows, emit)

    def _set_shown(self, on: bool) -> None:
        rows = [self.proxy.mapToSource(self.proxy.index(r, 0)).row() for r in range(self.proxy.rowCount())]
        self._apply(lambda _k: on, rows, True)

    def _apply(self, want: object, rows: Iterable[int], emit: bool) -> None:
        changed = False
        self._quiet = True
        try:
            for i in rows:
                item = self.model.item(i)
                state = Qt.CheckState.Checked if want(item.data(KEY_ROLE)) else Qt.CheckState.Unchecked  # type: ignore[operator]
                if item.checkState() != state:
                    item.setCheckState(state)
                    changed = True
        finally:
            self._quiet = False
        if changed and emit:
            self.changed.emit()
