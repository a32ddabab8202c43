"""Fully convolutional classifier of Wang et al. (2017), the method's evaluation network (§10).

Three Conv1d → BatchNorm → ReLU blocks (128 ch k=8, 256 ch k=5, 128 ch k=3) with TF-style
"same" padding, global average pooling to a 128-d feature, and a linear head. The 128-d
feature feeds FID; the softmax of the head feeds IS; the whole net is the CAS classifier.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

FEATURE_DIM = 128


def same_padding(kernel_size: int) -> tuple[int, int]:
    """TF-style "same" padding (left, right) for stride 1: total k−1, the extra sample on the right."""
    total = kernel_size - 1
    left = total // 2
    return left, total - left


class _Block(nn.Module):
    """Conv1d with "same" padding (explicit, so even kernels keep the length) → BN → ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.pad = same_padding(kernel_size)
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size)
        self.bn = nn.BatchNorm1d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(F.pad(x, self.pad))))


class FCN(nn.Module):
    """FCN classifier of `in_channels`-channel series: `forward` gives logits (B, n_classes), `features`
    the pooled 128-d vector. Multichannel input enters the first convolution as its channels."""

    def __init__(self, n_classes: int, in_channels: int = 1) -> None:
        super().__init__()
        if n_classes < 1:
            raise ValueError(f"FCN needs at least one class, got {n_classes}")
        self.n_classes = int(n_classes)
        self.in_channels = int(in_channels)
        self.blocks = nn.Sequential(
            _Block(self.in_channels, 128, 8),
            _Block(128, 256, 5),
            _Block(256, FEATURE_DIM, 3),
        )
        self.head = nn.Linear(FEATURE_DIM, self.n_classes)

    def _as_channels(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2 and self.in_channels == 1:
            return x.unsqueeze(1)
        if x.dim() == 3 and x.shape[1] == self.in_channels:
            return x
        c = self.in_channels
        expected = "(B, L) or (B, 1, L)" if c == 1 else f"(B, {c}, L)"
        raise ValueError(f"FCN expects {expected} input, got shape {tuple(x.shape)}")

    def feature_maps(self, x: torch.Tensor) -> torch.Tensor:
        """Last conv block's output (B, 128, L), before pooling; the length is preserved."""
        return self.blocks(self._as_channels(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Global-average-pooled 128-d feature (B, 128), the representation FID compares."""
        return self.feature_maps(x).mean(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (B, n_classes)."""
        return self.head(self.features(x))
