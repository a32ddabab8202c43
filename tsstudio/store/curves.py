"""Curves across runs: runs that differ only in seed, and a metric's mean, std, min and max per step."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tsstudio.config.flat import flatten_config
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


def curve_stats(paths: Iterable[str | os.PathLike[str]], metric: str) -> CurveStats:
    """Per-step statistics of `metric` over runs; a run without the metric is skipped.

    Steps are aligned exactly; where a run logged a step twice (a resumed run) its last value
    counts. Each step's statistics use the runs that have a value there (`n`), so runs of
    different lengths do not drop the tail. The std is the population std (0 for one run).
    """
    series: list[dict[int, float]] = []
    for path in paths:
        with RunFile.open(Path(path)) as run:
            if metric not in run.metric_names():
                continue
            steps, _, values = run.metric(metric)
        series.append({int(s): float(v) for s, v in zip(steps, values)})
    all_steps = np.array(sorted({s for run in series for s in run}), dtype=np.int64)
    table = np.full((len(series), len(all_steps)), np.nan)
    position = {int(s): i for i, s in enumerate(all_steps)}
    for r, run in enumerate(series):
        for s, v in run.items():
            table[r, position[s]] = v
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
    )
