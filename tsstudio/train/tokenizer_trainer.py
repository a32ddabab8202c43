"""Stage-1 training: the tokenizer (regular or two-branch SSL) on a dataset."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from tsstudio.config.io import to_dict
from tsstudio.config.schema import RunConfig
from tsstudio.data.dataset import Dataset
from tsstudio.eval.probes import run_probes
from tsstudio.eval.reconstruction import reconstruction_metrics
from tsstudio.models.quantizer import codebook_statistics, perplexity_tensor
from tsstudio.models.tokenizer import Tokenizer
from tsstudio.train.events import BestWeights, EvalMetrics, EventCallback, RunStarted, Snapshot
from tsstudio.train.loop import (  # noqa: F401 - re-exported for callers of this module
    Budget,
    TrainingLoop,
    cosine_lr,
    deserialize,
    fast_adamw,
    host_metrics,
    serialize,
)
from tsstudio.train.objectives import build_objective
from tsstudio.train.runtime import TrainingControl

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


class TokenizerTrainer(TrainingLoop):
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
        super().__init__(config, dataset.n_train, callback, control, resume_state)
        self.dataset = dataset

    def build(self) -> None:
        cfg, ds = self.config.trainer, self.dataset
        self.model = Tokenizer(self.config, ds.length, precision=self.dtype, channels=ds.n_channels).to(self.device)
        self.objective = build_objective(self.model, self.config).to(self.device)
        self.optimizer = torch.optim.AdamW(
            self.objective.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, **fast_adamw(self.device)
        )
        self.aug_generator = torch.Generator(device=self.device).manual_seed(cfg.seed + 1)
        self.x_train = torch.as_tensor(ds.x_train, dtype=torch.float32, device=self.device)
        self.usage = torch.zeros(self.config.quantizer.codebook_size, dtype=torch.long, device=self.device)
        self.snap_idx = snapshot_indices(ds.y_test, cfg.n_snapshot_series)
        self.snap_x = torch.as_tensor(ds.x_test[self.snap_idx], dtype=torch.float32, device=self.device)
        self.objective.train()

    def started(self) -> RunStarted:
        return self.describe(
            self.dataset,
            train_metrics=self.objective.metric_names,
            eval_metrics=EVAL_METRICS,
            codebook_size=self.config.quantizer.codebook_size,
            token_grid=(self.model.grid.height, self.model.grid.width),
            snapshot_indices=self.snap_idx,
            parameters=sum(p.numel() for p in self.objective.parameters()),
        )

    def extra_state(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "objective": self.objective.extra_state(),
            "aug_rng": self.aug_generator.get_state(),
        }

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.objective.load_extra_state(state["objective"])
        self.aug_generator.set_state(state["aug_rng"])

    def probe_schedule(self) -> tuple[bool, int]:
        return self.config.probes.at_start, self.config.probes.every_epochs

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        x = self.x_train[batch.to(self.device)]
        loss, terms, counts = self.objective(x, self.aug_generator)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.usage += counts
        metrics = {"loss": loss.detach(), **terms, "perplexity": perplexity_tensor(counts)}
        return host_metrics(metrics)

    def snapshot(self) -> None:
        self.model.eval()
        with torch.no_grad():
            recon = self.model.as_data(self.model(self.snap_x).x_hat) if len(self.snap_x) else self.snap_x
        self.model.train()
        usage = self.usage.cpu().numpy().copy()
        self.usage.zero_()
        self.callback(Snapshot(self.step, self.epoch, recon.float().cpu().numpy().copy(), usage))
        stats = codebook_statistics(self.model.quantizer.codebook.cpu())
        stats["dead_codes"] = float(int((usage == 0).sum()))
        self.callback(EvalMetrics(self.step, self.epoch, stats))

    def evaluate(self, validation: bool, probe: bool) -> None:
        ds, metrics = self.dataset, {}
        batch = self.config.probes.batch_size
        if validation:
            metrics.update(reconstruction_metrics(self.model, ds.x_test, batch, self.device))
        if probe and ds.labelled:  # without labels there is nothing to probe (eval.unlabelled.PROBES_NOTE)
            p = self.config.probes
            metrics.update(
                run_probes(self.model, ds.x_train, ds.y_train, ds.x_test, ds.y_test, self.device, batch, p.knn_neighbors, p.svm_c,
                           p.svm_max_iter)
            )
        self.callback(EvalMetrics(self.step, self.epoch, metrics))
        if validation and metrics["val_loss"] < self.best_val:
            self.best_val = metrics["val_loss"]
            weights = serialize({"config": to_dict(self.config), "model": self.model.state_dict()})
            self.callback(BestWeights(self.step, "val_loss", self.best_val, weights))
