"""Train one configuration into one run file: the loop, its writer and any listeners, wired once."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tsstudio.config.schema import RunConfig
from tsstudio.data import load_dataset
from tsstudio.store import RunFileWriter
from tsstudio.train import TokenizerTrainer, TrainingControl


def train_run(
    config: RunConfig,
    out: Path,
    *,
    data_dir: str | None = None,
    resume_state: bytes | None = None,
    control: TrainingControl | None = None,
    listeners: Iterable[Callable[[Any], None]] = (),
) -> TokenizerTrainer:
    """Train `config` and write every event to the run file `out` (resuming it when a state is given).

    Returns the trainer, whose `status`, `step` and `budget` say how it ended.
    """
    dataset = load_dataset(config.data.dataset, data_dir, scaling=config.data.scaling)
    writer = RunFileWriter(
        out,
        resume=resume_state is not None,
        extra_attrs={
            "data_dir": os.fspath(Path(data_dir).resolve()) if data_dir else "",
            "data_source": dataset.source,
        },
    )
    sinks = [writer, *listeners]

    def on_event(event: Any) -> None:
        for sink in sinks:
            sink(event)

    trainer = TokenizerTrainer(config, dataset, on_event, control=control, resume_state=resume_state)
    try:
        trainer.status = trainer.run()
    finally:
        writer.close()
    return trainer
