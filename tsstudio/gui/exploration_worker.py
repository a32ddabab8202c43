"""The results and curves views' worker: indexes a workspace and reads curves on its own thread.

Every request that opens a file (h5py) runs on one dedicated QThread, started on first use, so
the UI thread only draws even on a workspace of thousands of runs. Requests carry a token; a
request overtaken by a newer one of the same kind is skipped, and only the newest result is
delivered, so a burst of refreshes or check-box clicks costs one pass. Results are fresh objects
that the worker never touches again; errors come back as one line.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from tsstudio.errors import RunFileError, TsstudioError
from tsstudio.gui.workers import readable_error


@dataclass(frozen=True)
class IndexResult:
    """The rows of a workspace folder (`store.results_index.ResultRow`) and what indexing cost."""

    folder: str
    rows: list[Any]
    n_read: int
    n_reused: int
    elapsed_s: float


@dataclass(frozen=True)
class CurvesRequest:
    """Which runs' curve of which metric to read."""

    paths: tuple[str, ...]
    metric: str


@dataclass(frozen=True)
class CurveSet:
    """The curves of one metric over runs, grouped by seed (`store.curves.RunCurve` lists), with labels.

    `stats[i]` is the per-step `CurveStats` of group i. `skipped` names runs that could not be
    read (deleted or damaged since they were listed), `metric_names` every metric the runs have.
    """

    metric: str
    groups: list[list[Any]]
    labels: list[str]
    stats: list[Any]
    metric_names: list[str]
    skipped: list[str]
    elapsed_s: float


class _Worker(QObject):
    indexed = Signal(int, object)  # token, IndexResult
    curvesRead = Signal(int, object)  # token, CurveSet
    failed = Signal(int, str, str)  # token, what was being done, one readable line
    done = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.latest = {"index": 0, "curves": 0}  # written on the UI thread, read here (plain ints)

    def _fail(self, token: int, what: str, exc: BaseException) -> None:
        if not isinstance(exc, (TsstudioError, OSError)):
            traceback.print_exc()
        self.failed.emit(token, what, readable_error(exc))

    @Slot(int, str)
    def index(self, token: int, folder: str) -> None:
        from tsstudio.store.results_index import index_runs

        try:
            if token < self.latest["index"]:
                return
            t0 = time.perf_counter()
            found = index_runs(folder)
            self.indexed.emit(token, IndexResult(folder, found.rows, found.n_read, found.n_reused,
                                                 time.perf_counter() - t0))
        except BaseException as exc:  # one line to the user; the app stays up
            self._fail(token, "index", exc)
        finally:
            self.done.emit()

    @Slot(int, object)
    def curves(self, token: int, request: CurvesRequest) -> None:
        from tsstudio.store.curves import group_curves, group_labels, read_run_curve, stats_of_curves

        try:
            if token < self.latest["curves"]:
                return
            t0 = time.perf_counter()
            read, skipped = [], []
            for path in request.paths:
                try:
                    read.append(read_run_curve(path, request.metric))
                except (RunFileError, OSError, KeyError, ValueError):
                    skipped.append(Path(path).name)
            names = sorted({n for c in read for n in c.metric_names})
            groups = group_curves(read)
            stats = [stats_of_curves(g, request.metric) for g in groups]
            for c in read:  # fresh arrays the UI thread owns
                c.steps, c.epochs, c.values = np.array(c.steps), np.array(c.epochs), np.array(c.values)
            self.curvesRead.emit(token, CurveSet(request.metric, groups, group_labels(groups), stats, names, skipped,
                                                 time.perf_counter() - t0))
        except BaseException as exc:
            self._fail(token, "curves", exc)
        finally:
            self.done.emit()


class ExplorationService(QObject):
    """UI-thread handle on the worker: `index(folder)` and `curves(request)`; only the newest result arrives."""

    indexed = Signal(object)  # IndexResult
    curvesRead = Signal(object)  # CurveSet
    failed = Signal(str, str)  # what, message
    busyChanged = Signal(bool)

    _index = Signal(int, str)
    _curves = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._pending = 0
        self._token = 0
        self._latest = {"index": 0, "curves": 0}

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        self._thread = QThread()
        self._thread.setObjectName("tsstudio-exploration")
        self._worker = w = _Worker()
        w.latest = self._latest
        w.moveToThread(self._thread)
        self._index.connect(w.index)
        self._curves.connect(w.curves)
        w.indexed.connect(self._on_indexed)
        w.curvesRead.connect(self._on_curves)
        w.failed.connect(self._on_failed)
        w.done.connect(self._on_done)
        self._thread.finished.connect(w.deleteLater)
        self._thread.start()

    def _submit(self, kind: str, signal: Any, *args: object) -> int:
        self._ensure_thread()
        self._token += 1
        self._latest[kind] = self._token
        self._pending += 1
        if self._pending == 1:
            self.busyChanged.emit(True)
        signal.emit(self._token, *args)
        return self._token

    def _on_done(self) -> None:
        self._pending = max(0, self._pending - 1)
        if not self._pending:
            self.busyChanged.emit(False)

    def _on_indexed(self, token: int, result: IndexResult) -> None:
        if token == self._latest["index"]:
            self.indexed.emit(result)

    def _on_curves(self, token: int, result: CurveSet) -> None:
        if token == self._latest["curves"]:
            self.curvesRead.emit(result)

    def _on_failed(self, token: int, what: str, message: str) -> None:
        if token == self._latest.get(what, token):
            self.failed.emit(what, message)

    @property
    def busy(self) -> bool:
        """True while a request is queued or running."""
        return self._pending > 0

    def index(self, folder: str) -> int:
        """Index the run files of `folder` (using its cached index) on the worker; `indexed` or `failed`."""
        return self._submit("index", self._index, str(folder))

    def curves(self, request: CurvesRequest) -> int:
        """Read one metric's curves of some runs on the worker; `curvesRead` or `failed`."""
        return self._submit("curves", self._curves, request)

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Let the running request finish (queued ones are skipped), stop the thread; True if it ended in time."""
        if self._thread is None:
            return True
        self._latest["index"] = self._latest["curves"] = self._token + 1  # everything queued is stale now
        self._thread.quit()
        ok = bool(self._thread.wait(timeout_ms))
        self._thread = None
        self._worker = None
        self._pending = 0
        return ok
