"""Stage-2 training: a MaskGIT prior on the tokens of a frozen tokenizer, through the shared loop."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from tsstudio.config.io import to_dict
from tsstudio.config.schema import RunConfig
from tsstudio.data.dataset import Dataset
from tsstudio.models.batching import eval_mode
from tsstudio.models.maskgit import MaskGITPrior
from tsstudio.models.quantizer import perplexity
from tsstudio.models.tokenizer import Tokenizer
from tsstudio.models.tokens import extract_tokens
from tsstudio.train.events import BestWeights, EvalMetrics, EventCallback, RunStarted, Snapshot
from tsstudio.train.loop import TrainingLoop, fast_adamw, host_metrics, serialize
from tsstudio.train.runtime import TrainingControl
from tsstudio.train.tokenizer_trainer import snapshot_indices

TRAIN_METRICS = ("loss", "masked_accuracy", "mask_fraction", "lr")
EVAL_METRICS = ("val_prior_loss", "val_masked_accuracy", "sample_perplexity")


def freeze(tokenizer: Tokenizer) -> Tokenizer:
    """Eval mode and no gradients: the tokenizer's codebook and batch-norm statistics never move."""
    tokenizer.eval()
    for p in tokenizer.parameters():
        p.requires_grad_(False)
    return tokenizer


@torch.no_grad()
def sample_tokens(tokenizer: Tokenizer, x: torch.Tensor, temperature: float, generator: torch.Generator) -> torch.Tensor:
    """Stochastic tokens (method §9.1): code k drawn with probability ∝ exp(−‖z − e_k‖² / temperature)."""
    _, z = tokenizer.encode(x)
    d = z.shape[1]
    flat = z.permute(0, 2, 3, 1).reshape(-1, d)
    cb = tokenizer.quantizer.codebook
    dist = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ cb.T + cb.pow(2).sum(1)[None]
    probs = F.softmax(-dist / temperature, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).view(x.shape[0], -1)


class PriorTrainer(TrainingLoop):
    """Trains a MaskGIT prior on a frozen tokenizer's tokens of a dataset's train split."""

    kind = "prior"

    def __init__(
        self,
        config: RunConfig,
        tokenizer: Tokenizer,
        dataset: Dataset,
        callback: EventCallback,
        control: TrainingControl | None = None,
        resume_state: bytes | None = None,
    ) -> None:
        super().__init__(config, dataset.n_train, callback, control, resume_state)
        self.tokenizer = freeze(tokenizer)
        self.dataset = dataset

    def build(self) -> None:
        cfg, ds, tok = self.config.trainer, self.dataset, self.tokenizer
        tok.to(self.device)
        tok.autocast_dtype = None  # tokens come from the float32 model, as in evaluation
        self.prior = MaskGITPrior(tok.grid.n_tokens, ds.n_classes, tok.quantizer.codebook, self.config.prior).to(self.device)
        self.prior.autocast_dtype = self.dtype
        self.optimizer = torch.optim.AdamW(
            [p for p in self.prior.parameters() if p.requires_grad],
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            **fast_adamw(self.device),
        )
        self.generator = torch.Generator(device=self.device).manual_seed(cfg.seed + 2)
        self.y_train = torch.as_tensor(self.class_input(ds.y_train), device=self.device)
        self.x_train = torch.as_tensor(ds.x_train, dtype=torch.float32, device=self.device)
        self.stochastic = self.config.prior.stochastic_tokens
        self.train_tokens = None if self.stochastic > 0 else extract_tokens(tok, ds.x_train, self.device)
        self.test_tokens = extract_tokens(tok, ds.x_test, self.device)
        self.y_test = torch.as_tensor(self.class_input(ds.y_test), device=self.device)
        self.snap_idx = snapshot_indices(ds.y_test, cfg.n_snapshot_series)
        self.prior.train()

    def class_input(self, y: np.ndarray) -> np.ndarray:
        """The class ids the prior sees: the labels, or the null class only for an unlabelled dataset
        (an unconditional prior, where guidance has nothing to act on)."""
        return y if self.dataset.labelled else np.full(len(y), self.prior.null_class, dtype=np.int64)

    def started(self) -> RunStarted:
        grid = self.tokenizer.grid
        return self.describe(
            self.dataset,
            train_metrics=TRAIN_METRICS,
            eval_metrics=EVAL_METRICS,
            codebook_size=self.tokenizer.quantizer.codebook_size,
            token_grid=(grid.height, grid.width),
            snapshot_indices=self.snap_idx,
            parameters=sum(p.numel() for p in self.prior.parameters() if p.requires_grad),
        )

    def extra_state(self) -> dict[str, Any]:
        return {
            "prior": self.prior.state_dict(),
            "tokenizer": self.tokenizer.state_dict(),
            "generator": self.generator.get_state(),
        }

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.prior.load_state_dict(state["prior"])
        self.generator.set_state(state["generator"])

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        batch = batch.to(self.device)
        self.tokenizer.eval()  # the frozen tokenizer stays in eval mode whatever else changes modes
        if self.train_tokens is None:
            tokens = sample_tokens(self.tokenizer, self.x_train[batch], self.stochastic, self.generator)
        else:
            tokens = self.train_tokens[batch]
        loss, metrics = self.prior.loss(tokens, self.y_train[batch], self.generator)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return host_metrics({"loss": loss.detach(), **metrics})

    def evaluate(self, validation: bool, probe: bool) -> None:
        if not validation:
            return
        generator = torch.Generator(device=self.device).manual_seed(12345)  # the same masks at every evaluation
        total = correct_weighted = 0.0
        with eval_mode(self.prior):
            for start in range(0, len(self.test_tokens), 512):
                tokens, labels = self.test_tokens[start : start + 512], self.y_test[start : start + 512]
                loss, metrics = self.prior.loss(tokens, labels, generator)
                total += float(loss) * len(tokens)
                correct_weighted += float(metrics["masked_accuracy"]) * len(tokens)
        n = len(self.test_tokens)
        metrics = {"val_prior_loss": total / n, "val_masked_accuracy": correct_weighted / n}
        self.callback(EvalMetrics(self.step, self.epoch, metrics))
        if metrics["val_prior_loss"] < self.best_val:
            self.best_val = metrics["val_prior_loss"]
            weights = serialize({"config": to_dict(self.config), "prior": self.prior.state_dict(),
                                 "tokenizer": self.tokenizer.state_dict()})
            self.callback(BestWeights(self.step, "val_prior_loss", self.best_val, weights))

    def snapshot(self) -> None:
        """Class-conditional samples for the snapshot classes, decoded to series."""
        if not len(self.snap_idx):
            return
        labels = torch.as_tensor(self.class_input(self.dataset.y_test[self.snap_idx]), device=self.device)
        with eval_mode(self.prior):
            decoding = self.prior.iterative_decoding(len(labels), labels, self.generator)
        grid = self.tokenizer.grid
        series = self.tokenizer.decode_tokens(decoding.tokens.view(-1, grid.height, grid.width))
        usage = torch.bincount(decoding.tokens.flatten().cpu(), minlength=self.tokenizer.quantizer.codebook_size)
        self.callback(Snapshot(self.step, self.epoch, series.float().cpu().numpy().copy(), usage.numpy().copy()))
        self.callback(EvalMetrics(self.step, self.epoch, {"sample_perplexity": perplexity(usage)}))
