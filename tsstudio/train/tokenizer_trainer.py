"""The stage-1 training loop: plain Python, shared by the CLI and the app.

It reports everything through one event callback and checks a stop/pause flag at every step
boundary; it never touches files or widgets itself.
"""

from __future__ import annotations

import io
import math
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from tsstudio.config.io import from_dict, to_dict
from tsstudio.config.schema import RunConfig
from tsstudio.data.dataset import Dataset
from tsstudio.errors import TsstudioError
from tsstudio.eval.probes import run_probes
from tsstudio.eval.reconstruction import reconstruction_metrics
from tsstudio.models.quantizer import codebook_statistics, perplexity
from tsstudio.models.tokenizer import Tokenizer
from tsstudio.train.events import (
    BestWeights,
    Checkpoint,
    EvalMetrics,
    EventCallback,
    Failed,
    Finished,
    RunStarted,
    Snapshot,
    StepMetrics,
)
from tsstudio.train.objectives import build_objective
from tsstudio.train.runtime import (
    TrainingControl,
    precision_name,
    resolve_device,
    resolve_precision,
    seed_everything,
    set_threads,
)

EVAL_METRICS = (
    "test_mse_time",
    "test_mse_stft",
    "val_loss",
    "val_perplexity",
    "val_dead_codes",
    "svm_accuracy",
    "knn_accuracy",
    "dead_codes",
    "codebook_mean_abs_corr",
    "codebook_mean_abs_cos",
)


def snapshot_indices(y_test: np.ndarray, n: int) -> np.ndarray:
    """A fixed, label-balanced choice of test series: classes taken round-robin in index order."""
    by_class = [np.flatnonzero(y_test == c).tolist() for c in np.unique(y_test)]
    chosen: list[int] = []
    while len(chosen) < min(n, len(y_test)):
        for members in by_class:
            if members and len(chosen) < n:
                chosen.append(members.pop(0))
    return np.asarray(chosen, dtype=np.int64)


def fast_adamw(device: torch.device) -> dict[str, Any]:
    """AdamW options for the fused kernel where torch offers it (one pass over all parameters)."""
    return {"fused": True} if device.type in ("cpu", "cuda") else {}


def cosine_lr(base_lr: float, step: int, total_steps: int) -> float:
    """Learning rate for the step about to run: cosine annealing from base_lr to 0."""
    return 0.5 * base_lr * (1.0 + math.cos(math.pi * min(step, total_steps) / max(total_steps, 1)))


def serialize(obj: Any) -> bytes:
    """torch.save into bytes."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def deserialize(data: bytes) -> Any:
    """Inverse of `serialize` (tensors land on the CPU)."""
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)


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


class TokenizerTrainer:
    """Trains a stage-1 tokenizer on a dataset, reporting events to `callback`."""

    kind = "tokenizer"

    def __init__(
        self,
        config: RunConfig,
        dataset: Dataset,
        callback: EventCallback,
        control: TrainingControl | None = None,
        resume_state: bytes | None = None,
    ) -> None:
        self.config = config
        self.dataset = dataset
        self.callback = callback
        self.control = control or TrainingControl()
        self.resume = deserialize(resume_state) if resume_state is not None else None
        if self.resume is not None:
            self.config = from_dict(self.resume["config"])
        self.budget = Budget.of(self.config, dataset.n_train)
        self.step = 0
        self.best_val = math.inf

    # -- public -----------------------------------------------------------------------------

    def run(self) -> str:
        """Train until the budget is spent or a stop is requested; returns the final status."""
        started = time.perf_counter()
        try:
            self._setup()
            status = self._loop()
            self.callback(Finished(self.step, self._epoch(), status, time.perf_counter() - started))
            return status
        except KeyboardInterrupt:
            self._checkpoint()
            self.callback(Finished(self.step, self._epoch(), "stopped", time.perf_counter() - started))
            return "stopped"
        except Exception as exc:  # reported as an event; the front end decides how to show it
            message = str(exc) if isinstance(exc, TsstudioError) else f"{type(exc).__name__}: {exc}"
            self.callback(Failed(self.step, message.splitlines()[0] if message else repr(exc), traceback.format_exc()))
            return "failed"

    # -- setup ------------------------------------------------------------------------------

    def _setup(self) -> None:
        cfg = self.config.trainer
        set_threads(cfg.num_threads)
        seed_everything(cfg.seed)
        self.device = resolve_device(cfg.device)
        self.dtype = resolve_precision(cfg.precision, self.device)
        ds = self.dataset
        self.model = Tokenizer(self.config, ds.length, precision=self.dtype).to(self.device)
        self.objective = build_objective(self.model, self.config).to(self.device)
        self.optimizer = torch.optim.AdamW(
            self.objective.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, **fast_adamw(self.device)
        )
        self.aug_generator = torch.Generator(device=self.device).manual_seed(cfg.seed + 1)
        self.x_train = torch.as_tensor(ds.x_train, dtype=torch.float32, device=self.device)
        self.order = torch.Generator().manual_seed(cfg.seed)
        self.epoch_order_state = self.order.get_state()
        self.permutation = torch.randperm(ds.n_train, generator=self.order)
        self.usage = torch.zeros(self.config.quantizer.codebook_size, dtype=torch.long)
        self.snap_idx = snapshot_indices(ds.y_test, self.config.trainer.n_snapshot_series)
        self.snap_x = torch.as_tensor(ds.x_test[self.snap_idx], dtype=torch.float32, device=self.device)
        if self.resume is not None:
            self._restore(self.resume)
        self.callback(
            RunStarted(
                kind=self.kind,
                config=to_dict(self.config),
                dataset=ds.name,
                n_train=ds.n_train,
                n_test=ds.n_test,
                length=ds.length,
                n_classes=ds.n_classes,
                steps_per_epoch=self.budget.steps_per_epoch,
                total_steps=self.budget.total_steps,
                start_step=self.step,
                train_metrics=self.objective.metric_names,
                eval_metrics=EVAL_METRICS,
                codebook_size=self.config.quantizer.codebook_size,
                token_grid=(self.model.grid.height, self.model.grid.width),
                snapshot_indices=self.snap_idx.copy(),
                snapshot_inputs=ds.x_test[self.snap_idx].astype(np.float32),
                snapshot_labels=ds.y_test[self.snap_idx].astype(np.int64),
                device=str(self.device),
                precision=precision_name(self.dtype),
                parameters=sum(p.numel() for p in self.objective.parameters()),
            )
        )

    def _state(self) -> dict[str, Any]:
        return {
            "config": to_dict(self.config),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "best_val": self.best_val,
            "epoch_order_state": self.epoch_order_state,
            "aug_rng": self.aug_generator.get_state(),
            "objective": self.objective.extra_state(),
            "torch_rng": torch.get_rng_state(),
            "numpy_rng": np.random.get_state(),
        }

    def _restore(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.objective.load_extra_state(state["objective"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.aug_generator.set_state(state["aug_rng"])
        self.step = int(state["step"])
        self.best_val = float(state["best_val"])
        self.epoch_order_state = state["epoch_order_state"]
        self.order.set_state(self.epoch_order_state)
        self.permutation = torch.randperm(self.dataset.n_train, generator=self.order)
        torch.set_rng_state(state["torch_rng"])
        np.random.set_state(state["numpy_rng"])

    # -- loop -------------------------------------------------------------------------------

    def _epoch(self) -> float:
        return self.step / self.budget.steps_per_epoch

    def _batch(self) -> torch.Tensor:
        per_epoch, bs = self.budget.steps_per_epoch, self.config.trainer.batch_size
        pos = self.step % per_epoch
        if pos == 0 and self.step > 0:
            self.epoch_order_state = self.order.get_state()
            self.permutation = torch.randperm(self.dataset.n_train, generator=self.order)
        idx = self.permutation[pos * bs : (pos + 1) * bs].to(self.device)
        return self.x_train[idx]

    def _loop(self) -> str:
        cfg, probes = self.config.trainer, self.config.probes
        per_epoch = self.budget.steps_per_epoch
        if self.step == 0 and probes.at_start:
            self._evaluate(reconstruction=False, probe=True)
        self.objective.train()
        while self.step < self.budget.total_steps:
            self.control.wait_while_paused()
            if self.control.stop_requested:
                self._checkpoint()
                return "stopped"
            self._train_step()
            if self.step % cfg.snapshot_every_steps == 0:
                self._snapshot()
            done = self.step == self.budget.total_steps
            epoch_end = self.step % per_epoch == 0
            epoch = self.step // per_epoch
            val = done or (epoch_end and cfg.val_every_epochs and epoch % cfg.val_every_epochs == 0)
            probe = done or (epoch_end and probes.every_epochs and epoch % probes.every_epochs == 0)
            if val or probe:
                self._evaluate(reconstruction=bool(val), probe=bool(probe))
            if done or self.step % cfg.checkpoint_every_steps == 0:
                self._checkpoint()
        return "finished"

    def _train_step(self) -> None:
        x = self._batch()
        lr = cosine_lr(self.config.trainer.lr, self.step, self.budget.total_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        loss, terms, counts = self.objective(x, self.aug_generator)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        counts = counts.cpu()
        self.usage += counts
        metrics = {"loss": float(loss.detach()), **terms, "perplexity": perplexity(counts), "lr": lr}
        self.callback(StepMetrics(self.step, self._epoch(), metrics))

    def _snapshot(self) -> None:
        self.model.eval()
        with torch.no_grad():
            recon = self.model(self.snap_x).x_hat[:, 0] if len(self.snap_x) else self.snap_x
        self.model.train()
        usage = self.usage.numpy().copy()
        self.usage.zero_()
        self.callback(Snapshot(self.step, self._epoch(), recon.float().cpu().numpy().copy(), usage))
        stats = codebook_statistics(self.model.quantizer.codebook.cpu())
        stats["dead_codes"] = float(int((usage == 0).sum()))
        self.callback(EvalMetrics(self.step, self._epoch(), stats))

    def _evaluate(self, reconstruction: bool, probe: bool) -> None:
        ds, metrics = self.dataset, {}
        batch = self.config.probes.batch_size
        if reconstruction:
            metrics.update(reconstruction_metrics(self.model, ds.x_test, batch, self.device))
        if probe:
            p = self.config.probes
            metrics.update(
                run_probes(self.model, ds.x_train, ds.y_train, ds.x_test, ds.y_test, self.device, batch, p.knn_neighbors, p.svm_c)
            )
        self.callback(EvalMetrics(self.step, self._epoch(), metrics))
        if reconstruction and metrics["val_loss"] < self.best_val:
            self.best_val = metrics["val_loss"]
            weights = serialize({"config": to_dict(self.config), "model": self.model.state_dict()})
            self.callback(BestWeights(self.step, "val_loss", self.best_val, weights))

    def _checkpoint(self) -> None:
        if getattr(self, "model", None) is None:
            return
        self.callback(Checkpoint(self.step, self._epoch(), serialize(self._state())))
