"""DatasetsView: listing UCR folders, loading off the UI thread, series and spectrogram plots."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_API", "pyside6")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from stubs import StubController, write_ucr  # noqa: E402

from tsstudio.gui.datasets_view import DatasetsView  # noqa: E402
from tsstudio.gui.plots import stft_magnitude  # noqa: E402

UCR_DIR = os.environ.get("TSSTUDIO_DATA_DIR", "").split(os.pathsep)[0]


def make_view(qtbot, controller: StubController) -> DatasetsView:
    view = DatasetsView(controller)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: not view.is_busy() and view.current_dataset() is not None, timeout=20000)
    return view


def wait_loaded(qtbot, view: DatasetsView, name: str) -> None:
    qtbot.waitUntil(lambda: not view.is_busy() and (d := view.current_dataset()) is not None and d.name == name, timeout=30000)


def test_tmp_folder_is_listed_and_broken_dataset_greyed(qtbot, tmp_path: Path) -> None:
    root = tmp_path / "ucr"
    write_ucr(root, "Tiny500", 500)
    write_ucr(root, "Wave64", 64, n_classes=2)
    (root / "Broken").mkdir()
    (root / "Broken" / "Broken_TRAIN.tsv").write_text("1\t0.1\t0.2\n2\t0.3\t0.4\n")  # no TEST file
    controller = StubController()
    view = make_view(qtbot, controller)
    assert view.dataset_names() == ["CBF"]
    view.add_folder(str(root))
    qtbot.waitUntil(lambda: "Tiny500" in view.dataset_names() and not view.is_busy(), timeout=20000)
    assert view.dataset_names() == ["CBF", "Broken", "Tiny500", "Wave64"]
    item = view._item("Tiny500")
    assert [item.text(c) for c in range(5)] == ["Tiny500", "12", "9", "500", "3"]
    broken = view._item("Broken")
    assert "Broken_TEST" in broken.toolTip(0)
    assert not broken.flags() & Qt.ItemFlag.ItemIsSelectable
    view.filter_edit.setText("wave")
    assert [view.tree.topLevelItem(i).isHidden() for i in range(4)] == [True, True, True, False]

    view.tree.setCurrentItem(view._item("Wave64"))
    wait_loaded(qtbot, view, "Wave64")
    assert controller.selected[-1] == "Wave64"
    assert view.current_dataset().length == 64


@pytest.mark.ucr
@pytest.mark.skipif(not (UCR_DIR and Path(UCR_DIR).is_dir()), reason="set TSSTUDIO_DATA_DIR to a UCR folder to test real data")
def test_real_ucr_folder_is_listed(qtbot) -> None:
    controller = StubController(dirs=[UCR_DIR])
    view = make_view(qtbot, controller)
    names = view.dataset_names()
    expected = sorted(p.name for p in Path(UCR_DIR).iterdir() if any(p.glob(f"{p.name}_TRAIN.tsv*")))
    assert expected and set(expected) <= set(names)
    view.load(expected[0])
    wait_loaded(qtbot, view, expected[0])
    assert view.current_dataset().n_test == view.dataset_info(expected[0]).n_test


def test_selecting_a_series_draws_it_and_its_spectrogram(qtbot) -> None:
    view = make_view(qtbot, StubController())
    d = view.current_dataset()
    assert d.name == "CBF"
    assert view.series_curves.count() == 10
    shown = view.shown_indices()
    for i, idx in enumerate(shown):
        np.testing.assert_array_equal(view.series_curves.data(i), d.x_test[idx])

    clicked = view.series_curves.items[3]  # clicking a curve selects its series
    clicked.sigClicked.emit(clicked, None)
    assert view.selected_index() == shown[3]
    np.testing.assert_array_equal(view.selected_curve.yData, d.x_test[shown[3]])

    view.select_series(7)
    np.testing.assert_array_equal(view.selected_curve.yData, d.x_test[7])
    image = view.spectrogram.image_data()
    assert image.shape == (5, 1 + d.length // 2)
    np.testing.assert_allclose(image, stft_magnitude(d.x_test[7]), rtol=1e-6)
    x = d.x_test[7].astype(np.float64)
    # independent check of |STFT| at one frame: Hann-windowed FFT of the reflect-padded signal
    padded = np.pad(x, 4, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(8) / 8)
    frame = 10
    expected = np.abs(np.fft.rfft(padded[frame * 2 : frame * 2 + 8] * window))
    np.testing.assert_allclose(image[:, frame], expected, rtol=1e-4, atol=1e-5)
    assert view.spectrogram.levels() == (0.0, pytest.approx(float(image.max())))

    # train split, one class, more series
    view.set_split("train")
    view.set_class_filter(2)
    view.count_spin.setValue(5)
    shown = view.shown_indices()
    assert len(shown) == 5 and (d.y_train[shown] == 2).all()
    assert view.series_curves.count() == 5
    np.testing.assert_array_equal(view.selected_curve.yData, d.x_train[view.selected_index()])
    assert d.y_train[view.selected_index()] == 2


def test_stale_load_is_dropped_and_errors_are_shown(qtbot, tmp_path: Path) -> None:
    root = tmp_path / "ucr"
    write_ucr(root, "Tiny500", 500)
    controller = StubController(dirs=[str(root)])
    view = make_view(qtbot, controller)
    view.load("Tiny500")
    view.load("CBF")  # a newer request: the Tiny500 answer must be ignored
    qtbot.waitUntil(lambda: not view.is_busy(), timeout=20000)
    assert view.current_dataset().name == "CBF"
    view.load("NoSuchDataset")
    qtbot.waitUntil(lambda: not view.is_busy(), timeout=20000)
    assert "NoSuchDataset" in view.status.text()
    assert view.current_dataset() is None and view.series_curves.count() == 0  # CBF's plots do not stay up


def test_controller_selection_is_followed(qtbot, tmp_path: Path) -> None:
    root = tmp_path / "ucr"
    write_ucr(root, "Wave64", 64, n_classes=2)
    controller = StubController(dirs=[str(root)])
    view = make_view(qtbot, controller)
    controller.select_dataset("Wave64")
    wait_loaded(qtbot, view, "Wave64")
    assert view.class_combo.count() == 3  # all + two classes
