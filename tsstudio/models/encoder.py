"""Convolutional encoder and decoder of the stage-1 VQ-VAE (method §3)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def downsample_rate(length: int, n_fft: int, downsampled_width: int) -> int:
    """The method's downsample rate: STFT width over the rate is about `downsampled_width`."""
    if length < downsampled_width:
        return 1
    return max(1, round(length / (math.log2(n_fft) - 1) / downsampled_width))


def n_stride_blocks(rate: int) -> int:
    """Stride-2 blocks of the encoder: floor(log2(rate)), at least one (the input block)."""
    return max(1, int(math.floor(math.log2(rate))))


def encoded_width(stft_width: int, blocks: int) -> int:
    """Latent width after `blocks` kernel-4, stride-2, pad-1 convolutions."""
    width = stft_width
    for _ in range(blocks):
        width = (width - 2) // 2 + 1
    return width


class ResBlock(nn.Module):
    """x + f(x) with f = LeakyReLU, 3×3 conv, [BN], dropout, LeakyReLU, 1×1 conv, dropout."""

    def __init__(self, dim: int, batch_norm: bool, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.LeakyReLU(),
            nn.Conv2d(dim, dim, kernel_size=3, padding=1),
            nn.BatchNorm2d(dim) if batch_norm else nn.Identity(),
            nn.Dropout(dropout),
            nn.LeakyReLU(),
            nn.Conv2d(dim, dim, kernel_size=1),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _enc_block(c_in: int, c_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=(3, 4), stride=(1, 2), padding=(1, 1), padding_mode="replicate"),
        nn.BatchNorm2d(c_out),
        nn.LeakyReLU(),
        nn.Dropout(dropout),
    )


def _dec_block(c_in: int, c_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, kernel_size=(3, 4), stride=(1, 2), padding=(1, 1)),
        nn.BatchNorm2d(c_out),
        nn.LeakyReLU(),
        nn.Dropout(dropout),
    )


class Encoder(nn.Module):
    """STFT image (B, 2C, F, T) → latent grid (B, dim, F, W'); downsamples time only.

    `stem` (the input block) and `body` are separate so a caller can run the body in reduced
    precision and keep the thin layers that touch the signal in float32.
    """

    def __init__(self, in_channels: int, dim: int, blocks: int, n_resnet_blocks: int, dropout: float) -> None:
        super().__init__()
        self.stem = _enc_block(in_channels, dim, dropout)
        layers: list[nn.Module] = [_enc_block(dim, dim, dropout) for _ in range(blocks - 1)]
        for _ in range(n_resnet_blocks):
            layers += [ResBlock(dim, batch_norm=True, dropout=dropout), nn.BatchNorm2d(dim)]
        self.body = nn.Sequential(*layers)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return self.body(self.stem(u))


class Decoder(nn.Module):
    """Latent grid → STFT image of size `out_size`, with one more ×2 than the encoder took.

    `body` (residual and upsampling blocks) and `head` (the thin output layers) are separate for
    the same reason as in the encoder.
    """

    def __init__(
        self,
        out_channels: int,
        dim: int,
        blocks: int,
        n_resnet_blocks: int,
        dropout: float,
        out_size: tuple[int, int],
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(n_resnet_blocks):
            layers += [ResBlock(dim, batch_norm=False, dropout=dropout), nn.BatchNorm2d(dim)]
        layers += [_dec_block(dim, dim, dropout) for _ in range(blocks - 1)]
        self.body = nn.Sequential(*layers)
        geometry = {"kernel_size": (3, 4), "stride": (1, 2), "padding": (1, 1)}
        self.head = nn.Sequential(
            nn.ConvTranspose2d(dim, out_channels, **geometry),
            nn.ConvTranspose2d(out_channels, out_channels, **geometry),
        )
        self.out_size = out_size

    def output(self, h: torch.Tensor) -> torch.Tensor:
        """The two output transposed convolutions and the resize to the STFT size."""
        return F.interpolate(self.head(h), size=self.out_size, mode="bilinear", align_corners=True)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.output(self.body(z))
