"""Batched passes of a tokenizer over a whole split, in eval mode and without gradients."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tsstudio.models.batching import batches, eval_mode

__all__ = ["batches", "eval_mode", "pooled_latents"]


def pooled_latents(tokenizer: nn.Module, x: np.ndarray, batch_size: int, device: torch.device) -> np.ndarray:
    """Global average pool of the quantised latent z_q over the token grid: (N, D) float64."""
    feats = []
    with eval_mode(tokenizer):
        for xb in batches(x, batch_size, device):
            _, z = tokenizer.encode(xb)
            z_q = tokenizer.quantizer(z).z_q
            # float64 before the mean: sums of the same code vectors in any order are then exact,
            # so series with the same tokens get the same features whatever the reduction order
            feats.append(z_q.double().mean(dim=(2, 3)).cpu().numpy())
    return np.concatenate(feats) if feats else np.zeros((0, tokenizer.quantizer.dim))
