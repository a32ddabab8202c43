"""Train one configuration into one run file: the loop, its writer and any listeners, wired once."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from tsstudio.config.io import apply_overrides, to_dict
from tsstudio.config.schema import RunConfig
from tsstudio.data import load_dataset
from tsstudio.data.dataset import Dataset
from tsstudio.errors import DataError, TsstudioError, warn
from tsstudio.store import RunFileWriter
from tsstudio.train import TokenizerTrainer, TrainingControl
from tsstudio.train.prior_trainer import PriorTrainer


def train_run(
    config: RunConfig,
    out: Path,
    *,
    data_dir: str | None = None,
    resume_state: bytes | None = None,
    control: TrainingControl | None = None,
    listeners: Iterable[Callable[[Any], None]] = (),
) -> TokenizerTrainer:
    """Train `config` and write every event to the run file `out` (resuming it when a state is given).

    Returns the trainer, whose `status`, `step` and `budget` say how it ended.
    """
    dataset = load_dataset(config.data.dataset, data_dir, scaling=config.data.scaling)
    check_trainable(config, dataset)
    writer = RunFileWriter(
        out,
        resume=resume_state is not None,
        extra_attrs={
            "data_dir": os.fspath(Path(data_dir).resolve()) if data_dir else "",
            "data_source": dataset.source,
        },
    )
    sinks = [writer, *listeners]

    def on_event(event: Any) -> None:
        for sink in sinks:
            sink(event)

    trainer = TokenizerTrainer(config, dataset, on_event, control=control, resume_state=resume_state)
    try:
        trainer.status = trainer.run()
    finally:
        writer.close()
    return trainer


def check_trainable(config: RunConfig, dataset: Dataset) -> None:
    """Refuse, before a run file is written, a dataset the tokenizer of `config` cannot take, and a device
    that is absent; so a run never starts only to fail (nor does `--overwrite` replace a good run for it)."""
    import torch

    from tsstudio.models.runtime import resolve_device
    from tsstudio.models.tokenizer import Tokenizer

    resolve_device(config.trainer.device)
    n_fft, length = config.stft.n_fft, dataset.length
    if length <= n_fft // 2:
        raise DataError(
            f"dataset {dataset.name}: series of length {length} are shorter than the STFT window needs "
            f"(stft.n_fft {n_fft} needs a length of at least {n_fft // 2 + 1})"
        )
    try:
        tokenizer = Tokenizer(config, length).eval()
        with torch.no_grad():
            tokenizer(torch.as_tensor(dataset.x_train[:2], dtype=torch.float32))
    except (ValueError, RuntimeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"dataset {dataset.name}: the tokenizer cannot take series of length {length} ({reason})") from None


def train_or_resume(
    config: RunConfig,
    path: Path,
    *,
    data_dir: str | None = None,
    control: TrainingControl | None = None,
    listeners: Iterable[Callable[[Any], None]] = (),
) -> str:
    """Make `path` a finished run of `config`: train it, resume it from its checkpoint, or reuse it as it is.

    Whether an existing file may be reused or resumed is `plan_resume`'s decision: a file holding
    another configuration, or a larger budget than asked, is refused rather than reused; one killed
    before its first checkpoint is started over. Returns how training ended, or "reused" for a run that
    was already finished at this budget (nothing trained).
    """
    from tsstudio.store.runfile import refuse_if_live
    from tsstudio.sweep.resume import NoCheckpointError, plan_resume

    plan = None
    if path.exists():
        try:
            plan = plan_resume(path, "tokenizer", requested=config, finished_ok=True)
        except NoCheckpointError:
            refuse_if_live(path)  # another process may be training it right now
            path.unlink()  # killed before its first checkpoint: nothing to keep, start over
        if plan is not None and plan.state is None:  # finished at this budget
            return "reused"
    trainer = train_run(plan.config if plan is not None else config, path, data_dir=data_dir,
                        resume_state=plan.state if plan is not None else None, control=control, listeners=listeners)
    return trainer.status


def train_and_evaluate(
    config: RunConfig,
    path: Path,
    *,
    data_dir: str | None = None,
    control: TrainingControl | None = None,
    listeners: Iterable[Callable[[Any], None]] = (),
) -> dict[str, Any]:
    """Train `config` into `path` and evaluate it; a finished, evaluated run is reused and a
    stopped or interrupted one is resumed, so a sweep can be restarted after a crash (`train_or_resume`).

    Returns the evaluation results plus `training_time_s`.
    """
    from tsstudio.store import RunFile
    from tsstudio.store.run_eval import evaluate_run

    status = train_or_resume(config, path, data_dir=data_dir, control=control, listeners=listeners)
    if status not in ("finished", "reused"):
        raise TsstudioError(f"{path}: training ended {status}")
    evaluation = {}
    if status == "reused":  # a run trained now is evaluated now, whatever an earlier part of it stored
        with RunFile.open(path) as run:
            evaluation = run.evaluation()
    if not evaluation:
        evaluation = evaluate_run(path, data_dir=data_dir)
    with RunFile.open(path) as run:
        evaluation["training_time_s"] = float(run.attrs.get("elapsed_s", float("nan")))
    return evaluation


def prior_config(tokenizer_config: dict[str, Any], preset: str = "maskgit", overrides: Sequence[str] = ()) -> RunConfig:
    """A prior run's configuration: the tokenizer's sections, then the prior preset, then overrides."""
    from tsstudio.config import from_dict
    from tsstudio.config.presets import preset_overrides

    base = to_dict(from_dict(tokenizer_config))
    for section, values in preset_overrides(preset, kind="prior").items():
        base[section] = {**base.get(section, {}), **values}
    base["preset"] = preset
    return apply_overrides(from_dict(base), list(overrides))


def train_prior_run(
    tokenizer_path: Path,
    config: RunConfig,
    out: Path,
    *,
    data_dir: str | None = None,
    resume_state: bytes | None = None,
    control: TrainingControl | None = None,
    listeners: Iterable[Callable[[Any], None]] = (),
    weights: str = "latest",
) -> PriorTrainer:
    """Train a MaskGIT prior on a finished tokenizer run's tokens into the run file `out`."""
    from tsstudio.store import RunFile
    from tsstudio.store.models_io import dataset_of, load_tokenizer

    with RunFile.open(tokenizer_path) as run:
        if run.status == "running":
            raise TsstudioError(f"{tokenizer_path}: the tokenizer is still training; train a prior on it when it has finished")
        if run.status != "finished":
            warn(f"{tokenizer_path}: the tokenizer run is {run.status} at step {run.step} of {run.total_steps}; "
                 f"the prior trains on its {weights} weights as they are")
        tokenizer, tok_step = load_tokenizer(run, weights)
        dataset = dataset_of(run, data_dir)
        folder = data_dir or run.attrs.get("data_dir") or ""
        tok_created = run.created
    writer = RunFileWriter(
        out,
        resume=resume_state is not None,
        extra_attrs={
            "data_dir": folder,
            "data_source": dataset.source,
            "tokenizer_run": os.fspath(Path(tokenizer_path).resolve()),
            "tokenizer_created": tok_created,
            "tokenizer_step": tok_step,
        },
    )
    sinks = [writer, *listeners]

    def on_event(event: Any) -> None:
        for sink in sinks:
            sink(event)

    trainer = PriorTrainer(config, tokenizer, dataset, on_event, control=control, resume_state=resume_state)
    try:
        trainer.run()
    finally:
        writer.close()
    return trainer


def train_or_resume_prior(
    tokenizer_path: Path,
    config: RunConfig,
    path: Path,
    *,
    data_dir: str | None = None,
    control: TrainingControl | None = None,
    listeners: Iterable[Callable[[Any], None]] = (),
) -> str:
    """As `train_or_resume`, for a prior on the tokenizer run `tokenizer_path`; returns how training ended or "reused"."""
    from tsstudio.store.runfile import refuse_if_live
    from tsstudio.sweep.resume import NoCheckpointError, plan_resume

    plan = None
    if path.exists():
        try:
            plan = plan_resume(path, "prior", requested=config, tokenizer=tokenizer_path, finished_ok=True)
        except NoCheckpointError:
            refuse_if_live(path)
            path.unlink()
        if plan is not None and plan.state is None:
            return "reused"
    trainer = train_prior_run(tokenizer_path, plan.config if plan is not None else config, path, data_dir=data_dir,
                              resume_state=plan.state if plan is not None else None, control=control, listeners=listeners)
    return trainer.status
