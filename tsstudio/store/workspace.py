"""A workspace is a folder of run files; this module lists and summarises them."""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsstudio.errors import RunFileError
from tsstudio.store.runfile import RunFile

HEADLINE_METRICS = ("val_loss", "svm_accuracy", "knn_accuracy", "perplexity")
"""Metrics shown in a run list: their latest values, overridden by stored evaluation results."""


@dataclass
class RunSummary:
    """What a run list shows about one run file."""

    path: Path
    name: str
    kind: str = ""
    status: str = ""
    dataset: str = ""
    preset: str | None = None
    seed: int | None = None
    step: int = 0
    total_steps: int = 0
    created: str = ""
    headline: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def summarize(path: str | os.PathLike[str]) -> RunSummary:
    """Summarise one run file; raises RunFileError if it is not a readable run file."""
    p = Path(path)
    with RunFile.open(p) as rf:
        summary = RunSummary(path=p, name=p.stem, kind=rf.kind, created=rf.created)
        try:
            summary.status = rf.status
            summary.dataset = rf.dataset
            summary.preset = rf.preset
            summary.seed = rf.seed
            summary.step = rf.step
            summary.total_steps = rf.total_steps
            latest = rf.headline()
            headline = {name: latest[name] for name in HEADLINE_METRICS if name in latest}
            for key, value in rf.evaluation().items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    headline[key] = float(value)
            summary.headline = headline
        except (OSError, KeyError, ValueError, RunFileError) as exc:
            summary.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return summary


def _created_key(summary: RunSummary) -> tuple[float, str]:
    try:
        stamp = _dt.datetime.fromisoformat(summary.created).timestamp()
    except (TypeError, ValueError):
        try:
            stamp = summary.path.stat().st_mtime
        except OSError:
            stamp = 0.0
    return stamp, str(summary.path)


def list_runs(folder: str | os.PathLike[str]) -> list[RunSummary]:
    """Summaries of the run files in `folder` and its direct subfolders, oldest first.

    Files that are not tsstudio run files (or cannot be opened) are skipped; a run file whose
    details cannot be read is listed with `error` set.
    """
    root = Path(folder)
    if not root.is_dir():
        return []
    candidates = sorted({*root.glob("*.h5"), *root.glob("*/*.h5")})
    out: list[RunSummary] = []
    for path in candidates:
        if not path.is_file():
            continue
        try:
            out.append(summarize(path))
        except RunFileError:
            continue
        except Exception as exc:  # a damaged file must not break the listing
            out.append(RunSummary(path=path, name=path.stem, error=_first_line(exc)))
    out.sort(key=_created_key)
    return out


def _first_line(exc: Any) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
