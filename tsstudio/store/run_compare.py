"""Comparing two tokenizer run files on their test split (the compare view and `tsstudio compare`)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np
from torch import nn

from tsstudio.config.io import from_dict
from tsstudio.eval.compare import (
    PER_SERIES_COLUMNS,
    Comparison,
    ComparisonError,
    RunSide,
    check_comparable,
    per_series_rows,
    reconstruct_split,
)
from tsstudio.eval.features import pooled_latents
from tsstudio.eval.probes import probe_accuracies
from tsstudio.models.runtime import resolve_device
from tsstudio.store.models_io import dataset_of, load_tokenizer
from tsstudio.store.runfile import RunFile
from tsstudio.store.text_files import write_text_atomic


def best_or_latest(run: RunFile) -> tuple[nn.Module, str, int]:
    """A run's tokenizer with its best weights, or its latest when it has none; and which, and the step."""
    weights = "best" if run.best_weights() is not None else "latest"
    model, step = load_tokenizer(run, weights)
    return model, weights, step


def compare_runs(
    path_a: str | os.PathLike[str],
    path_b: str | os.PathLike[str],
    data_dir: str | None = None,
    device: str = "auto",
    batch_size: int | None = None,
    with_probes: bool = True,
) -> Comparison:
    """Run A and run B on the test split of their dataset, each with its best weights (else latest).

    Refuses (ComparisonError naming both runs) unless both are tokenizer runs on the same dataset
    and series length. `with_probes` also fits the SVM and KNN probes on each run's pooled latents.
    """
    pa, pb = Path(path_a), Path(path_b)
    with RunFile.open(pa) as ra, RunFile.open(pb) as rb:
        check_comparable(pa, ra.attrs, pb, rb.attrs)
        loaded = [best_or_latest(ra), best_or_latest(rb)]
        configs = [ra.config, rb.config]
        # Each run sees its dataset as it was trained on it (the scaling may differ between runs).
        datasets = [dataset_of(ra, data_dir), dataset_of(rb, data_dir)]
    if datasets[0].n_test != datasets[1].n_test or not np.array_equal(datasets[0].y_test, datasets[1].y_test):
        raise ComparisonError(
            f"cannot compare {pa} with {pb}: their {datasets[0].name} test splits differ "
            f"({datasets[0].n_test} and {datasets[1].n_test} series)"
        )
    dev = resolve_device(device)
    sides = []
    for path, (model, weights, step), config, dataset in zip((pa, pb), loaded, configs, datasets):
        probe_cfg = from_dict(config).probes
        size = batch_size or probe_cfg.batch_size
        model.to(dev)
        recon = reconstruct_split(model, dataset.x_test, size, dev)
        probes: dict[str, float] = {}
        if with_probes and dataset.labelled:
            f_train = pooled_latents(model, dataset.x_train, size, dev)
            f_test = pooled_latents(model, dataset.x_test, size, dev)
            probes = probe_accuracies(f_train, dataset.y_train, f_test, dataset.y_test,
                                      probe_cfg.knn_neighbors, probe_cfg.svm_c, probe_cfg.svm_max_iter)
        sides.append(RunSide(path, weights, step, recon, probes, config))
    first = datasets[0]
    return Comparison(first.name, first.length, np.asarray(first.y_test), sides[0], sides[1])


def write_per_series_csv(comparison: Comparison, path: str | os.PathLike[str]) -> Path:
    """Write one CSV row per test series with both runs' errors, whole or not at all."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(PER_SERIES_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(per_series_rows(comparison))
    return write_text_atomic(path, buf.getvalue(), what="--csv")
