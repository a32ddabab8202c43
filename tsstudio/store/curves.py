"""Curves across runs: runs that differ only in seed, and a metric's mean, std, min and max per step."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tsstudio.config.flat import flatten_config
from tsstudio.store.results_filters import value_text
from tsstudio.store.results_index import is_noise_key
from tsstudio.store.runfile import RunFile


def seed_group_key(kind: str, dataset: str, config: dict) -> tuple:
    """What runs of one seed group share: kind, dataset and every configuration key but the seed and run-identity noise."""
    flat = flatten_config(config)
    return (kind, dataset, tuple(sorted((k, repr(v)) for k, v in flat.items() if not is_noise_key(k))))


def group_by_seed(paths: Iterable[str | os.PathLike[str]]) -> list[list[Path]]:
    """Run files grouped so that runs in a group differ only in seed (and run-identity noise), in first-seen order."""
    groups: dict[tuple, list[Path]] = {}
    for path in paths:
        p = Path(path)
        with RunFile.open(p) as run:
            key = seed_group_key(run.kind, run.dataset, run.config)
        groups.setdefault(key, []).append(p)
    return list(groups.values())


@dataclass
class CurveStats:
    """A metric across runs, aligned on step: per step the mean, std (population), min, max and run count."""

    metric: str
    steps: np.ndarray  # (S,) int64, every step any run recorded, ascending
    mean: np.ndarray
    std: np.ndarray
    min: np.ndarray
    max: np.ndarray
    n: np.ndarray  # (S,) how many runs have a value at that step
    epochs: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (S,) mean epoch of the runs at that step


@dataclass
class RunCurve:
    """One run's identity (for grouping and labels), its metric names and one metric's curve."""

    path: Path
    kind: str
    dataset: str
    seed: int | None
    config: dict[str, Any]  # flattened
    metric_names: list[str]
    metric: str
    steps: np.ndarray  # (K,) int64; empty when the run lacks the metric
    epochs: np.ndarray  # (K,) float64
    values: np.ndarray  # (K,) float64
    preset: str | None = None

    @property
    def group_key(self) -> tuple:
        """What runs of one seed group share (`seed_group_key`)."""
        return seed_group_key(self.kind, self.dataset, self.config)


def read_run_curve(path: str | os.PathLike[str], metric: str) -> RunCurve:
    """Open one run file and read what the curves view needs: identity, metric names and `metric`'s curve."""
    p = Path(path)
    with RunFile.open(p) as run:
        names = run.metric_names()
        if metric in names:
            steps, epochs, values = run.metric(metric)
        else:
            steps, epochs, values = np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
        return RunCurve(p, run.kind, run.dataset, run.seed, flatten_config(run.config), list(names), metric,
                        steps, epochs, values, run.preset)


def group_curves(curves: Iterable[RunCurve]) -> list[list[RunCurve]]:
    """Curves grouped so that runs in a group differ only in seed (and run-identity noise), in first-seen order."""
    groups: dict[tuple, list[RunCurve]] = {}
    for curve in curves:
        groups.setdefault(curve.group_key, []).append(curve)
    return list(groups.values())


LABEL_SEPARATOR = " · "
LABEL_EXTRA_KEYS = 3  # configuration keys added to a label, at most, when dataset and preset do not tell groups apart


def group_labels(groups: list[list[RunCurve]]) -> list[str]:
    """A readable label per seed group: `dataset · preset`, then what else tells the groups apart, and `(n=K)`.

    Values read as in the results table (`[slice_and_shuffle]`, never a Python tuple); the
    configuration keys added are the fewest (greedily, at most `LABEL_EXTRA_KEYS`) that give each
    group its own label, written `codebook_size=32`.
    """
    if not groups:
        return []
    firsts = [g[0] for g in groups]
    lead = [[value_text(v) for v in (c.dataset or None, c.preset) if v] for c in firsts]
    configs = [{k: v for k, v in c.config.items() if not is_noise_key(k)} for c in firsts]
    keys = sorted({k for d in configs for k in d})
    columns = {k: [value_text(d.get(k)) for d in configs] for k in keys}
    kinds = [c.kind for c in firsts]
    if len(set(kinds)) > 1:
        lead = [[kind, *parts] for kind, parts in zip(kinds, lead)]

    def distinct(picked: list[str]) -> int:
        return len({(tuple(lead[i]), *(columns[k][i] for k in picked)) for i in range(len(groups))})

    picked: list[str] = []
    best = distinct(picked)
    while best < len(groups) and len(picked) < LABEL_EXTRA_KEYS:
        candidates = [(distinct([*picked, k]), -i, k) for i, k in enumerate(keys) if k not in picked]
        if not candidates:
            break
        score, _, key = max(candidates)
        if score <= best:
            break
        picked.append(key)
        best = score
    labels = []
    for i, group in enumerate(groups):
        parts = [*lead[i], *(f"{k.rsplit('.', 1)[-1]}={columns[k][i]}" for k in keys if k in picked)]
        label = LABEL_SEPARATOR.join(parts) or group[0].path.stem
        labels.append(f"{label} (n={len(group)})")
    return labels


def group_seeds(group: list[RunCurve]) -> str:
    """The seeds of a group, for a tooltip or caption: `seeds 1, 2` or `seed 1`."""
    seeds = sorted(str(c.seed) for c in group)
    return f"seed{'s' if len(seeds) != 1 else ''} {', '.join(seeds)}"


def curve_stats(paths: Iterable[str | os.PathLike[str]], metric: str) -> CurveStats:
    """Per-step statistics of `metric` over runs; a run without the metric is skipped.

    Steps are aligned exactly; where a run logged a step twice (a resumed run) its last value
    counts. Each step's statistics use the runs that have a value there (`n`), so runs of
    different lengths do not drop the tail. The std is the population std (0 for one run).
    """
    return stats_of_curves([read_run_curve(p, metric) for p in paths], metric)


def stats_of_curves(curves: Iterable[RunCurve], metric: str) -> CurveStats:
    """`curve_stats` of curves already read (runs whose curve is empty are skipped)."""
    series: list[dict[int, float]] = []
    epoch_of: list[dict[int, float]] = []
    for curve in curves:
        if not len(curve.steps):
            continue
        series.append({int(s): float(v) for s, v in zip(curve.steps, curve.values)})
        epoch_of.append({int(s): float(e) for s, e in zip(curve.steps, curve.epochs)})
    all_steps = np.array(sorted({s for run in series for s in run}), dtype=np.int64)
    table = np.full((len(series), len(all_steps)), np.nan)
    position = {int(s): i for i, s in enumerate(all_steps)}
    for r, run in enumerate(series):
        for s, v in run.items():
            table[r, position[s]] = v
    epochs = np.full((len(series), len(all_steps)), np.nan)
    for r, run in enumerate(epoch_of):
        for s, e in run.items():
            epochs[r, position[s]] = e
    present = ~np.isnan(table)
    n = present.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.nansum(table, axis=0) / np.maximum(n, 1), np.nan)
        var = np.where(n > 0, np.nansum((table - mean) ** 2, axis=0) / np.maximum(n, 1), np.nan)
    big, small = np.where(present, table, -np.inf), np.where(present, table, np.inf)
    return CurveStats(
        metric=metric,
        steps=all_steps,
        mean=mean,
        std=np.sqrt(var),
        min=small.min(axis=0) if len(series) else np.zeros(0),
        max=big.max(axis=0) if len(series) else np.zeros(0),
        n=n.astype(np.int64),
        epochs=np.where(n > 0, np.nansum(np.where(present, epochs, 0.0), axis=0) / np.maximum(n, 1), np.nan),
    )
