"""The Curves view on real runs: seed groups as mean and band, x by step or epoch, deleted files."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from exploration_runs import train_seed_grid
from PySide6.QtWidgets import QApplication, QMessageBox

from tsstudio.gui.views.curves_view import CurvesView
from tsstudio.store import RunFile

WAIT_MS = 30000


@pytest.fixture(scope="module")
def grid_runs(tmp_path_factory):
    return train_seed_grid(tmp_path_factory.mktemp("curves-view-runs"))


@pytest.fixture
def runs(grid_runs, tmp_path):
    return shutil.copytree(grid_runs, tmp_path / "ws")


@pytest.fixture
def view(qtbot, runs):
    v = CurvesView()
    qtbot.addWidget(v)
    v.resize(1366, 768)
    v.folder = runs
    with qtbot.waitSignal(v.indexedSignal, timeout=WAIT_MS):
        v.show()
    yield v
    assert v.shutdown(20000)


def curve(path, metric):
    with RunFile.open(path) as run:
        return run.metric(metric)


def tick(qtbot, view, keys, metric="loss"):
    view.set_metric(metric)
    view.run_list.set_checked(keys)

    def read() -> bool:
        c = view.curves
        return (not view.service.busy and c is not None and c.metric == metric
                and sorted(str(r.path) for g in c.groups for r in g) == sorted(view.checked_paths()))

    qtbot.waitUntil(read, timeout=WAIT_MS)


def test_grouping_draws_one_mean_line_and_one_min_max_band_per_seed_group(qtbot, view, runs):
    assert view.run_keys() == ["k16/k16-s1.h5", "k16/k16-s2.h5", "k8-s1.h5", "k8-s2.h5"]
    tick(qtbot, view, view.run_keys(), "loss")
    assert len(view.run_items) == 4 and not view.mean_items and not view.band_items
    assert "loss" in [view.metric_combo.itemText(i) for i in range(view.metric_combo.count())]
    view.set_grouping(True, "minmax")
    assert len(view.mean_items) == 2 and len(view.band_items) == 2 and not view.run_items
    expected = []
    for pair in (("k8-s1.h5", "k8-s2.h5"), ("k16/k16-s1.h5", "k16/k16-s2.h5")):
        (s1, _, v1), (s2, _, v2) = (curve(runs / p, "loss") for p in pair)
        assert np.array_equal(s1, s2)
        stacked = np.stack([v1, v2])
        expected.append((s1.astype(float), stacked.min(0), stacked.max(0), stacked.mean(0), stacked.std(0)))
    got = []
    for band, mean in zip(view.band_items, view.mean_items):
        (x_lo, lo), (x_hi, hi) = band.curves[0].getData(), band.curves[1].getData()
        x_mean, y_mean = mean.getData()
        assert np.array_equal(x_lo, x_mean) and np.array_equal(x_hi, x_mean)
        got.append((x_mean, lo, hi, y_mean))
    for x, lo, hi, mean, _std in expected:
        assert any(np.array_equal(x, g[0]) and np.allclose(lo, g[1]) and np.allclose(hi, g[2])
                   and np.allclose(mean, g[3]) for g in got)
    assert all(not np.allclose(g[1], g[2]) for g in got)  # two seeds really differ
    # the ± std band: mean ± the (population) std of the two seeds
    view.set_grouping(True, "std")
    for band in view.band_items:
        lo, hi = band.curves[0].getData()[1], band.curves[1].getData()[1]
        assert any(np.allclose(lo, m - s) and np.allclose(hi, m + s) for _x, _lo, _hi, m, s in expected)
    assert "2 seed groups" in view.message_text()


def test_x_by_epoch_instead_of_step_changes_the_x_data(qtbot, view, runs):
    tick(qtbot, view, ["k8-s1.h5"], "perplexity")
    steps, epochs, values = curve(runs / "k8-s1.h5", "perplexity")
    (item,) = view.run_items
    x, y = item.getData()
    assert np.array_equal(x, steps) and np.allclose(y, values)
    view.set_x("epoch")
    x, y = view.run_items[0].getData()
    assert np.allclose(x, epochs) and not np.allclose(x, steps) and np.allclose(y, values)
    assert view.plot.getPlotItem().getAxis("bottom").labelText == "epoch"
    view.set_grouping(True)
    x, _ = view.mean_items[0].getData()
    assert np.allclose(x, epochs)


def test_a_run_file_deleted_while_listed_disappears_without_an_error_dialog(qtbot, view, runs):
    tick(qtbot, view, view.run_keys(), "loss")
    assert len(view.run_items) == 4
    (runs / "k8-s2.h5").unlink()
    with qtbot.waitSignal(view.drawn, timeout=WAIT_MS):
        view.refresh()
    qtbot.waitUntil(lambda: not view.service.busy, timeout=WAIT_MS)
    assert "k8-s2.h5" not in view.run_keys() and len(view.run_keys()) == 3
    assert len(view.run_items) == 3
    assert [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()] == []
    assert "could not be read" not in view.message_text()


def test_the_results_tab_sends_a_rows_runs_to_the_curves_tab(qtbot, runs):
    from tsstudio.gui.controller import AppController
    from tsstudio.gui.main_window import MainWindow

    window = MainWindow(AppController(workspace=runs))
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    results = window.results_view
    with qtbot.waitSignal(results.indexedSignal, timeout=WAIT_MS):
        window.tabs.setCurrentWidget(results)
    row = results.row_of(**{"quantizer.codebook_size": 16})
    results.view.selectRow(results.proxy.mapFromSource(results.model.index(row, 0)).row())
    results.curves_button.click()
    assert window.tabs.currentWidget() is window.curves_view
    qtbot.waitUntil(lambda: window.curves_view.curves is not None and not window.curves_view.service.busy,
                    timeout=WAIT_MS)
    assert window.curves_view.run_list.checked() == ["k16/k16-s1.h5", "k16/k16-s2.h5"]
    assert len(window.curves_view.run_items) == 2
    window.close()


def test_the_legend_names_seed_groups_readably_with_swatches_above_the_curves(qtbot, view, runs):
    from tsstudio.gui.widgets.legend_row import legend_clear_of_data

    tick(qtbot, view, view.run_keys(), "loss")
    view.set_grouping(True, "minmax")
    qtbot.wait(50)
    entries = [(sample, label.text) for sample, label in view.legend.items]
    assert [text for _s, text in entries] == ["CBF · regular · codebook_size=16 (n=2)",
                                              "CBF · regular · codebook_size=8 (n=2)"]
    for (sample, _text), line in zip(entries, view.mean_items):
        assert sample.item is line and sample.isVisible()  # each entry shows its line's colour swatch
        assert sample.item.opts["pen"].color() == line.opts["pen"].color()
        assert sample.boundingRect().width() > 0
    assert view.legend.isVisible() and legend_clear_of_data(view.plot.getPlotItem())
    view.set_grouping(False)
    qtbot.wait(50)  # the plot's layout settles on the event loop
    assert [label.text for _s, label in view.legend.items] == ["k16-s1", "k16-s2", "k8-s1", "k8-s2"]
    assert legend_clear_of_data(view.plot.getPlotItem())  # four entries in two rows: the row grows with them
    view.run_list.set_checked([])
    qtbot.waitUntil(lambda: view.curves is None, timeout=WAIT_MS)
    assert not view.legend.isVisible() and view.plot.getPlotItem().layout.rowMinimumHeight(0) == 0
