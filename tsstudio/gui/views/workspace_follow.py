"""What the Results and Curves views share to follow the main window's workspace folder.

Both list the runs of one folder from the cached results index and must refresh when the folder
changes on disk, when the app's runs change, or when the main window opens another workspace,
but only while shown (a hidden view is marked dirty and refreshes when it is shown). The mixin
holds that wiring; each view keeps its own `refresh()`, `set_folder()` and `shutdown()`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QFileSystemWatcher, QTimer
from PySide6.QtGui import QGuiApplication

REFRESH_DEBOUNCE_MS = 400
WATCHED_DIRS = 256  # the folder and its direct subfolders, at most this many (inotify watches are limited)


class FollowsWorkspace:
    """Mixin for a QWidget view with `refresh()`, `set_folder(folder)` and `shutdown()`."""

    _dirty: bool

    def follow_workspace(self, controller: Any, debounce_ms: int = REFRESH_DEBOUNCE_MS) -> None:
        """Refresh (debounced, only while shown) on folder changes and the controller's run and workspace signals."""
        self._dirty = True
        self._refresh_timer = QTimer(self, singleShot=True, interval=debounce_ms)  # type: ignore[call-overload]
        self._refresh_timer.timeout.connect(self.refresh)  # type: ignore[attr-defined]
        self.watcher = QFileSystemWatcher(self)  # type: ignore[arg-type]
        self.watcher.directoryChanged.connect(lambda _p: self._schedule_refresh())
        if controller is not None:
            if hasattr(controller, "workspaceChanged"):
                controller.workspaceChanged.connect(self.set_folder)  # type: ignore[attr-defined]
            if hasattr(controller, "runsChanged"):
                controller.runsChanged.connect(self._schedule_refresh)
        app = QGuiApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)  # type: ignore[attr-defined]

    def _schedule_refresh(self) -> None:
        self._dirty = True
        if self.isVisible():  # type: ignore[attr-defined]
            self._refresh_timer.start()

    def _refreshing(self) -> None:
        """Call at the start of `refresh()`: the view is up to date and no debounced refresh is pending."""
        self._dirty = False
        self._refresh_timer.stop()

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt naming)
        super().showEvent(event)  # type: ignore[misc]
        if self._dirty:
            self.refresh()  # type: ignore[attr-defined]

    def watch_folder(self, folder: Path) -> None:
        """Watch `folder` and its direct, not hidden, subfolders (where run files are listed from)."""
        dirs = [str(folder), *(str(p) for p in sorted(folder.iterdir()) if p.is_dir() and not p.name.startswith("."))]
        old = self.watcher.directories()
        if old:
            self.watcher.removePaths(old)
        self.watcher.addPaths(dirs[:WATCHED_DIRS])
