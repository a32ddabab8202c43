"""The codebook explorer's figures for a tokenizer run file (best weights, whole splits)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tsstudio.config.io import from_dict
from tsstudio.eval.codebook_usage import CodebookReport, codebook_report, pooled_projection
from tsstudio.eval.features import pooled_latents
from tsstudio.eval.probes import probe_accuracies
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


@dataclass
class ProbeFeatures:
    """What the probes see for one run: pooled representations of both splits, labels and accuracies."""

    train: np.ndarray  # (N_train, D) mean-pooled quantised latents
    test: np.ndarray  # (N_test, D)
    y_train: np.ndarray
    y_test: np.ndarray
    probes: dict[str, float]  # svm_accuracy, knn_accuracy with the run's probe settings


def run_probe_features(path: str | os.PathLike[str], data_dir: str | None = None, device: str = "auto") -> ProbeFeatures:
    """Pooled representations of a run's best weights (else latest) on both splits, and its probe accuracies.

    The accuracies are those `tsstudio compare` reports (same weights, features and probe settings),
    so a projection of `test` shows exactly what the probes classify.
    """
    with RunFile.open(Path(path)) as run:
        model, _, _ = best_or_latest(run)
        dataset = dataset_of(run, data_dir)
        cfg = from_dict(run.config).probes
    dev = resolve_device(device)
    model.to(dev)
    f_train = pooled_latents(model, dataset.x_train, cfg.batch_size, dev)
    f_test = pooled_latents(model, dataset.x_test, cfg.batch_size, dev)
    probes = probe_accuracies(f_train, dataset.y_train, f_test, dataset.y_test, cfg.knn_neighbors, cfg.svm_c,
                              cfg.svm_max_iter) if dataset.labelled else {}
    return ProbeFeatures(f_train, f_test, np.asarray(dataset.y_train), np.asarray(dataset.y_test), probes)
