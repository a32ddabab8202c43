"""Batched augmentations of the SSL branch (method §6): shapes, randomness and intended effects."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap

import numpy as np
import pytest
import torch

from tsstudio.config.schema import AUGMENTATIONS, AugmentationConfig
from tsstudio.data import augmentations as aug
from tsstudio.data.augmentations import (
    AUGMENTATION_FUNCTIONS,
    Augmenter,
    amplitude_resize,
    flip,
    gaussian_noise,
    magnitude_warp,
    natural_cubic_spline,
    noise_window,
    preview_views,
    slice_and_shuffle,
    slope,
    window_warp,
)

L = 67  # L mod 8 = 3: the reference would zero the last 3 samples of every view

# Each augmentation with parameters strong enough that its effect is always visible.
CASES = {
    "amplitude_resize": (amplitude_resize, {"sigma": 0.2}),
    "window_warp": (window_warp, {"ratio": 0.4, "lo": 0.5, "hi": 2.0}),
    "slice_and_shuffle": (slice_and_shuffle, {"n_segments": 4}),
    "gaussian_noise": (gaussian_noise, {"std": 0.05}),
    "flip": (flip, {}),
    "slope": (slope, {"max_slope": 0.01}),
    "noise_window": (noise_window, {"std": 0.1, "ratio": 0.4}),
    "magnitude_warp": (magnitude_warp, {"sigma": 0.2, "knots": 4}),
}
RANDOM = [name for name in CASES if name != "flip"]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def batch(b: int = 4, length: int = L, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A positive, non-monotonic, non-periodic test batch (distinct rows)."""
    t = torch.arange(length, dtype=torch.float64)
    rows = [2.0 + torch.sin(0.3 * t + i) + 0.01 * t for i in range(b)]
    return torch.stack(rows).to(dtype)


def apply(name: str, x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    fn, kwargs = CASES[name]
    return fn(x, gen(seed), **kwargs)


# --------------------------------------------------------------------------- common contract


def test_registry_matches_config_choices() -> None:
    assert set(AUGMENTATION_FUNCTIONS) == set(AUGMENTATIONS) == set(CASES)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_dtype_and_input_untouched(name: str, dtype: torch.dtype) -> None:
    x = batch(dtype=dtype)
    before = x.clone()
    out = apply(name, x)
    assert out.shape == x.shape and out.dtype == dtype
    assert torch.equal(x, before)
    out.add_(1.0)  # a new tensor: writing to it leaves the input alone
    assert torch.equal(x, before)


@pytest.mark.parametrize("name", list(CASES))
def test_seeded_determinism(name: str) -> None:
    x = batch()
    assert torch.equal(apply(name, x, seed=1), apply(name, x, seed=1))
    if name in RANDOM:
        assert not torch.equal(apply(name, x, seed=1), apply(name, x, seed=2))


@pytest.mark.parametrize("name", RANDOM)
def test_each_series_gets_its_own_draw(name: str) -> None:
    out = apply(name, batch(1).repeat(4, 1))
    for i in range(4):
        for j in range(i + 1, 4):
            assert not torch.equal(out[i], out[j]), (i, j)


@pytest.mark.parametrize("name", list(CASES))
def test_tail_is_never_zeroed(name: str) -> None:
    """Method §11.A.6: the reference zeroes the last L mod 8 samples; a positive series must stay nonzero."""
    x = batch(8)
    out = apply(name, x)
    assert (out[:, -(L % 8) :].abs() > 1e-3).all()
    cfg = AugmentationConfig(methods=tuple(AUGMENTATIONS))
    assert (Augmenter(cfg)(x, gen())[:, -(L % 8) :] != 0).all()


def test_batch_functions_use_torch_only() -> None:
    """No numpy inside the batch functions, so they run on the accelerator as is."""
    for fn in [*AUGMENTATION_FUNCTIONS.values(), natural_cubic_spline, aug._interp, aug._window_starts]:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        assert not names & {"np", "numpy"}, fn.__name__


def test_rejects_non_batches() -> None:
    with pytest.raises(ValueError, match=r"\(B, L\)"):
        flip(torch.zeros(3), gen())
    with pytest.raises(ValueError, match="floating"):
        flip(torch.zeros(2, 3, dtype=torch.long), gen())


# --------------------------------------------------------------------------- intended effects


def test_amplitude_resize_is_a_scalar_multiple_per_series() -> None:
    x = batch()
    out = amplitude_resize(x, gen(), 0.2)
    factor = out[:, :1] / x[:, :1]
    torch.testing.assert_close(out, x * factor)
    assert factor.unique().numel() == x.shape[0]
    torch.testing.assert_close(amplitude_resize(x, gen(), 0.0), x)


def test_window_warp_without_scaling_is_identity() -> None:
    x = batch()
    torch.testing.assert_close(window_warp(x, gen(), 0.4, 1.0, 1.0), x, atol=1e-6, rtol=0)


def test_window_warp_stretch_changes_series_but_keeps_the_ends() -> None:
    x = batch(8)
    out = window_warp(x, gen(), 0.4, 2.0, 2.0)
    assert (out - x).abs().amax(dim=1).min() > 1e-3
    torch.testing.assert_close(out[:, 0], x[:, 0])
    torch.testing.assert_close(out[:, -1], x[:, -1])
    assert (out >= x.amin(dim=1, keepdim=True) - 1e-6).all() and (out <= x.amax(dim=1, keepdim=True) + 1e-6).all()


@pytest.mark.parametrize("lo, hi", [(0.5, 2.0), (0.01, 0.05), (1.0, 5.0)])
def test_window_warp_matches_the_two_step_reference(lo: float, hi: float) -> None:
    """Splicing the resampled window and resampling to L (np.interp twice) gives the same values."""
    b, ratio = 16, 0.4
    x = torch.randn(b, L, generator=gen(5), dtype=torch.float64)
    out = window_warp(x, gen(3), ratio, lo, hi).numpy()
    g = gen(3)  # replay the draws: window start, then scale
    w = max(round(ratio * L), 1)
    starts = torch.randint(0, L - w + 1, (b, 1), generator=g)[:, 0].numpy()
    scales = (lo + (hi - lo) * torch.rand(b, 1, generator=g, dtype=torch.float64))[:, 0].numpy()
    for i in range(b):
        xi, a = x[i].numpy(), starts[i]
        m = max(int(np.floor(w * scales[i])), 1)
        window = np.interp(np.linspace(0, w - 1, num=m), np.arange(w), xi[a : a + w])
        warped = np.concatenate([xi[:a], window, xi[a + w :]])
        ref = np.interp(np.arange(L), np.linspace(0, L - 1.0, num=warped.size), warped)
        np.testing.assert_allclose(out[i], ref, atol=1e-9)


@pytest.mark.parametrize("n", [1, 2, 4, 9])
def test_slice_and_shuffle_permutes_contiguous_pieces(n: int) -> None:
    x = torch.arange(L, dtype=torch.float32).repeat(32, 1)
    out = slice_and_shuffle(x, gen(), n)
    assert torch.equal(out.sort(dim=1).values, x)  # a permutation of the values
    jumps = (out.diff(dim=1) != 1).sum(dim=1)  # each jump starts a new run of the input
    assert (jumps <= n - 1).all()
    if n == 1:
        assert torch.equal(out, x)
    else:
        assert (jumps > 0).any()


def test_slice_and_shuffle_preserves_value_multiset() -> None:
    x = batch()
    out = slice_and_shuffle(x, gen(), 4)
    assert torch.equal(out.sort(dim=1).values, x.sort(dim=1).values)


def test_gaussian_noise_has_the_configured_std() -> None:
    x = torch.zeros(2000, 50)
    out = gaussian_noise(x, gen(), 0.3)
    assert abs(out.std().item() - 0.3) < 0.3 * 0.02
    assert abs(out.mean().item()) < 0.01


def test_flip_reverses_time_and_is_an_involution() -> None:
    x = batch()
    out = flip(x, gen())
    assert torch.equal(out, x[:, torch.arange(L - 1, -1, -1)])
    assert torch.equal(flip(out, gen()), x)


def test_slope_adds_a_linear_trend() -> None:
    x = batch(16)
    delta = (slope(x, gen(), 0.01) - x).double()
    torch.testing.assert_close(delta[:, 0], torch.zeros(16, dtype=torch.float64), atol=1e-6, rtol=0)
    torch.testing.assert_close(delta.diff(n=2, dim=1), torch.zeros(16, L - 2, dtype=torch.float64), atol=1e-5, rtol=0)
    step = delta[:, 1:].mean(dim=1) / torch.arange(1, L, dtype=torch.float64).mean()
    assert (step.abs() <= 0.01 + 1e-6).all() and (step > 0).any() and (step < 0).any()


def test_noise_window_changes_one_contiguous_window() -> None:
    x = batch(32)
    changed = noise_window(x, gen(), 0.1, 0.4) != x
    w = round(0.4 * L)
    for row in changed:
        idx = row.nonzero()[:, 0]
        assert idx.numel() == w and int(idx[-1] - idx[0]) + 1 == w
    starts = changed.float().argmax(dim=1)
    assert starts.unique().numel() > 1


def test_magnitude_warp_without_sigma_is_identity() -> None:
    x = batch()
    torch.testing.assert_close(magnitude_warp(x, gen(), 0.0, 4), x)


def test_magnitude_warp_multiplier_is_a_natural_spline_through_its_knots() -> None:
    length, knots = 51, 4  # knots at 0, 10, …, 50
    curve = magnitude_warp(torch.ones(8, length, dtype=torch.float64), gen(), 0.2, knots)
    x = batch(8, length, torch.float64)
    torch.testing.assert_close(magnitude_warp(x, gen(), 0.2, knots), x * curve)  # a multiplier independent of x
    at_knots = curve[:, ::10]
    torch.testing.assert_close(natural_cubic_spline(at_knots, length), curve)
    assert (curve - 1).abs().amax() > 0.05
    second = curve.diff(n=2, dim=1)
    assert second.abs().amax() < 0.05  # smooth: no kinks between knots


def test_natural_cubic_spline_interpolates_with_natural_ends() -> None:
    values = torch.randn(3, 6, generator=gen(), dtype=torch.float64)
    curve = natural_cubic_spline(values, 51)
    torch.testing.assert_close(curve[:, ::10], values)
    line = torch.linspace(-1.0, 2.0, 6, dtype=torch.float64).unsqueeze(0)  # natural ends: lines stay lines
    torch.testing.assert_close(natural_cubic_spline(line, 51)[0], torch.linspace(-1.0, 2.0, 51, dtype=torch.float64))
    scipy_interp = pytest.importorskip("scipy.interpolate")
    knots_t = np.linspace(0, 50, 6)
    for i in range(3):
        ref = scipy_interp.CubicSpline(knots_t, values[i].numpy(), bc_type="natural")(np.arange(51))
        np.testing.assert_allclose(curve[i].numpy(), ref, atol=1e-10)


# --------------------------------------------------------------------------- Augmenter and preview


def test_augmenter_applies_methods_in_order() -> None:
    x = batch()
    flip_slope = Augmenter(AugmentationConfig(methods=("flip", "slope"), slope_max=0.05))(x, gen())
    slope_flip = Augmenter(AugmentationConfig(methods=("slope", "flip"), slope_max=0.05))(x, gen())
    assert not torch.allclose(flip_slope, slope_flip)
    torch.testing.assert_close(flip_slope, slope(flip(x, gen()), gen(), 0.05))


def test_augmenter_maps_config_fields_and_keeps_shape() -> None:
    cfg = AugmentationConfig(methods=("window_warp", "amplitude_resize"), window_warp_min=0.8, amplitude_resize_sigma=0.3)
    x = batch()
    g = gen()
    expected = amplitude_resize(window_warp(x, g, 0.4, 0.8, 2.0), g, 0.3)
    torch.testing.assert_close(Augmenter(cfg)(x, gen()), expected)
    out3 = Augmenter(cfg)(x.unsqueeze(1), gen())
    assert out3.shape == (4, 1, L)
    torch.testing.assert_close(out3[:, 0], expected)


def test_augmenter_without_methods_returns_a_copy() -> None:
    x = batch()
    out = Augmenter(AugmentationConfig())(x, gen())
    assert torch.equal(out, x) and out.data_ptr() != x.data_ptr()


def test_unknown_augmentation_is_a_config_error() -> None:
    from tsstudio.errors import ConfigError

    cfg = dataclasses.replace(AugmentationConfig(), methods=("flip", "jitter"))
    with pytest.raises(ConfigError, match=r"augmentations\.methods") as info:
        Augmenter(cfg)
    assert "jitter" in str(info.value)
    assert all(name in str(info.value) for name in AUGMENTATIONS)


def test_preview_views_shape_and_determinism() -> None:
    series = batch(1)[0].numpy().astype(np.float64)
    cfg = AugmentationConfig(methods=("window_warp", "amplitude_resize"))
    views = preview_views(series, cfg, n_views=5, seed=3)
    assert views.shape == (5, L) and views.dtype == np.float32
    np.testing.assert_array_equal(views, preview_views(series, cfg, n_views=5, seed=3))
    assert not np.array_equal(views, preview_views(series, cfg, n_views=5, seed=4))
    assert len({v.tobytes() for v in views}) == 5
    plain = preview_views(series, AugmentationConfig(), n_views=2)
    np.testing.assert_array_equal(plain, np.stack([series] * 2).astype(np.float32))
    with pytest.raises(ValueError):
        preview_views(np.zeros((2, 3, 4)), cfg)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_batches_stay_on_the_device() -> None:
    x = batch(8).cuda()
    g = torch.Generator(device="cuda").manual_seed(0)
    cfg = AugmentationConfig(methods=tuple(AUGMENTATIONS))
    out = Augmenter(cfg)(x, g)
    assert out.device == x.device and out.shape == x.shape and torch.isfinite(out).all()
    for name in CASES:
        fn, kwargs = CASES[name]
        assert fn(x, torch.Generator(device="cuda").manual_seed(1), **kwargs).device == x.device
