"""The one resume policy: whether a run file can be continued with the changes asked for, and how.

The CLI (`train/prior --resume`), the sweeps (which continue a crashed seed) and the app's Resume
button all call `plan_resume`, so they accept and refuse the same things: a run still being written,
one without a checkpoint, a changed configuration (dataset, preset, any value beyond the budget and
where it runs), a budget below the checkpoint step, and a finished run without a larger budget.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsstudio.config.io import apply_overrides, from_dict, to_dict
from tsstudio.config.schema import RunConfig
from tsstudio.errors import RunFileError, wrong_kind

BUDGET_KEYS = ("trainer.epochs", "trainer.max_steps")
"""What a resume may change: the budget (a finished run is extended by raising it) ..."""
RUNTIME_KEYS = ("trainer.device", "trainer.num_threads")
"""... and where the run computes, which does not change what it computes."""


class NoCheckpointError(RunFileError):
    """The run was stopped or killed before its first checkpoint: there is nothing to resume from."""


@dataclass
class ResumePlan:
    """How to continue a run: the configuration it trains with and the checkpoint it starts from."""

    path: Path
    kind: str
    config: RunConfig  # the run's configuration with the new budget and runtime applied
    state: bytes | None  # checkpoint to resume from; None when a finished run already has this budget
    step: int  # step of that checkpoint
    total_steps: int  # the budget, in steps, the resumed run trains to
    attrs: dict[str, Any]

    @property
    def data_dir(self) -> str | None:
        """The data folder the run was trained from, if it recorded one."""
        return str(self.attrs.get("data_dir") or "") or None


def _flat(config: RunConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for section, values in to_dict(config).items():
        if isinstance(values, dict):
            out.update({f"{section}.{key}": value for key, value in values.items()})
        else:
            out[section] = values
    return out


def total_steps(config: RunConfig, steps_per_epoch: int) -> int:
    """The step budget of a configuration (max_steps, else epochs × steps per epoch), as the loop counts it."""
    return config.trainer.max_steps or config.trainer.epochs * steps_per_epoch


def plan_resume(
    path: str | os.PathLike[str],
    kind: str = "tokenizer",
    *,
    overrides: Sequence[str] = (),
    requested: RunConfig | None = None,
    preset: str | None = None,
    tokenizer: str | os.PathLike[str] | None = None,
    finished_ok: bool = False,
) -> ResumePlan:
    """Decide whether and how the run at `path` resumes with the changes asked for; raise RunFileError if not.

    `requested` is the whole configuration a caller wants (a sweep's cell), `overrides` are `section.key=value`
    changes on top of it or of the stored configuration (the CLI's --dataset, --set, --epochs ...), `preset`
    and `tokenizer` the preset and tokenizer run the caller names. Only the budget and the runtime keys may
    differ from the run. With `finished_ok`, a finished run whose budget is unchanged gives a plan without a
    state (nothing to train) instead of an error.
    """
    from tsstudio.store import RunFile

    path = Path(path)
    with RunFile.open(path) as run:
        if run.kind != kind:
            raise wrong_kind(path, run.kind, kind)
        status = run.status
        if status == "running":
            pid = run.attrs.get("pid")
            raise RunFileError(f"{path}: the run is still being written (writer pid {pid}); stop it before resuming")
        stored = from_dict(run.config, where=f"{path}: ")
        attrs = dict(run.attrs)
        steps_per_epoch = int(attrs.get("steps_per_epoch") or 0)
        checkpoint = run.latest_checkpoint()
        if checkpoint is None:
            raise NoCheckpointError(f"{path}: holds no checkpoint to resume from (it was {status} before the first one)")
        step, _, state = checkpoint
        step = int(step)

    if preset is not None and preset != stored.preset:
        raise RunFileError(f"{path}: the run was trained with preset {stored.preset!r}; a resumed run keeps it "
                           f"(--preset {preset} needs a new run)")
    if tokenizer is not None and Path(tokenizer).resolve() != Path(str(attrs.get("tokenizer_run", ""))):
        raise RunFileError(f"{path}: the prior was trained on {attrs.get('tokenizer_run')}; a resumed prior keeps its tokenizer")
    wanted = apply_overrides(from_dict(to_dict(requested if requested is not None else stored)), list(overrides))
    before, after = _flat(stored), _flat(wanted)
    for key, value in after.items():
        if key not in (*BUDGET_KEYS, *RUNTIME_KEYS) and before.get(key) != value:
            raise RunFileError(f"{path}: {key} is {before.get(key)!r} in the run, {value!r} was asked; a resumed run "
                               "keeps its configuration (only the budget and trainer.device may change)")
    if steps_per_epoch < 1:
        raise RunFileError(f"{path}: records no steps_per_epoch; cannot resume it")
    total = total_steps(wanted, steps_per_epoch)
    lowered_to_step = total == step and total != total_steps(stored, steps_per_epoch) and status != "finished"
    if total < step or lowered_to_step:
        raise RunFileError(f"{path}: the budget of {total} steps does not exceed the checkpoint step {step}; "
                           "pass a larger --epochs or --max-steps")
    if status == "finished" and total <= step:
        if finished_ok and total == step:
            return ResumePlan(path, kind, stored, None, step, total, attrs)
        raise RunFileError(f"{path}: the run is finished at step {step}; pass a larger --epochs or --max-steps to extend it")
    if after != before:
        state = _with_config(state, wanted)
    return ResumePlan(path, kind, wanted, state, step, total, attrs)


def _with_config(state_bytes: bytes, config: RunConfig) -> bytes:
    """A checkpoint whose stored configuration (the one the resumed loop trains with) is `config`."""
    from tsstudio.train import deserialize, serialize

    state = deserialize(state_bytes)
    state["config"] = to_dict(config)
    return serialize(state)
