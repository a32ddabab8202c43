"""The Sampler view: sampling a class, the decoding replay, refusals, and generation files."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from sampler_runs import train_tiny_prior

from tsstudio.eval.sampling_explore import decoding_schedule
from tsstudio.gui.views.sampler_view import SamplerView
from tsstudio.store.exports import read_generations, sample_prior

WAIT_MS = 60000


@pytest.fixture(scope="module")
def prior_run(tmp_path_factory):
    return train_tiny_prior(tmp_path_factory.mktemp("sampler-view"))


@pytest.fixture
def view(qtbot):
    v = SamplerView()
    qtbot.addWidget(v)
    v.resize(1366, 768)
    yield v
    assert v.shutdown(20000)


def _load(qtbot, view, path):
    with qtbot.waitSignal(view.service.loaded, timeout=WAIT_MS):
        assert view.load_prior(path)
    qtbot.waitUntil(lambda: not view.service.busy, timeout=WAIT_MS)


def _generate(qtbot, view, *args, **kwargs):
    with qtbot.waitSignal(view.shown, timeout=WAIT_MS):
        assert view.generate(*args, **kwargs)
    qtbot.waitUntil(lambda: not view.service.busy, timeout=WAIT_MS)


def test_sampling_shows_n_series_of_the_class_and_the_slider_follows_the_schedule(qtbot, view, prior_run):
    _load(qtbot, view, prior_run)
    assert [view.class_combo.itemText(i) for i in range(view.class_combo.count())] == [
        "unconditional", "class 0", "class 1", "class 2"]
    _generate(qtbot, view, "2", n=7, steps=6, seed=5)
    gen = view.result.generations
    assert view.grid.count() == 7 and gen.series.shape == (7, 128)
    assert view.grid.classes().tolist() == [2] * 7 and gen.settings["class"] == 2
    assert view.class_combo.currentText() == "class 2"
    # the same tokens as the CLI path with the same settings
    cli = sample_prior(prior_run, 7, 2, steps=6, seed=5)
    assert np.array_equal(gen.tokens, cli.tokens)
    n_tokens = gen.tokens[0].size
    schedule = decoding_schedule(6, n_tokens)
    assert view.total_steps() == 6 and view.current_step() == 6 and view.masked_count() == 0
    for k in (1, 3, 5, 6):
        view.set_step(k)
        assert view.masked_count() == schedule[k - 1]
        assert f"{schedule[k - 1]} of {n_tokens} masked" in view.step_label.text()
    # the replay's series at a step is decoded on the worker for the selected generation
    view.grid.select(4)
    qtbot.waitUntil(lambda: 4 in view._step_series, timeout=WAIT_MS)
    view.set_step(2)
    assert view.step_curve.yData is not None and len(view.step_curve.yData) == 128
    # nearest real series of the same class, with its distance in the title
    near = view.result.nearest[4]
    assert near.class_id == 2 and f"d = {near.distance:.3f}" in view.nearest_caption.text()
    assert view.result.plane.shape == (7, 2) and len(view.pca_real.data) == 900


def test_play_replays_every_step(qtbot, view, prior_run):
    _load(qtbot, view, prior_run)
    _generate(qtbot, view, None, n=3, steps=4)
    assert view.result.generations.settings["class"] == -1 and view.grid.classes().tolist() == [-1] * 3
    seen = []
    view.step_slider.valueChanged.connect(lambda _v: seen.append(view.masked_count()))
    view.play_button.setChecked(True)
    qtbot.waitUntil(lambda: not view.play_button.isChecked(), timeout=10000)
    assert seen == decoding_schedule(4, view.result.generations.tokens[0].size).tolist()


def test_a_class_the_dataset_lacks_is_refused(qtbot, view, prior_run):
    _load(qtbot, view, prior_run)
    assert not view.generate("7")
    assert view.message_text() == "Cannot sample: class '7': CBF has no such class (its classes: 0, 1, 2)"
    assert view.result is None and not view.service.busy
    _generate(qtbot, view, "0", n=2)  # still usable
    assert view.grid.count() == 2


def test_files_that_are_not_prior_runs_or_generations_are_refused(qtbot, view, prior_run, tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.attrs["kind"] = "tokenizer"
    assert not view.load_prior(other)
    assert view.message_text() == f"{other}: not a prior run (expected a run file written by `tsstudio prior` or the app)"
    assert not view.open_generations(prior_run)
    assert "not a generation file" in view.message_text()
    text = tmp_path / "x.h5"
    text.write_text("not hdf5")
    assert not view.open_path(text) and "not a prior run" in view.message_text()
    assert not view.generate() and view.message_text() == "Load a prior run first."


def test_saved_generations_reopen_in_the_sampler(qtbot, view, prior_run, tmp_path):
    _load(qtbot, view, prior_run)
    _generate(qtbot, view, "1", n=5, steps=5, seed=3, guidance=2.0)
    shown = view.result.generations
    out = tmp_path / "gen.h5"
    with qtbot.waitSignal(view.service.saved, timeout=WAIT_MS):
        assert view.save_generations(out)
    qtbot.waitUntil(lambda: not view.service.busy, timeout=WAIT_MS)
    saved = read_generations(out)
    assert np.array_equal(saved.tokens, shown.tokens) and np.allclose(saved.series, shown.series)
    assert saved.settings == shown.settings and saved.settings["guidance_scale"] == 2.0
    assert saved.step_tokens.shape == (5, 5, *shown.tokens.shape[1:]) and saved.step_series.shape == (5, 5, 128)
    # the same file format as `tsstudio sample --record-steps`
    cli = sample_prior(prior_run, 5, 1, steps=5, seed=3, guidance=2.0, record_steps=True)
    np.testing.assert_allclose(saved.step_series, cli.step_series, atol=1e-5)

    fresh = SamplerView()
    qtbot.addWidget(fresh)
    try:
        with qtbot.waitSignal(fresh.shown, timeout=WAIT_MS):
            assert fresh.open_path(out)
        qtbot.waitUntil(lambda: not fresh.service.busy, timeout=WAIT_MS)
        assert fresh.grid.count() == 5 and fresh.grid.classes().tolist() == [1] * 5
        assert fresh.info is not None and fresh.info.dataset == "CBF"  # its prior run was loaded too
        assert fresh.result.source == str(out.resolve()) and "from gen.h5" in fresh.timing.text()
        fresh.set_step(2)
        assert fresh.masked_count() == decoding_schedule(5, shown.tokens[0].size)[1]
        assert np.allclose(fresh.step_curve.yData, saved.step_series[1, 0])
    finally:
        assert fresh.shutdown(20000)


def test_the_main_window_has_a_sampler_tab_that_opens_generation_files(qtbot, prior_run, tmp_path):
    from tsstudio.gui.main_window import MainWindow

    out = tmp_path / "g.h5"
    from tsstudio.cli.main import main

    assert main(["sample", str(prior_run), "--n", "3", "--class", "0", "--out", str(out)]) == 0
    window = MainWindow()
    qtbot.addWidget(window)
    try:
        assert [window.tabs.tabText(i) for i in range(window.tabs.count())][-1] == "Sampler"
        with qtbot.waitSignal(window.sampler_view.shown, timeout=WAIT_MS):
            assert window.open_in_sampler(str(out))
        assert window.tabs.currentWidget() is window.sampler_view
        assert window.sampler_view.grid.count() == 3
        assert window.sampler_view.step_label.text() == "decoding steps were not recorded"
        qtbot.waitUntil(lambda: not window.sampler_view.service.busy, timeout=WAIT_MS)
    finally:
        window.close()  # closing the window stops the sampler's thread (checked by no_leaked_threads)


def test_a_prior_run_the_worker_cannot_load_gives_one_message_and_the_view_stays_usable(qtbot, view, prior_run, tmp_path):
    broken = tmp_path / "broken.h5"
    with h5py.File(broken, "w") as f:
        f.attrs["kind"] = "prior"
    _load(qtbot, view, prior_run)
    with qtbot.waitSignal(view.service.failed, timeout=WAIT_MS):
        assert view.load_prior(broken)
    qtbot.waitUntil(lambda: not view.service.busy, timeout=WAIT_MS)
    text = view.message_text()
    assert text.startswith(f"Cannot load the prior run: {broken}") and "\n" not in text and "Traceback" not in text
    assert view.info is None and not view.generate_button.isEnabled()  # the earlier prior is not used silently
    assert not view.generate() and view.message_text() == "Load a prior run first."
    _load(qtbot, view, prior_run)
    _generate(qtbot, view, "1", n=2)
    assert view.grid.count() == 2


def test_a_generation_file_whose_prior_run_is_gone_still_shows(qtbot, view, prior_run, tmp_path):
    from tsstudio.store.exports import write_generations

    gen = sample_prior(prior_run, 4, 0, steps=3, record_steps=True)
    gen.settings["prior_run"] = str(tmp_path / "moved-away.h5")
    out = write_generations(tmp_path / "orphan.h5", gen, 32)
    _load(qtbot, view, prior_run)  # a prior from before must not be taken for this file's
    with qtbot.waitSignal(view.shown, timeout=WAIT_MS):
        assert view.open_generations(out)
    qtbot.waitUntil(lambda: not view.service.busy, timeout=WAIT_MS)
    assert view.grid.count() == 4 and view.info is None and view.result.nearest == ()
    assert "moved-away.h5 is not available" in view.message_text()
    assert not view.generate_button.isEnabled() and len(view.pca_real.data) == 0
    view.set_step(2)  # the saved steps still replay
    assert view.masked_count() == decoding_schedule(3, gen.tokens[0].size)[1]


def test_token_grid_hover_names_the_code_and_small_multiples_select_by_cell(qtbot):
    from tsstudio.gui.widgets.series_grid import SeriesGrid, grid_shape
    from tsstudio.gui.widgets.token_grid import TokenGridPlot

    tokens = TokenGridPlot()
    qtbot.addWidget(tokens)
    tokens.set_tokens(np.array([[3, -1, 7], [0, 12, -1]]))
    assert tokens.masked_count() == 2
    assert tokens.describe(2.2, 0.1) == "frequency 0, time 2: code 7"
    assert tokens.describe(1, 0) == "frequency 0, time 1: masked"
    assert tokens.describe(1, 1) == "frequency 1, time 1: code 12" and tokens.describe(5, 0) == ""
    grid = SeriesGrid()
    qtbot.addWidget(grid)
    assert grid_shape(7) == (2, 4) and grid_shape(1) == (1, 1) and grid_shape(0) == (0, 0)
    grid.set_series(np.random.default_rng(0).normal(size=(7, 20)), np.array([0, 0, 1, 1, 2, 2, -1]))
    assert grid.cell_at(0.5, -0.5) == 0 and grid.cell_at(1.5, -1.5) == 5 and grid.cell_at(3.5, -1.5) == -1
    with qtbot.waitSignal(grid.selected) as blocker:
        grid.select(5)
    assert blocker.args == [5] and grid.current() == 5
    assert len(grid.legend.items) == 4  # three classes and unconditional


@pytest.mark.parametrize(("preset", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_the_app_entry_lets_idle_openmp_threads_sleep_before_torch_loads(preset, expected):
    import os
    import subprocess
    import sys

    code = (
        "import os, sys\n"
        "import tsstudio.cli.main\n"
        "from tsstudio.gui.app import quiet_openmp\n"
        "assert 'torch' not in sys.modules, 'torch loaded before the OpenMP policy could be set'\n"
        "print(quiet_openmp())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if preset:
        env["OMP_WAIT_POLICY"] = preset
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expected


def test_generate_returns_at_once_and_refuses_a_second_request_while_the_worker_samples(qtbot, view, prior_run):
    _load(qtbot, view, prior_run)
    with qtbot.waitSignal(view.shown, timeout=WAIT_MS):
        assert view.generate("0", n=256, steps=8)
        assert view.result is None and view.service.busy  # the request is on the worker, not done here
        assert not view.generate_button.isEnabled() and view.generate_button.text() == "Generating…"
        assert not view.generate("0") and view.message_text() == "Still working on the last request."
    qtbot.waitUntil(lambda: not view.service.busy, timeout=WAIT_MS)
    assert view.grid.count() == 256 and view.generate_button.isEnabled()
