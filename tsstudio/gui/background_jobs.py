"""Evaluation and export jobs: one core call on its own QThread, with progress and cooperative cancel.

The core functions (`evaluate_run`, `evaluate_prior_run`, `export_tokens`, CSV writing) take a
`progress(stage, done, total)` callback and a `should_stop()` check; a cancel makes them raise
`Cancelled` at the next stage, epoch or batch, before anything is written. The thread only
records progress under a lock and emits plain strings and ints; the UI reads `state()` copies.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from tsstudio.errors import Cancelled
from tsstudio.gui.workers import readable_error

Work = Callable[[Callable[[str, int, int], None], Callable[[], bool]], Any]
"""What a job runs: `work(progress, should_stop)`, on the job's thread."""

PRIOR_EVAL_DEFAULTS = {"fcn_epochs": 1000, "cas_epochs": 1000, "with_cas": True}
"""The app's prior evaluation, as `tsstudio eval` runs it by default."""


@dataclass(frozen=True)
class JobState:
    """A copy of what a job has reported so far."""

    status: str  # waiting / running / finished / cancelled / failed
    stage: str
    done: int
    total: int
    message: str

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total > 0 else 0.0


class _JobThread(QThread):
    def __init__(self, job: BackgroundJob) -> None:
        super().__init__()
        self._job = job

    def run(self) -> None:
        job = self._job
        try:
            job.result = job._work(job._report, job._cancel.is_set)
            status, message = "finished", ""
        except Cancelled as exc:
            status, message = "cancelled", str(exc)
        except BaseException as exc:  # one line to the user; the app stays up
            status, message = "failed", readable_error(exc)
            job.details = traceback.format_exc()
        job._thread_done.emit(status, message)


class BackgroundJob(QObject):
    """A titled unit of work on a file (`path`), e.g. "Evaluate run.h5" or "Export tokens".

    `progressed` is a hint (at most ~10 Hz, and at every stage change) that `state()` moved on;
    `finished(status, message)` comes once, on the UI thread, after the thread has ended.
    """

    progressed = Signal()
    finished = Signal(str, str)
    _thread_done = Signal(str, str)

    PROGRESS_INTERVAL_S = 0.1

    def __init__(self, title: str, path: str | os.PathLike[str], work: Work, kind: str = "job",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.path = Path(path)
        self.kind = kind
        self.result: Any = None
        self.details = ""
        self._work = work
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._state = JobState("waiting", "", 0, 0, "")
        self._last_emit = 0.0
        self._thread: _JobThread | None = None
        self._thread_done.connect(self._on_thread_done)

    def start(self) -> None:
        """Start the work on a new thread (once)."""
        if self._thread is not None:
            raise RuntimeError("a BackgroundJob can only be started once")
        with self._lock:
            self._state = JobState("running", "starting", 0, 0, "")
        self._thread = _JobThread(self)
        self._thread.start()

    def cancel(self) -> None:
        """Ask the work to stop at its next stage, epoch or batch (nothing is written then)."""
        self._cancel.set()
        with self._lock:
            if self._state.status == "running":
                self._state = JobState("running", "cancelling…", self._state.done, self._state.total, "")
        self.progressed.emit()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def wait(self, msecs: int) -> bool:
        """Wait up to `msecs` for the thread to end; True if it has ended (or never started)."""
        return True if self._thread is None else bool(self._thread.wait(msecs))

    def state(self) -> JobState:
        with self._lock:
            return self._state

    # ------------------------------------------------------------------ job thread
    def _report(self, stage: str, done: int, total: int) -> None:
        with self._lock:
            if self._cancel.is_set():
                return  # keep "cancelling…" shown
            changed = stage != self._state.stage
            self._state = JobState("running", stage, int(done), int(total), "")
        now = time.monotonic()
        if changed or now - self._last_emit >= self.PROGRESS_INTERVAL_S:
            self._last_emit = now
            self.progressed.emit()

    # ------------------------------------------------------------------ UI thread
    def _on_thread_done(self, status: str, message: str) -> None:
        if self._thread is not None:
            self._thread.wait(5000)
        with self._lock:
            s = self._state
            done = s.total if status == "finished" else s.done
            self._state = JobState(status, s.stage if status != "finished" else "done", done, s.total, message)
        self.progressed.emit()
        self.finished.emit(status, message)


# ---------------------------------------------------------------------- the jobs the app offers
def evaluation_job(path: str | os.PathLike[str], kind: str, data_dir: str | None = None, device: str = "auto",
                   **prior_options: Any) -> BackgroundJob:
    """Evaluate a tokenizer run (reconstruction, probes, codebook) or a prior run (FID, IS, CAS,
    real-vs-real floor, the FCN's accuracy) exactly as `tsstudio eval` does, into its run file."""
    from tsstudio.store.run_eval import evaluate_prior_run, evaluate_run

    target = Path(path)
    if kind == "prior":
        options = {**PRIOR_EVAL_DEFAULTS, **prior_options}

        def work(progress: Callable[[str, int, int], None], should_stop: Callable[[], bool]) -> Any:
            return evaluate_prior_run(target, data_dir=data_dir, device=device, progress=progress,
                                      should_stop=should_stop, **options)
    else:
        def work(progress: Callable[[str, int, int], None], should_stop: Callable[[], bool]) -> Any:
            return evaluate_run(target, data_dir=data_dir, device=device, progress=progress, should_stop=should_stop)

    return BackgroundJob(f"Evaluate {target.name}", target, work, kind="evaluate")


def token_export_job(run: str | os.PathLike[str], out: str | os.PathLike[str], split: str = "all",
                     data_dir: str | None = None) -> BackgroundJob:
    """Export a tokenizer run's token grids (as `tsstudio export-tokens`) to `out`, atomically."""
    from tsstudio.store.exports import export_tokens

    source, target = Path(run), Path(out)

    def work(progress: Callable[[str, int, int], None], should_stop: Callable[[], bool]) -> Any:
        return export_tokens(source, target, split=split, data_dir=data_dir, progress=progress, should_stop=should_stop)

    return BackgroundJob(f"Export tokens of {source.name} → {target.name}", source, work, kind="export")
