"""A terminal progress bar fed by training events.

tqdm and the event types import on first use, so the commands that never train (presets,
config, datasets, runs) do not pay for them at start-up.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tqdm import tqdm


class ProgressBar:
    """tqdm bar over training steps; shows the loss and the latest probe/validation figures."""

    def __init__(self, disable: bool = False) -> None:
        self.disable = disable
        self.bar: tqdm | None = None
        self.postfix: dict[str, str] = {}
        self.failure = ""

    def __call__(self, event: Any) -> None:
        from tsstudio.train.events import EvalMetrics, Failed, Finished, RunStarted, StepMetrics

        if isinstance(event, Failed):
            self.failure = event.message
        if self.disable:
            return
        if isinstance(event, RunStarted):
            from tqdm import tqdm

            self.bar = tqdm(
                total=event.total_steps,
                initial=event.start_step,
                desc=f"{event.dataset} [{event.device}/{event.precision}]",
                unit="step",
                file=sys.stderr,
                dynamic_ncols=True,
                mininterval=0.5,
            )
        elif self.bar is None:
            return
        elif isinstance(event, StepMetrics):
            self.postfix["loss"] = f"{event.metrics['loss']:.4f}"
            self.bar.update(event.step - self.bar.n)
            if event.step % 10 == 0:
                self.bar.set_postfix(self.postfix, refresh=False)
        elif isinstance(event, EvalMetrics):
            for key, label in (("val_loss", "val"), ("svm_accuracy", "svm"), ("knn_accuracy", "knn")):
                if key in event.metrics:
                    self.postfix[label] = f"{event.metrics[key]:.3f}"
        elif isinstance(event, Finished):
            self.bar.set_postfix(self.postfix)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class StageProgress:
    """One tqdm bar per named stage of a long evaluation, fed `(stage, done, total)`."""

    def __init__(self, disable: bool = False) -> None:
        self.disable = disable
        self.stage = ""
        self.bar: tqdm | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.disable:
            return
        if stage != self.stage or self.bar is None:
            from tqdm import tqdm

            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=stage, file=sys.stderr, dynamic_ncols=True, mininterval=0.5)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
