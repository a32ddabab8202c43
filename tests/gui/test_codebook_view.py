"""The Codebook explorer: usage on whole splits, highlighting a code's cells, projections with probe accuracies."""

from __future__ import annotations

import h5py
import numpy as np
import pyqtgraph as pg
import pytest
import torch
from explore_runs import train_tiny_tokenizers
from PySide6.QtGui import QColor

from tsstudio.data import load_dataset
from tsstudio.gui.theme import PLOT_COLORS
from tsstudio.gui.views.codebook_view import CodebookView
from tsstudio.store import RunFile
from tsstudio.store.models_io import load_tokenizer
from tsstudio.store.run_compare import compare_runs

WAIT_MS = 120000


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return train_tiny_tokenizers(tmp_path_factory.mktemp("codebook-view"))


@pytest.fixture(scope="module")
def tokens_here(runs):
    """Run A's token grids of the CBF train and test splits, from its best weights, computed here."""
    dataset = load_dataset("CBF")
    with RunFile.open(runs[0]) as run:
        model, _ = load_tokenizer(run, "best")
    model.eval()
    with torch.no_grad():
        train = model(torch.as_tensor(dataset.x_train, dtype=torch.float32)).indices.numpy()
        test = model(torch.as_tensor(dataset.x_test, dtype=torch.float32)).indices.numpy()
    return train, test


@pytest.fixture
def view(qtbot):
    v = CodebookView()
    qtbot.addWidget(v)
    v.resize(1366, 768)
    yield v
    assert v.shutdown(60000)


def _open(qtbot, view, path):
    with qtbot.waitSignal(view.shown, timeout=WAIT_MS):
        assert view.open_run(path)
    qtbot.waitUntil(lambda: not view.service.busy, timeout=WAIT_MS)


def test_usage_counts_whole_splits_and_marks_dead_codes(qtbot, view, runs, tokens_here):
    train, test = tokens_here
    _open(qtbot, view, runs[0])
    rep = view.result.report
    counts_train, counts_test = np.bincount(train.ravel(), minlength=32), np.bincount(test.ravel(), minlength=32)
    np.testing.assert_array_equal(rep.train.counts, counts_train)
    np.testing.assert_array_equal(rep.test.counts, counts_test)
    dead = np.flatnonzero(counts_train + counts_test == 0)
    assert len(dead) > 0  # a 4-step run leaves most codes unused
    x, y = view.dead_marks.getData()
    assert sorted(x.astype(int).tolist()) == dead.tolist() and np.all(y == 0)
    heights = view.bars_test.opts["height"]
    np.testing.assert_allclose(heights, counts_test / counts_test.sum())
    p = counts_test / counts_test.sum()
    perplexity = float(np.exp(-(p[p > 0] * np.log(p[p > 0])).sum()))
    assert f"test {perplexity:.1f} of 32" in view.usage_caption.text()
    assert f"dead {len(dead)} " in view.usage_caption.text()
    assert view.similarity_image.image.shape == (32, 32)


def test_selecting_a_code_highlights_exactly_the_cells_holding_it(qtbot, view, runs, tokens_here):
    _, test = tokens_here
    _open(qtbot, view, runs[0])
    counts = np.bincount(test.ravel(), minlength=32)
    code = int(np.argsort(counts)[-2])  # a code in use, but not everywhere
    with qtbot.waitSignal(view.codeSelected, timeout=2000):
        view.select_code(code)
    per_series = (test.reshape(len(test), -1) == code).sum(axis=1)
    top = view.listed_series()
    assert top[0] == view.current_series() and per_series[top[0]] == per_series.max()
    assert np.all(np.diff(per_series[top]) <= 0) and np.all(per_series[top] > 0)
    for i in (top[0], top[-1], int(np.argmin(per_series))):
        view.select_series(i)
        expected = np.argwhere(test[i] == code)
        np.testing.assert_array_equal(view.token_grid.highlighted_cells(), expected)
        assert len(view.spectrogram.outlined_regions()) == len(expected)
    dim = view.token_grid.dim.image  # every other cell is dimmed, the code's are clear
    assert np.array_equal(dim[..., 3] == 0, test[i] == code)
    view.select_code(int(np.argmax(counts == 0)))  # a dead code: nothing highlighted, nobody listed
    assert len(view.token_grid.highlighted_cells()) == 0 and view.listed_series() == []
    assert "dead" in view.code_info.text()


def test_projections_of_a_and_b_carry_both_probe_accuracies(qtbot, view, runs):
    a, b = runs
    _open(qtbot, view, a)
    with qtbot.waitSignal(view.projected, timeout=WAIT_MS, check_params_cb=lambda side: side == "b"):
        assert view.set_run_b(b)
    qtbot.waitUntil(lambda: not view.service.busy, timeout=WAIT_MS)
    expected = compare_runs(a, b, device="cpu")
    for side, run_side in (("a", expected.a), ("b", expected.b)):
        shown = view.projections[side]
        assert shown.points.shape == (900, 2) and shown.method == "pca"
        assert shown.probes == pytest.approx(run_side.probes)
        caption = view.projection_captions[side].text()
        assert f"SVM {run_side.probes['svm_accuracy']:.3f}" in caption
        assert f"KNN {run_side.probes['knn_accuracy']:.3f}" in caption
        n_points = sum(len(item.data) for item in view._class_scatter[side].values())
        assert n_points == 900


def test_a_file_that_is_not_a_tokenizer_run_is_refused_with_one_line(qtbot, view, runs, tmp_path):
    not_run = tmp_path / "x.h5"
    with h5py.File(not_run, "w") as f:
        f.attrs["kind"] = "generation"
    with qtbot.waitSignal(view.service.failed, timeout=WAIT_MS):
        assert view.open_run(not_run)
    qtbot.waitUntil(lambda: not view.service.busy, timeout=WAIT_MS)
    assert view.message_text().startswith("Cannot explore the codebook: ")
    assert "\n" not in view.message_text() and view.result is None
    assert not view.open_run(tmp_path / "missing.h5") and "no such file" in view.message_text()
    _open(qtbot, view, runs[1])  # still usable
    assert len(view.result.report.codebook) == 16


def test_the_main_window_has_compare_and_codebook_tabs(qtbot, runs):
    from tsstudio.gui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    try:
        tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
        assert "Compare" in tabs and "Codebook" in tabs
        window.open_in_compare(str(runs[0]))
        assert window.tabs.currentWidget() is window.compare_view
        assert window.compare_view.picker_a.path() == str(runs[0].resolve())
        with qtbot.waitSignal(window.codebook_view.shown, timeout=WAIT_MS):
            assert window.open_in_codebook(str(runs[0]))
        assert window.tabs.currentWidget() is window.codebook_view
        qtbot.waitUntil(lambda: not window.codebook_view.service.busy, timeout=WAIT_MS)
    finally:
        assert window.codebook_view.shutdown(60000) and window.compare_view.shutdown(60000)
        window.shutdown(5000)


def test_the_light_theme_reaches_axes_legends_and_colour_bars(qtbot, view):
    view.set_theme("light")
    fg, bg = QColor(PLOT_COLORS["light"]["foreground"]), QColor(PLOT_COLORS["light"]["background"])
    for bar in (view.similarity_bar, view.spectrogram.colorbar):
        assert bar.axis.textPen().color() == fg
    for widget in view.plot_widgets():
        assert widget.backgroundBrush().color() == bg
        assert widget.getPlotItem().getAxis("bottom").textPen().color() == fg
    labels = [label for _sample, label in view.usage_plot.getPlotItem().legend.items]
    assert [label.text for label in labels] == ["train", "test", "dead"]
    assert all(pg.mkColor(label.opts["color"]) == fg for label in labels)


def test_tsne_on_request_reuses_the_features_and_pca_comes_back_from_the_cache(qtbot, view, runs):
    _open(qtbot, view, runs[0])
    qtbot.waitUntil(lambda: "a" in view.projections, timeout=WAIT_MS)
    pca = view.projections["a"].points.copy()
    before = view.service.computations  # codebook report, features, PCA
    with qtbot.waitSignal(view.projected, timeout=WAIT_MS):
        view.set_method("tsne")
    qtbot.waitUntil(lambda: not view.service.busy, timeout=WAIT_MS)
    shown = view.projections["a"]
    assert shown.method == "tsne" and shown.points.shape == (900, 2) and not shown.cached
    assert view.service.computations == before + 1  # only the embedding: the features were cached
    assert " · t-SNE · SVM " in view.projection_captions["a"].text()
    with qtbot.waitSignal(view.projected, timeout=WAIT_MS):
        view.set_method("pca")
    qtbot.waitUntil(lambda: not view.service.busy, timeout=WAIT_MS)
    assert view.projections["a"].cached and view.service.computations == before + 1
    np.testing.assert_array_equal(view.projections["a"].points, pca)
