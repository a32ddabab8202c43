"""A tokenizer's token grids of a whole split: what the prior trains on and what exports write."""

from __future__ import annotations

import numpy as np
import torch

from tsstudio.models.batching import batches, eval_mode
from tsstudio.models.tokenizer import Tokenizer


def extract_tokens(tokenizer: Tokenizer, x: np.ndarray, device: torch.device, batch_size: int = 512) -> torch.Tensor:
    """Nearest-code token grids of a split, flattened row-major to (N, H·W) (frequency-major order)."""
    with eval_mode(tokenizer):
        grids = [tokenizer.tokens(xb).flatten(1) for xb in batches(x, batch_size, device)]
    return torch.cat(grids)
