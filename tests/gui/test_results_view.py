"""The Results view on real runs: seed grouping, filters, best marks, baseline, copy/export, deleted files, workspace."""

from __future__ import annotations

import csv
import io
import shutil
import statistics

import pytest
from exploration_runs import run_name, train_seed_grid
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from tsstudio.gui.views.results_view import BEST_ROLE, DIFF_ROLE, N_ROLE, STD_ROLE, VALUE_ROLE, ResultsView
from tsstudio.store import RunFile
from tsstudio.store.results_filters import RowFilter

WAIT_MS = 30000


@pytest.fixture(scope="module")
def grid_runs(tmp_path_factory):
    return train_seed_grid(tmp_path_factory.mktemp("results-view-runs"))


@pytest.fixture
def runs(grid_runs, tmp_path):
    """A fresh copy of the 4 runs (tests delete files and write the index)."""
    return shutil.copytree(grid_runs, tmp_path / "ws")


def finals(folder):
    """{run name: (codebook size, last value of each metric)} read straight from the run files."""
    out = {}
    for path in sorted(folder.rglob("*.h5")):
        with RunFile.open(path) as run:
            out[path.stem] = (run.config["quantizer"]["codebook_size"], run.headline())
    return out


@pytest.fixture
def view(qtbot):
    v = ResultsView()
    qtbot.addWidget(v)
    v.resize(1366, 768)
    yield v
    assert v.shutdown(20000)


def index(qtbot, view, folder):
    view.folder = folder
    with qtbot.waitSignal(view.indexedSignal, timeout=WAIT_MS):
        assert view.refresh()
    qtbot.waitUntil(lambda: not view.service.busy, timeout=WAIT_MS)


def ungrouped(view):
    view.group_mode.setCurrentIndex(view.group_mode.findData("none"))
    return sorted(g.rows[0].name for g in view.visible_groups())


def message_boxes():
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]


def test_grouping_two_seeds_shows_their_mean_and_std(qtbot, view, runs):
    index(qtbot, view, runs)
    values = finals(runs)
    assert len(view.rows) == 4 and view.model.rowCount() == 2
    assert "quantizer.codebook_size" in view.table.key_columns and "svm_accuracy" in view.table.metrics
    for size in (8, 16):
        row = view.row_of(**{"quantizer.codebook_size": size})
        names = sorted(r.name for r in view.table.groups[row].rows)
        assert names == [run_name(size, 1), run_name(size, 2)]
        assert view.cell(row, "n") == "2"
        for metric in ("svm_accuracy", "test_mse_time", "loss"):
            pair = [values[n][1][metric] for n in names]
            mean, std = statistics.fmean(pair), statistics.stdev(pair)
            if metric not in view.table.metrics:
                view.columns.set_key_checked(metric, True)
            assert view.cell(row, metric, VALUE_ROLE) == pytest.approx(mean)
            assert view.cell(row, metric, STD_ROLE) == pytest.approx(std)
            assert view.cell(row, metric, N_ROLE) == 2
            assert view.cell(row, metric) == f"{mean:.4f} ± {std:.4f}"
    # the seed is not a grouping key; grouping by the seed instead pairs the other way
    assert "trainer.seed" not in view.group_by()
    view.group_mode.setCurrentIndex(view.group_mode.findData("custom"))
    view.group_keys.set_checked(["seed"])
    assert view.group_by() == ["seed"]
    assert {g.values["seed"]: sorted(r.name for r in g.rows) for g in view.table.groups} == {
        1: ["k16-s1", "k8-s1"], 2: ["k16-s2", "k8-s2"]}


def test_range_and_value_filters_hide_exactly_the_rows_they_should(qtbot, view, runs):
    index(qtbot, view, runs)
    values = finals(runs)
    assert ungrouped(view) == sorted(values)
    mse = {n: v[1]["test_mse_time"] for n, v in values.items()}
    threshold = statistics.median(mse.values())
    # a range on a metric, through the Filters tab
    view.filter_key.setCurrentText("test_mse_time")
    assert view.filter_kind.currentData() == "range"
    view.filter_low.setText("")
    view.filter_high.setText(repr(threshold))
    view.add_filter_button.click()
    assert view.filters == [RowFilter.range("test_mse_time", None, threshold)]
    expected = sorted(n for n, v in mse.items() if v <= threshold)
    assert 0 < len(expected) < 4
    assert ungrouped(view) == expected
    # a value on a configuration key, on top of it
    view.filter_key.setCurrentText("quantizer.codebook_size")
    view.filter_kind.setCurrentIndex(view.filter_kind.findData("value"))
    assert [view.filter_value.itemText(i) for i in range(view.filter_value.count())] == ["8", "16"]
    view.filter_value.setCurrentIndex(1)
    view.add_filter_button.click()
    assert ungrouped(view) == sorted(n for n in expected if values[n][0] == 16)
    assert [view.filter_list.item(i).text() for i in range(view.filter_list.count())] == [
        f"test_mse_time ≤ {threshold:g}", "quantizer.codebook_size = 16"]
    view.remove_filter(0)
    assert ungrouped(view) == ["k16-s1", "k16-s2"]
    # bounds the wrong way round: one line naming the key, no filter added, nothing else changes
    view.filter_key.setCurrentText("svm_accuracy")
    view.filter_low.setText("0.9")
    view.filter_high.setText("0.1")
    view.add_filter_button.click()
    assert view.message_text() == "filter on svm_accuracy: the lower bound 0.9 is above the upper bound 0.1"
    assert len(view.filters) == 1 and ungrouped(view) == ["k16-s1", "k16-s2"]
    view.filter_key.setCurrentText("no.such.key")
    view.add_filter_button.click()
    assert view.message_text() == "filter on no.such.key: no run has this key or metric"
    assert message_boxes() == []
    # grouped, the filtered runs' statistics are over the runs that pass
    view.clear_filters()
    view.add_filter(RowFilter.value("seed", 1))
    view.group_mode.setCurrentIndex(view.group_mode.findData("default"))
    assert [g.n for g in view.table.groups] == [1, 1]


def test_best_per_column_is_marked_on_the_right_row(qtbot, view, runs):
    index(qtbot, view, runs)
    values = finals(runs)

    def mean(size, metric):
        return statistics.fmean(values[run_name(size, s)][1][metric] for s in (1, 2))

    for metric, pick in (("test_mse_time", min), ("svm_accuracy", max)):
        best_size = pick((8, 16), key=lambda k, m=metric: mean(k, m))
        best_row = view.row_of(**{"quantizer.codebook_size": best_size})
        other_row = 1 - best_row
        assert view.cell(best_row, metric, BEST_ROLE) is True
        assert view.cell(other_row, metric, BEST_ROLE) is False
        assert view.cell(best_row, metric, Qt.ItemDataRole.FontRole).bold()
        assert view.cell(other_row, metric, Qt.ItemDataRole.FontRole) is None
        assert view.cell(best_row, metric, Qt.ItemDataRole.BackgroundRole) is not None
    # the mark follows the theme (a tint chosen for each palette)
    from tsstudio.gui.views.results_view import BEST_BACKGROUND

    for theme in ("light", "dark"):
        view.set_theme(theme)
        brush = view.cell(best_row, metric, Qt.ItemDataRole.BackgroundRole)
        assert brush.color() == BEST_BACKGROUND[theme]
    # the header says which way is better
    col = view.model.column_of("test_mse_time")
    assert view.model.headerData(col, Qt.Orientation.Horizontal).endswith("↓")


def test_pinned_baseline_shows_the_differences_and_stays_on_top(qtbot, view, runs):
    index(qtbot, view, runs)
    values = finals(runs)
    base = view.row_of(**{"quantizer.codebook_size": 16})
    other = 1 - base
    view.set_baseline(base)
    assert view.table.baseline == base
    for metric in ("test_mse_time", "svm_accuracy"):
        diff = (statistics.fmean(values[run_name(8, s)][1][metric] for s in (1, 2))
                - statistics.fmean(values[run_name(16, s)][1][metric] for s in (1, 2)))
        assert view.cell(other, metric, DIFF_ROLE) == pytest.approx(diff)
        assert view.cell(other, metric).endswith(f"({diff:+.4f})")
        assert view.cell(base, metric, DIFF_ROLE) is None
    assert view.model.headerData(base, Qt.Orientation.Vertical) == "base"
    col = view.model.column_of("quantizer.codebook_size")
    for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
        view.view.sortByColumn(col, order)
        assert view.proxy.mapToSource(view.proxy.index(0, 0)).row() == base
    # selecting a row and pinning it from the button does the same
    view.set_baseline(None)
    assert view.table.baseline is None and view.table.differences is None
    view.view.selectRow(view.proxy.mapFromSource(view.model.index(other, 0)).row())
    view.pin_button.click()
    assert view.table.baseline == other


def test_copy_gives_csv_text_and_export_writes_csv_and_markdown(qtbot, view, runs, tmp_path):
    index(qtbot, view, runs)
    values = finals(runs)
    text = view.copy_to_clipboard()
    assert QGuiApplication.clipboard().text() == text
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == 2
    by_size = {int(r["quantizer.codebook_size"]): r for r in table}
    pair = [values[run_name(8, s)][1]["svm_accuracy"] for s in (1, 2)]
    assert float(by_size[8]["svm_accuracy_mean"]) == pytest.approx(statistics.fmean(pair))
    assert float(by_size[8]["svm_accuracy_std"]) == pytest.approx(statistics.stdev(pair))
    assert by_size[8]["n"] == "2"
    out = tmp_path / "out"
    out.mkdir()
    assert view.export(out / "table.csv", "csv")
    assert (out / "table.csv").read_text(encoding="utf-8") == view.csv_text()
    assert view.export(out / "table.md", "markdown")
    md = (out / "table.md").read_text(encoding="utf-8").splitlines()
    assert md[0].startswith("| codebook_size") or "quantizer.codebook_size" in md[0]
    assert len(md) == 4 and "**" in "\n".join(md[2:])
    # a folder that does not exist: one message, no file, no dialog
    assert not view.export(tmp_path / "missing" / "t.csv", "csv")
    assert "does not exist" in view.message_text() and not (tmp_path / "missing").exists()
    assert message_boxes() == []


def test_a_run_file_deleted_while_listed_disappears_without_an_error_dialog(qtbot, view, runs):
    view.folder = runs
    with qtbot.waitSignal(view.indexedSignal, timeout=WAIT_MS):
        view.show()  # a shown view indexes by itself
    assert ungrouped(view) == ["k16-s1", "k16-s2", "k8-s1", "k8-s2"]
    (runs / "k8-s2.h5").unlink()
    with qtbot.waitSignal(view.indexedSignal, timeout=WAIT_MS):
        pass  # the folder watcher triggers the refresh
    assert ungrouped(view) == ["k16-s1", "k16-s2", "k8-s1"]
    (runs / "k16" / "k16-s1.h5").unlink()
    with qtbot.waitSignal(view.indexedSignal, timeout=WAIT_MS):
        view.refresh()
    assert ungrouped(view) == ["k16-s2", "k8-s1"]
    assert message_boxes() == [] and not view.message.isVisible()


def test_the_view_follows_the_workspace_folder(qtbot, runs, tmp_path):
    from tsstudio.gui.controller import AppController

    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(runs / "k8-s1.h5", other / "only.h5")
    controller = AppController(workspace=runs)
    v = ResultsView(controller)
    qtbot.addWidget(v)
    try:
        with qtbot.waitSignal(v.indexedSignal, timeout=WAIT_MS):
            v.show()
        assert len(v.rows) == 4
        with qtbot.waitSignal(v.indexedSignal, timeout=WAIT_MS):
            controller.set_workspace(other)
        assert [r.name for r in v.rows] == ["only"] and v.folder == other.resolve()
    finally:
        assert v.shutdown(20000)


def test_a_group_of_one_shows_its_value_alone_in_the_table_and_its_exports(qtbot, view, runs):
    index(qtbot, view, runs)
    values = finals(runs)
    view.group_mode.setCurrentIndex(view.group_mode.findData("none"))  # every run is a group of one
    row = view.row_of(name=run_name(8, 1))
    svm = values[run_name(8, 1)][1]["svm_accuracy"]
    assert view.cell(row, "svm_accuracy") == f"{svm:.4f}"  # not "… ± 0.0000"
    assert view.cell(row, "svm_accuracy", N_ROLE) == 1 and view.cell(row, "n") == "1"
    assert "±" not in view.markdown_text()
    exported = list(csv.DictReader(io.StringIO(view.csv_text())))
    assert {r["svm_accuracy_std"] for r in exported} == {""} and {r["svm_accuracy_n"] for r in exported} == {"1"}


def _wide_rows(tmp_path):
    """Rows like a real workspace: tokenizers and priors on two datasets, many differing configuration keys."""
    from tsstudio.store.results_index import ResultRow

    rows = []
    specs = [("ECG5000", "regular", "tokenizer", None), ("ECG5000", "barlowtwins-slice", "tokenizer", None),
             ("GunPoint", "regular", "tokenizer", None), ("GunPoint", "barlowtwins-slice", "tokenizer", None),
             ("ECG5000", "maskgit", "prior", "regular"), ("ECG5000", "maskgit", "prior", "token-context"),
             ("ECG5000", "maskgit", "prior", "learnable-codebook")]
    for i, (dataset, preset, kind, variant) in enumerate(specs):
        for seed in (1, 2):
            ssl = preset == "barlowtwins-slice"
            config = {"data.dataset": dataset, "preset": preset, "trainer.seed": seed,
                      "ssl.method": "barlowtwins" if ssl else "none",
                      "augmentations.methods": ("slice_and_shuffle",) if ssl else ()}
            if kind == "prior":
                config.update({"prior.variant": variant, "prior.hidden_dim": 256, "prior.n_layers": 4, "prior.heads": 4})
            metrics = ({"test_mse_time": 0.1 + i / 100 + seed / 1000, "test_mse_stft": 0.2, "val_loss": 0.3,
                        "svm_accuracy": 0.9 - i / 100, "knn_accuracy": 0.88, "perplexity": 30.0, "dead_codes": 1.0}
                       if kind == "tokenizer" else {"fid": 1.5 + i, "is_mean": 2.0, "cas_accuracy": 0.7})
            rows.append(ResultRow(tmp_path / f"{dataset}-{preset}-{variant}-s{seed}.h5", f"r{i}-s{seed}", kind,
                                  "finished", dataset, preset, seed, 150, config, metrics))
    return rows


def test_columns_read_apart_and_the_key_metrics_fit_a_1366_px_window(qtbot, tmp_path):
    from tsstudio.gui.exploration_worker import IndexResult
    from tsstudio.gui.views.results_view import SHOWN_METRICS, header_names

    assert header_names(["dataset", "data.dataset", "quantizer.codebook_size"]) == ["dataset", "data.dataset",
                                                                                   "codebook_size"]
    view = ResultsView()
    qtbot.addWidget(view)
    view.resize(1366 - 450, 700)  # the tab's width beside the runs list at 1366 × 768
    view.show()
    view.folder = tmp_path
    view._on_indexed(IndexResult(str(tmp_path), _wide_rows(tmp_path), 14, 0, 0.0))
    qtbot.wait(50)
    model, header = view.model, view.view.horizontalHeader()
    names = model.column_names()
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert len(set(headers)) == len(headers), headers  # no two "dataset" columns
    assert "data.dataset" not in names  # it repeats the dataset column
    # the keys that tell the 7 groups apart lead, then n and the key metrics; other differing keys come after
    assert names[:4] == ["dataset", "preset", "prior.variant", "n"], names
    assert names[4:9] == [m for m in SHOWN_METRICS], names
    assert view.model.rowCount() == 7 and {view.cell(r, "n") for r in range(7)} == {"2"}
    width = view.view.viewport().width()
    for metric in ("test_mse_time", "svm_accuracy", "knn_accuracy"):  # the tokenizers' key metrics, whole
        col = model.column_of(metric)
        assert header.sectionViewportPosition(col) + header.sectionSize(col) <= width, (metric, width)
    # any key can still be added from the column chooser
    view.columns.set_key_checked("prior.hidden_dim", True)
    assert "prior.hidden_dim" in view.model.column_names()
    assert view.shutdown(20000)


def test_a_new_index_result_refreshes_what_the_view_derived_from_the_old_rows(qtbot, tmp_path):
    from tsstudio.gui.exploration_worker import IndexResult

    view = ResultsView()
    qtbot.addWidget(view)
    view.folder = tmp_path
    rows = _wide_rows(tmp_path)
    tokenizers = [r for r in rows if r.kind == "tokenizer"]
    view._on_indexed(IndexResult(str(tmp_path), tokenizers, 8, 0, 0.0))
    assert "fid" not in view.metric_names() and "prior.variant" not in view.key_names()
    assert view.model.rowCount() == 4
    view._on_indexed(IndexResult(str(tmp_path), rows, 14, 0, 0.0))
    assert "fid" in view.metric_names() and "prior.variant" in view.key_names()
    assert "prior.variant" in view.group_by() and view.model.rowCount() == 7
    assert view.shutdown(20000)


def test_a_hidden_view_defers_refreshing_until_it_is_shown(qtbot, runs):
    view = ResultsView()
    qtbot.addWidget(view)
    view.folder = runs
    view._schedule_refresh()  # e.g. a run file changed while the tab is not shown
    assert view._dirty and not view._refresh_timer.isActive() and view._last is None
    with qtbot.waitSignal(view.indexedSignal, timeout=WAIT_MS):
        view.show()  # showing it indexes once
    assert not view._dirty and len(view.rows) == 4
    assert sorted(view.watcher.directories()) == sorted([str(runs), str(runs / "k16")])
    assert view.shutdown(20000)
