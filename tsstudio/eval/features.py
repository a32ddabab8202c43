"""Batched passes of a tokenizer over a whole split: the probe features under either protocol.

`pooled_latents` is the probe's representation as the method defines it, computed correctly (eval
mode, no gradient, no codebook update). `train_mode_pooled_latents` reproduces the reference code's
protocol (method §11.A.1) for comparison only: the model in training mode, so batch norm uses the
statistics of each batch and the codebook takes EMA updates from the train and then the test series.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from tsstudio.models.batching import batches, eval_mode

__all__ = ["LATENTS", "batches", "eval_mode", "pooled_latents", "train_mode_pooled_latents"]

LATENTS = ("z_q", "z")
"""What the probe pools: the quantised latent (the method's choice) or the encoder's continuous output."""


def _pooled(tokenizer: nn.Module, xb: torch.Tensor, latent: str) -> np.ndarray:
    """Global average pool over the token grid of one batch's z_q (or z): (B, D) float64."""
    _, z = tokenizer.encode(xb)
    h = tokenizer.quantizer(z).z_q if latent == "z_q" else z
    # float64 before the mean: sums of the same code vectors in any order are then exact, so series
    # with the same tokens get the same features whatever the reduction order
    return h.double().mean(dim=(2, 3)).cpu().numpy()


def _check_latent(latent: str) -> None:
    if latent not in LATENTS:
        raise ValueError(f"latent: expected one of {', '.join(LATENTS)}, got {latent!r}")


def pooled_latents(tokenizer: nn.Module, x: np.ndarray, batch_size: int, device: torch.device,
                   latent: str = "z_q") -> np.ndarray:
    """Global average pool of the quantised latent z_q (or of z) over the token grid: (N, D) float64."""
    _check_latent(latent)
    with eval_mode(tokenizer):
        feats = [_pooled(tokenizer, xb, latent) for xb in batches(x, batch_size, device)]
    return np.concatenate(feats) if feats else np.zeros((0, tokenizer.quantizer.dim))


def train_mode_pooled_latents(tokenizer: nn.Module, x_train: np.ndarray, x_test: np.ndarray, batch_size: int,
                              device: torch.device, seed: int = 0, latent: str = "z_q") -> tuple[np.ndarray, np.ndarray]:
    """Probe features as the reference code computes them: train mode, shuffled train batches, then test.

    A copy of the tokenizer is used, so the caller's model (its batch-norm statistics and codebook)
    is unchanged. The train series go through in one shuffled order (seeded by `seed`) in batches of
    `batch_size`, the test series after them in file order; each batch normalises with its own
    statistics and moves the codebook by EMA before the next. Features come back in input order.
    """
    _check_latent(latent)
    model = copy.deepcopy(tokenizer).train()
    order = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(seed)).numpy()
    with torch.no_grad():
        shuffled = [_pooled(model, xb, latent) for xb in batches(x_train[order], batch_size, device)]
        test = [_pooled(model, xb, latent) for xb in batches(x_test, batch_size, device)]
    dim = tokenizer.quantizer.dim
    f_train = np.zeros((len(x_train), dim))
    if shuffled:
        f_train[order] = np.concatenate(shuffled)
    return f_train, (np.concatenate(test) if test else np.zeros((0, dim)))
