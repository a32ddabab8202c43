"""The Sweeps view's worker: reads the cells' states and the summary of a sweep on its own thread.

A sweep's run files are written by another process; reading them (h5py) can take a moment on a
big grid, so every poll runs on one dedicated QThread, started on first use, and the UI thread
only draws. Polls carry a token; a poll overtaken by a newer one is skipped, so a slow read never
piles up requests. Results are fresh objects the worker never touches again; errors come back as
one line.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from tsstudio.errors import TsstudioError
from tsstudio.gui.workers import readable_error


@dataclass(frozen=True)
class SweepPoll:
    """What one poll found: each cell's `CellState` by cell name, and the summary (if asked for)."""

    states: dict[str, Any]
    summary: Any | None
    elapsed_s: float


class _Worker(QObject):
    polled = Signal(int, object)  # token, SweepPoll
    failed = Signal(int, str)  # token, one readable line
    done = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.latest = [0]  # written on the UI thread, read here (a plain int in a list)

    @Slot(int, object, str, bool)
    def poll(self, token: int, spec: Any, workspace: str, with_summary: bool) -> None:
        from tsstudio.sweep.status import sweep_states

        try:
            if token < self.latest[0]:
                return
            t0 = time.perf_counter()
            states = {cell.name: state for cell, state in sweep_states(spec, Path(workspace))}
            summary = None
            if with_summary:
                from tsstudio.sweep.summary import summarize

                summary = summarize(spec, workspace)
            self.polled.emit(token, SweepPoll(states, summary, time.perf_counter() - t0))
        except BaseException as exc:  # one line to the user; the app stays up
            if not isinstance(exc, (TsstudioError, OSError)):
                traceback.print_exc()
            self.failed.emit(token, readable_error(exc))
        finally:
            self.done.emit()


class SweepPoller(QObject):
    """UI-thread handle on the worker: `poll(spec, workspace)`; only the newest result arrives."""

    polled = Signal(object)  # SweepPoll
    failed = Signal(str)

    _poll = Signal(int, object, str, bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._latest = [0]
        self._token = 0
        self._pending = 0

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        self._thread = QThread()
        self._thread.setObjectName("tsstudio-sweep-poll")
        self._worker = w = _Worker()
        w.latest = self._latest
        w.moveToThread(self._thread)
        self._poll.connect(w.poll)
        w.polled.connect(self._on_polled)
        w.failed.connect(self._on_failed)
        w.done.connect(self._on_done)
        self._thread.finished.connect(w.deleteLater)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """True while a poll is queued or running."""
        return self._pending > 0

    def poll(self, spec: Any, workspace: str, with_summary: bool = True) -> int:
        """Read the states (and the summary) of `spec`'s cells in `workspace` on the worker."""
        self._ensure_thread()
        self._token += 1
        self._latest[0] = self._token
        self._pending += 1
        self._poll.emit(self._token, spec, str(workspace), bool(with_summary))
        return self._token

    def _on_done(self) -> None:
        self._pending = max(0, self._pending - 1)

    def _on_polled(self, token: int, result: SweepPoll) -> None:
        if token == self._latest[0]:
            self.polled.emit(result)

    def _on_failed(self, token: int, message: str) -> None:
        if token == self._latest[0]:
            self.failed.emit(message)

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Let the running poll finish (queued ones are skipped), stop the thread; True if it ended in time."""
        if self._thread is None:
            return True
        self._latest[0] = self._token + 1
        self._thread.quit()
        ok = bool(self._thread.wait(timeout_ms))
        self._thread = None
        self._worker = None
        self._pending = 0
        return ok
