"""The Compare view: refusal across datasets, ordering by the A–B difference, keyboard stepping, the cache."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from explore_runs import claim_other_dataset, train_tiny_tokenizers
from PySide6.QtCore import Qt

from tsstudio.data import load_dataset
from tsstudio.gui.views.compare_view import CompareView
from tsstudio.store import RunFile
from tsstudio.store.models_io import load_tokenizer

WAIT_MS = 120000


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare-view")
    a, b = train_tiny_tokenizers(folder)
    other = claim_other_dataset(a, tmp_path_factory.mktemp("elsewhere") / "gunpoint-claim.h5")
    return a, b, other


@pytest.fixture(scope="module")
def errors_here(runs):
    """Per-series time-domain MSE of A and B on the CBF test split, computed here from the best weights."""
    x = torch.as_tensor(load_dataset("CBF").x_test, dtype=torch.float32)
    out = []
    for path in runs[:2]:
        with RunFile.open(path) as run:
            model, _ = load_tokenizer(run, "best")
        model.eval()
        with torch.no_grad():
            out.append(((model(x).x_hat[:, 0] - x) ** 2).mean(dim=1).double().numpy())
    return out[0], out[1], load_dataset("CBF").y_test


@pytest.fixture
def view(qtbot):
    v = CompareView()
    qtbot.addWidget(v)
    v.resize(1366, 768)
    yield v
    assert v.shutdown(60000)


def _compare(qtbot, view, a, b):
    with qtbot.waitSignal(view.shown, timeout=WAIT_MS):
        assert view.compare(a, b)
    qtbot.waitUntil(lambda: not view.service.busy, timeout=WAIT_MS)


def test_runs_on_different_datasets_are_refused_with_a_message_and_the_view_stays_usable(qtbot, view, runs):
    a, b, other = runs
    with qtbot.waitSignal(view.service.failed, timeout=WAIT_MS):
        assert view.compare(a, other)
    qtbot.waitUntil(lambda: not view.service.busy, timeout=WAIT_MS)
    text = view.message_text()
    assert text.startswith("Cannot compare ")
    for part in (str(a), str(other), "dataset CBF, length 128", "dataset GunPoint, length 150"):
        assert part in text
    assert "\n" not in text and "Traceback" not in text
    assert view.result is None and view.compare_button.isEnabled()
    _compare(qtbot, view, a, b)  # still usable
    assert view.result is not None and len(view.order()) == 900
    assert "900 test series of CBF" in view.message_text()


def test_sorting_by_the_difference_puts_the_largest_difference_first(qtbot, view, runs, errors_here):
    ea, eb, labels = errors_here
    _compare(qtbot, view, runs[0], runs[1])
    diff = np.abs(ea - eb)
    view.set_order("difference", "mse_time", None)
    order = view.order()
    assert order[0] == int(np.argmax(diff)) and view.current_series() == order[0]
    assert np.all(np.diff(diff[order]) <= 1e-5)  # non-increasing, up to float32 rounding of the errors
    assert view.series_table.item(0, 0).text() == str(order[0])
    assert f"Series {order[0]} " in view.time_caption.text()
    view.set_order("b")
    assert view.order()[0] == int(np.argmax(eb))
    view.set_order("difference", class_id=1)
    only_1 = view.order()
    assert set(only_1.tolist()) == set(np.flatnonzero(labels == 1).tolist())
    assert only_1[0] == int(np.flatnonzero(labels == 1)[np.argmax(diff[labels == 1])])
    assert view.series_table.rowCount() == len(only_1)


def test_keyboard_steps_through_the_listed_series(qtbot, view, runs):
    _compare(qtbot, view, runs[0], runs[1])
    order = view.order()
    view.setFocus()
    x = view.result.comparison.a.recon.x
    assert view.current_series() == order[0]
    with qtbot.waitSignal(view.seriesShown, timeout=2000) as shown:
        qtbot.keyClick(view, Qt.Key.Key_Down)
    assert shown.args == [int(order[1])] and view.current_series() == order[1]
    np.testing.assert_array_equal(view.shown_curves()["input"], x[order[1]])
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.current_series() == order[2]
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert view.current_series() == order[1]
    assert view.series_table.currentRow() == 1
    view.series_table.setFocus()  # the series list steps with the arrow keys too
    qtbot.keyClick(view.series_table, Qt.Key.Key_Down)
    assert view.current_series() == order[2]
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert view.current_series() == order[-1]


def test_the_worker_computes_once_and_stepping_is_served_from_its_result(qtbot, view, runs):
    a, b, _ = runs
    _compare(qtbot, view, a, b)
    assert view.service.requests == 1 and view.service.computations == 1 and not view.result.cached
    recon_b = view.result.comparison.b.recon
    for _ in range(25):
        i = view.step(1)
        np.testing.assert_array_equal(view.shown_curves()["b"], recon_b.x_hat[i])
        np.testing.assert_array_equal(view.tokens_b.tokens(), recon_b.tokens[i])
    assert view.service.requests == 1 and view.service.computations == 1
    _compare(qtbot, view, a, b)  # asking again is answered from the worker's cache
    assert view.result.cached and view.service.requests == 2 and view.service.computations == 1
    assert "(from the cache)" in view.message_text()
    st = b.stat()  # a run file that changed (e.g. trained further) is computed afresh
    os.utime(b, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    _compare(qtbot, view, a, b)
    assert not view.result.cached and view.service.computations == 2


def test_shared_levels_and_only_the_differing_configuration_keys(qtbot, view, runs):
    _compare(qtbot, view, runs[0], runs[1])
    i = view.current_series()
    comp = view.result.comparison
    high = max(comp.a.recon.stft_mag[i].max(), comp.a.recon.stft_mag_hat[i].max(), comp.b.recon.stft_mag_hat[i].max())
    for plot in (view.spec_input, view.spec_a, view.spec_b):
        assert plot.levels() == pytest.approx((0.0, float(high)))
    rows = view.config_difference_rows()
    keys = [r[0] for r in rows]
    assert keys == sorted(comp.config_difference)
    assert ("quantizer.codebook_size", "32", "16") in rows and ("trainer.seed", "1", "2") in rows
    assert ("preset", "regular", "vibcreg-slice") in rows
    assert not any(k.startswith(("data.", "encoder.")) for k in keys)  # the same in both runs


def test_the_run_pickers_list_the_workspace_finished_tokenizer_runs(qtbot, runs):
    from tsstudio.gui.controller import AppController

    controller = AppController(workspace=runs[0].parent)
    view = CompareView(controller)
    qtbot.addWidget(view)
    try:
        listed = view.picker_a.paths()
        assert listed == [str(runs[0].resolve()), str(runs[1].resolve())]
        assert view.picker_a.combo.itemText(view.picker_a.combo.count() - 1) == "Open file…"
        view.set_run_a(runs[1])
        assert view.picker_a.path() == str(runs[1].resolve())
    finally:
        assert view.shutdown(60000)


def test_the_worker_cache_keeps_the_most_recently_used_results(qapp):
    from tsstudio.gui.compare_worker import CACHE_ENTRIES, _Worker

    worker = _Worker()
    computed = []

    def ask(key):
        return worker._cached((key,), lambda: computed.append(key) or f"value {key}")

    for key in range(CACHE_ENTRIES):
        assert ask(key) == (f"value {key}", False)
    assert ask(0) == ("value 0", True)  # used again: now the most recent
    ask(CACHE_ENTRIES)  # one too many: the least recently used (1) goes
    assert ask(0)[1] and ask(2)[1] and not ask(1)[1]
    assert computed == [*range(CACHE_ENTRIES + 1), 1]


def test_the_runs_list_menu_opens_a_tokenizer_run_in_the_compare_tab(qtbot, runs):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from tsstudio.gui.controller import AppController
    from tsstudio.gui.main_window import MainWindow

    window = MainWindow(AppController(workspace=runs[0].parent))
    qtbot.addWidget(window)
    shown_menus = []

    def read_and_close_menu() -> None:
        menu = QApplication.activePopupWidget()
        shown_menus.append({action.text(): action for action in menu.actions()})
        menu.close()

    try:
        window.resize(1366, 768)
        window.show()
        qtbot.waitExposed(window)
        runs_view = window.runs_view
        runs_view.refresh()  # the scan runs on a pool thread
        qtbot.waitUntil(lambda: runs_view.model.row_of(runs[1]) >= 0, timeout=10_000)
        index = runs_view.proxy.mapFromSource(runs_view.model.index(runs_view.model.row_of(runs[1]), 0))
        QTimer.singleShot(100, read_and_close_menu)
        runs_view._context_menu(runs_view.table.visualRect(index).center())
        actions = shown_menus[-1]
        assert actions["Compare with…"].isEnabled() and actions["Codebook"].isEnabled()
        actions["Compare with…"].trigger()
        assert window.tabs.currentWidget() is window.compare_view
        assert window.compare_view.picker_a.path() == str(runs[1].resolve())
        assert not window.compare_view.service.busy  # run B is the user's to pick
        assert window.codebook_view.service is window.compare_view.service  # one worker: probes computed once
    finally:
        window.close()


def test_compare_then_codebook_on_one_service_computes_each_runs_probes_once(qtbot, runs):
    from tsstudio.gui.compare_worker import ExplorationService
    from tsstudio.gui.views.codebook_view import CodebookView
    from tsstudio.gui.widgets.legend_row import legend_clear_of_data

    a, b, _other = runs
    service = ExplorationService()
    compare, codebook = CompareView(service=service), CodebookView(service=service)
    for v in (compare, codebook):
        qtbot.addWidget(v)
        v.resize(1366, 768)
    compare.show()
    try:
        _compare(qtbot, compare, a, b)
        assert service.probe_computations == 2  # A's and B's features, each once
        probes = {"a": compare.result.comparison.a.probes, "b": compare.result.comparison.b.probes}
        assert set(probes["a"]) == {"svm_accuracy", "knn_accuracy"}
        # the legend sits above the time plot's data: it hides no part of curve B
        qtbot.wait(50)
        assert legend_clear_of_data(compare.time_plot.getPlotItem())
        codebook.show()
        with qtbot.waitSignal(service.projected, timeout=WAIT_MS):
            assert codebook.open_run(a)
        assert codebook.set_run_b(b)
        qtbot.waitUntil(lambda: "b" in codebook.projections and not service.busy, timeout=WAIT_MS)
        assert service.probe_computations == 2  # the Codebook reused them: no second fit
        for side in ("a", "b"):
            assert codebook.projections[side].probes == probes[side]
    finally:
        assert compare.shutdown(60000) and codebook.shutdown(60000)
