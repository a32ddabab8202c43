"""Loading a tokenizer from its run file, evaluating it and storing the results there."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tsstudio.config.io import from_dict
from tsstudio.errors import Cancelled, RunFileError, wrong_kind
from tsstudio.eval.tokenizer_eval import evaluate_tokenizer
from tsstudio.models.runtime import precision_name, resolve_device, resolve_precision
from tsstudio.store.models_io import dataset_of, load_prior, load_tokenizer
from tsstudio.store.runfile import RunFile, write_evaluation

Progress = Callable[[str, int, int], None]


def checked(progress: Progress | None, should_stop: Callable[[], bool] | None) -> Progress:
    """A progress callback that first raises `Cancelled` when `should_stop()` says so.

    The core calls it between stages, batches and epochs, so a cancel lands there and, as every
    result is written only at the end, leaves the files as they were.
    """
    def report(stage: str, done: int, total: int) -> None:
        if should_stop is not None and should_stop():
            raise Cancelled(f"cancelled during {stage}; nothing was written")
        if progress is not None:
            progress(stage, done, total)

    return report


def evaluate_run(
    path: Path,
    data_dir: str | None = None,
    weights: str = "latest",
    device: str = "auto",
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Evaluate a finished or stopped tokenizer run and store the results in its file.

    `progress(stage, done, total)` hears about the stages; when `should_stop()` turns true the
    evaluation raises `Cancelled` at the next stage boundary and the run file is left untouched.
    """
    report = checked(progress, should_stop)
    report("loading", 0, 3)
    with RunFile.open(path) as run:
        if run.status == "running":
            raise RunFileError(f"{path}: the run is still training; evaluate it when it has finished or stopped")
        model, step = load_tokenizer(run, weights)
        dataset = dataset_of(run, data_dir)
        probes = from_dict(run.config).probes
    results, arrays = evaluate_tokenizer(model, dataset, probes, resolve_device(device), progress=report)
    results = {"step": step, "weights": weights, **results}
    report("writing", 3, 3)
    write_evaluation(path, {k: v for k, v in results.items() if v is not None}, arrays)
    return results


FCN_CACHE_FOLDER = "fcn-cache"


def fcn_cache_dir(run_path: Path) -> Path:
    """Where a prior run's evaluation classifier is cached: `fcn-cache/` beside the run, in its workspace.

    Every prior of a dataset in that workspace is then measured with the same classifier, and the
    workspace carries it along. A read-only run folder falls back to the user cache folder.
    """
    import os

    from tsstudio.config.settings import user_cache_dir

    folder = Path(run_path).resolve().parent
    return folder / FCN_CACHE_FOLDER if os.access(folder, os.W_OK) else user_cache_dir() / "fcn"


def evaluate_prior_run(
    path: Path,
    data_dir: str | None = None,
    weights: str = "latest",
    device: str = "auto",
    fcn_epochs: int = 1000,
    cas_epochs: int = 1000,
    with_cas: bool = True,
    seed: int = 0,
    cas_precision: str = "auto",
    progress: Callable[[str, int, int], None] | None = None,
    fcn_cache: Path | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """FID, IS and CAS of a prior run's samples (method §10), stored in its run file.

    The FCN classifier is trained once per dataset and cached (in `fcn_cache`, by default
    `fcn_cache_dir(path)`); its own test accuracy is reported so the figures can be judged,
    and real-vs-real FID (train vs test split) is the floor.
    `progress(stage, done, total)` hears about the classifier epochs and the sampling; when
    `should_stop()` turns true it raises `Cancelled` at the next epoch or sampling batch, before
    anything is written to the run file (a cancelled classifier is not cached either).
    """
    import numpy as np

    from tsstudio.eval.generative import cached_fcn, cas, cas_counts, generative_metrics
    from tsstudio.eval.unlabelled import CAS_NOTE, cluster_note, with_cluster_labels
    from tsstudio.store.exports import sample_prior

    with RunFile.open(path) as run:
        if run.status == "running":
            raise RunFileError(f"{path}: the run is still training; evaluate it when it has finished or stopped")
        if run.kind != "prior":
            raise wrong_kind(path, run.kind, "prior")
        load_prior(run, weights)  # unreadable weights fail now, not after the classifier is trained
        dataset = dataset_of(run, data_dir)
    progress = checked(progress, should_stop)

    def report(stage: str, total: int) -> Callable[[int, dict[str, Any]], None]:
        return lambda epoch, _metrics: progress(stage, epoch + 1, total)

    notes: dict[str, Any] = {}
    if not dataset.labelled:  # FID/IS on a classifier of k-means clusters; no CAS (see eval.unlabelled)
        dataset = with_cluster_labels(dataset, seed=seed)
        notes = {"fcn_note": cluster_note(dataset.n_classes), "cas_accuracy": None, "cas_note": CAS_NOTE}
        with_cas = False
    dev = resolve_device(device)
    classifier, fcn_accuracy = cached_fcn(dataset, fcn_cache or fcn_cache_dir(path), epochs=fcn_epochs, device=dev, seed=seed,
                                          progress=report("FCN classifier (cached once per dataset)", fcn_epochs))
    counts = cas_counts(dataset.y_train, dataset.n_classes) if with_cas else np.zeros(0, dtype=np.int64)
    n_samples, done = dataset.n_test + int(counts.sum()), 0
    progress("sampling", 0, n_samples)
    generated = sample_prior(path, dataset.n_test, None, seed=seed, weights=weights)
    done += dataset.n_test
    progress("sampling", done, n_samples)
    results: dict[str, Any] = {"weights": weights, "fcn_test_accuracy": fcn_accuracy, "fcn_epochs": fcn_epochs}
    results.update(generative_metrics(classifier, dataset.x_test, generated.series, dev, x_real_train=dataset.x_train))
    arrays = {"generated_unconditional": generated.series[: min(256, len(generated.series))]}
    if with_cas:
        xs, ys = [], []
        for c, count in enumerate(counts):
            if count:
                gen = sample_prior(path, int(count), c, seed=seed + 1 + c, weights=weights)
                xs.append(gen.series)
                ys.append(np.full(int(count), c, dtype=np.int64))
                done += int(count)
                progress("sampling", done, n_samples)
        results.update(cas(np.concatenate(xs), np.concatenate(ys), dataset.x_test, dataset.y_test, dataset.n_classes,
                           epochs=cas_epochs, device=dev, seed=seed, precision=cas_precision,
                           callback=report("CAS classifier", cas_epochs)))
        results["cas_epochs"] = cas_epochs
        results["cas_precision"] = precision_name(resolve_precision(cas_precision, dev))
    results = {k: v for k, v in results.items() if v is not None}
    progress("writing", 1, 1)
    write_evaluation(path, {**results, **{k: v for k, v in notes.items() if v is not None}}, arrays)
    return {**results, **notes}


def probe_run(
    path: Path,
    protocol: str = "eval",
    latent: str = "z_q",
    data_dir: str | None = None,
    weights: str = "latest",
    device: str = "auto",
    seed: int = 0,
) -> dict[str, Any]:
    """SVM and KNN probe accuracies of a tokenizer run under a chosen protocol; the run file is only read.

    `protocol` "eval" is the run's own probe; "train-mode" is the reference code's (batch norm on
    batch statistics and EMA codebook updates from train and test, batches of the run's training
    batch size), for comparison only, so it is returned and never stored. `latent` "z" probes the
    continuous encoder output instead of the quantised one.
    """
    from tsstudio.eval.features import LATENTS
    from tsstudio.eval.probes import PROTOCOLS, run_probes

    if protocol not in PROTOCOLS:
        raise RunFileError(f"protocol: expected one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    if latent not in LATENTS:
        raise RunFileError(f"latent: expected one of {', '.join(LATENTS)}, got {latent!r}")
    with RunFile.open(path) as run:
        if run.status == "running":
            raise RunFileError(f"{path}: the run is still training; probe it when it has finished or stopped")
        model, step = load_tokenizer(run, weights)
        dataset = dataset_of(run, data_dir)
        config = from_dict(run.config)
    if not dataset.labelled:
        raise RunFileError(f"{path}: dataset {dataset.name} has no labels, so there is nothing to probe")
    dev = resolve_device(device)
    p = config.probes
    batch = config.trainer.batch_size if protocol == "train-mode" else p.batch_size
    accuracies = run_probes(model.to(dev), dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test, dev,
                            batch, p.knn_neighbors, p.svm_c, p.svm_max_iter, protocol=protocol, latent=latent, seed=seed)
    return {"step": step, "weights": weights, "protocol": protocol, "latent": latent, **accuracies}
