"""Classes shown for a prior are the dataset's own labels (1..5 for ECG5000, strings elsewhere), one
column per class, never a class id and never a column that repeats a class."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np

from tsstudio.gui.widgets.prior_panels import PriorPanels
from tsstudio.store import RunFile
from tsstudio.store.class_labels import run_class_labels
from tsstudio.store.follow import RunData, read_run


def _panels(qtbot) -> PriorPanels:  # noqa: ANN001
    panels = PriorPanels(lambda values, alpha: values)
    qtbot.addWidget(panels)
    panels.resize(1366, 500)
    panels.show()
    return panels


def _draw(qtbot, panels: PriorPanels, d: RunData) -> None:  # noqa: ANN001
    """Draw `d`; the columns are built one per event-loop turn, so wait for the last."""
    panels.draw(d)
    qtbot.waitUntil(lambda: not panels.samples_pending(), timeout=5_000)


def _snapshot(labels: list[int], class_labels: tuple[str, ...], length: int = 32) -> RunData:
    rng = np.random.default_rng(0)
    n = len(labels)
    return RunData(kind="prior", recon=rng.normal(size=(n, length)).astype(np.float32), recon_step=10,
                   inputs=rng.normal(size=(n, length)).astype(np.float32), labels=np.asarray(labels, np.int64),
                   class_labels=class_labels)


def test_ecg5000_like_labels_one_to_five_are_shown_and_never_wrap(qtbot) -> None:  # noqa: ANN001
    panels = _panels(qtbot)
    # six snapshots, five classes: the trainer's round robin decodes class id 0 a second time
    d = _snapshot([0, 1, 2, 3, 4, 0], ("1", "2", "3", "4", "5"))
    _draw(qtbot, panels, d)
    assert panels.panel_titles() == ["class 1 (2 samples)", "class 2", "class 3", "class 4", "class 5"]
    assert panels.sample_count() == 6
    first = panels.sample_curves[0].yData  # both samples of class "1" in its column, apart
    assert np.array_equal(first[:32], d.recon[0]) and np.isnan(first[32]) and np.array_equal(first[33:65], d.recon[5])
    assert "5 of" not in panels.samples_title.text  # every class is shown


def test_string_labels_and_a_dataset_with_more_classes_than_decoded(qtbot) -> None:  # noqa: ANN001
    panels = _panels(qtbot)
    names = ("normal", "abnormal", "c", "d", "e", "f", "g", "h")
    _draw(qtbot, panels, _snapshot([0, 1, 2, 3, 4, 5], names))
    assert panels.panel_titles() == ["class normal", "class abnormal", "class c", "class d", "class e", "class f"]
    assert "6 of 8 classes" in panels.samples_title.text
    _draw(qtbot, panels, _snapshot([1, 0], ("normal", "abnormal")))  # a new snapshot with fewer classes: fewer columns
    assert panels.panel_titles() == ["class abnormal", "class normal"]
    panels.reset()
    assert panels.panel_titles() == [] and panels.sample_count() == 0


def test_run_files_record_the_dataset_class_labels(finished_run: Path, tmp_path: Path) -> None:
    with RunFile.open(finished_run) as run:
        assert run.attrs["class_labels"] == '["0", "1", "2"]'  # CBF's labels, written when the run started
        assert run_class_labels(run) == ("0", "1", "2")
    assert read_run(finished_run).class_labels == ("0", "1", "2")
    old = tmp_path / "old.h5"  # a file written before the attribute existed: read from its dataset
    shutil.copy(finished_run, old)
    with h5py.File(old, "r+") as f:
        del f.attrs["class_labels"]
    assert read_run(old).class_labels == ("0", "1", "2")
    lost = tmp_path / "lost.h5"  # ... and a dataset that cannot be found: ids, said as ids
    shutil.copy(old, lost)
    with h5py.File(lost, "r+") as f:
        f.attrs["dataset"] = "NoSuchDataset"
    d = read_run(lost)
    assert d.class_labels == () and d.class_name(1) == "id 1"


def test_sample_axes_are_labelled_and_legends_stay_short(qtbot) -> None:  # noqa: ANN001
    panels = _panels(qtbot)
    _draw(qtbot, panels, _snapshot([0, 1], ("1", "2")))
    assert [p.getAxis("bottom").labelText for p in panels.time_plots] == ["time", "time"]
    assert [p.getAxis("bottom").labelText for p in panels.spec_plots] == ["frame", "frame"]
    for plot in (panels.loss_plot, panels.accuracy_plot):  # the title names the metric: the legend says which split
        assert [label.text for _sample, label in plot.plotItem.legend.items] == ["train", "test"]


def test_the_columns_are_built_one_per_event_loop_turn(qtbot) -> None:  # noqa: ANN001
    panels = _panels(qtbot)
    panels.draw(_snapshot([0, 1, 2, 3, 4, 0], ("1", "2", "3", "4", "5")))
    assert len(panels.time_plots) == 1 and panels.samples_pending()  # the UI thread is back after one column
    assert not any(plot.isVisible() for plot in panels.time_plots)  # half-built columns stay hidden
    qtbot.waitUntil(lambda: not panels.samples_pending(), timeout=5_000)
    assert len(panels.time_plots) == 5 and all(plot.isVisible() for plot in panels.time_plots)
    assert panels.panel_titles()[0] == "class 1 (2 samples)"
