"""Two tokenizer runs side by side on one split: reconstructions, token grids and per-series errors.

The compare view and `tsstudio compare` share this module. Every figure is computed from the
model in eval mode, so codebook and batch-norm statistics stay put and results do not depend on
batch composition. Per-series errors average over the same elements as the whole-split errors of
`tsstudio.eval.reconstruction`, so the mean of the per-series errors is the whole-split error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tsstudio.config.flat import config_difference
from tsstudio.errors import TsstudioError
from tsstudio.eval.features import batches, eval_mode

ERROR_NAMES = ("mse_time", "mse_stft")
"""The per-series errors: time-domain MSE and STFT-domain MSE (over real and imaginary parts)."""


class ComparisonError(TsstudioError):
    """Two runs that cannot be compared (kind, dataset or series length differ)."""


@dataclass
class SplitReconstruction:
    """One tokenizer's pass over a split: inputs, reconstructions, token grids and per-series errors."""

    x: np.ndarray  # (N, L) inputs, or (N, C, L) with C > 1 channels
    x_hat: np.ndarray  # (N, L) or (N, C, L) time-domain reconstructions
    stft_mag: np.ndarray  # (N, F, T) |STFT| of the inputs, (N, C, F, T) with C > 1 channels
    stft_mag_hat: np.ndarray  # (N, F, T) or (N, C, F, T) |STFT| of the decoder's output
    tokens: np.ndarray  # (N, H, W) code indices
    mse_time: np.ndarray  # (N,)
    mse_stft: np.ndarray  # (N,)

    def whole_split_errors(self) -> dict[str, float]:
        """MSE over every element of the split (each series has the same number of elements)."""
        return {"mse_time": float(self.mse_time.mean()), "mse_stft": float(self.mse_stft.mean())}

    def errors(self, name: str) -> np.ndarray:
        """Per-series errors by name (`mse_time` or `mse_stft`)."""
        if name not in ERROR_NAMES:
            raise ValueError(f"unknown error {name!r}; expected one of {', '.join(ERROR_NAMES)}")
        return getattr(self, name)


def reconstruct_split(tokenizer: nn.Module, x: np.ndarray, batch_size: int, device: torch.device) -> SplitReconstruction:
    """Reconstruct every series of `x` (N, L) with `tokenizer` in eval mode, without gradients."""
    x_hats, mags, mags_hat, grids, e_time, e_stft = [], [], [], [], [], []
    with eval_mode(tokenizer):
        for xb in batches(x, batch_size, device):
            out = tokenizer(xb)
            x_hat = tokenizer.as_data(out.x_hat).float()
            x_hats.append(x_hat.cpu().numpy())
            mags.append(tokenizer.as_data(_magnitude(out.u)).cpu().numpy())
            mags_hat.append(tokenizer.as_data(_magnitude(out.u_hat)).cpu().numpy())
            grids.append(out.indices.cpu().numpy())
            e_time.append((x_hat - xb).double().pow(2).flatten(1).mean(dim=1).cpu().numpy())
            e_stft.append((out.u_hat - out.u).double().pow(2).mean(dim=(1, 2, 3)).cpu().numpy())
    if not x_hats:
        raise ValueError("reconstruct_split: the split has no series")
    return SplitReconstruction(
        x=np.asarray(x, dtype=np.float32),
        x_hat=np.concatenate(x_hats),
        stft_mag=np.concatenate(mags),
        stft_mag_hat=np.concatenate(mags_hat),
        tokens=np.concatenate(grids).astype(np.int64),
        mse_time=np.concatenate(e_time),
        mse_stft=np.concatenate(e_stft),
    )


def _magnitude(u: torch.Tensor) -> torch.Tensor:
    """(B, 2C, F, T) real/imaginary images → (B, C, F, T) magnitude per channel."""
    return torch.sqrt(u[:, 0::2].float() ** 2 + u[:, 1::2].float() ** 2)


# --------------------------------------------------------------------------- ordering


def order_by_difference(errors_a: np.ndarray, errors_b: np.ndarray) -> np.ndarray:
    """Series indices sorted by |err_a − err_b|, largest first (ties keep index order)."""
    diff = np.abs(np.asarray(errors_a, dtype=np.float64) - np.asarray(errors_b, dtype=np.float64))
    return np.argsort(-diff, kind="stable")


def order_by_error(errors: np.ndarray, largest_first: bool = True) -> np.ndarray:
    """Series indices sorted by one run's error (largest first by default; ties keep index order)."""
    e = np.asarray(errors, dtype=np.float64)
    return np.argsort(-e if largest_first else e, kind="stable")


def filter_by_class(order: np.ndarray, labels: np.ndarray, class_id: int | None) -> np.ndarray:
    """The indices of `order` whose series belong to `class_id`, in the same order (None: all)."""
    order = np.asarray(order)
    if class_id is None:
        return order
    return order[np.asarray(labels)[order] == class_id]


# --------------------------------------------------------------------------- runs


@dataclass
class RunSide:
    """One side of a comparison: the run, which weights were used, and what they give on the test split."""

    path: Path
    weights: str  # "best" or "latest"
    step: int
    recon: SplitReconstruction
    probes: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class Comparison:
    """Run A and run B on the test split of their common dataset."""

    dataset: str
    length: int
    labels: np.ndarray  # (N,) test labels
    a: RunSide
    b: RunSide

    @property
    def config_difference(self) -> dict[str, tuple[Any, Any]]:
        """Flattened configuration keys whose values differ between A and B."""
        return config_difference(self.a.config, self.b.config)

    def order(self, by: str = "difference", error: str = "mse_time", class_id: int | None = None) -> np.ndarray:
        """Test-series indices ordered `by` "difference" (|A − B|), "a" or "b" (largest first), of one class or all."""
        ea, eb = self.a.recon.errors(error), self.b.recon.errors(error)
        if by == "difference":
            order = order_by_difference(ea, eb)
        elif by in ("a", "b"):
            order = order_by_error(ea if by == "a" else eb)
        else:
            raise ValueError(f"unknown order {by!r}; expected difference, a or b")
        return filter_by_class(order, self.labels, class_id)


def check_comparable(path_a: Path, attrs_a: dict[str, Any], path_b: Path, attrs_b: dict[str, Any]) -> None:
    """Refuse, in one line naming both runs, unless both are tokenizer runs on the same dataset and length."""
    kinds = (str(attrs_a.get("kind", "")), str(attrs_b.get("kind", "")))
    if kinds != ("tokenizer", "tokenizer"):
        raise ComparisonError(
            f"cannot compare {path_a} ({kinds[0] or 'unknown'} run) with {path_b} ({kinds[1] or 'unknown'} run): "
            "both must be tokenizer runs"
        )
    ds_a, ds_b = str(attrs_a.get("dataset", "")), str(attrs_b.get("dataset", ""))
    len_a, len_b = int(attrs_a.get("length", -1)), int(attrs_b.get("length", -1))
    if ds_a != ds_b or len_a != len_b:
        raise ComparisonError(
            f"cannot compare {path_a} (dataset {ds_a}, length {len_a}) with {path_b} (dataset {ds_b}, length {len_b}): "
            "both runs must be on the same dataset and series length"
        )


# --------------------------------------------------------------------------- export


PER_SERIES_COLUMNS = ("series", "label", "mse_time_a", "mse_time_b", "mse_stft_a", "mse_stft_b", "abs_diff_mse_time")


def per_series_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """One row per test series (in split order) with both runs' errors."""
    a, b = comparison.a.recon, comparison.b.recon
    return [
        {
            "series": i,
            "label": int(comparison.labels[i]),
            "mse_time_a": float(a.mse_time[i]),
            "mse_time_b": float(b.mse_time[i]),
            "mse_stft_a": float(a.mse_stft[i]),
            "mse_stft_b": float(b.mse_stft[i]),
            "abs_diff_mse_time": abs(float(a.mse_time[i]) - float(b.mse_time[i])),
        }
        for i in range(len(comparison.labels))
    ]
