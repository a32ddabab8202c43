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


# ----------------------------------------------------------------------------- tokenizer

TINY = ["trainer.device=cpu", "trainer.precision=fp32", "trainer.batch_size=8", "trainer.num_threads=1",
        "encoder.dim=8", "decoder.dim=8", "encoder.n_resnet_blocks=1", "decoder.n_resnet_blocks=1",
        "quantizer.codebook_size=8", "trainer.snapshot_every_steps=2", "trainer.checkpoint_every_steps=2"]
TINY_FLAGS = [flag for s in TINY for flag in ("--set", s)]
SMALL_PRIOR = [flag for s in ("prior.hidden_dim=16", "prior.n_layers=1", "prior.heads=2") for flag in ("--set", s)]


def tiny_config(*extra: str):
    from tsstudio.config import apply_overrides, load_preset

    return apply_overrides(load_preset("regular"), [*TINY, *extra])


def test_stft_round_trip_is_exact_per_channel() -> None:
    import torch

    from tsstudio.models.stft import istft, stft

    x = torch.from_numpy(shifted_sines(4, length=37)[0]).float()  # odd length keeps its last sample
    u = stft(x, 8, 2)
    assert u.shape[1] == 6
    back = istft(u, 37, 8, 2)
    assert back.shape == (4, 3, 37)
    torch.testing.assert_close(back, x, rtol=0, atol=1e-5)
    for c in range(3):  # the images of channel c are exactly that channel's own STFT
        torch.testing.assert_close(u[:, 2 * c : 2 * c + 2], stft(x[:, c : c + 1], 8, 2))


def test_a_three_channel_tokenizer_keeps_shape_and_the_token_grid() -> None:
    import torch

    from tsstudio.models.tokenizer import Tokenizer, token_grid

    config = tiny_config()
    uni, multi = Tokenizer(config, 32), Tokenizer(config, 32, channels=3)
    assert multi.encoder.stem[0].in_channels == 6 and multi.decoder.head[-1].out_channels == 6
    x = torch.from_numpy(shifted_sines(5, length=32)[0]).float()
    out = multi.eval()(x)
    assert out.x_hat.shape == (5, 3, 32) and out.u.shape[1] == 6
    grid = token_grid(config, 32)
    assert out.indices.shape == (5, grid.height, grid.width) == (5, uni.grid.height, uni.grid.width)
    assert multi.decode_tokens(out.indices).shape == (5, 3, 32)
    assert uni.decode_tokens(out.indices).shape == (5, 32)
    with pytest.raises(ValueError, match=r"takes series of 3 channels, got shape \(5, 32\)"):
        multi(x[:, 0])
    with pytest.raises(ValueError, match=r"takes series of 1 channel, got shape \(5, 3, 32\)"):
        uni(x)


def test_the_fcn_takes_c_input_channels() -> None:
    import torch

    from tsstudio.models.fcn import FCN

    model = FCN(2, in_channels=3)
    assert model(torch.zeros(4, 3, 20)).shape == (4, 2) and model.features(torch.zeros(4, 3, 20)).shape == (4, 128)
    with pytest.raises(ValueError, match=r"FCN expects \(B, 3, L\) input, got shape \(4, 20\)"):
        model(torch.zeros(4, 20))


# ----------------------------------------------------------------------------- the whole pipeline


@pytest.mark.slow
def test_three_channels_train_evaluate_sample_and_export(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    import json

    from tsstudio.cli.main import main
    from tsstudio.store import RunFile
    from tsstudio.store.exports import read_generations, read_token_export
    from tsstudio.store.models_io import load_prior, load_tokenizer

    write_npz(tmp_path)
    data = ["--data-dir", str(tmp_path)]
    tok, prior = tmp_path / "tok.h5", tmp_path / "prior.h5"
    assert main(["train", "--dataset", "Sines3", *data, "--max-steps", "4", "--out", str(tok), *TINY_FLAGS,
                 "--set", "probes.every_epochs=1", "--quiet"]) == 0
    capsys.readouterr()
    ds = load_dataset("Sines3", tmp_path)
    with RunFile.open(tok) as run:
        assert run.n_channels == 3 and run.attrs["n_channels"] == 3
        np.testing.assert_allclose(run.attrs["data_mean"], ds.channel_mean)
        np.testing.assert_allclose(run.attrs["data_std"], ds.channel_std)
        snaps = run.snapshots()
        assert snaps["inputs"].shape[1:] == (3, 32) and snaps["recon"].shape[2:] == (3, 32)
        h, w = (int(v) for v in run.attrs["token_grid"])
        model, _ = load_tokenizer(run)
    assert model.channels == 3
    assert main(["eval", str(tok)]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["test_mse_time"] >= 0.0 and 0.0 <= results["svm_accuracy"] <= 1.0

    assert main(["prior", "--tokenizer", str(tok), "--max-steps", "3", "--out", str(prior), *TINY_FLAGS,
                 *SMALL_PRIOR, "--quiet"]) == 0
    with RunFile.open(prior) as run:
        assert run.n_channels == 3 and tuple(run.attrs["token_grid"]) == (h, w)
        assert run.snapshots()["recon"].shape[2:] == (3, 32)
        _, tokenizer, _, _ = load_prior(run)
    assert tokenizer.channels == 3
    gen = tmp_path / "gen.h5"
    assert main(["sample", str(prior), "--n", "3", "--out", str(gen), "--class", "1"]) == 0
    generations = read_generations(gen)
    assert generations.series.shape == (3, 3, 32) and generations.tokens.shape == (3, h, w)
    assert main(["eval", str(prior), "--fcn-epochs", "2", "--cas-epochs", "2"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["fid"] >= 0.0 and results["is_mean"] >= 1.0 and 0.0 <= results["cas_accuracy"] <= 1.0

    export = tmp_path / "tokens.h5"
    assert main(["export-tokens", str(tok), "--out", str(export)]) == 0
    read = read_token_export(export)
    assert read.tokens["train"].shape == (12, h, w) and read.tokens["test"].shape == (8, h, w)
    assert read.attrs["n_channels"] == 3
    np.testing.assert_allclose(read.attrs["data_std"], ds.channel_std)


# Measured with the code before multichannel support (same seed, same tiny CBF run as below).
BEFORE_LOSSES = [3.405008316040039, 4.241551876068115, 3.0882506370544434, 3.824223518371582]
BEFORE_TEST_MSE_TIME = 1.0589940181601993


@pytest.mark.slow
def test_univariate_runs_are_unchanged_in_any_layout(tmp_path: Path) -> None:
    """The built-in CBF, and the same arrays saved as (N, 1, L), train to the same numbers, and those
    are the numbers univariate runs gave before multichannel series were supported."""
    from tsstudio.data.synthetic import (
        CBF_LENGTH,
        CBF_TEST_PER_CLASS,
        CBF_TEST_SEED,
        CBF_TRAIN_PER_CLASS,
        CBF_TRAIN_SEED,
        cylinder_bell_funnel,
    )
    from tsstudio.store import RunFile
    from tsstudio.store.run_eval import evaluate_run
    from tsstudio.sweep.runner import train_run

    x_train, y_train = cylinder_bell_funnel(CBF_TRAIN_PER_CLASS, CBF_LENGTH, seed=CBF_TRAIN_SEED)
    x_test, y_test = cylinder_bell_funnel(CBF_TEST_PER_CLASS, CBF_LENGTH, seed=CBF_TEST_SEED)
    np.savez(tmp_path / "CBF1.npz", x_train=x_train[:, None], y_train=y_train, x_test=x_test[:, None], y_test=y_test)
    boxed = load_dataset("CBF1", tmp_path)
    assert boxed.x_train.shape == (len(x_train), CBF_LENGTH) and boxed.n_channels == 1
    results = {}
    for name in ("CBF", "CBF1"):
        config = tiny_config("trainer.batch_size=16", "trainer.max_steps=4", "probes.every_epochs=0",
                             "probes.at_start=false", f"data.dataset={name}")
        path = tmp_path / f"{name}.h5"
        assert train_run(config, path, data_dir=str(tmp_path)).status == "finished"
        evaluation = evaluate_run(path, data_dir=str(tmp_path))
        with RunFile.open(path) as run:
            assert run.n_channels == 1 and run.snapshots()["recon"].ndim == 3
            losses = {m: run.metric(m)[2].tolist() for m in run.metric_names()}
        results[name] = (losses, {k: v for k, v in evaluation.items() if k != "step"})
    assert results["CBF1"] == results["CBF"]
    assert results["CBF"][0]["loss"] == pytest.approx(BEFORE_LOSSES, rel=1e-5)
    assert results["CBF"][1]["test_mse_time"] == pytest.approx(BEFORE_TEST_MSE_TIME, rel=1e-5)


def test_nearest_real_and_the_pca_plane_use_every_channel() -> None:
    from tsstudio.eval.sampling_explore import PcaPlane, nearest_real_many

    x_real, y_real = shifted_sines(10, length=16)
    generated = x_real[[3, 6]] + 0.01
    found = nearest_real_many(generated, x_real, y_real, np.array([-1, -1]))
    assert [n.index for n in found] == [3, 6] and found[0].series.shape == (3, 16)
    assert found[0].distance == pytest.approx(0.01 * np.sqrt(3 * 16), rel=1e-4)
    plane = PcaPlane.fit(x_real)
    np.testing.assert_allclose(plane.project(x_real), PcaPlane.fit(x_real.reshape(10, -1)).project(x_real.reshape(10, -1)))


def test_the_parameter_count_follows_the_channel_count() -> None:
    from tsstudio.gui.config_form import count_parameters

    config = tiny_config()
    one, three = count_parameters(config, 32)[0], count_parameters(config, 32, channels=3)[0]
    # only the encoder's input convolution and the decoder's two output layers see the 2C images
    dim, kernel = 8, 3 * 4
    stem = (6 - 2) * dim * kernel
    head = (dim * 6 * kernel + 6) - (dim * 2 * kernel + 2) + (6 * 6 * kernel + 6) - (2 * 2 * kernel + 2)
    assert three - one == stem + head


def test_two_branch_training_takes_three_channels() -> None:
    import torch

    from tsstudio.models.tokenizer import Tokenizer
    from tsstudio.train.objectives import build_objective

    config = tiny_config("ssl.method=barlowtwins", "augmentations.methods=[window_warp,gaussian_noise]")
    objective = build_objective(Tokenizer(config, 32, channels=3), config)
    x = torch.from_numpy(shifted_sines(8, length=32)[0]).float()
    loss, terms, counts = objective(x, torch.Generator().manual_seed(0))
    loss.backward()
    assert np.isfinite(float(loss.detach())) and terms["aug_recon_time"] > 0 and int(counts.sum()) > 0


def test_datasets_command_lists_the_channel_count(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    from tsstudio.cli.main import main

    write_npz(tmp_path)
    assert main(["datasets", "--data-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split()
    row = next(line.split() for line in lines if line.startswith("Sines3"))
    assert row[header.index("channels")] == "3" and row[header.index("length")] == "32"


@pytest.mark.slow
def test_a_stopped_three_channel_run_resumes_with_its_snapshots(tmp_path: Path) -> None:
    from tsstudio.store import RunFile
    from tsstudio.sweep.resume import plan_resume
    from tsstudio.sweep.runner import train_run
    from tsstudio.train import TrainingControl
    from tsstudio.train.events import StepMetrics

    write_npz(tmp_path)
    control = TrainingControl()

    def stop_at_four(event) -> None:  # noqa: ANN001
        if isinstance(event, StepMetrics) and event.step == 4:
            control.request_stop()

    path = tmp_path / "run.h5"
    config = tiny_config("data.dataset=Sines3", "trainer.max_steps=8", "probes.every_epochs=0", "probes.at_start=false")
    assert train_run(config, path, data_dir=str(tmp_path), control=control, listeners=[stop_at_four]).status == "stopped"
    plan = plan_resume(path)
    assert train_run(plan.config, path, data_dir=str(tmp_path), resume_state=plan.state).status == "finished"
    with RunFile.open(path) as run:
        snaps = run.snapshots()
        assert run.n_channels == 3 and run.step == 8
        assert snaps["recon"].shape == (4, *snaps["inputs"].shape) and snaps["inputs"].shape[1:] == (3, 32)
        assert snaps["steps"].tolist() == [2, 4, 6, 8]  # the snapshots before the stop were kept


def test_reconstruction_errors_run_over_every_channel() -> None:
    import torch

    from tsstudio.eval.compare import reconstruct_split
    from tsstudio.eval.reconstruction import reconstruction_metrics
    from tsstudio.models.tokenizer import Tokenizer

    torch.manual_seed(0)
    tokenizer = Tokenizer(tiny_config(), 32, channels=3).eval()
    x = shifted_sines(6, length=32)[0].astype(np.float32)
    with torch.no_grad():
        out = tokenizer(torch.from_numpy(x))
    x_hat, u, u_hat = out.x_hat.numpy(), out.u.numpy(), out.u_hat.numpy()
    metrics = reconstruction_metrics(tokenizer, x, 4, torch.device("cpu"))
    assert metrics["test_mse_time"] == pytest.approx(float(((x_hat - x) ** 2).mean()), rel=1e-5)
    assert metrics["test_mse_stft"] == pytest.approx(float(((u_hat - u) ** 2).mean()), rel=1e-5)
    split = reconstruct_split(tokenizer, x, 4, torch.device("cpu"))
    np.testing.assert_allclose(split.mse_time, ((x_hat - x) ** 2).mean(axis=(1, 2)), rtol=1e-5)
    assert split.x_hat.shape == (6, 3, 32) and split.stft_mag.shape[:2] == (6, 3)
