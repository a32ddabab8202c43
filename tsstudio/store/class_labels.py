"""The dataset's class labels of a run, by class id: what the user calls a class (ECG5000's are 1..5)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tsstudio.store.runfile import RunFile


def recorded_class_labels(attrs: Mapping[str, Any]) -> tuple[str, ...]:
    """The labels a run file's `class_labels` attribute records (empty for files written before it)."""
    try:
        labels = json.loads(str(attrs.get("class_labels", "") or "null"))
    except ValueError:
        return ()
    return tuple(str(c) for c in labels) if isinstance(labels, list) else ()


def run_class_labels(run: RunFile) -> tuple[str, ...]:
    """The labels of `run`: recorded in the file, else read from the dataset the run names (empty
    when that cannot be found either)."""
    labels = recorded_class_labels(run.attrs)
    if labels:
        return labels
    from tsstudio.data import load_dataset
    from tsstudio.errors import TsstudioError

    try:
        dataset = load_dataset(run.dataset, run.attrs.get("data_dir") or None, scaling=False)
    except (TsstudioError, OSError, ValueError):
        return ()
    return tuple(str(c) for c in dataset.class_labels)


def class_name(labels: Sequence[str], class_id: int) -> str:
    """The dataset's label of class `class_id`, or `id N` when the labels are unknown."""
    return str(labels[class_id]) if 0 <= class_id < len(labels) else f"id {class_id}"
