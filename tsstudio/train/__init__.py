"""Training loops as plain Python: events through a callback, cooperative stop and pause."""

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
from tsstudio.train.runtime import TrainingControl, resolve_device, resolve_precision
from tsstudio.train.tokenizer_trainer import TokenizerTrainer, deserialize, serialize

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
