"""The stage-1 tokenizer: STFT → encoder → EMA quantiser → decoder → ISTFT (method §3–5.1)."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from tsstudio.config.schema import RunConfig
from tsstudio.models.encoder import (
    Decoder,
    Encoder,
    downsample_rate,
    encoded_width,
    n_stride_blocks,
)
from tsstudio.models.quantizer import Quantizer
from tsstudio.models.stft import istft, stft, stft_frames


@dataclass(frozen=True)
class TokenGrid:
    """Geometry of a tokenizer for a series length."""

    length: int
    stft_size: tuple[int, int]  # (F, T)
    rate: int
    blocks: int
    height: int  # frequency bins of the latent grid
    width: int  # time positions of the latent grid

    @property
    def n_tokens(self) -> int:
        return self.height * self.width


def token_grid(config: RunConfig, length: int) -> TokenGrid:
    """Token-grid geometry for a configuration and series length, without building the model."""
    n_fft, hop = config.stft.n_fft, config.stft.hop_length
    frames = stft_frames(length, hop)
    freq = n_fft // 2 + 1
    rate = downsample_rate(length, n_fft, config.encoder.downsampled_width)
    blocks = n_stride_blocks(rate)
    width = encoded_width(frames, blocks)
    if width < 1:
        raise ValueError(f"series of length {length} is too short for {blocks} downsampling blocks")
    return TokenGrid(length, (freq, frames), rate, blocks, freq, width)


@dataclass
class TokenizerOutput:
    """Everything one forward pass computes, for losses, metrics and snapshots."""

    x_hat: torch.Tensor  # (B, C, L)
    u: torch.Tensor  # (B, 2C, F, T)
    u_hat: torch.Tensor  # (B, 2C, F, T)
    z: torch.Tensor  # (B, D, H, W) continuous latent
    z_q: torch.Tensor  # (B, D, H, W) quantised latent (straight-through)
    indices: torch.Tensor  # (B, H, W)
    commit_loss: torch.Tensor
    counts: torch.Tensor  # (K,)


class Tokenizer(nn.Module):
    """VQ-VAE over the STFT of a series of `channels` channels; tokens form a (frequency × time) grid.

    Each channel's STFT gives a real and an imaginary image; all 2C images enter the encoder
    together, and the decoder gives back 2C images the ISTFT turns into C channels, so the token
    grid is H × W whatever the channel count. A one-channel model is exactly the univariate one.
    """

    def __init__(self, config: RunConfig, length: int, precision: torch.dtype | None = None, channels: int = 1) -> None:
        super().__init__()
        if channels < 1:
            raise ValueError(f"a tokenizer needs at least one channel, got {channels}")
        self.config = config
        self.grid = token_grid(config, length)
        self.length = length
        self.channels = int(channels)
        self.n_fft = config.stft.n_fft
        self.hop = config.stft.hop_length
        self.autocast_dtype = precision
        # Convolutions run on channels-last (NHWC) activations: oneDNN's and cuDNN's native layout,
        # so no layout reorder before and after every convolution (about 2× on the convolutions of
        # an AVX2 CPU). A memory layout only: the same values up to float rounding.
        self.channels_last = True
        enc, dec, q = config.encoder, config.decoder, config.quantizer
        if enc.dim != dec.dim:
            raise ValueError("encoder.dim and decoder.dim must be equal (the codes feed the decoder)")
        self.encoder = Encoder(2 * channels, enc.dim, self.grid.blocks, enc.n_resnet_blocks, enc.dropout)
        self.decoder = Decoder(2 * channels, dec.dim, self.grid.blocks, dec.n_resnet_blocks, dec.dropout,
                               self.grid.stft_size)
        self.quantizer = Quantizer(
            q.codebook_size,
            enc.dim,
            decay=q.decay,
            commitment_weight=q.commitment_weight,
            eps=q.eps,
            kmeans_init=q.kmeans_init,
            kmeans_iters=q.kmeans_iters,
            dead_code_threshold=q.dead_code_threshold,
        )

    def _autocast(self, device: torch.device) -> AbstractContextManager:
        """Autocast to the run's reduced precision; no context at all in float32 (nothing to pay)."""
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(device.type, dtype=self.autocast_dtype)

    def _layout(self, h: torch.Tensor) -> torch.Tensor:
        """`h` in the memory layout the convolutions run in."""
        return h.contiguous(memory_format=torch.channels_last) if self.channels_last else h.contiguous()

    def as_channels(self, x: torch.Tensor) -> torch.Tensor:
        """Series in the data layout, (B, L) for one channel or (B, C, L), as (B, C, L); a wrong channel
        count is refused in one line rather than broadcast."""
        if x.dim() == 2 and self.channels == 1:
            x = x[:, None, :]
        if x.dim() != 3 or x.shape[1] != self.channels:
            raise ValueError(
                f"the tokenizer takes series of {self.channels} channel{'s' if self.channels != 1 else ''}, "
                f"got shape {tuple(x.shape)}"
            )
        return x

    def as_data(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, L) model output in the data layout: (B, L) for a one-channel model, else unchanged."""
        return x[:, 0] if self.channels == 1 else x

    def to_stft(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, L) series (or (B, L) for one channel) → (B, 2C, F, T)."""
        return stft(self.as_channels(x), self.n_fft, self.hop)

    def to_series(self, u: torch.Tensor) -> torch.Tensor:
        """(B, 2C, F, T) → (B, C, L) with the exact original length."""
        return istft(u, self.length, self.n_fft, self.hop)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Series → (STFT image u, continuous latent z in float32).

        Only the wide middle of the network runs under autocast; the input block and the latent
        itself stay float32, so code assignment and the EMA codebook see full-precision vectors.
        """
        u = self.to_stft(x)
        h = self.encoder.stem(self._layout(u))
        with self._autocast(u.device):
            z = self.encoder.body(h)
        return u, z.float()

    def decode_latent(self, z_q: torch.Tensor) -> torch.Tensor:
        """Latent grid → STFT image û (float32; the output layers run in float32)."""
        with self._autocast(z_q.device):
            h = self.decoder.body(self._layout(z_q))
        return self.decoder.output(h.float())

    def forward(self, x: torch.Tensor) -> TokenizerOutput:
        x = self.as_channels(x)
        u, z = self.encode(x)
        q = self.quantizer(z)
        u_hat = self.decode_latent(q.z_q)
        x_hat = self.to_series(u_hat)
        return TokenizerOutput(x_hat, u, u_hat, z, q.z_q, q.indices, q.commit_loss, q.counts)

    @staticmethod
    def reconstruction_losses(x: torch.Tensor, out: TokenizerOutput) -> tuple[torch.Tensor, torch.Tensor]:
        """MSE in the time domain and in the STFT domain (the method's two recon terms)."""
        if x.dim() == 2:
            x = x[:, None, :]
        return F.mse_loss(out.x_hat, x), F.mse_loss(out.u_hat, out.u)

    @torch.no_grad()
    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Token grids (B, H, W) of series; call in eval mode so the codebook stays put."""
        _, z = self.encode(x)
        return self.quantizer(z).indices

    @torch.no_grad()
    def decode_tokens(self, indices: torch.Tensor) -> torch.Tensor:
        """Token grids (B, H, W) → series (B, L) (or (B, C, L) for C > 1) through the codebook and decoder."""
        codes = F.embedding(indices, self.quantizer.codebook).permute(0, 3, 1, 2)
        return self.as_data(self.to_series(self.decode_latent(codes)))
