"""Batched passes of a tokenizer over a whole split, in eval mode and without gradients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put a model in eval mode (no BN statistics or EMA codebook updates) and restore its mode."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


def batches(x: np.ndarray, batch_size: int, device: torch.device) -> Iterator[torch.Tensor]:
    """Consecutive batches of a (N, L) array as float32 tensors on `device`."""
    for start in range(0, len(x), batch_size):
        yield torch.as_tensor(x[start : start + batch_size], dtype=torch.float32, device=device)


def pooled_latents(tokenizer: nn.Module, x: np.ndarray, batch_size: int, device: torch.device) -> np.ndarray:
    """Global average pool of the quantised latent z_q over the token grid: (N, D) float64."""
    feats = []
    with eval_mode(tokenizer):
        for xb in batches(x, batch_size, device):
            _, z = tokenizer.encode(xb)
            z_q = tokenizer.quantizer(z).z_q
            feats.append(z_q.mean(dim=(2, 3)).double().cpu().numpy())
    return np.concatenate(feats) if feats else np.zeros((0, tokenizer.quantizer.dim))
