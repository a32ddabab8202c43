"""The Data tab browses .ts, NumPy and CSV datasets like UCR ones: a format column, unlabelled series drawn."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_API", "pyside6")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from stubs import StubController  # noqa: E402

from tsstudio.gui.datasets_view import DatasetsView  # noqa: E402


def test_formats_listed_and_an_unlabelled_dataset_drawn(qtbot, tmp_path: Path) -> None:
    root = tmp_path / "own"
    root.mkdir()
    rng = np.random.default_rng(0)
    np.savez(root / "Free.npz", x_train=rng.normal(size=(12, 48)), x_test=rng.normal(size=(6, 48)))
    (root / "Tab").mkdir()
    for split in ("TRAIN", "TEST"):
        (root / "Tab" / f"Tab_{split}.csv").write_text("".join(f"{i % 2},1,2,3,{i}\n" for i in range(4)))
    view = DatasetsView(StubController())
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: not view.is_busy() and view.current_dataset() is not None, timeout=20000)
    view.add_folder(str(root))
    qtbot.waitUntil(lambda: "Free" in view.dataset_names() and not view.is_busy(), timeout=20000)
    assert view.tree.headerItem().text(6) == "Format"
    assert [view._item("Free").text(c) for c in range(7)] == ["Free", "12", "6", "48", "none", "1", "npz"]
    assert [view._item("Tab").text(c) for c in range(7)] == ["Tab", "4", "4", "4", "2", "1", "csv"]
    assert view._item("CBF").text(6) == "built-in"
    view.tree.setCurrentItem(view._item("Free"))
    qtbot.waitUntil(lambda: not view.is_busy() and (d := view.current_dataset()) is not None and d.name == "Free",
                    timeout=30000)
    assert view.series_curves.count() == 6  # every test series shown, in one colour, no class legend
    assert view.class_combo.count() == 1 and view.class_combo.itemText(0) == "Unlabelled"
    assert "(unlabelled)" in view.spectrogram.plot_item.titleLabel.text
    view.resize(1366, 768)
    view.grab().save(str(tmp_path / "free.png"))
