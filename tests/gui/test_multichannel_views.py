"""Multichannel series in the app: stacked channels, channel labels and a spectrogram channel chooser."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_API", "pyside6")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from stubs import StubController  # noqa: E402

from tsstudio.gui.datasets_view import DatasetsView  # noqa: E402
from tsstudio.models.stft import stft_magnitude  # noqa: E402

SHOTS = os.environ.get("TSSTUDIO_SHOTS", "")  # a folder: also save screenshots of both themes there


def write_three_channels(root: Path, name: str = "Sines3") -> Path:
    rng = np.random.default_rng(0)
    t = np.arange(64) / 64

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n) % 2
        x = np.stack([[(c + 1) * np.sin(2 * np.pi * (1 + k) * (t + c / 3)) + 5 * c for c in range(3)] for k in y])
        return x + 0.05 * rng.standard_normal(x.shape), y

    (x_train, y_train), (x_test, y_test) = split(16), split(8)
    path = root / f"{name}.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def _shoot(widget, name: str) -> None:  # noqa: ANN001
    if not SHOTS:
        return
    from tsstudio.gui.theme import apply_theme

    for theme in ("light", "dark"):
        apply_theme(theme)
        widget.set_theme(theme)
        widget.resize(1366, 768)
        widget.grab().save(str(Path(SHOTS) / f"{name}-{theme}.png"))


def test_data_tab_stacks_channels_and_chooses_the_spectrogram_channel(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    root = tmp_path / "own"
    root.mkdir()
    write_three_channels(root)
    view = DatasetsView(StubController(dirs=[str(root)], dataset_name="Sines3"))
    qtbot.addWidget(view)
    view.resize(1366, 768)
    view.show()
    qtbot.waitUntil(lambda: not view.is_busy() and (d := view.current_dataset()) is not None and d.name == "Sines3",
                    timeout=30000)
    assert view.tree.headerItem().text(5) == "Ch" and view._item("Sines3").text(5) == "3"
    assert view._item("CBF").text(5) == "1"
    assert view.series_item.getAxis("left").labelText == "channel"
    assert view.series_curves.count() == 8 * 3  # every shown test series, one curve per channel
    ticks = view.series_item.getAxis("left")._tickLevels
    assert [label for _, label in ticks[0]] == ["ch 1", "ch 2", "ch 3"]
    curves = [view.series_curves.data(i) for i in range(3)]  # series 0's channels, top to bottom
    assert curves[0].min() > curves[1].max() > curves[1].min() > curves[2].max()  # stacked, never overlapping
    ys = np.asarray(view.selected_curve.yData)
    assert np.isnan(ys).sum() == 3 and len(ys) == 3 * 65  # the highlighted series: three traces in one item
    assert view.channel_chooser.isVisible() and view.channel_chooser.count() == 3
    view.channel_chooser.setCurrentIndex(2)
    series = view.current_dataset().x_test[view.selected_index()]
    np.testing.assert_allclose(view.spectrogram.image_data(), stft_magnitude(series[2], 8, 2), rtol=1e-6)
    assert "channel 3" in view.spectrogram.plot_item.titleLabel.text
    _shoot(view, "data-3ch")
    view.load("CBF")  # back to univariate: plain value axis, no chooser
    qtbot.waitUntil(lambda: not view.is_busy() and view.current_dataset().name == "CBF", timeout=30000)
    assert not view.channel_chooser.isVisible() and view.series_curves.count() == 10
    assert view.series_item.getAxis("left")._tickLevels is None


@pytest.fixture
def three_channel_run(tmp_path: Path) -> Path:
    from tsstudio.config import apply_overrides, load_preset
    from tsstudio.sweep.runner import train_run

    root = tmp_path / "data"
    root.mkdir()
    write_three_channels(root)
    config = apply_overrides(load_preset("regular"), [
        "data.dataset=Sines3", "trainer.device=cpu", "trainer.precision=fp32", "trainer.batch_size=8",
        "encoder.dim=8", "decoder.dim=8", "encoder.n_resnet_blocks=1", "decoder.n_resnet_blocks=1",
        "quantizer.codebook_size=8", "trainer.max_steps=4", "trainer.snapshot_every_steps=2",
        "probes.at_start=false", "probes.every_epochs=0"])
    path = tmp_path / "workspace" / "sines3.h5"
    assert train_run(config, path, data_dir=str(root)).status == "finished"
    return path


def test_training_view_draws_stacked_reconstructions(qtbot, workspace: Path, three_channel_run: Path) -> None:  # noqa: ANN001
    from tsstudio.gui.controller import AppController
    from tsstudio.gui.training_view import TrainingView

    view = TrainingView(AppController(workspace))
    qtbot.addWidget(view)
    view.resize(1366, 768)
    view.show()
    view.show_run(three_channel_run)
    qtbot.waitUntil(lambda: view.source is not None and view.source.data.status == "finished"
                    and view.source.data.recon is not None, timeout=20_000)
    view.redraw()
    d = view.source.data
    assert d.inputs.shape[1:] == (3, 64) and d.recon.shape[1:] == (3, 64)
    ys = np.asarray(view.input_curve.yData)
    assert len(ys) == 3 * 65 and np.isnan(ys).sum() == 3
    assert np.isnan(np.asarray(view.recon_curve.yData)).sum() == 3
    ticks = view.recon_plot.getPlotItem().getAxis("left")._tickLevels
    assert [label for _, label in ticks[0]] == ["ch 1", "ch 2", "ch 3"]
    assert view.channel_chooser.isVisible() and view.channel_chooser.count() == 3
    view.channel_chooser.setCurrentIndex(1)
    i = view.series_spin.value()
    np.testing.assert_allclose(view.spec_images[0].image, stft_magnitude(d.inputs[i][1], d.n_fft, d.hop_length),
                               rtol=1e-6)
    assert "(class " in view.recon_plot.getPlotItem().titleLabel.text
    assert [plot.titleLabel.text for plot in view.spec_plots] == ["input |STFT|, ch 2", "recon. |STFT|, ch 2"]
    _shoot(view, "training-3ch")


@pytest.fixture(scope="module")
def unlabelled_prior(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny tokenizer and unconditional prior on a dataset without labels: (tokenizer run, prior run)."""
    from sampler_runs import FAST, TINY_PRIOR, TINY_TOKENIZER

    from tsstudio.cli.main import main

    folder = tmp_path_factory.mktemp("unlabelled")
    rng = np.random.default_rng(1)
    np.savez(folder / "Free.npz", x_train=rng.normal(size=(16, 48)), x_test=rng.normal(size=(6, 48)))
    tok, prior = folder / "tok.h5", folder / "prior.h5"
    data = ["--data-dir", str(folder)]
    assert main(["train", "--dataset", "Free", *data, "--max-steps", "4", "--out", str(tok), *FAST, *TINY_TOKENIZER]) == 0
    assert main(["prior", "--tokenizer", str(tok), "--max-steps", "3", "--out", str(prior), *FAST, *TINY_PRIOR]) == 0
    return tok, prior


def test_training_view_names_no_class_for_unlabelled_series(qtbot, workspace: Path, unlabelled_prior) -> None:  # noqa: ANN001
    from tsstudio.gui.controller import AppController
    from tsstudio.gui.training_view import TrainingView

    view = TrainingView(AppController(workspace))
    qtbot.addWidget(view)
    view.show_run(unlabelled_prior[0])
    qtbot.waitUntil(lambda: view.source is not None and view.source.data.recon is not None, timeout=20_000)
    view.redraw()
    title = view.recon_plot.getPlotItem().titleLabel.text
    assert title.startswith("Series 0 at step") and "class" not in title
    assert not view.channel_chooser.isVisible()


def test_sampler_disables_class_and_guidance_for_an_unconditional_prior(qtbot, unlabelled_prior) -> None:  # noqa: ANN001
    from tsstudio.gui.views.sampler_view import SamplerView

    view = SamplerView()
    qtbot.addWidget(view)
    try:
        with qtbot.waitSignal(view.service.loaded, timeout=60_000):
            assert view.load_prior(unlabelled_prior[1])
        qtbot.waitUntil(lambda: not view.service.busy, timeout=60_000)
        assert not view.class_combo.isEnabled() and not view.guidance.isEnabled()
        assert view.class_combo.currentText() == "unconditional" and view.guidance.value() == 1.0
        for widget in (view.class_combo, view.guidance):
            assert widget.toolTip() == ("Guidance does not apply: the prior was trained without class labels "
                                        "and samples unconditionally.")
        with qtbot.waitSignal(view.shown, timeout=60_000):
            assert view.generate(n=3, steps=2)
        qtbot.waitUntil(lambda: not view.service.busy, timeout=60_000)
        assert view.result.generations.classes.tolist() == [-1, -1, -1]
        assert view.nearest_caption.text().startswith("Nearest real: train #") and "class" not in view.nearest_caption.text()
        view._forget_prior()  # no prior: the controls are back to their usual state
        assert view.class_combo.isEnabled() and "class to sample" in view.class_combo.toolTip()
    finally:
        assert view.shutdown(20000)


@pytest.fixture(scope="module")
def three_channel_prior(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sampler_runs import FAST, TINY_PRIOR, TINY_TOKENIZER

    from tsstudio.cli.main import main

    folder = tmp_path_factory.mktemp("three")
    write_three_channels(folder)
    tok, prior = folder / "tok.h5", folder / "prior.h5"
    data = ["--data-dir", str(folder)]
    assert main(["train", "--dataset", "Sines3", *data, "--max-steps", "4", "--out", str(tok), *FAST,
                 *TINY_TOKENIZER]) == 0
    assert main(["prior", "--tokenizer", str(tok), "--max-steps", "3", "--out", str(prior), *FAST, *TINY_PRIOR]) == 0
    return prior


def test_sampler_draws_multichannel_generations(qtbot, three_channel_prior: Path) -> None:  # noqa: ANN001
    from tsstudio.gui.views.sampler_view import SamplerView

    view = SamplerView()
    qtbot.addWidget(view)
    view.resize(1366, 768)
    try:
        with qtbot.waitSignal(view.service.loaded, timeout=60_000):
            assert view.load_prior(three_channel_prior)
        qtbot.waitUntil(lambda: not view.service.busy, timeout=60_000)
        assert view.class_combo.isEnabled() and view.guidance.isEnabled()
        with qtbot.waitSignal(view.shown, timeout=60_000):
            assert view.generate("1", n=4, steps=3)
        qtbot.waitUntil(lambda: not view.service.busy, timeout=60_000)
        gen = view.result.generations
        assert gen.series.shape == (4, 3, 64) and view.grid.count() == 4
        assert view.result.nearest and view.result.nearest[0].series.shape == (3, 64)
        for curve in (view.nearest_gen, view.nearest_real, view.step_final):
            assert np.isnan(np.asarray(curve.yData)).sum() == 3  # three stacked channels in one trace
        np.testing.assert_allclose(view.spectrogram.image_data(), stft_magnitude(gen.series[0][0], 8, 2), rtol=1e-5)
        view.set_step(2)
        assert np.isnan(np.asarray(view.step_curve.yData)).sum() == 3
        for plot in (view.nearest_plot, view.step_plot):
            assert [label for _, label in plot.getPlotItem().getAxis("left")._tickLevels[0]] == ["ch 1", "ch 2", "ch 3"]
    finally:
        assert view.shutdown(20000)


def test_compare_view_stacks_the_channels_of_both_reconstructions(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    from sampler_runs import FAST, TINY_TOKENIZER

    from tsstudio.cli.main import main
    from tsstudio.gui.views.compare_view import CompareView

    write_three_channels(tmp_path)
    runs = [tmp_path / "a.h5", tmp_path / "b.h5"]
    for seed, path in enumerate(runs, start=1):
        assert main(["train", "--dataset", "Sines3", "--data-dir", str(tmp_path), "--max-steps", "3", "--seed",
                     str(seed), "--out", str(path), *FAST, *TINY_TOKENIZER]) == 0
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(1366, 768)
    try:
        with qtbot.waitSignal(view.shown, timeout=60_000):
            assert view.compare(*runs)
        qtbot.waitUntil(lambda: not view.service.busy, timeout=60_000)
        recon = view.result.comparison.a.recon
        assert recon.x.shape == recon.x_hat.shape == (8, 3, 64) and recon.stft_mag.shape[1] == 3
        for name, curve in view.shown_curves().items():
            assert np.isnan(curve).sum() == 3, name  # three stacked channels per trace
        np.testing.assert_allclose(view.spec_input.image_data(), recon.stft_mag[view.current_series()][0])
        ticks = view.time_plot.getPlotItem().getAxis("left")._tickLevels
        assert [label for _, label in ticks[0]] == ["ch 1", "ch 2", "ch 3"]
    finally:
        assert view.shutdown(60_000)
