"""A run picker: the workspace's finished tokenizer runs in a combo box, plus "Open file…".

The listing comes from `tsstudio.store.workspace.list_runs`. It is read when the picker is first
shown (or asked for its runs), and again when the workspace changes or runs are added while it is
visible, so a window with several pickers does not scan a large workspace at start-up. Files
opened by hand stay in the list for the session.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QSizePolicy, QWidget

from tsstudio.store.workspace import list_runs

OPEN_FILE = "Open file…"
NONE_TEXT = "(choose a tokenizer run)"
_OPEN = "\x00open"


def finished_tokenizer_runs(folder: str | os.PathLike[str]) -> list[Path]:
    """Finished tokenizer run files of a workspace folder (and its direct subfolders), oldest first."""
    return [s.path for s in list_runs(folder) if s.kind == "tokenizer" and s.status == "finished" and not s.error]


class RunPicker(QWidget):
    """`label` + a combo of runs; `pathChanged(path)` when another run is picked ('' for none)."""

    pathChanged = Signal(str)

    def __init__(self, label: str, controller: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._extra: list[str] = []  # files opened by hand
        self._last = ""
        self._dirty = True  # the listing is out of date
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(label))
        self.combo = QComboBox()
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(14)
        self.combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.combo.activated.connect(self._on_activated)
        layout.addWidget(self.combo, 1)
        if controller is not None:
            for name in ("workspaceChanged", "runsChanged", "jobFinished"):
                signal = getattr(controller, name, None)
                if signal is not None:
                    signal.connect(lambda *_args: self._invalidate())
        self._fill([])

    def _invalidate(self) -> None:
        self._dirty = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt naming)
        if self._dirty:
            self.refresh()
        super().showEvent(event)

    def _workspace(self) -> Path | None:
        folder = getattr(self.controller, "workspace", None)
        return Path(folder) if folder else None

    def refresh(self) -> None:
        """Re-list the workspace's finished tokenizer runs, keeping the current choice."""
        folder = self._workspace()
        self._dirty = False
        self._fill([str(p.resolve()) for p in finished_tokenizer_runs(folder)] if folder is not None else [])

    def _fill(self, runs: list[str]) -> None:
        current = self.path()
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(NONE_TEXT, "")
        for path in [*runs, *(p for p in self._extra if p not in runs)]:
            self.combo.addItem(Path(path).stem, path)
            self.combo.setItemData(self.combo.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
        self.combo.addItem(OPEN_FILE, _OPEN)
        i = self.combo.findData(current) if current else 0
        self.combo.setCurrentIndex(max(i, 0))
        self.combo.blockSignals(False)

    def paths(self) -> list[str]:
        """Every run listed (workspace runs, then files opened by hand)."""
        if self._dirty:
            self.refresh()
        return [str(self.combo.itemData(i)) for i in range(1, self.combo.count() - 1)]

    def path(self) -> str:
        """The picked run file, '' when none."""
        data = self.combo.currentData()
        return "" if data in (None, "", _OPEN) else str(data)

    def set_path(self, path: str | os.PathLike[str]) -> None:
        """Pick `path` (added to the list when it is not a workspace run)."""
        path = str(Path(path).resolve())
        if self.combo.findData(path) < 0:
            self._extra.append(path)
            self._fill(self.paths())
        self.combo.setCurrentIndex(self.combo.findData(path))
        self._changed()

    def _on_activated(self, index: int) -> None:
        if self.combo.itemData(index) == _OPEN:
            folder = self._workspace()
            chosen, _ = QFileDialog.getOpenFileName(self, "Open a tokenizer run", str(folder or Path.home()),
                                                    "Run files (*.h5 *.hdf5);;All files (*)")
            if chosen:
                self.set_path(chosen)
            else:
                i = self.combo.findData(self._last) if self._last else 0
                self.combo.setCurrentIndex(max(i, 0))
            return
        self._changed()

    def _changed(self) -> None:
        path = self.path()
        if path != self._last:
            self._last = path
            self.pathChanged.emit(path)
