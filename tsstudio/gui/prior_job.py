"""A prior's training job: the shared loop (`train_prior_run`, as `tsstudio prior`) on a QThread.

It is a `TrainingJob` in every other respect (thread, live state, pause, cooperative stop,
signals), so the controller, the Training view and the runs list treat tokenizer and prior jobs
alike; only the training call differs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from tsstudio.config.schema import RunConfig
from tsstudio.gui.workers import TrainingJob


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

    def train(self) -> Any:
        """`train_prior_run` on the worker thread; returns the trainer."""
        from tsstudio.sweep.runner import train_prior_run

        return train_prior_run(
            self.tokenizer_run,
            self.config,
            self.path,
            data_dir=self.data_dir,
            resume_state=self.resume_state,
            control=self.control,
            listeners=[self._on_event],
        )
