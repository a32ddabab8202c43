"""Multichannel (N, C, L) series: readers, per-channel scaling, the tokenizer and the whole pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsstudio.data import list_datasets, load_dataset
from tsstudio.data.dataset import make_dataset


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TSSTUDIO_DATA_DIR", raising=False)


def shifted_sines(n: int, channels: int = 3, length: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` series of `channels` phase-shifted sines with per-channel offsets; class 1 runs twice as fast."""
    rng = np.random.default_rng(seed)
    t = np.arange(length) / length
    y = np.arange(n) % 2
    x = np.empty((n, channels, length))
    for i in range(n):
        for c in range(channels):
            x[i, c] = (c + 1) * np.sin(2 * np.pi * (1 + y[i]) * (t + c / channels)) + 10 * c
    return x + 0.05 * rng.standard_normal(x.shape), y


def write_npz(root: Path, name: str = "Sines3", n_train: int = 12, n_test: int = 8, length: int = 32) -> Path:
    x_train, y_train = shifted_sines(n_train, length=length, seed=1)
    x_test, y_test = shifted_sines(n_test, length=length, seed=2)
    path = root / f"{name}.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def ts_line(series: np.ndarray, label: str) -> str:
    return ":".join(",".join(repr(float(v)) for v in channel) for channel in series) + f":{label}"


def test_multichannel_ts_reads_as_n_c_l(tmp_path: Path) -> None:
    x, y = shifted_sines(4, length=6)
    folder = tmp_path / "Multi"
    folder.mkdir()
    head = "@problemName Multi\n@univariate false\n@dimensions 3\n@classLabel true a b\n@data\n"
    for split in ("TRAIN", "TEST"):
        lines = [ts_line(s, "ab"[int(label)]) for s, label in zip(x, y)]
        (folder / f"Multi_{split}.ts").write_text(head + "\n".join(lines) + "\n")
    ds = load_dataset("Multi", tmp_path, scaling=False)
    assert ds.x_train.shape == (4, 3, 6) and ds.n_channels == 3 and ds.length == 6
    np.testing.assert_allclose(ds.x_train, x.astype(np.float32))
    assert ds.class_labels == ("a", "b")
    info = {i.name: i for i in list_datasets(tmp_path)}["Multi"]
    assert (info.channels, info.length, info.error) == (3, 6, "")


def test_npz_lists_channels_and_scales_per_channel(tmp_path: Path) -> None:
    write_npz(tmp_path)
    info = {i.name: i for i in list_datasets(tmp_path)}["Sines3"]
    assert (info.format, info.channels, info.length, info.n_classes, info.error) == ("npz", 3, 32, 2, "")
    raw = np.load(tmp_path / "Sines3.npz")
    ds = load_dataset("Sines3", tmp_path)
    assert ds.x_train.shape == (12, 3, 32) and ds.x_test.shape == (8, 3, 32)
    means = raw["x_train"].mean(axis=(0, 2))
    stds = raw["x_train"].std(axis=(0, 2))
    np.testing.assert_allclose(ds.channel_mean, means)
    np.testing.assert_allclose(ds.channel_std, stds)
    np.testing.assert_allclose(ds.x_train.mean(axis=(0, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(ds.x_train.std(axis=(0, 2)), 1.0, atol=1e-5)
    np.testing.assert_allclose(ds.x_test, (raw["x_test"] - means[:, None]) / stds[:, None], rtol=1e-5, atol=1e-5)


def test_one_channel_keeps_the_univariate_layout_and_global_scaling() -> None:
    rng = np.random.default_rng(0)
    x_train, x_test = rng.normal(3, 2, (6, 16)), rng.normal(3, 2, (4, 16))
    y_train, y_test = np.arange(6) % 2, np.arange(4) % 2
    flat = make_dataset("A", x_train, y_train, x_test, y_test, "here")
    boxed = make_dataset("A", x_train[:, None], y_train, x_test[:, None], y_test, "here")
    assert boxed.x_train.shape == (6, 16) and boxed.n_channels == 1
    np.testing.assert_array_equal(boxed.x_train, flat.x_train)
    np.testing.assert_array_equal(boxed.x_test, flat.x_test)
    assert isinstance(flat.mean, float) and (boxed.mean, boxed.std) == (flat.mean, flat.std)
    assert flat.channel_mean == (flat.mean,)


def test_a_constant_channel_is_scaled_by_one() -> None:
    x = np.zeros((4, 2, 8))
    x[:, 1] = np.arange(8)
    ds = make_dataset("K", x, np.arange(4) % 2, x, np.arange(4) % 2, "here")
    assert ds.channel_std[0] == 1.0 and ds.channel_mean[0] == 0.0


# ----------------------------------------------------------------------------- augmentations

SHARED = {
    "window_warp": {"ratio": 0.3, "lo": 0.5, "hi": 2.0},
    "slice_and_shuffle": {"n_segments": 4},
    "amplitude_resize": {"sigma": 0.5},
    "magnitude_warp": {"sigma": 0.3, "knots": 4},
    "slope": {"max_slope": 0.1},
    "flip": {},
}


@pytest.mark.parametrize("name", sorted(SHARED))
def test_an_augmentation_applies_the_same_draw_to_every_channel(name: str) -> None:
    import torch

    from tsstudio.data.augmentations import AUGMENTATION_FUNCTIONS

    fn, kwargs = AUGMENTATION_FUNCTIONS[name], SHARED[name]
    x = torch.from_numpy(shifted_sines(5, length=40)[0]).float()
    together = fn(x, torch.Generator().manual_seed(7), **kwargs)
    assert together.shape == x.shape
    for c in range(3):
        alone = fn(x[:, c], torch.Generator().manual_seed(7), **kwargs)
        torch.testing.assert_close(together[:, c], alone, rtol=0, atol=1e-6)
    if name != "flip":
        assert not torch.equal(together, x)


def test_noise_is_drawn_per_channel_and_its_window_shared() -> None:
    import torch

    from tsstudio.data.augmentations import gaussian_noise, noise_window

    x = torch.zeros(4, 3, 50)
    noisy = gaussian_noise(x, torch.Generator().manual_seed(0), std=1.0)
    assert not torch.equal(noisy[:, 0], noisy[:, 1])
    windowed = noise_window(x, torch.Generator().manual_seed(0), std=1.0, ratio=0.2)
    touched = windowed != 0
    assert torch.equal(touched[:, 0], touched[:, 1]) and torch.equal(touched[:, 1], touched[:, 2])
    assert not torch.equal(windowed[:, 0], windowed[:, 1])


def test_the_augmenter_takes_a_multichannel_batch() -> None:
    import torch

    from tsstudio.config.schema import AugmentationConfig
    from tsstudio.data.augmentations import Augmenter, preview_views

    config = AugmentationConfig(methods=("window_warp", "amplitude_resize", "gaussian_noise"))
    x = torch.from_numpy(shifted_sines(4, length=40)[0]).float()
    assert Augmenter(config)(x, torch.Generator().manual_seed(0)).shape == (4, 3, 40)
    assert preview_views(x[0].numpy(), config, n_views=2).shape == (2, 3, 40)
