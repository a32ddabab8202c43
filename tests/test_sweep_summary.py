"""Sweep summaries: per-metric tables of mean ± std over seeds, best per row, published figures beside ours."""

from __future__ import annotations

from pathlib import Path

from tsstudio.sweep.spec import load_spec
from tsstudio.sweep.summary import build_summary

PUBLISHED = {"ECG5000": {"regular": {"svm_accuracy": [0.8284, 0.0189]}, "vibcreg-slice": {"svm_accuracy": [0.8382, 0.0145]}}}


def spec_of(tmp_path: Path, text: str):  # noqa: ANN201
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return load_spec(path)


def test_mean_std_n_best_and_published_rows(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, "datasets: [ECG5000, GunPoint]\npresets: [regular, vibcreg-slice]\nseeds: [1, 2]\n")
    values = {  # (dataset, preset, seed) -> svm accuracy, val_loss
        ("ECG5000", "regular", 1): (0.90, 0.05), ("ECG5000", "regular", 2): (0.92, 0.07),
        ("ECG5000", "vibcreg-slice", 1): (0.80, 0.04), ("ECG5000", "vibcreg-slice", 2): (0.84, 0.02),
        ("GunPoint", "regular", 1): (0.70, 0.10),
    }
    results = [(cell, dict(zip(("svm_accuracy", "val_loss"), values[(cell.dataset, cell.preset, cell.seed)])))
               for cell in spec.cells() if (cell.dataset, cell.preset, cell.seed) in values]
    summary = build_summary(spec, results, published=PUBLISHED)
    assert list(summary.tables) == ["svm_accuracy", "val_loss"]
    headers, rows = summary.table("svm_accuracy")
    assert headers == ["dataset", "regular", "vibcreg-slice"]
    # ECG5000 regular: mean 0.91, sample std 0.01414; vibcreg-slice: mean 0.82, std 0.02828
    assert rows[0] == ["ECG5000", "0.9100 ± 0.0141 (n=2) *", "0.8200 ± 0.0283 (n=2)"]
    assert rows[1] == ["ECG5000 (published)", "0.8284 ± 0.0189 (n=4)", "0.8382 ± 0.0145 (n=4) *"]
    assert rows[2] == ["GunPoint", "0.7000 (n=1) *", "-"]  # one seed: no spread
    assert len(rows) == 3  # GunPoint has no published figures
    _, loss_rows = summary.table("val_loss")
    assert loss_rows[0] == ["ECG5000", "0.0600 ± 0.0141 (n=2)", "0.0300 ± 0.0141 (n=2) *"]  # lower is better
    md = summary.markdown()
    assert "## `svm_accuracy` (higher is better)" in md
    assert "| ECG5000 | **0.9100 ± 0.0141 (n=2)** | 0.8200 ± 0.0283 (n=2) | regular |" in md
    assert "| GunPoint | **0.7000 (n=1)** | - | regular |" in md and "± 0.0000" not in md
    lines = summary.csv().splitlines()
    assert lines[0] == "metric,dataset,source,column,mean,std,n,best"
    assert "svm_accuracy,GunPoint,ours,regular,0.7,,1,1" in lines
    assert "svm_accuracy,ECG5000,published,vibcreg-slice,0.8382,0.0145,4,1" in lines


def test_grid_points_are_columns_without_published_figures(tmp_path: Path) -> None:
    spec = spec_of(tmp_path, "datasets: [ECG5000]\npresets: [vibcreg-slice]\nseeds: [1]\n"
                             "grid: {ssl.aug_recon_rate: [0.1, 0.5]}\n")
    results = [(cell, {"svm_accuracy": 0.5 + i / 10}) for i, cell in enumerate(spec.cells())]
    summary = build_summary(spec, results, published=PUBLISHED)
    headers, rows = summary.table("svm_accuracy")
    assert headers == ["dataset", "vibcreg-slice aug_recon_rate=0.1", "vibcreg-slice aug_recon_rate=0.5"]
    assert rows == [["ECG5000", "0.5000 (n=1)", "0.6000 (n=1) *"]]
