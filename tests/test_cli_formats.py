"""`tsstudio datasets` lists every format with its channel count; `--label-column` reaches the run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support import TINY_CLI

from tsstudio.cli.main import main
from tsstudio.store import RunFile


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("TSSTUDIO_DATA_DIR", raising=False)
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    root.mkdir()
    np.savez(root / "Arr.npz", x_train=rng.normal(size=(6, 32)), y_train=np.arange(6) % 2,
             x_test=rng.normal(size=(4, 32)), y_test=np.arange(4) % 2)
    (root / "Tab").mkdir()
    rows = "\n".join(",".join([str(i % 2), *(f"{v:.4f}" for v in rng.normal(size=32))]) for i in range(6))
    for split in ("TRAIN", "TEST"):
        (root / "Tab" / f"Tab_{split}.csv").write_text("target," + ",".join(f"t{i}" for i in range(32)) + "\n" + rows + "\n")
    (root / "Seq").mkdir()
    body = "@problemName Seq\n@classLabel false\n@data\n" + "\n".join(",".join("1.0" for _ in range(32)) for _ in range(3))
    for split in ("TRAIN", "TEST"):
        (root / "Seq" / f"Seq_{split}.ts").write_text(body + "\n")
    return root


def test_datasets_lists_format_and_channels(capsys: pytest.CaptureFixture, data_dir: Path) -> None:
    assert main(["datasets", "--data-dir", str(data_dir)]) == 0
    rows = {line.split()[0]: line.split()[1:7] for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["Arr"] == ["6", "4", "32", "2", "1", "npz"]
    assert rows["Seq"] == ["3", "3", "32", "unlabelled", "1", "ts"]
    assert rows["Tab"] == ["6", "6", "32", "2", "1", "csv"]  # no 'label'/'class' column: the first is the label
    assert main(["datasets", "--data-dir", str(data_dir), "--label-column", "none"]) == 0
    rows = {line.split()[0]: line.split()[1:7] for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["Tab"] == ["6", "6", "33", "unlabelled", "1", "csv"]


def test_train_with_label_column_stores_it_and_evaluates_the_same_dataset(capsys: pytest.CaptureFixture,
                                                                          data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "tab.h5"
    assert main(["train", "--dataset", "Tab", "--data-dir", str(data_dir), "--label-column", "none",
                 "--max-steps", "1", "--out", str(out), "--quiet", *TINY_CLI]) == 0
    with RunFile.open(out) as run:
        assert run.config["data"]["label_column"] == "none"
        assert run.attrs["n_classes"] == 0 and run.attrs["length"] == 33
    assert main(["eval", str(out)]) == 0
    assert "note: the dataset has no class labels" in capsys.readouterr().err
