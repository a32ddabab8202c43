"""A prior's training job: the shared loop (`train_prior_run`, as `tsstudio prior`) on a QThread.

It is a `TrainingJob` in every other respect (live state, pause, cooperative stop, signals), so
the controller, the Training view and the runs list treat tokenizer and prior jobs alike.
"""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QObject

from tsstudio.config.schema import RunConfig
from tsstudio.gui.workers import TrainingJob, _TrainingThread, readable_error


class _PriorTrainingThread(_TrainingThread):
    """Runs one prior job's `train_prior_run` call; reports through the job's lock-protected state."""

    def run(self) -> None:
        import torch

        from tsstudio.sweep.runner import train_prior_run

        job = self._job
        if job.resume_state is not None:
            job._load_history()  # before the writer reopens the file
        try:
            torch.set_num_threads(job.threads)
            trainer = train_prior_run(
                job.tokenizer_run,
                job.config,
                job.path,
                data_dir=job.data_dir,
                resume_state=job.resume_state,
                control=job.control,
                listeners=[job._on_event],
            )
            status = str(trainer.status)
        except BaseException as exc:  # reported to the user as one message; the app stays up
            job._record_failure(readable_error(exc), traceback.format_exc())
            status = "failed"
        job._thread_done.emit(status)


class PriorTrainingJob(TrainingJob):
    """Trains a MaskGIT prior on the tokens of the finished tokenizer run `tokenizer_run`."""

    kind = "prior"

    def __init__(
        self,
        config: RunConfig,
        path: str | os.PathLike[str],
        *,
        tokenizer_run: str | os.PathLike[str],
        data_dir: str | None = None,
        resume_state: bytes | None = None,
        threads: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(config, path, data_dir=data_dir, resume_state=resume_state, threads=threads, parent=parent)
        self.tokenizer_run = Path(tokenizer_run)

    def start(self) -> None:
        """Start training on a new dedicated thread."""
        if self._thread is not None:
            raise RuntimeError("a TrainingJob can only be started once")
        with self._lock:
            self._state.t_start = time.perf_counter()
            self._state.status = "running"
        self._thread = _PriorTrainingThread(self)
        self._thread.start()
        self.started.emit()
