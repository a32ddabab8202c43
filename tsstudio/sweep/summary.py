"""The summary of a sweep: one table per metric, datasets as rows, presets (and grid points) as columns.

Each entry is the mean ± sample std over the seeds that have an evaluation, with n; the best entry
of each row is marked (by mean, in the metric's direction). Where the published study has figures
for a dataset and a preset as published (no grid change), a "published" row follows the dataset's
row, in the layout of the reference results. Values come from the run files' stored evaluations
only, so a summary of a running sweep shows what has finished so far.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsstudio.errors import RunFileError
from tsstudio.store.results_index import metric_direction
from tsstudio.store.runfile import RunFile
from tsstudio.sweep.published import PUBLISHED_KEYS, published_results
from tsstudio.sweep.spec import CellSpec, SweepSpec
from tsstudio.sweep.status import CellState, counts, sweep_states

TOKENIZER_METRICS = ("svm_accuracy", "knn_accuracy", "val_loss", "test_mse_time", "test_mse_stft", "perplexity",
                     "dead_codes", "codebook_mean_abs_corr", "codebook_mean_abs_cos", "training_time_s")
PRIOR_METRICS = ("fid", "is_mean", "cas_val_acc_ema")
PROBE_VARIANTS = {  # metric -> (protocol, latent) of `store.run_eval.probe_run`
    "svm_accuracy_train_mode": ("train-mode", "z_q"),
    "knn_accuracy_train_mode": ("train-mode", "z_q"),
    "svm_accuracy_z": ("eval", "z"),
    "knn_accuracy_z": ("eval", "z"),
}
"""The probes under other protocols that `summarize(..., probe_variants=True)` adds, computed from the run files."""
METRICS = TOKENIZER_METRICS[:2] + tuple(PROBE_VARIANTS) + TOKENIZER_METRICS[2:] + PRIOR_METRICS
"""The metrics tabulated, in this order (those no cell has are left out)."""

METRIC_NOTES = {
    "svm_accuracy": "our protocol: eval-mode features, no codebook update",
    "knn_accuracy": "our protocol: eval-mode features, no codebook update",
    "svm_accuracy_train_mode": "the reference code's protocol (train-mode features, method §11.A.1), for comparison; "
                               "the published figures were measured this way",
    "knn_accuracy_train_mode": "the reference code's protocol (train-mode features, method §11.A.1), for comparison; "
                               "the published figures were measured this way",
    "svm_accuracy_z": "eval mode, pooling the encoder output z before quantisation",
    "knn_accuracy_z": "eval mode, pooling the encoder output z before quantisation",
}
"""What a metric's table measures, where the name alone does not say."""


@dataclass(frozen=True)
class Stat:
    """Mean, sample std (None for a single value) and count of one table entry."""

    mean: float
    std: float | None
    n: int

    def text(self, digits: int | None = None) -> str:
        """`0.8300 ± 0.0100 (n=2)`; a single value without a spread: `0.8300 (n=1)`."""
        d = (0 if abs(self.mean) >= 100 else 4) if digits is None else digits
        spread = f" ± {self.std:.{d}f}" if self.std is not None else ""
        return f"{self.mean:.{d}f}{spread} (n={self.n})"


def stat(values: list[float]) -> Stat | None:
    """The Stat of the finite values, or None when there are none."""
    values = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not values:
        return None
    return Stat(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None, len(values))


def published_stat(pair: Any) -> Stat | None:
    """A published [mean, std] over the study's 4 runs."""
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        return None
    return Stat(float(pair[0]), float(pair[1]), 4)


@dataclass
class SummaryRow:
    """One row of a metric's table: a dataset's figures (ours or the published ones) per column."""

    dataset: str
    source: str  # "ours" or "published"
    cells: dict[str, Stat | None]  # column -> entry
    best: list[str] = field(default_factory=list)  # the column(s) with the best mean; [] when the metric has no direction

    @property
    def label(self) -> str:
        return self.dataset if self.source == "ours" else f"{self.dataset} (published)"


@dataclass
class SweepSummary:
    """Per-metric tables of a sweep, the cell counts and the failed cells."""

    name: str
    columns: list[str]
    tables: dict[str, list[SummaryRow]]
    counts: dict[str, int]
    failures: list[tuple[str, str]]  # (cell name, error)

    def table(self, metric: str) -> tuple[list[str], list[list[str]]]:
        """(headers, rows) of one metric's table as display strings; best entries end in ' *'."""
        headers = ["dataset", *self.columns]
        rows = []
        for row in self.tables.get(metric, []):
            cells = []
            for column in self.columns:
                entry = row.cells.get(column)
                cells.append("-" if entry is None else entry.text() + (" *" if column in row.best else ""))
            rows.append([row.label, *cells])
        return headers, rows

    def markdown(self) -> str:
        """Markdown: a heading and a table per metric, best by mean in bold, then the failed cells."""
        done = self.counts.get("finished", 0)
        total = sum(self.counts.values())
        lines = [f"# Sweep {self.name}", "",
                 f"{done} of {total} cells finished"
                 + "".join(f", {n} {status}" for status, n in self.counts.items() if n and status != "finished")
                 + ". Entries: mean ± sample std over seeds (n); published: mean ± std over 4 runs.", ""]
        for metric, rows in self.tables.items():
            direction = metric_direction(metric)
            note = f" ({direction} is better)" if direction else ""
            about = f" — {METRIC_NOTES[metric]}" if metric in METRIC_NOTES else ""
            lines += [f"## `{metric}`{note}{about}", "",
                      "| dataset | " + " | ".join(self.columns) + " | best (by mean) |",
                      "|---|" + "---|" * (len(self.columns) + 1)]
            for row in rows:
                cells = []
                for column in self.columns:
                    entry = row.cells.get(column)
                    text = "-" if entry is None else entry.text()
                    cells.append(f"**{text}**" if column in row.best else text)
                lines.append(f"| {row.label} | " + " | ".join(cells) + f" | {', '.join(row.best) or '-'} |")
            lines.append("")
        if self.failures:
            lines += ["## Failed cells", "", "| cell | error |", "|---|---|"]
            lines += [f"| {name} | {error.replace('|', '/')} |" for name, error in self.failures]
            lines.append("")
        return "\n".join(lines).rstrip("\n") + "\n"

    def csv(self) -> str:
        """CSV, one line per table entry: metric, dataset, source, column, mean, std, n, best."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["metric", "dataset", "source", "column", "mean", "std", "n", "best"])
        for metric, rows in self.tables.items():
            for row in rows:
                for column in self.columns:
                    entry = row.cells.get(column)
                    if entry is None:
                        continue
                    writer.writerow([metric, row.dataset, row.source, column, repr(entry.mean),
                                     "" if entry.std is None else repr(entry.std), entry.n, int(column in row.best)])
        return out.getvalue()


def _best(cells: dict[str, Stat | None], metric: str) -> list[str]:
    direction = metric_direction(metric)
    present = {column: entry.mean for column, entry in cells.items() if entry is not None}
    if direction is None or not present:
        return []
    target = (min if direction == "lower" else max)(present.values())
    return [column for column, mean in present.items() if mean == target]


def cell_results(workspace: Path, cell: CellSpec) -> dict[str, float]:
    """The evaluated figures of one cell: the tokenizer's evaluation and training time, the prior's FID/IS/CAS."""
    out: dict[str, float] = {}
    for path, kind in ((cell.tokenizer_path(workspace), "tokenizer"), (cell.prior_path(workspace), "prior")):
        if not path.exists():
            continue
        try:
            with RunFile.open(path) as run:
                scalars = run.evaluation_scalars()
                if kind == "tokenizer" and run.status == "finished" and run.elapsed_s is not None:
                    out["training_time_s"] = float(run.elapsed_s)
        except RunFileError:
            continue
        wanted = TOKENIZER_METRICS if kind == "tokenizer" else PRIOR_METRICS
        for key in wanted:
            value = scalars.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[key] = float(value)
    return out


def build_summary(spec: SweepSpec, results: list[tuple[CellSpec, dict[str, float]]],
                  states: list[tuple[CellSpec, CellState]] | None = None,
                  published: dict[str, Any] | None = None) -> SweepSummary:
    """The summary of given per-cell results (the rule, apart from reading run files)."""
    published = published_results() if published is None else published
    columns = spec.columns()
    by_key: dict[tuple[str, str], list[dict[str, float]]] = {}
    for cell, values in results:
        by_key.setdefault((cell.dataset, cell.column), []).append(values)
    present = {key for _, values in results for key in values}
    tables: dict[str, list[SummaryRow]] = {}
    for metric in METRICS:
        if metric not in present:
            continue
        rows = []
        for dataset in spec.datasets:
            cells = {column: stat([v[metric] for v in by_key.get((dataset, column), []) if metric in v]) for column in columns}
            rows.append(SummaryRow(dataset, "ours", cells, _best(cells, metric)))
            pub_key = PUBLISHED_KEYS.get(metric)
            pub = {column: published_stat(published.get(dataset, {}).get(column, {}).get(pub_key)) if pub_key else None
                   for column in columns}
            if any(entry is not None for entry in pub.values()):
                rows.append(SummaryRow(dataset, "published", pub, _best(pub, metric)))
        tables[metric] = rows
    states = states or []
    failures = [(cell.name, state.error or f"failed at {state.stage}") for cell, state in states if state.status == "failed"]
    status_counts = counts(states) if states else {"finished": len(results)}
    return SweepSummary(spec.name, columns, tables, status_counts, failures)


def probe_variant_results(path: Path) -> dict[str, float]:
    """The PROBE_VARIANTS figures of one finished tokenizer run (its final weights; the file is only read)."""
    from tsstudio.store.run_eval import probe_run

    out: dict[str, float] = {}
    for (protocol, latent) in dict.fromkeys(PROBE_VARIANTS.values()):
        figures = probe_run(path, protocol, latent)
        suffix = "_train_mode" if protocol == "train-mode" else f"_{latent}"
        out.update({f"{name}{suffix}": figures[name] for name in ("svm_accuracy", "knn_accuracy")})
    return out


def summarize(spec: SweepSpec, workspace: Path | None = None, probe_variants: bool = False) -> SweepSummary:
    """Read every cell's run files in `workspace` (default: the spec's) and build the summary.

    With `probe_variants`, each finished tokenizer with a probe result is also probed under the
    PROBE_VARIANTS protocols (this loads the models and the data, so it takes a while).
    """
    folder = Path(workspace) if workspace is not None else spec.workspace
    states = sweep_states(spec, folder)
    results = [(cell, cell_results(folder, cell)) for cell, _ in states]
    if probe_variants:
        for cell, values in results:
            if "svm_accuracy" in values:
                values.update(probe_variant_results(cell.tokenizer_path(folder)))
    return build_summary(spec, results, states)
