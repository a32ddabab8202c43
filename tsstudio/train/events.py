"""Events a training loop reports through its callback.

Events are plain frozen dataclasses holding copies (numpy arrays, bytes, floats), never live
tensors, so a receiver on another thread (the app) or a writer (the run file) can keep them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np


@dataclass(frozen=True)
class RunStarted:
    """Sent once before the first step (also when resuming, with `start_step` > 0)."""

    kind: str  # "tokenizer" or "prior"
    config: dict[str, Any]
    dataset: str
    n_train: int
    n_test: int
    length: int
    n_classes: int
    steps_per_epoch: int
    total_steps: int
    start_step: int
    train_metrics: tuple[str, ...]  # names reported in every StepMetrics
    eval_metrics: tuple[str, ...]  # names that EvalMetrics may report
    codebook_size: int
    token_grid: tuple[int, int]  # (H, W)
    snapshot_indices: np.ndarray  # int64 (S,) test-set indices
    snapshot_inputs: np.ndarray  # float32 (S, L) scaled test series, (S, C, L) with C > 1 channels
    snapshot_labels: np.ndarray  # int64 (S,)
    device: str
    precision: str
    parameters: int
    class_labels: tuple[str, ...] = ()  # the dataset's label of class id i at index i
    n_channels: int = 1  # channels C of the series
    data_mean: tuple[float, ...] = ()  # the dataset's scaling mean per channel (one value when univariate)
    data_std: tuple[float, ...] = ()  # its scaling std per channel


@dataclass(frozen=True)
class StepMetrics:
    """Training metrics of one optimiser step."""

    step: int  # 1-based count of optimiser steps done
    epoch: float  # fractional epochs done
    metrics: dict[str, float]


@dataclass(frozen=True)
class EvalMetrics:
    """Test-set reconstruction error and/or probe accuracies at a step."""

    step: int
    epoch: float
    metrics: dict[str, float]


@dataclass(frozen=True)
class Snapshot:
    """Reconstructions of the fixed test series and codebook usage since the last snapshot."""

    step: int
    epoch: float
    recon: np.ndarray  # float32 (S, L), or (S, C, L) with C > 1 channels
    codebook_usage: np.ndarray  # int64 (K,) token counts over the steps since the last snapshot


@dataclass(frozen=True)
class Checkpoint:
    """The full training state (model, optimiser, schedule, RNG) serialised with torch.save."""

    step: int
    epoch: float
    state: bytes


@dataclass(frozen=True)
class BestWeights:
    """Model weights of the best validation result so far."""

    step: int
    metric: str
    value: float
    state: bytes


@dataclass(frozen=True)
class Finished:
    """The loop ended normally: `finished` (budget done) or `stopped` (stop requested)."""

    step: int
    epoch: float
    status: str
    elapsed_s: float


@dataclass(frozen=True)
class Failed:
    """The loop raised; `message` is one readable line, `details` the traceback."""

    step: int
    message: str
    details: str = field(default="")


Event = Union[RunStarted, StepMetrics, EvalMetrics, Snapshot, Checkpoint, BestWeights, Finished, Failed]
EventCallback = Callable[[Event], None]
