"""Ablations of the SSL tokenizer: which augmentation, and how much augmented-view reconstruction.

Each study is a list of cells (a name and the overrides that make it); every cell is trained for
every seed into its own run file, evaluated, and summarised as mean ± std over seeds in a CSV
and a markdown table.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsstudio.config.schema import AUGMENTATIONS
from tsstudio.errors import ConfigError
from tsstudio.sweep.cell_run import run_cell_here
from tsstudio.sweep.spec import CellSpec
from tsstudio.train import TrainingControl

STUDIES = ("augmentations", "aug-recon-rate")
DEFAULT_RATES = (0.0, 0.05, 0.1, 0.2, 0.5)
SUMMARY_METRICS = ("svm_accuracy", "knn_accuracy", "val_loss", "test_mse_time", "perplexity")


@dataclass(frozen=True)
class Cell:
    """One configuration of a study."""

    name: str
    overrides: tuple[str, ...]


def augmentation_cells() -> list[Cell]:
    """Each augmentation alone, then the published pair (window warp followed by amplitude resize)."""
    cells = [Cell(name, (f"augmentations.methods=[{name}]",)) for name in AUGMENTATIONS]
    cells.append(Cell("window_warp+amplitude_resize", ("augmentations.methods=[window_warp, amplitude_resize]",)))
    return cells


def rate_cells(rates: Sequence[float]) -> list[Cell]:
    """The augmented-view reconstruction weight over a grid."""
    return [Cell(f"aug_recon_rate={r:g}", (f"ssl.aug_recon_rate={r}",)) for r in rates]


def study_cells(study: str, rates: Sequence[float] = DEFAULT_RATES) -> list[Cell]:
    """The cells of a named study."""
    if study == "augmentations":
        return augmentation_cells()
    if study == "aug-recon-rate":
        return rate_cells(rates)
    raise ConfigError(f"unknown study '{study}'; expected one of {', '.join(STUDIES)}")


def ablation_cell(dataset: str, method: str, preset: str, cell: Cell, seed: int, budget: Sequence[str],
                  data_dir: str | None, overrides: Sequence[str] = ()) -> CellSpec:
    """The sweep cell of one study cell and seed: `<dataset>-<method>-<cell>-seed<seed>.h5`, trained and evaluated."""
    slug = cell.name.replace("+", "_").replace("=", "")
    return CellSpec(name=f"{dataset}-{method}-{slug}-seed{seed}", dataset=dataset, data_dir=data_dir, preset=preset,
                    seed=seed, overrides=(f"ssl.method={method}", *budget, *cell.overrides, *overrides),
                    stages=("tokenizer", "eval"))


def _stat(values: list[float]) -> tuple[float, float]:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def ablate(
    dataset: str,
    method: str,
    study: str,
    seeds: Sequence[int],
    out_dir: Path,
    budget: Sequence[str],
    data_dir: str | None = None,
    base_preset: str | None = None,
    rates: Sequence[float] = DEFAULT_RATES,
    overrides: Sequence[str] = (),
    listeners: Iterable[Callable[[Any], None]] = (),
    control: TrainingControl | None = None,
) -> tuple[Path, Path]:
    """Run a study for an SSL method on a dataset; returns the CSV and markdown summary paths.

    `budget` holds the trainer overrides that set epochs or steps. The base configuration is the
    preset `<method>-slice` unless `base_preset` names another.
    """
    preset = base_preset or f"{method}-slice"
    cells = study_cells(study, rates)
    runs = {(cell.name, seed): ablation_cell(dataset, method, preset, cell, seed, budget, data_dir, overrides)
            for cell in cells for seed in seeds}
    for run in runs.values():
        run.tokenizer_config()  # a bad preset or --set is refused before any run starts
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for cell in cells:
        per_seed = [run_cell_here(runs[cell.name, seed], out_dir, control=control, listeners=list(listeners)) for seed in seeds]
        row = {"cell": cell.name, "seeds": len(per_seed)}
        for metric in SUMMARY_METRICS:
            mean, std = _stat([float(r.get(metric, math.nan)) for r in per_seed])
            row[f"{metric}_mean"], row[f"{metric}_std"] = mean, std
        rows.append(row)

    stem = f"ablation-{dataset}-{method}-{study}"
    csv_path = out_dir / f"{stem}.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    md_path = out_dir / f"{stem}.md"
    md_path.write_text(markdown(dataset, method, study, preset, seeds, budget, rows), encoding="utf-8")
    return csv_path, md_path


def markdown(dataset: str, method: str, study: str, preset: str, seeds: Sequence[int], budget: Sequence[str],
             rows: list[dict]) -> str:
    """The summary table of a study."""
    lines = [
        f"# Ablation: {study} — {method} on {dataset}",
        "",
        f"Base preset `{preset}`; budget {', '.join(budget)}; seeds {', '.join(map(str, seeds))}; mean ± std over seeds.",
        "",
        "| cell | " + " | ".join(SUMMARY_METRICS) + " |",
        "|---|" + "---|" * len(SUMMARY_METRICS),
    ]
    for row in rows:
        cells = [f"{row[f'{m}_mean']:.4f} ± {row[f'{m}_std']:.4f}" for m in SUMMARY_METRICS]
        lines.append(f"| {row['cell']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
