"""The one training loop: budget, schedule, batching, stop/pause, checkpoints, events.

Stage 1 (tokenizer) and stage 2 (prior) differ only in what they build, how one step computes
its loss, and what they evaluate; `TrainingLoop` owns everything else so the CLI, the app and
sweeps drive both the same way.
"""

from __future__ import annotations

import math
import time
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from tsstudio.config.io import from_dict, to_dict
from tsstudio.config.schema import RunConfig
from tsstudio.data.dataset import Dataset
from tsstudio.errors import TsstudioError
from tsstudio.models.runtime import precision_name, resolve_device, resolve_precision, seed_everything, set_threads
from tsstudio.train import state_format
from tsstudio.train.events import Checkpoint, EventCallback, Failed, Finished, RunStarted, StepMetrics
from tsstudio.train.runtime import TrainingControl


def serialize(obj: Any) -> bytes:
    """A training state (nested dicts of tensors, arrays and plain values) as safe bytes."""
    return state_format.encode(obj)


def deserialize(data: bytes) -> Any:
    """Inverse of `serialize` (tensors land on the CPU); never runs code from `data`.

    Bytes that are not a tsstudio state raise `StateFormatError` (one line, no traceback).
    """
    return state_format.decode(data)


def _resume_config(state: Any) -> RunConfig:
    """The configuration stored in a decoded checkpoint (refused when the state has none)."""
    if not isinstance(state, dict) or not isinstance(state.get("config"), dict):
        raise state_format.StateFormatError()
    return from_dict(state["config"])


def cosine_lr(base_lr: float, step: int, total_steps: int) -> float:
    """Learning rate for the step about to run: cosine annealing from base_lr to 0."""
    return 0.5 * base_lr * (1.0 + math.cos(math.pi * min(step, total_steps) / max(total_steps, 1)))


def fast_adamw(device: torch.device) -> dict[str, Any]:
    """AdamW options for the fused kernel where torch offers it (one pass over all parameters)."""
    return {"fused": True} if device.type in ("cpu", "cuda") else {}


def host_metrics(metrics: dict[str, torch.Tensor]) -> dict[str, float]:
    """0-d metric tensors of one step as floats, read in a single host transfer.

    Each `float(t)` of a CUDA tensor waits for the device; stacking first makes it one wait per
    step (the step is the logging interval: every step's metrics are reported).
    """
    if not metrics:
        return {}
    values = torch.stack([v.detach().reshape(()).double() for v in metrics.values()]).tolist()
    return dict(zip(metrics.keys(), values))


@dataclass
class Budget:
    """How many steps a run takes and how they divide into epochs."""

    steps_per_epoch: int
    total_steps: int

    @classmethod
    def of(cls, config: RunConfig, n_train: int) -> Budget:
        per_epoch = math.ceil(n_train / config.trainer.batch_size)
        total = config.trainer.max_steps or config.trainer.epochs * per_epoch
        return cls(per_epoch, total)


class TrainingLoop(ABC):
    """Shared loop; subclasses implement `build`, `started`, `train_step`, `evaluate`, `snapshot`."""

    kind = "run"

    def __init__(
        self,
        config: RunConfig,
        n_train: int,
        callback: EventCallback,
        control: TrainingControl | None = None,
        resume_state: bytes | None = None,
    ) -> None:
        self.callback = callback
        self.control = control or TrainingControl()
        self.resume = deserialize(resume_state) if resume_state is not None else None
        self.config = _resume_config(self.resume) if self.resume is not None else config
        self.n_train = n_train
        self.budget = Budget.of(self.config, n_train)
        self.step = 0
        self.best_val = math.inf
        self.status = "pending"
        self.optimizer: torch.optim.Optimizer | None = None

    # -- hooks ------------------------------------------------------------------------------

    @abstractmethod
    def build(self) -> None:
        """Create models, optimiser and data on `self.device`."""

    @abstractmethod
    def started(self) -> RunStarted:
        """The RunStarted event describing this run."""

    @abstractmethod
    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One optimiser step on the batch of train indices; returns its metrics."""

    @abstractmethod
    def evaluate(self, validation: bool, probe: bool) -> None:
        """Periodic evaluation (reports EvalMetrics and, when better, BestWeights)."""

    @abstractmethod
    def snapshot(self) -> None:
        """Periodic snapshot (reports Snapshot)."""

    def probe_schedule(self) -> tuple[bool, int]:
        """Whether to probe before the first step, and every how many epochs (0: only at the end)."""
        return False, 0

    @abstractmethod
    def extra_state(self) -> dict[str, Any]:
        """State beyond the optimiser and schedule that a checkpoint must hold."""

    @abstractmethod
    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Inverse of `extra_state`."""

    def describe(
        self,
        dataset: Dataset,
        *,
        train_metrics: tuple[str, ...],
        eval_metrics: tuple[str, ...],
        codebook_size: int,
        token_grid: tuple[int, int],
        snapshot_indices: np.ndarray,
        parameters: int,
    ) -> RunStarted:
        """The RunStarted event for a run on `dataset` (fields common to every stage filled in)."""
        return RunStarted(
            kind=self.kind,
            config=to_dict(self.config),
            dataset=dataset.name,
            n_train=dataset.n_train,
            n_test=dataset.n_test,
            length=dataset.length,
            n_classes=dataset.n_classes,
            steps_per_epoch=self.budget.steps_per_epoch,
            total_steps=self.budget.total_steps,
            start_step=self.step,
            train_metrics=train_metrics,
            eval_metrics=eval_metrics,
            codebook_size=codebook_size,
            token_grid=token_grid,
            snapshot_indices=snapshot_indices.copy(),
            snapshot_inputs=dataset.x_test[snapshot_indices].astype(np.float32),
            snapshot_labels=dataset.y_test[snapshot_indices].astype(np.int64),
            n_channels=dataset.n_channels,
            data_mean=dataset.channel_mean,
            data_std=dataset.channel_std,
            device=str(self.device),
            precision=precision_name(self.dtype),
            parameters=parameters,
            class_labels=tuple(str(c) for c in dataset.class_labels),
        )

    # -- public -----------------------------------------------------------------------------

    def run(self) -> str:
        """Train until the budget is spent or a stop is requested; returns the final status."""
        started = time.perf_counter()
        try:
            self._setup()
            status = self._loop()
            self.callback(Finished(self.step, self.epoch, status, time.perf_counter() - started))
        except KeyboardInterrupt:
            self._checkpoint()
            self.callback(Finished(self.step, self.epoch, "stopped", time.perf_counter() - started))
            status = "stopped"
        except Exception as exc:  # reported as an event; the front end decides how to show it
            message = str(exc) if isinstance(exc, TsstudioError) else f"{type(exc).__name__}: {exc}"
            first = message.splitlines()[0] if message else repr(exc)
            self.callback(Failed(self.step, first, traceback.format_exc()))
            status = "failed"
        self.status = status
        return status

    @property
    def epoch(self) -> float:
        return self.step / self.budget.steps_per_epoch

    # -- internals --------------------------------------------------------------------------

    def _setup(self) -> None:
        cfg = self.config.trainer
        set_threads(cfg.num_threads)
        seed_everything(cfg.seed)
        self.device = resolve_device(cfg.device)
        self.dtype = resolve_precision(cfg.precision, self.device)
        self.order = torch.Generator().manual_seed(cfg.seed)
        self.epoch_order_state = self.order.get_state()
        self.permutation = torch.randperm(self.n_train, generator=self.order)
        self.build()
        if self.resume is not None:
            self._restore(self.resume)
        self.callback(self.started())

    def _state(self) -> dict[str, Any]:
        return {
            "config": to_dict(self.config),
            "optimizer": self.optimizer.state_dict() if self.optimizer else None,
            "step": self.step,
            "best_val": self.best_val,
            "epoch_order_state": self.epoch_order_state,
            "torch_rng": torch.get_rng_state(),
            "numpy_rng": np.random.get_state(),
            **self.extra_state(),
        }

    def _restore(self, state: dict[str, Any]) -> None:
        try:
            self._load_state(state)
        except (KeyError, IndexError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
            # wrong keys, shapes or types: the bytes decoded but are not this run's checkpoint
            raise state_format.StateFormatError() from exc

    def _load_state(self, state: dict[str, Any]) -> None:
        self.load_extra_state(state)
        if self.optimizer is not None and state.get("optimizer") is not None:
            self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        self.best_val = float(state["best_val"])
        self.epoch_order_state = state["epoch_order_state"]
        self.order.set_state(self.epoch_order_state)
        self.permutation = torch.randperm(self.n_train, generator=self.order)
        torch.set_rng_state(state["torch_rng"])
        np.random.set_state(state["numpy_rng"])

    def _batch_indices(self) -> torch.Tensor:
        per_epoch, bs = self.budget.steps_per_epoch, self.config.trainer.batch_size
        pos = self.step % per_epoch
        if pos == 0 and self.step > 0:
            self.epoch_order_state = self.order.get_state()
            self.permutation = torch.randperm(self.n_train, generator=self.order)
        return self.permutation[pos * bs : (pos + 1) * bs]

    def _loop(self) -> str:
        cfg = self.config.trainer
        per_epoch = self.budget.steps_per_epoch
        probe_at_start, probe_every = self.probe_schedule()
        if self.step == 0 and probe_at_start:
            self.evaluate(validation=False, probe=True)
        while self.step < self.budget.total_steps:
            self.control.wait_while_paused()
            if self.control.stop_requested:
                self._checkpoint()
                return "stopped"
            lr = cosine_lr(cfg.lr, self.step, self.budget.total_steps)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            metrics = self.train_step(self._batch_indices())
            self.step += 1
            self.callback(StepMetrics(self.step, self.epoch, {**metrics, "lr": lr}))
            if self.step % cfg.snapshot_every_steps == 0:
                self.snapshot()
            done = self.step == self.budget.total_steps
            epoch_end = self.step % per_epoch == 0
            epoch = self.step // per_epoch
            validation = done or (epoch_end and cfg.val_every_epochs and epoch % cfg.val_every_epochs == 0)
            probe = done or (epoch_end and probe_every and epoch % probe_every == 0)
            if validation or probe:
                self.evaluate(validation=bool(validation), probe=bool(probe))
            if done or self.step % cfg.checkpoint_every_steps == 0:
                self._checkpoint()
        if self.step % cfg.snapshot_every_steps:  # a last snapshot, so short runs have one too
            self.snapshot()
        return "finished"

    def _checkpoint(self) -> None:
        if self.optimizer is None:
            return
        self.callback(Checkpoint(self.step, self.epoch, serialize(self._state())))
