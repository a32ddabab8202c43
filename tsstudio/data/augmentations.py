"""Time-domain augmentations of the SSL branch (method §6), batched and device-agnostic.

Every augmentation takes a whole batch `x` of shape (B, L), or (B, C, L) for multichannel series
(float, CPU or CUDA), and a `torch.Generator` living on the same device as `x`, and returns a new
tensor of the same shape: the input is never modified, the length is always kept and every series
gets its own random draw. The channels of a series share that draw (the same warp, slice, resize,
trend or window for all of them; only noise is drawn per channel), and the draws of a (B, C, L)
batch are exactly those of a (B, L) one, so a one-channel batch gives the univariate result. All
work is done with torch tensor operations (no numpy, no loop over the series), so the second
view of a training batch is built on the accelerator in a handful of kernels.

Unlike the reference, no STFT/ISTFT round trip follows the augmentations, so the last
`L mod 8` samples of a view are never zeroed (method §11.A.6).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from tsstudio.config.schema import AUGMENTATIONS, AugmentationConfig
from tsstudio.errors import ConfigError

__all__ = [
    "AUGMENTATION_FUNCTIONS",
    "Augmenter",
    "amplitude_resize",
    "flip",
    "gaussian_noise",
    "magnitude_warp",
    "natural_cubic_spline",
    "noise_window",
    "preview_views",
    "slice_and_shuffle",
    "slope",
    "window_warp",
]


# --------------------------------------------------------------------------- helpers


def _check(x: torch.Tensor, g: torch.Generator) -> None:
    """Reject shapes, dtypes and generator devices the batched functions cannot handle."""
    if x.dim() not in (2, 3):
        raise ValueError(f"augmentations expect a (B, L) or (B, C, L) batch, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"augmentations expect a floating-point batch, got {x.dtype}")
    if g.device.type != x.device.type:
        raise ValueError(f"the generator is on {g.device} but the batch is on {x.device}; use a generator on the batch's device")


def _work_dtype(x: torch.Tensor) -> torch.dtype:
    """Dtype for random draws and intermediate maths: at least float32 (half inputs are cast back)."""
    return torch.promote_types(x.dtype, torch.float32)


def _over_channels(t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A per-series (B, M) tensor made to broadcast over the channels of a (B, C, L) batch."""
    return t.unsqueeze(1) if x.dim() == 3 else t


def _window_length(ratio: float, length: int) -> int:
    """Window of round(ratio·L) steps, at least 1 and at most L."""
    return min(max(int(round(ratio * length)), 1), length)


def _window_starts(x: torch.Tensor, g: torch.Generator, w: int) -> torch.Tensor:
    """One window start per series, uniform in [0, L − w] (inclusive, so w = L is allowed)."""
    return torch.randint(0, x.shape[-1] - w + 1, (x.shape[0], 1), generator=g, device=x.device)


def _interp(x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """Linear interpolation of each row of `x` (B, L), or every channel of (B, C, L), at fractional
    positions `pos` (B, M) in [0, L − 1] (the same positions for all channels of a series)."""
    last = x.shape[-1] - 1
    pos = pos.clamp(0, last)
    i0 = pos.floor().long().clamp(max=last)
    i1 = (i0 + 1).clamp(max=last)
    frac = _over_channels((pos - i0.to(pos.dtype)).to(x.dtype), x)
    return torch.lerp(_gather_time(x, i0), _gather_time(x, i1), frac)


def _gather_time(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """x at time indices (B, M), the same indices for every channel of a (B, C, L) batch."""
    if x.dim() == 3:
        return x.gather(2, index.unsqueeze(1).expand(-1, x.shape[1], -1))
    return x.gather(1, index)


# --------------------------------------------------------------------------- augmentations


def amplitude_resize(x: torch.Tensor, g: torch.Generator, sigma: float) -> torch.Tensor:
    """Scale each series by one scalar 1 + N(0, sigma): invariance to the overall amplitude."""
    _check(x, g)
    scale = 1.0 + sigma * torch.randn(x.shape[0], 1, generator=g, device=x.device, dtype=_work_dtype(x))
    return (x * _over_channels(scale, x)).to(x.dtype)


def window_warp(x: torch.Tensor, g: torch.Generator, ratio: float, lo: float, hi: float) -> torch.Tensor:
    """Stretch or compress one random window in time, keeping the length (Le Guennec et al., 2016).

    Per series: window length w = max(round(ratio·L), 1), start a ~ U{0, …, L − w}, scale
    s ~ U(lo, hi). The reference resamples the window to m = int(w·s) points
    (np.interp at linspace(0, w − 1, m)), splices it between the untouched head and tail (an
    intermediate series of N = L − w + m points) and linearly resamples that to L points.

    Here the same composition is evaluated without building the ragged intermediate: the
    intermediate point j comes from the source position p(j) = j (head), a + (j − a)(w − 1)/(m − 1)
    (window) or j − m + w (tail), i.e. a piecewise-linear time map; output point i sits at
    u = i(N − 1)/(L − 1) of the intermediate, so it is the linear blend of the intermediate at
    ⌊u⌋ and ⌊u⌋ + 1, each of which is x linearly interpolated at p(·). Those four gathers
    reproduce the two np.interp calls exactly (up to float rounding), for every series at once.
    m is at least 1 so a strong compression never removes the window entirely.
    """
    _check(x, g)
    b, length = x.shape[0], x.shape[-1]
    if length < 2:
        return x.clone()
    pos_dtype = torch.float32 if x.device.type == "mps" else torch.float64  # exact index arithmetic
    w = _window_length(ratio, length)
    start = _window_starts(x, g, w).to(pos_dtype)
    s = lo + (hi - lo) * torch.rand(b, 1, generator=g, device=x.device, dtype=pos_dtype)
    m = torch.floor(w * s).clamp(min=1)
    n = length - w + m  # points of the spliced intermediate series
    step = torch.where(m > 1, (w - 1) / (m - 1).clamp(min=1), torch.zeros_like(m))

    def source(j: torch.Tensor) -> torch.Tensor:
        """Source position in x of intermediate point j (integer-valued, per series)."""
        in_window = start + (j - start) * step
        tail = j - m + w
        return torch.where(j < start, j, torch.where(j < start + m, in_window, tail))

    i = torch.arange(length, device=x.device, dtype=pos_dtype).unsqueeze(0)
    u = (i * (n - 1)) / (length - 1)  # numerator first: u = N − 1 exactly at the last point
    j0 = u.floor().clamp(max=n - 1)
    j1 = (j0 + 1).clamp(max=n - 1)
    frac = _over_channels((u - j0).to(x.dtype), x)
    return torch.lerp(_interp(x, source(j0)), _interp(x, source(j1)), frac)


def slice_and_shuffle(x: torch.Tensor, g: torch.Generator, n_segments: int) -> torch.Tensor:
    """Cut each series into `n_segments` pieces and concatenate them in a random order.

    The n − 1 cut points are uniform in [0, L) with replacement (coinciding cuts give empty
    pieces, as in the reference) and sorted; the piece order is a random permutation per series.
    The result is built as one (B, L) gather index: output position i lies in output piece k
    (found by searchsorted on the cumulative permuted lengths) and reads the source position
    start(perm[k]) + (i − output_start(k)). Every output value is an input value.
    """
    _check(x, g)
    if n_segments < 1:
        raise ValueError(f"n_segments must be at least 1, got {n_segments}")
    b, length = x.shape[0], x.shape[-1]
    dev = x.device
    cuts = torch.randint(0, length, (b, n_segments - 1), generator=g, device=dev).sort(dim=1).values
    starts = torch.cat([torch.zeros(b, 1, dtype=torch.long, device=dev), cuts], dim=1)  # (B, n)
    ends = torch.cat([cuts, torch.full((b, 1), length, dtype=torch.long, device=dev)], dim=1)
    perm = torch.rand(b, n_segments, generator=g, device=dev).argsort(dim=1)
    lengths = (ends - starts).gather(1, perm)
    out_ends = lengths.cumsum(dim=1)
    out_starts = out_ends - lengths
    i = torch.arange(length, device=dev).expand(b, length).contiguous()
    k = torch.searchsorted(out_ends.contiguous(), i, right=True)  # first piece ending after i (skips empty ones)
    src = starts.gather(1, perm).gather(1, k) + (i - out_starts.gather(1, k))
    return _gather_time(x, src)


def gaussian_noise(x: torch.Tensor, g: torch.Generator, std: float) -> torch.Tensor:
    """Add i.i.d. N(0, std) noise at every time step (of every channel): robustness to measurement noise."""
    _check(x, g)
    noise = torch.randn(x.shape, generator=g, device=x.device, dtype=_work_dtype(x))
    return (x + std * noise).to(x.dtype)


def flip(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Reverse time (deterministic; `g` is accepted for a uniform signature)."""
    _check(x, g)
    return torch.flip(x, dims=(-1,))


def slope(x: torch.Tensor, g: torch.Generator, max_slope: float) -> torch.Tensor:
    """Add a linear trend a·t, t = 0…L − 1, with a ~ U(−max_slope, max_slope) per series."""
    _check(x, g)
    dt = _work_dtype(x)
    a = max_slope * (2.0 * torch.rand(x.shape[0], 1, generator=g, device=x.device, dtype=dt) - 1.0)
    t = torch.arange(x.shape[-1], device=x.device, dtype=dt)
    return (x + _over_channels(a * t, x)).to(x.dtype)


def noise_window(x: torch.Tensor, g: torch.Generator, std: float, ratio: float) -> torch.Tensor:
    """Add N(0, std) noise inside one random window of max(round(ratio·L), 1) steps per series, nothing elsewhere."""
    _check(x, g)
    length = x.shape[-1]
    w = _window_length(ratio, length)
    start = _window_starts(x, g, w)
    t = torch.arange(length, device=x.device).unsqueeze(0)
    inside = _over_channels((t >= start) & (t < start + w), x)
    noise = torch.randn(x.shape, generator=g, device=x.device, dtype=_work_dtype(x))
    return (x + std * noise * inside).to(x.dtype)


def natural_cubic_spline(values: torch.Tensor, length: int) -> torch.Tensor:
    """Natural cubic spline through (B, n) knot values at n evenly spaced positions of 0…length − 1.

    With knots t_k = k·h, h = (length − 1)/(n − 1), the second derivatives M solve the tridiagonal
    system M_{k−1} + 4 M_k + M_{k+1} = 6 (y_{k+1} − 2 y_k + y_{k−1}) / h² for the interior knots and
    M_0 = M_{n−1} = 0 (natural ends); the (n, n) matrix is the same for every series, so one
    torch.linalg.solve handles the whole batch (right-hand side (n, B)). On [t_k, t_{k+1}] with
    a = t − t_k and c = t_{k+1} − t the spline is
    M_k c³/(6h) + M_{k+1} a³/(6h) + (y_k/h − M_k h/6) c + (y_{k+1}/h − M_{k+1} h/6) a,
    which interpolates the knots with continuous first and second derivatives.
    """
    b, n = values.shape
    dev, dt = values.device, values.dtype
    if n < 2 or length < 2:
        return values[:, :1].expand(b, length).clone()
    h = (length - 1) / (n - 1)
    a_mat = torch.zeros(n, n, device=dev, dtype=dt)
    a_mat[0, 0] = a_mat[-1, -1] = 1.0
    rhs = torch.zeros(n, b, device=dev, dtype=dt)
    if n > 2:
        idx = torch.arange(1, n - 1, device=dev)
        a_mat[idx, idx - 1] = 1.0
        a_mat[idx, idx] = 4.0
        a_mat[idx, idx + 1] = 1.0
        rhs[1:-1] = (6.0 / h**2) * (values[:, 2:] - 2.0 * values[:, 1:-1] + values[:, :-2]).T
    second = torch.linalg.solve(a_mat, rhs).T  # (B, n)

    t = torch.arange(length, device=dev, dtype=dt)
    k = torch.clamp((t / h).floor().long(), 0, n - 2)  # segment of each position (shared by the batch)
    a = (t - k.to(dt) * h).unsqueeze(0)
    c = h - a
    y0, y1 = values[:, k], values[:, k + 1]
    m0, m1 = second[:, k], second[:, k + 1]
    return (m0 * c**3 + m1 * a**3) / (6.0 * h) + (y0 / h - m0 * h / 6.0) * c + (y1 / h - m1 * h / 6.0) * a


def magnitude_warp(x: torch.Tensor, g: torch.Generator, sigma: float, knots: int) -> torch.Tensor:
    """Multiply each series by a smooth random curve: a natural cubic spline through knots + 2
    evenly spaced points (both ends included) with values N(1, sigma) (Um et al., 2017)."""
    _check(x, g)
    if knots < 0:
        raise ValueError(f"knots must be at least 0, got {knots}")
    dt = _work_dtype(x)
    values = 1.0 + sigma * torch.randn(x.shape[0], knots + 2, generator=g, device=x.device, dtype=dt)
    return (x * _over_channels(natural_cubic_spline(values, x.shape[-1]), x)).to(x.dtype)


AUGMENTATION_FUNCTIONS: dict[str, Callable[..., torch.Tensor]] = {
    "amplitude_resize": amplitude_resize,
    "window_warp": window_warp,
    "slice_and_shuffle": slice_and_shuffle,
    "gaussian_noise": gaussian_noise,
    "flip": flip,
    "slope": slope,
    "noise_window": noise_window,
    "magnitude_warp": magnitude_warp,
}
if set(AUGMENTATION_FUNCTIONS) != set(AUGMENTATIONS):  # pragma: no cover - guards edits to either list
    raise RuntimeError("AUGMENTATION_FUNCTIONS and config.schema.AUGMENTATIONS list different names")


def _parameters(config: AugmentationConfig) -> dict[str, dict[str, float | int]]:
    """Keyword arguments of each augmentation function, taken from the configuration fields."""
    c = config
    return {
        "amplitude_resize": {"sigma": c.amplitude_resize_sigma},
        "window_warp": {"ratio": c.window_warp_ratio, "lo": c.window_warp_min, "hi": c.window_warp_max},
        "slice_and_shuffle": {"n_segments": c.slice_segments},
        "gaussian_noise": {"std": c.gaussian_noise_std},
        "flip": {},
        "slope": {"max_slope": c.slope_max},
        "noise_window": {"std": c.noise_window_std, "ratio": c.noise_window_ratio},
        "magnitude_warp": {"sigma": c.magnitude_warp_sigma, "knots": c.magnitude_warp_knots},
    }


class Augmenter:
    """Applies the configured augmentations in order to whole batches."""

    def __init__(self, config: AugmentationConfig) -> None:
        unknown = [name for name in config.methods if name not in AUGMENTATION_FUNCTIONS]
        if unknown:
            allowed = ", ".join(AUGMENTATION_FUNCTIONS)
            raise ConfigError(f"augmentations.methods: unknown augmentation '{unknown[0]}' (allowed: {allowed})")
        params = _parameters(config)
        self.config = config
        self.steps: list[tuple[Callable[..., torch.Tensor], dict[str, float | int]]] = [
            (AUGMENTATION_FUNCTIONS[name], params[name]) for name in config.methods
        ]

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Augmented copy of a (B, L), (B, 1, L) or (B, C, L) batch, same shape; `generator` on x's device."""
        if x.dim() == 3 and x.shape[1] == 1:
            return self(x[:, 0], generator).unsqueeze(1)
        if x.dim() not in (2, 3):
            raise ValueError(f"Augmenter expects a (B, L) or (B, C, L) batch, got shape {tuple(x.shape)}")
        out = x.clone()
        for fn, kwargs in self.steps:
            out = fn(out, generator, **kwargs)
        return out


def preview_views(series: np.ndarray, config: AugmentationConfig, n_views: int = 4, seed: int = 0) -> np.ndarray:
    """`n_views` augmented views (n_views, L) of one series (L,), or (n_views, C, L) of a (C, L) one,
    float32, for the app's preview.

    Runs on the CPU with a generator seeded by `seed`, so the same inputs give the same views.
    """
    arr = np.asarray(series, dtype=np.float32)
    if arr.ndim not in (1, 2):
        raise ValueError(f"preview_views expects one series of shape (L,) or (C, L), got shape {arr.shape}")
    if n_views < 1:
        raise ValueError(f"n_views must be at least 1, got {n_views}")
    augmenter = Augmenter(config)
    batch = torch.from_numpy(arr).unsqueeze(0).repeat(n_views, *([1] * arr.ndim))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        return augmenter(batch, generator).numpy()
