"""Test doubles for the GUI views: the controller interface they use, and small UCR folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal


class StubController(QObject):
    """The part of `AppController` the dataset-facing views use, with the same signal semantics.

    Selecting the already selected dataset emits nothing, as in the real controller; every
    selection made is recorded in `selected`.
    """

    datasetSelected = Signal(str)
    dataDirsChanged = Signal()

    def __init__(self, dirs: list[str] | None = None, dataset_name: str = "CBF") -> None:
        super().__init__()
        self._dirs = list(dirs or [])
        self.dataset_name = dataset_name
        self.selected: list[str] = []

    def select_dataset(self, name: str) -> None:
        if name == self.dataset_name:
            return
        self.dataset_name = name
        self.selected.append(name)
        self.datasetSelected.emit(name)

    def data_dirs(self) -> list[str]:
        return list(self._dirs)

    def add_data_dir(self, path: str) -> None:
        self._dirs.append(str(path))
        self.dataDirsChanged.emit()


def write_ucr(root: Path, name: str, length: int, n_train: int = 12, n_test: int = 9, n_classes: int = 3, seed: int = 0) -> None:
    """A small dataset of noisy sines in UCR layout (label first, tab-separated)."""
    rng = np.random.default_rng(seed)
    folder = root / name
    folder.mkdir(parents=True)
    t = np.linspace(0, 1, length)
    for split, n in (("TRAIN", n_train), ("TEST", n_test)):
        labels = np.arange(n) % n_classes + 1
        rows = [np.sin(2 * np.pi * (lab + 1) * t) + 0.1 * rng.standard_normal(length) for lab in labels]
        lines = ["\t".join([str(lab)] + [f"{v:.6f}" for v in row]) for lab, row in zip(labels, rows)]
        (folder / f"{name}_{split}.tsv").write_text("\n".join(lines) + "\n")
