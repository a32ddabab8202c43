"""Datasets across the search folders plus folders a user added (what the app's views list and load)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsstudio.data.folders import load_by_name, scan_datasets
from tsstudio.errors import TsstudioError


def _write(root: Path, name: str, length: int) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split in ("TRAIN", "TEST"):
        lines = ["\t".join([str(i % 2 + 1)] + [f"{v:.4f}" for v in rng.standard_normal(length)]) for i in range(6)]
        (folder / f"{name}_{split}.tsv").write_text("\n".join(lines) + "\n")


def test_added_folders_are_listed_after_the_built_in_one_and_first_folder_wins(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("TSSTUDIO_DATA_DIR", raising=False)
    first, second = tmp_path / "first", tmp_path / "second"
    _write(first, "Shared", 16)
    _write(second, "Shared", 24)
    _write(second, "Only", 32)
    infos = scan_datasets([str(first), str(tmp_path / "missing"), str(second)])
    assert [(i.name, i.length) for i in infos] == [("CBF", 128), ("Shared", 16), ("Only", 32)]
    assert load_by_name("Only", [str(first), str(second)]).length == 32
    assert load_by_name("Shared", [str(second)], source=infos[1].source).length == 16  # the listed folder
    with pytest.raises(TsstudioError, match="NoSuch"):
        load_by_name("NoSuch", [str(first)])
