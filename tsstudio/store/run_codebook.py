"""The codebook explorer's figures for a tokenizer run file (best weights, whole splits)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tsstudio.eval.codebook_usage import CodebookReport, codebook_report, pooled_projection
from tsstudio.models.runtime import resolve_device
from tsstudio.store.models_io import dataset_of
from tsstudio.store.run_compare import best_or_latest
from tsstudio.store.runfile import RunFile


def run_codebook_report(
    path: str | os.PathLike[str], data_dir: str | None = None, device: str = "auto", batch_size: int = 512
) -> tuple[CodebookReport, np.ndarray, np.ndarray]:
    """The codebook report of a run's best weights (else latest), with its train and test labels."""
    with RunFile.open(Path(path)) as run:
        model, _, _ = best_or_latest(run)
        dataset = dataset_of(run, data_dir)
    report = codebook_report(model, dataset.x_train, dataset.x_test, resolve_device(device), batch_size)
    return report, np.asarray(dataset.y_train), np.asarray(dataset.y_test)


def run_test_projection(
    path: str | os.PathLike[str], data_dir: str | None = None, device: str = "auto", method: str = "pca"
) -> tuple[np.ndarray, np.ndarray]:
    """The test set's pooled representations (what the probes see) in 2-D, and the test labels."""
    with RunFile.open(Path(path)) as run:
        model, _, _ = best_or_latest(run)
        dataset = dataset_of(run, data_dir)
    dev = resolve_device(device)
    model.to(dev)
    return pooled_projection(model, dataset.x_test, dev, method=method), np.asarray(dataset.y_test)
