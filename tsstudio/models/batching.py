"""Batched, gradient-free passes of a model over a whole split (shared by training and evaluation)."""

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
