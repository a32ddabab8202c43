"""Training jobs: the shared training loop (`train_run`) on a dedicated QThread.

The loop's listener runs on the worker thread and only appends to a lock-protected `LiveState`;
views pull what is new with `TrainingJob.read(cursor)` on their own timer (never once per step).
Signals carry only strings, so nothing mutable crosses threads through them.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from tsstudio.config.schema import RunConfig
from tsstudio.errors import TsstudioError
from tsstudio.store.follow import RunData, read_run
from tsstudio.train import TrainingControl
from tsstudio.train.events import EvalMetrics, Failed, Finished, RunStarted, Snapshot, StepMetrics


def ui_friendly_threads() -> int:
    """Torch threads for a training job: every core but one, which stays with the UI."""
    return max(1, (os.cpu_count() or 1) - 1)


def readable_error(exc: BaseException) -> str:
    """One line for the user: the root cause when a sink failed while reporting an earlier error."""
    cause = exc
    while cause.__context__ is not None and isinstance(cause, TsstudioError) and "before RunStarted" in str(cause):
        cause = cause.__context__
    text = str(cause).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(cause, TsstudioError):
        return first or type(cause).__name__
    return f"{type(cause).__name__}: {first}" if first else type(cause).__name__


@dataclass
class LiveState:
    """Everything a job has reported so far (mutated only under `TrainingJob._lock`)."""

    status: str = "starting"
    started: RunStarted | None = None
    step: int = 0
    epoch: float = 0.0
    total_steps: int = 0
    start_step: int = 0
    # step metrics: one row per step, columns by name (a metric missing in a row is NaN)
    step_rows: list[int] = field(default_factory=list)
    step_times: list[float] = field(default_factory=list)
    step_values: dict[str, list[float]] = field(default_factory=dict)
    # eval metrics: (step, value) pairs per name
    eval_values: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    snapshot: Snapshot | None = None
    snapshot_count: int = 0
    message: str = ""
    details: str = ""
    t_start: float = 0.0
    history: RunData | None = None  # what a resumed run's file held before this job


@dataclass
class JobUpdate:
    """What is new since a cursor: copies, safe to keep on the UI thread."""

    cursor: int
    status: str
    step: int
    epoch: float
    total_steps: int
    start_step: int
    started: RunStarted | None
    steps: np.ndarray  # int64 (n,) new step rows
    times: np.ndarray  # float64 (n,) their wall-clock times
    values: dict[str, np.ndarray]  # name -> float64 (n,)
    eval_values: dict[str, tuple[np.ndarray, np.ndarray]]  # full (steps, values) per eval metric
    snapshot: Snapshot | None
    snapshot_count: int
    message: str
    history: RunData | None = None


class _TrainingThread(QThread):
    """Runs one job's training call (`TrainingJob.train`); reports through the job's lock-protected state."""

    def __init__(self, job: TrainingJob) -> None:
        super().__init__()
        self._job = job

    def run(self) -> None:
        import torch

        job = self._job
        if job.resume_state is not None:
            job._load_history()  # before the writer reopens the file
        try:
            torch.set_num_threads(job.threads)
            status = str(job.train().status)
        except BaseException as exc:  # reported to the user as one message; the app stays up
            job._record_failure(readable_error(exc), traceback.format_exc())
            status = "failed"
        job._thread_done.emit(status)


class TrainingJob(QObject):
    """One training run in this process: start, pause, resume, cooperative stop, live state."""

    started = Signal()
    finished = Signal(str)  # final status: finished / stopped / failed
    failed = Signal(str)  # one readable line
    progressed = Signal()  # coarse hint that new state exists (at most ~2 Hz)
    _thread_done = Signal(str)

    PROGRESS_INTERVAL_S = 0.5

    def __init__(
        self,
        config: RunConfig,
        path: str | os.PathLike[str],
        *,
        data_dir: str | None = None,
        resume_state: bytes | None = None,
        threads: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.config = config
        self.path = Path(path)
        self.data_dir = data_dir
        self.resume_state = resume_state
        self.threads = threads or ui_friendly_threads()
        self.control = TrainingControl()
        self._lock = threading.Lock()
        self._state = LiveState()
        self._last_progress = 0.0
        self._thread: _TrainingThread | None = None
        self._thread_done.connect(self._on_thread_done)

    # ------------------------------------------------------------------ control (UI thread)
    def start(self) -> None:
        """Start training on a new dedicated thread."""
        if self._thread is not None:
            raise RuntimeError("a TrainingJob can only be started once")
        with self._lock:
            self._state.t_start = time.perf_counter()
            self._state.status = "running"
        self._thread = _TrainingThread(self)
        self._thread.start()
        self.started.emit()

    def stop(self) -> None:
        """Cooperative stop: the loop checkpoints after the current step and ends `stopped`."""
        self.control.request_stop()

    def pause(self) -> None:
        self.control.pause()
        with self._lock:
            if self._state.status == "running":
                self._state.status = "paused"

    def resume(self) -> None:
        self.control.resume()
        with self._lock:
            if self._state.status == "paused":
                self._state.status = "running"

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    @property
    def has_ended(self) -> bool:
        """Whether the job was started and its thread has ended."""
        return self._thread is not None and not self._thread.isRunning()

    @property
    def is_paused(self) -> bool:
        return self.control.paused and self.is_running

    @property
    def status(self) -> str:
        with self._lock:
            return self._state.status

    def wait(self, msecs: int) -> bool:
        """Wait up to `msecs` for the thread to end; True if it has ended (or never started)."""
        if self._thread is None:
            return True
        return bool(self._thread.wait(msecs))

    # ------------------------------------------------------------------ state (any thread)
    def read(self, cursor: int = 0) -> JobUpdate:
        """Copies of the state: step rows after `cursor`, the latest snapshot and eval metrics."""
        with self._lock:
            s = self._state
            n = len(s.step_rows)
            cursor = min(cursor, n)
            values = {name: np.asarray(col[cursor:n], np.float64) for name, col in s.step_values.items()}
            evals = {
                name: (np.asarray([p[0] for p in pairs], np.int64), np.asarray([p[1] for p in pairs], np.float64))
                for name, pairs in s.eval_values.items()
            }
            return JobUpdate(
                cursor=n,
                status=s.status,
                step=s.step,
                epoch=s.epoch,
                total_steps=s.total_steps,
                start_step=s.start_step,
                started=s.started,
                steps=np.asarray(s.step_rows[cursor:n], np.int64),
                times=np.asarray(s.step_times[cursor:n], np.float64),
                values=values,
                eval_values=evals,
                snapshot=s.snapshot,
                snapshot_count=s.snapshot_count,
                message=s.message,
                history=s.history,
            )

    # ------------------------------------------------------------------ worker thread
    def train(self) -> Any:
        """The training call, on the worker thread (`train_run`, as `tsstudio train`); returns the trainer."""
        from tsstudio.sweep.runner import train_run

        return train_run(
            self.config,
            self.path,
            data_dir=self.data_dir,
            resume_state=self.resume_state,
            control=self.control,
            listeners=[self._on_event],
        )

    def _on_event(self, event: Any) -> None:
        """Listener called by the loop on the worker thread: record, never touch widgets."""
        now = time.perf_counter()
        with self._lock:
            s = self._state
            if isinstance(event, StepMetrics):
                n = len(s.step_rows)
                s.step_rows.append(event.step)
                s.step_times.append(now)
                for name, value in event.metrics.items():
                    col = s.step_values.get(name)
                    if col is None:
                        col = s.step_values[name] = [float("nan")] * n
                    col.append(float(value))
                for col in s.step_values.values():
                    if len(col) <= n:
                        col.append(float("nan"))
                s.step, s.epoch = event.step, event.epoch
            elif isinstance(event, EvalMetrics):
                for name, value in event.metrics.items():
                    s.eval_values.setdefault(name, []).append((event.step, float(value)))
            elif isinstance(event, Snapshot):
                s.snapshot = event  # frozen, holds its own copies
                s.snapshot_count += 1
            elif isinstance(event, RunStarted):
                s.started = event
                s.total_steps, s.start_step, s.step = event.total_steps, event.start_step, event.start_step
            elif isinstance(event, Finished):
                s.step = event.step
            elif isinstance(event, Failed):
                s.message, s.details = event.message, event.details
        if now - self._last_progress >= self.PROGRESS_INTERVAL_S:
            self._last_progress = now
            self.progressed.emit()

    def _load_history(self) -> None:
        """Read the curves the run file holds so a resumed run's live view keeps its past."""
        try:
            history = read_run(self.path)
        except Exception:  # noqa: BLE001 - the view then starts from the resumed step, nothing worse
            return
        with self._lock:
            self._state.history = history

    def _record_failure(self, message: str, details: str) -> None:
        with self._lock:
            if not self._state.message:
                self._state.message, self._state.details = message, details

    # ------------------------------------------------------------------ UI thread
    def _on_thread_done(self, status: str) -> None:
        with self._lock:
            self._state.status = status
            message = self._state.message or "training failed"
        if self._thread is not None:
            self._thread.wait(5000)
        if status == "failed":
            self.failed.emit(message)
        self.finished.emit(status)

    def throughput(self) -> float:
        """Training samples per second over the steps seen so far (0 before two steps)."""
        with self._lock:
            times = self._state.step_times
            if len(times) < 2:
                return 0.0
            return (len(times) - 1) * self.config.trainer.batch_size / max(times[-1] - times[0], 1e-9)
