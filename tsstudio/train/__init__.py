"""Training loops as plain Python: events through a callback, cooperative stop and pause.

The events and `TrainingControl` import without torch; the trainers (and with them torch,
scikit-learn and scipy) load on first use, so the run-file reader and the light CLI commands,
which only need the events, start fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from tsstudio.train.events import (
    BestWeights,
    Checkpoint,
    EvalMetrics,
    Event,
    EventCallback,
    Failed,
    Finished,
    RunStarted,
    Snapshot,
    StepMetrics,
)
from tsstudio.train.runtime import TrainingControl

if TYPE_CHECKING:
    from tsstudio.models.runtime import resolve_device, resolve_precision
    from tsstudio.train.tokenizer_trainer import TokenizerTrainer, deserialize, serialize

_LAZY = {
    "TokenizerTrainer": "tsstudio.train.tokenizer_trainer",
    "deserialize": "tsstudio.train.tokenizer_trainer",
    "serialize": "tsstudio.train.tokenizer_trainer",
    "resolve_device": "tsstudio.models.runtime",
    "resolve_precision": "tsstudio.models.runtime",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BestWeights",
    "Checkpoint",
    "EvalMetrics",
    "Event",
    "EventCallback",
    "Failed",
    "Finished",
    "RunStarted",
    "Snapshot",
    "StepMetrics",
    "TokenizerTrainer",
    "TrainingControl",
    "deserialize",
    "resolve_device",
    "resolve_precision",
    "serialize",
]
