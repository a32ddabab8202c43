"""Time-frequency transform of the method: STFT as a 2-channel (real, imaginary) image.

Unlike the reference, the inverse is given the series length, so odd-length series keep their
last sample (method §11.A.7).
"""

from __future__ import annotations

import numpy as np
import torch


def stft_frames(length: int, hop_length: int) -> int:
    """Number of STFT frames of a centred transform of `length` samples."""
    return 1 + length // hop_length


def _window(n_fft: int, like: torch.Tensor) -> torch.Tensor:
    return torch.hann_window(n_fft, periodic=True, device=like.device, dtype=torch.float32)


def stft(x: torch.Tensor, n_fft: int = 8, hop_length: int = 2) -> torch.Tensor:
    """(B, C, L) series → (B, 2C, n_fft/2+1, 1+L//hop) image, channels ordered (c, re/im)."""
    b, c, length = x.shape
    flat = x.reshape(b * c, length).float()
    spec = torch.stft(
        flat,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=n_fft,
        window=_window(n_fft, flat),
        center=True,
        pad_mode="reflect",
        normalized=False,
        onesided=True,
        return_complex=True,
    )
    real = torch.view_as_real(spec)  # (B·C, F, T, 2)
    f, t = real.shape[1], real.shape[2]
    return real.reshape(b, c, f, t, 2).permute(0, 1, 4, 2, 3).reshape(b, 2 * c, f, t)


def istft(u: torch.Tensor, length: int, n_fft: int = 8, hop_length: int = 2) -> torch.Tensor:
    """(B, 2C, F, T) image → (B, C, length) series; the exact inverse of `stft`."""
    b, cc, f, t = u.shape
    c = cc // 2
    parts = u.float().reshape(b, c, 2, f, t).permute(0, 1, 3, 4, 2).contiguous()
    spec = torch.view_as_complex(parts.reshape(b * c, f, t, 2))
    x = torch.istft(
        spec,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=n_fft,
        window=_window(n_fft, parts),
        center=True,
        normalized=False,
        onesided=True,
        length=length,
    )
    return x.reshape(b, c, length)


def stft_magnitude(series: np.ndarray, n_fft: int = 8, hop_length: int = 2) -> np.ndarray:
    """|STFT| of one series (L,) as a C-contiguous float32 (frequency bin × frame) array, in numpy.

    The same transform as `stft` (centred, reflect padding, periodic Hann window), computed without
    torch so a display thread never waits on the thread pool a training run is using.
    """
    x = np.asarray(series, dtype=np.float64)
    pad = n_fft // 2
    padded = np.pad(x, pad, mode="reflect")
    frames = 1 + (len(padded) - n_fft) // hop_length
    index = np.arange(n_fft)[None, :] + hop_length * np.arange(frames)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    spectrum = np.fft.rfft(padded[index] * window, axis=1)
    return np.ascontiguousarray(np.abs(spectrum).T, dtype=np.float32)
