"""Test-set reconstruction error and codebook usage of a tokenizer (method §5.1 validation)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tsstudio.eval.features import batches, eval_mode
from tsstudio.models.quantizer import codebook_statistics, perplexity


def reconstruction_metrics(tokenizer: nn.Module, x: np.ndarray, batch_size: int, device: torch.device) -> dict[str, float]:
    """Whole-split MSE in time and STFT domains, their sum, perplexity and dead codes.

    Averages run over every element of the split (not the last batch, method §11.A.9).
    """
    k = tokenizer.quantizer.codebook_size
    sq_time = sq_stft = 0.0
    n_time = n_stft = 0
    counts = torch.zeros(k, dtype=torch.long)
    with eval_mode(tokenizer):
        for xb in batches(x, batch_size, device):
            out = tokenizer(xb)
            sq_time += float((tokenizer.as_data(out.x_hat) - xb).double().pow(2).sum())
            sq_stft += float((out.u_hat - out.u).double().pow(2).sum())
            n_time += xb.numel()
            n_stft += out.u.numel()
            counts += out.counts.cpu()
    mse_time = sq_time / max(n_time, 1)
    mse_stft = sq_stft / max(n_stft, 1)
    return {
        "test_mse_time": mse_time,
        "test_mse_stft": mse_stft,
        "val_loss": mse_time + mse_stft,
        "val_perplexity": perplexity(counts),
        "val_dead_codes": float(int((counts == 0).sum())),
    }


def codebook_summary(tokenizer: nn.Module, x: np.ndarray, batch_size: int, device: torch.device) -> dict:
    """Perplexity, dead codes and per-code usage over a split, plus correlation statistics."""
    k = tokenizer.quantizer.codebook_size
    counts = torch.zeros(k, dtype=torch.long)
    with eval_mode(tokenizer):
        for xb in batches(x, batch_size, device):
            counts += torch.bincount(tokenizer.tokens(xb).flatten().cpu(), minlength=k)
    stats = codebook_statistics(tokenizer.quantizer.codebook.cpu())
    return {
        "perplexity": perplexity(counts),
        "dead_codes": int((counts == 0).sum()),
        "usage": counts.numpy(),
        **stats,
    }
