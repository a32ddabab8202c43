"""The results table of a workspace: one row per run, grouped, with the best per column and a baseline.

The run files stay the source of truth. What the table needs from each (flattened configuration,
final metrics, status, kind, dataset, preset, seed) is cached in a small JSON index file in the
workspace, keyed by relative path, size and modification time, so a table of a thousand runs is
rebuilt without opening a file that did not change. Curves are never read: a row holds the last
value of each metric, overridden by stored evaluation results.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsstudio.config.flat import flatten_config, freeze
from tsstudio.errors import RunFileError, TsstudioError
from tsstudio.store.runfile import RunFile
from tsstudio.store.text_files import write_text_atomic

INDEX_NAME = ".tsstudio-results.json"
INDEX_FORMAT = 1
RUN_KINDS = ("tokenizer", "prior")
IDENTITY_KEYS = ("name", "kind", "status", "dataset", "preset", "seed")
"""Row fields that come from the run file's attributes rather than its configuration."""
SEED_KEYS = frozenset({"seed", "trainer.seed"})
NOISE_LEAVES = frozenset({"out", "output", "out_dir", "output_dir", "path", "name", "run_name", "data_dir",
                          "device", "num_threads"})
"""Last components of configuration keys that say where or how a run ran, not what it is."""
NON_METRIC_RESULTS = frozenset({"step", "weights", "evaluated", "fcn_epochs", "cas_epochs", "n_generated"})
DEFAULT_METRICS = ("test_mse_time", "test_mse_stft", "val_loss", "svm_accuracy", "knn_accuracy", "perplexity",
                   "dead_codes", "fid", "is_mean", "cas_accuracy")
"""Columns shown by default, those that any run has, in this order."""

_LOWER_TOKENS = frozenset({"loss", "mse", "error", "err", "fid", "dead"})
_HIGHER_TOKENS = frozenset({"accuracy", "acc", "cas"})
_HIGHER_NAMES = frozenset({"is", "is_mean", "inception_score"})


def metric_direction(name: str) -> str | None:
    """"lower" for errors, losses, FID and dead codes; "higher" for accuracies, IS and CAS; else None."""
    tokens = set(name.lower().split("_"))
    if "floor" in tokens or name.lower() == "lr":
        return None
    if name.lower() in _HIGHER_NAMES or tokens & _HIGHER_TOKENS:
        return "higher"
    if tokens & _LOWER_TOKENS or name.lower().startswith("recon"):
        return "lower"
    return None


# --------------------------------------------------------------------------- rows


@dataclass
class ResultRow:
    """What the results table knows about one run file."""

    path: Path
    name: str
    kind: str = ""
    status: str = ""
    dataset: str = ""
    preset: str | None = None
    seed: int | None = None
    step: int = 0
    config: dict[str, Any] = field(default_factory=dict)  # flattened
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    def value(self, key: str) -> Any:
        """An identity field, a flattened configuration key or a metric, by name (None if absent)."""
        if key in IDENTITY_KEYS:
            return getattr(self, key)
        if key in self.config:
            return self.config[key]
        return self.metrics.get(key)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "status": self.status, "dataset": self.dataset,
            "preset": self.preset, "seed": self.seed, "step": self.step, "config": self.config,
            "metrics": self.metrics, "error": self.error,
        }

    @classmethod
    def from_json(cls, path: Path, data: dict[str, Any]) -> ResultRow:
        config = {k: freeze(v) for k, v in data.get("config", {}).items()}
        return cls(path=path, name=data["name"], kind=data.get("kind", ""), status=data.get("status", ""),
                   dataset=data.get("dataset", ""), preset=data.get("preset"), seed=data.get("seed"),
                   step=int(data.get("step", 0)), config=config,
                   metrics={k: float(v) for k, v in data.get("metrics", {}).items()}, error=data.get("error"))


def read_row(path: Path) -> ResultRow | None:
    """The table row of one run file; None for a file that is not a tokenizer or prior run file."""
    try:
        rf = RunFile.open(path)
    except RunFileError:
        return None
    with rf:
        if rf.kind not in RUN_KINDS:
            return None
        row = ResultRow(path=path, name=path.stem, kind=rf.kind)
        try:
            row.status, row.dataset, row.preset, row.seed, row.step = rf.status, rf.dataset, rf.preset, rf.seed, rf.step
            row.config = flatten_config(rf.config)
            metrics = {k: v for k, v in rf.headline().items() if math.isfinite(v)}
            for key, value in rf.evaluation().items():
                if key in NON_METRIC_RESULTS or isinstance(value, bool) or not isinstance(value, (int, float)):
                    continue
                metrics[key] = float(value)
            row.metrics = metrics
        except (OSError, KeyError, ValueError, RunFileError) as exc:
            row.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return row


@dataclass
class ResultsIndex:
    """The rows of a workspace and how they were obtained (for the cache's own checks)."""

    folder: Path
    rows: list[ResultRow]
    n_read: int  # run files opened this time
    n_reused: int  # rows taken from the index file
    index_path: Path


def _candidates(root: Path) -> list[Path]:
    return sorted(p for p in {*root.glob("*.h5"), *root.glob("*/*.h5")} if p.is_file())


def _load_index(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != INDEX_FORMAT or not isinstance(data.get("entries"), dict):
        return {}
    return data["entries"]


def index_runs(folder: str | os.PathLike[str], use_cache: bool = True) -> ResultsIndex:
    """Every run of a workspace folder (and its direct subfolders), sorted by path, using the index file.

    A cached row is reused when its file's size and modification time are unchanged; a changed
    file is read again, a deleted one drops out. Rows of runs still `running` are never cached
    (their status depends on the writer being alive). The index file is rewritten, atomically,
    only when something changed, and not at all in a read-only folder.
    """
    root = Path(folder)
    if not root.is_dir():
        raise TsstudioError(f"{root}: folder not found")
    index_path = root / INDEX_NAME
    old = _load_index(index_path) if use_cache else {}
    entries: dict[str, Any] = {}
    rows: list[ResultRow] = []
    n_read = n_reused = 0
    for path in _candidates(root):
        rel = path.relative_to(root).as_posix()
        try:
            st = path.stat()
        except OSError:
            continue
        key = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
        cached = old.get(rel)
        if cached is not None and cached.get("size") == key["size"] and cached.get("mtime_ns") == key["mtime_ns"]:
            entries[rel] = cached
            n_reused += 1
            if cached.get("row") is not None:
                rows.append(ResultRow.from_json(path, cached["row"]))
            continue
        n_read += 1
        try:
            row = read_row(path)
        except Exception as exc:  # a damaged file must not break the table
            row = ResultRow(path=path, name=path.stem, error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        if row is not None:
            rows.append(row)
        if row is None or row.status != "running":
            entries[rel] = {**key, "row": None if row is None else row.to_json()}
    if use_cache and entries != old:
        _save_index(index_path, entries)
    return ResultsIndex(root, rows, n_read, n_reused, index_path)


def _save_index(path: Path, entries: dict[str, Any]) -> None:
    if not os.access(path.parent, os.W_OK):
        return
    # the cache is an optimisation; the run files stay the source of truth
    with contextlib.suppress(OSError):
        write_text_atomic(path, json.dumps({"format": INDEX_FORMAT, "entries": entries}, default=_json_value))


def _json_value(obj: Any) -> Any:
    if isinstance(obj, tuple):
        return list(obj)
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


# --------------------------------------------------------------------------- grouping


def config_keys(rows: Iterable[ResultRow]) -> list[str]:
    """Every flattened configuration key of the rows, sorted."""
    return sorted({key for row in rows for key in row.config})


def is_noise_key(key: str) -> bool:
    """Keys that are run identity rather than experiment: the seed, output paths and names, device."""
    return key in SEED_KEYS or key.rsplit(".", 1)[-1] in NOISE_LEAVES


def default_group_keys(rows: Sequence[ResultRow]) -> list[str]:
    """The kind and dataset, then every configuration key but the seed and run-identity noise."""
    return ["kind", "dataset", *(k for k in config_keys(rows) if not is_noise_key(k))]


def known_keys(rows: Sequence[ResultRow]) -> list[str]:
    """Keys that `group_rows` accepts for these rows."""
    return [*IDENTITY_KEYS, *config_keys(rows)]


@dataclass
class MetricStat:
    """Mean, sample standard deviation (0 for one run) and count of one metric over a group."""

    mean: float
    std: float
    n: int


@dataclass
class Group:
    """Runs sharing the values of the grouping keys, and their metric statistics."""

    values: dict[str, Any]
    rows: list[ResultRow]
    stats: dict[str, MetricStat]

    @property
    def n(self) -> int:
        return len(self.rows)


def metric_stat(values: Sequence[float]) -> MetricStat | None:
    """Statistics of finite values; None when there are none."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return None
    std = statistics.stdev(finite) if len(finite) > 1 else 0.0
    return MetricStat(statistics.fmean(finite), std, len(finite))


def _sort_key(value: Any) -> tuple:
    if value is None:
        return (0, 0.0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, float(value), "")
    return (2, 0.0, repr(value))


def group_rows(rows: Sequence[ResultRow], keys: Sequence[str] | None = None) -> list[Group]:
    """Group runs by the values of `keys` (default `default_group_keys`), groups sorted by those values.

    Rows that could not be read (`error` set) are left out. Raises TsstudioError naming a key no
    run has.
    """
    good = [r for r in rows if r.error is None]
    keys = list(default_group_keys(good) if keys is None else keys)
    configured = {k for r in good for k in r.config}
    known = configured | set(IDENTITY_KEYS) | {m for r in good for m in r.metrics}
    for key in keys:
        if key not in known:
            sample = ", ".join(known_keys(good)[:12])
            raise TsstudioError(f"--group-by {key}: no run has this key (known keys include: {sample}, ...)")
    buckets: dict[tuple, list[ResultRow]] = {}
    identity = [k in IDENTITY_KEYS for k in keys]
    missing = object()
    for row in good:
        # the hot loop on a large workspace: read the keys directly, freeze only what cannot be hashed
        config, metrics = row.config, row.metrics
        values = tuple(getattr(row, k) if ident else (v if (v := config.get(k, missing)) is not missing
                       else metrics.get(k)) for k, ident in zip(keys, identity))
        try:
            hash(values)
        except TypeError:
            values = tuple(freeze(v) for v in values)
        buckets.setdefault(values, []).append(row)
    groups = []
    for values, members in sorted(buckets.items(), key=lambda item: tuple(map(_sort_key, item[0]))):
        names = sorted({m for r in members for m in r.metrics})
        stats = {}
        for name in names:
            stat = metric_stat([r.metrics.get(name) for r in members])
            if stat is not None:
                stats[name] = stat
        groups.append(Group(dict(zip(keys, values)), members, stats))
    return groups


def run_groups(rows: Sequence[ResultRow]) -> list[Group]:
    """Every readable run as a group of its own (the table without grouping), keyed by its name, in row order."""
    return [
        Group({"name": row.name}, [row], {m: MetricStat(v, 0.0, 1) for m, v in sorted(row.metrics.items()) if math.isfinite(v)})
        for row in rows if row.error is None
    ]


def varying_keys(groups: Sequence[Group]) -> list[str]:
    """The grouping keys whose values differ between groups (what tells the rows apart)."""
    if not groups:
        return []
    keys = list(groups[0].values)
    return [k for k in keys if len({repr(g.values.get(k)) for g in groups}) > 1]


def group_value(group: Group, key: str) -> Any:
    """The group's value of `key`: its grouping value, or its runs' common value (None when they differ)."""
    if key in group.values:
        return group.values[key]
    values = {repr(r.value(key)) for r in group.rows}
    return group.rows[0].value(key) if len(values) == 1 else None


def distinct_columns(groups: Sequence[Group], keys: Sequence[str]) -> list[str]:
    """`keys` without those that repeat an earlier key's values in every group (`data.dataset` beside `dataset`)."""
    kept: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for key in keys:
        column = tuple(repr(group_value(g, key)) for g in groups)
        if column not in seen:
            seen.add(column)
            kept.append(key)
    return kept


READABLE_KEYS = ("name", "kind", "dataset", "preset")
"""Keys a reader knows a run by: on a tie they tell groups apart before configuration details."""


def telling_keys(groups: Sequence[Group], keys: Sequence[str], limit: int = 4) -> list[str]:
    """A few of `keys` (at most `limit`, in their order) that tell the groups apart, chosen greedily.

    Each pick is the key that splits the groups into the most distinct rows with those already
    picked (on a tie a `READABLE_KEYS` one, else the earlier key), until every group has its own
    row or no key helps; so a table can lead with these and still show which row is which.
    """
    chosen: list[str] = []
    columns = {k: [repr(group_value(g, k)) for g in groups] for k in keys}

    def distinct(picked: list[str]) -> int:
        return len(set(zip(*(columns[k] for k in picked)))) if picked else min(len(groups), 1)

    best = distinct([])
    while len(chosen) < limit and best < len(groups):
        scores = [(distinct([*chosen, k]), k in READABLE_KEYS, -i, k) for i, k in enumerate(keys) if k not in chosen]
        if not scores:
            break
        score, _, _, key = max(scores)
        if score <= best:
            break
        chosen.append(key)
        best = score
    return [k for k in keys if k in chosen]


def best_per_metric(groups: Sequence[Group], metrics: Sequence[str]) -> dict[str, list[int]]:
    """For each metric with a direction, the indices of the groups with the best mean (all of them on a tie)."""
    best: dict[str, list[int]] = {}
    for metric in metrics:
        direction = metric_direction(metric)
        if direction is None:
            continue
        means = {i: g.stats[metric].mean for i, g in enumerate(groups) if metric in g.stats}
        if not means:
            continue
        target = min(means.values()) if direction == "lower" else max(means.values())
        best[metric] = [i for i, mean in means.items() if mean == target]
    return best


def baseline_differences(groups: Sequence[Group], baseline: int, metrics: Sequence[str]) -> list[dict[str, float | None]]:
    """Per group, each metric's mean minus the baseline group's mean (None where either is missing)."""
    if not 0 <= baseline < len(groups):
        raise TsstudioError(f"--baseline {baseline + 1}: expected a row number from 1 to {len(groups)}")
    base = groups[baseline].stats
    return [
        {m: (g.stats[m].mean - base[m].mean) if m in g.stats and m in base else None for m in metrics}
        for g in groups
    ]


def present_metrics(groups: Sequence[Group], wanted: Sequence[str] | None = None) -> list[str]:
    """The metric columns to show: `wanted` (all must exist) or the default ones any group has."""
    have = {m for g in groups for m in g.stats}
    if wanted:
        missing = [m for m in wanted if m not in have]
        if missing:
            raise TsstudioError(f"--metrics {','.join(missing)}: no run has this metric (have: {', '.join(sorted(have))})")
        return list(wanted)
    return [m for m in DEFAULT_METRICS if m in have]


# --------------------------------------------------------------------------- table and export


@dataclass
class ResultsTable:
    """Grouped results ready to print or export: key columns, metric columns, best and baseline."""

    groups: list[Group]
    key_columns: list[str]
    metrics: list[str]
    best: dict[str, list[int]]
    baseline: int | None = None
    differences: list[dict[str, float | None]] | None = None


def results_table(
    rows: Sequence[ResultRow],
    group_by: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    baseline: int | None = None,
) -> ResultsTable:
    """Group rows, pick the columns that tell groups apart, the best group per metric and the differences to a baseline.

    `baseline` is a 0-based group index.
    """
    groups = group_rows(rows, group_by)
    columns = list(group_by) if group_by is not None else varying_keys(groups)
    if group_by is None and not columns and groups:
        columns = ["dataset"]
    shown = present_metrics(groups, metrics)
    diffs = baseline_differences(groups, baseline, shown) if baseline is not None else None
    return ResultsTable(groups, columns, shown, best_per_metric(groups, shown), baseline, diffs)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def _key_cell(group: Group, key: str) -> str:
    return _cell(group.values[key] if key in group.values else group.rows[0].value(key))


def _metric_header(metric: str) -> str:
    arrow = {"lower": " ↓", "higher": " ↑"}.get(metric_direction(metric) or "", "")
    return metric + arrow


def _num(value: float | None, digits: int = 4) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def stat_text(stat: MetricStat | None, digits: int = 4) -> str:
    """A metric's cell: `mean ± std` over several runs, the value alone for one run (no made-up ± 0), `-` for none."""
    if stat is None:
        return "-"
    if stat.n == 1:
        return _num(stat.mean, digits)
    return f"{_num(stat.mean, digits)} ± {_num(stat.std, digits)}"


def table_cells(table: ResultsTable, digits: int = 4) -> tuple[list[str], list[list[str]]]:
    """Headers and text cells of the table as printed: `mean ± std` per metric (one run: its value), `*` marks the best."""
    headers = ["#", *table.key_columns, "n", *table.metrics]
    rows = []
    for i, g in enumerate(table.groups):
        cells = [str(i + 1) + (" (baseline)" if i == table.baseline else ""),
                 *(_key_cell(g, k) for k in table.key_columns), str(g.n)]
        for m in table.metrics:
            stat = g.stats.get(m)
            text = stat_text(stat, digits)
            if i in table.best.get(m, ()):
                text += " *"
            if table.differences is not None and i != table.baseline:
                diff = table.differences[i].get(m)
                if diff is not None:
                    text += f" ({diff:+.{digits}f})"
            cells.append(text)
        rows.append(cells)
    return headers, rows


def table_csv(table: ResultsTable) -> str:
    """CSV text: key columns, n, then per metric its mean, std (empty for one run), n, best flag and minus the baseline."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = [*table.key_columns, "n"]
    for m in table.metrics:
        header += [f"{m}_mean", f"{m}_std", f"{m}_n", f"{m}_best"]
        if table.differences is not None:
            header.append(f"{m}_minus_baseline")
    writer.writerow(header)
    for i, g in enumerate(table.groups):
        line: list[Any] = [_key_cell(g, k) for k in table.key_columns] + [g.n]
        for m in table.metrics:
            stat = g.stats.get(m)
            # one run has no spread: its std is left empty rather than written as 0
            line += ["", "", 0] if stat is None else [repr(stat.mean), repr(stat.std) if stat.n > 1 else "", stat.n]
            line.append(int(i in table.best.get(m, ())))
            if table.differences is not None:
                diff = table.differences[i].get(m)
                line.append("" if diff is None else repr(diff))
        writer.writerow(line)
    return buf.getvalue()


def table_markdown(table: ResultsTable, digits: int = 4) -> str:
    """Markdown table: `mean ± std` per metric, the best in bold, differences to the baseline in brackets."""
    headers = [*table.key_columns, "n", *(_metric_header(m) for m in table.metrics)]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for i, g in enumerate(table.groups):
        cells = [_key_cell(g, k).replace("|", "\\|") for k in table.key_columns]
        cells.append(str(g.n) + (" (baseline)" if i == table.baseline else ""))
        for m in table.metrics:
            stat = g.stats.get(m)
            text = stat_text(stat, digits)
            if stat is not None and i in table.best.get(m, ()):
                text = f"**{text}**"
            if table.differences is not None and i != table.baseline and table.differences[i].get(m) is not None:
                text += f" ({table.differences[i][m]:+.{digits}f})"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_table(table: ResultsTable, path: str | os.PathLike[str], fmt: str) -> Path:
    """Write the table as `csv` or `markdown`, whole or not at all."""
    if fmt == "csv":
        return write_text_atomic(path, table_csv(table), what="--csv")
    if fmt == "markdown":
        return write_text_atomic(path, table_markdown(table), what="--markdown")
    raise ValueError(f"unknown table format {fmt!r}")
