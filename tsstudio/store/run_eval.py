"""Loading a tokenizer from its run file, evaluating it and storing the results there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tsstudio.config.io import from_dict
from tsstudio.data import load_dataset
from tsstudio.data.dataset import Dataset
from tsstudio.errors import RunFileError
from tsstudio.eval.tokenizer_eval import evaluate_tokenizer
from tsstudio.models.tokenizer import Tokenizer
from tsstudio.store.runfile import RunFile, write_evaluation
from tsstudio.train.runtime import resolve_device, resolve_precision
from tsstudio.train.tokenizer_trainer import deserialize


def load_tokenizer(run: RunFile, weights: str = "latest", precision: str = "fp32") -> tuple[Tokenizer, int]:
    """The tokenizer of a run with its latest or best weights, in eval mode; and its step."""
    if run.kind != "tokenizer":
        raise RunFileError(f"{run.path}: is a {run.kind} run, not a tokenizer run")
    found = run.best_weights() if weights == "best" else run.latest_checkpoint()
    if found is None:
        raise RunFileError(f"{run.path}: holds no {weights} weights yet (no checkpoint was written)")
    step, _, blob = found
    state = deserialize(blob)
    config = from_dict(state["config"])
    length = int(run.attrs["length"])
    dtype = resolve_precision(precision, resolve_device("cpu"))
    model = Tokenizer(config, length, precision=dtype)
    model.load_state_dict(state["model"])
    model.eval()
    return model, int(step)


def dataset_of(run: RunFile, data_dir: str | None = None) -> Dataset:
    """The dataset a run was trained on, found where the run found it unless told otherwise."""
    config = from_dict(run.config)
    folder = data_dir or run.attrs.get("data_dir") or None
    return load_dataset(config.data.dataset, folder, scaling=config.data.scaling)


def evaluate_run(path: Path, data_dir: str | None = None, weights: str = "latest", device: str = "auto") -> dict[str, Any]:
    """Evaluate a finished or stopped tokenizer run and store the results in its file."""
    with RunFile.open(path) as run:
        if run.status == "running":
            raise RunFileError(f"{path}: the run is still training; evaluate it when it has finished or stopped")
        model, step = load_tokenizer(run, weights)
        dataset = dataset_of(run, data_dir)
        probes = from_dict(run.config).probes
    results, arrays = evaluate_tokenizer(model, dataset, probes, resolve_device(device))
    results = {"step": step, "weights": weights, **results}
    write_evaluation(path, results, arrays)
    return results
