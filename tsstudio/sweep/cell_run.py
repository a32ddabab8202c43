"""Run one cell of a sweep, in whatever process an executor gives it: train, resume or reuse each stage.

Every stage goes through the one resume policy (`train_or_resume`, which asks `plan_resume`), so a
finished stage is reused, a stopped or killed one continues from its checkpoint, and a file that
holds another configuration is refused. A sweep is stopped by a stop file in its workspace, which
the cell checks at every training step and evaluation stage: it works the same for a local worker
process and a Ray task on another node of a shared workspace.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsstudio.errors import Cancelled, TsstudioError
from tsstudio.sweep.spec import CellSpec, _frozen
from tsstudio.sweep.status import clear_failure, record_failure

STOP_FILE = ".sweep-stop"
EXIT_CODES = {"finished": 0, "failed": 4, "stopped": 3}
"""A worker process's exit code for each way a cell ends (anything else: the worker itself broke)."""


def stop_path(workspace: Path) -> Path:
    """The file whose presence asks every running cell of the sweep in `workspace` to checkpoint and stop."""
    return Path(workspace) / STOP_FILE


@dataclass(frozen=True)
class CellOutcome:
    """How one run of a cell ended: finished, stopped or failed, at which stage, and how long it took."""

    name: str
    status: str
    stage: str
    error: str = ""
    seconds: float = 0.0


def cell_to_json(cell: CellSpec) -> str:
    """A cell as JSON, to hand to a worker process."""
    return json.dumps(dataclasses.asdict(cell))


def cell_from_json(text: str) -> CellSpec:
    """The cell `cell_to_json` wrote."""
    data: dict[str, Any] = json.loads(text)
    for key in ("overrides", "stages", "prior_overrides"):
        data[key] = tuple(data[key])
    data["grid"] = tuple((k, _frozen(v)) for k, v in data["grid"])
    data["prior_eval"] = tuple((k, v) for k, v in data["prior_eval"])
    return CellSpec(**data)


def runtime_overrides(cell: CellSpec, num_threads: int = 0, device: str | None = None) -> list[str]:
    """Where the cell computes (threads, device): overrides a resume may change; the spec's own settings win."""
    out = []
    if num_threads > 0 and not any(o.startswith("trainer.num_threads=") for o in cell.overrides):
        out.append(f"trainer.num_threads={num_threads}")
    if device and not any(o.startswith("trainer.device=") for o in cell.overrides):
        out.append(f"trainer.device={device}")
    return out


def run_cell(cell: CellSpec, workspace: Path, *, num_threads: int = 0, device: str | None = None,
             control: Any = None, listeners: Sequence[Callable[[Any], None]] = ()) -> CellOutcome:
    """Run the stages of `cell` into `workspace`; a failure is recorded (run file or failure note), never raised.

    `listeners` hear every training event (a progress bar, when the cell runs in the caller's process).
    """
    from tsstudio.config.io import apply_overrides
    from tsstudio.store import RunFile
    from tsstudio.sweep.runner import prior_config, train_or_resume, train_or_resume_prior
    from tsstudio.train import TrainingControl
    from tsstudio.train.events import StepMetrics

    workspace = Path(workspace)
    workspace.mkdir(parents=True, exist_ok=True)
    control = control or TrainingControl()
    stop_file = stop_path(workspace)
    started = time.monotonic()

    def should_stop() -> bool:
        if stop_file.exists():
            control.request_stop()
        return control.stop_requested

    def watch(event: Any) -> None:
        if isinstance(event, StepMetrics):
            should_stop()

    def outcome(status: str, stage: str, error: str = "") -> CellOutcome:
        return CellOutcome(cell.name, status, stage, error, time.monotonic() - started)

    runtime = runtime_overrides(cell, num_threads, device)
    tokenizer_path, prior_path = cell.tokenizer_path(workspace), cell.prior_path(workspace)
    clear_failure(workspace, cell)
    stage = cell.stages[0]
    try:
        for stage in cell.stages:
            if should_stop():
                return outcome("stopped", stage)
            if stage == "tokenizer":
                config = apply_overrides(cell.tokenizer_config(), runtime)
                status = train_or_resume(config, tokenizer_path, data_dir=cell.data_dir, control=control,
                                         listeners=[watch, *listeners])
            elif stage == "prior":
                with RunFile.open(tokenizer_path) as run:
                    base = run.config
                config = prior_config(base, cell.prior_preset, [*cell.prior_overrides, *runtime])
                status = train_or_resume_prior(tokenizer_path, config, prior_path, data_dir=cell.data_dir,
                                               control=control, listeners=[watch, *listeners])
            else:
                _evaluate(cell, workspace, device or "auto", should_stop)
                status = "finished"
            if status == "failed":  # the run file holds the error, as for any failed run
                path = tokenizer_path if stage == "tokenizer" else prior_path
                with RunFile.open(path) as run:
                    return outcome("failed", stage, run.error)
            if status not in ("finished", "reused"):
                return outcome("stopped", stage)
    except Cancelled:
        return outcome("stopped", stage)
    except TsstudioError as exc:
        message = " ".join(str(exc).split())
        record_failure(workspace, cell, stage, message)
        return outcome("failed", stage, message)
    except Exception as exc:  # a bug or an environment problem: recorded, so the sweep goes on
        message = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        record_failure(workspace, cell, stage, message)
        return outcome("failed", stage, message)
    return outcome("finished", "done")


def _evaluate(cell: CellSpec, workspace: Path, device: str, should_stop: Any) -> None:
    """The eval stage: the tokenizer's evaluation, and the prior's when the cell trains one, unless already stored."""
    from tsstudio.store import RunFile
    from tsstudio.store.run_eval import evaluate_prior_run, evaluate_run

    tokenizer_path = cell.tokenizer_path(workspace)
    with RunFile.open(tokenizer_path) as run:
        done = "svm_accuracy" in run.evaluation_scalars()
    if not done:
        evaluate_run(tokenizer_path, data_dir=cell.data_dir, device=device, should_stop=should_stop)
    if "prior" not in cell.stages:
        return
    prior_path = cell.prior_path(workspace)
    with RunFile.open(prior_path) as run:
        done = "fid" in run.evaluation_scalars()
    if not done:
        options = dict(cell.prior_eval)
        evaluate_prior_run(prior_path, data_dir=cell.data_dir, device=device, fcn_epochs=int(options["fcn_epochs"]),
                           cas_epochs=int(options["cas_epochs"]), with_cas=bool(options["cas"]),
                           fcn_cache=workspace / "fcn-cache", should_stop=should_stop)



def run_cell_here(cell: CellSpec, workspace: Path, *, control: Any = None,
                  listeners: Sequence[Callable[[Any], None]] = ()) -> dict[str, Any]:
    """Run a tokenizer cell in this process (a reproduction's or an ablation's seed) and return its evaluation
    plus `training_time_s`; raise one line when it did not finish."""
    from tsstudio.store import RunFile

    outcome = run_cell(cell, workspace, control=control, listeners=listeners)
    path = cell.tokenizer_path(workspace)
    if outcome.status == "failed":
        raise TsstudioError(outcome.error if outcome.error.startswith(str(path)) else f"{path}: {outcome.error}")
    if outcome.status != "finished":
        raise TsstudioError(f"{path}: training ended {outcome.status}")
    with RunFile.open(path) as run:
        results = run.evaluation()
        results["training_time_s"] = float(run.attrs.get("elapsed_s", float("nan")))
    return results
