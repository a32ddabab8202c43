"""Where each cell of a sweep stands, read from its run files (and its failure note) alone.

Any process can call this while the sweep runs elsewhere: it opens run files read-only, reads
their attributes and progress row (no curves, no checkpoints) and lets the run file's own status
logic decide whether a writer is alive, so a worker killed mid-run shows as `stopped`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tsstudio.errors import RunFileError
from tsstudio.store.runfile import RunFile
from tsstudio.sweep.spec import CellSpec, SweepSpec

CELL_STATUSES = ("pending", "running", "finished", "failed", "stopped")
FAILURES_DIR = ".sweep-failures"
"""Folder of the workspace holding one line per failed cell whose failure no run file records
(a dataset that cannot be read, an evaluation that raised): the run files stay the record of training."""


@dataclass
class CellState:
    """A cell's status, the stage it is at, its failure (one line) and its run files."""

    status: str  # one of CELL_STATUSES
    stage: str  # the stage it is at: the first one not finished ("done" when all are)
    error: str = ""
    paths: dict[str, Path] = field(default_factory=dict)  # stage -> run file ("tokenizer", "prior")
    step: int = 0  # the step of the run file of `stage` (0 when it has none)
    total_steps: int = 0


def failure_path(workspace: Path, cell: CellSpec) -> Path:
    """Where a cell's failure note lives."""
    return Path(workspace) / FAILURES_DIR / f"{cell.name}.txt"


def record_failure(workspace: Path, cell: CellSpec, stage: str, message: str) -> None:
    """Note that `cell` failed at `stage` (atomically: a reader sees the old note or the new one)."""
    path = failure_path(workspace, cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = " ".join(str(message).split()) or "failed"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".txt")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"{stage}\t{line}\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def clear_failure(workspace: Path, cell: CellSpec) -> None:
    """Forget a cell's failure note (it is being run again)."""
    failure_path(workspace, cell).unlink(missing_ok=True)


def read_failure(workspace: Path, cell: CellSpec) -> tuple[str, str] | None:
    """(stage, message) of a cell's failure note, or None."""
    try:
        text = failure_path(workspace, cell).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    stage, _, message = text.partition("\t")
    return (stage, message) if message else ("tokenizer", stage)


@dataclass
class _RunInfo:
    status: str
    step: int
    total_steps: int
    error: str
    evaluated: bool


def _read_run(path: Path, kind: str) -> _RunInfo | None:
    """Status, progress and whether the run holds its evaluation; None when there is no run file."""
    if not path.exists() and not Path(str(path) + ".resume-tmp").exists():
        return None
    try:
        with RunFile.open(path) as run:
            status = run.status
            evaluated = ("fid" if kind == "prior" else "svm_accuracy") in run.evaluation_scalars()
            return _RunInfo(status, run.step, run.total_steps, run.error.splitlines()[0] if run.error else "", evaluated)
    except (RunFileError, OSError, KeyError, ValueError) as exc:
        return _RunInfo("failed", 0, 0, str(exc).splitlines()[0] if str(exc) else type(exc).__name__, False)


def _training_state(info: _RunInfo, stage: str, paths: dict[str, Path]) -> CellState | None:
    """The cell's state when the run of `stage` is not finished; None when it is."""
    if info.status == "finished":
        return None
    status = {"running": "running", "failed": "failed"}.get(info.status, "stopped")  # stopped, interrupted
    return CellState(status, stage, info.error if status == "failed" else "", paths, info.step, info.total_steps)


def cell_state(workspace: Path, cell: CellSpec) -> CellState:
    """The state of one cell from its run files: pending, running, finished, failed or stopped, and at which stage."""
    workspace = Path(workspace)
    paths = {"tokenizer": cell.tokenizer_path(workspace)}
    if "prior" in cell.stages:
        paths["prior"] = cell.prior_path(workspace)
    tokenizer = _read_run(paths["tokenizer"], "tokenizer")
    prior = _read_run(paths["prior"], "prior") if "prior" in paths else None
    for info in (tokenizer, prior):  # a live writer wins over an old failure note
        if info is not None and info.status == "running":
            stage = "tokenizer" if info is tokenizer else "prior"
            return CellState("running", stage, "", paths, info.step, info.total_steps)
    failure = read_failure(workspace, cell)
    if failure is not None:
        info = tokenizer if failure[0] == "tokenizer" else prior
        return CellState("failed", failure[0], failure[1], paths, info.step if info else 0, info.total_steps if info else 0)
    if tokenizer is None:
        return CellState("pending", "tokenizer" if "tokenizer" in cell.stages else "prior", "", paths)
    if "tokenizer" in cell.stages or tokenizer.status != "finished":
        state = _training_state(tokenizer, "tokenizer", paths)
        if state is not None:
            return state
    if "prior" in cell.stages:
        if prior is None:
            return CellState("pending", "prior", "", paths, tokenizer.step, tokenizer.total_steps)
        state = _training_state(prior, "prior", paths)
        if state is not None:
            return state
    last = prior if prior is not None else tokenizer
    if "eval" in cell.stages and not (tokenizer.evaluated and (prior is None or prior.evaluated)):
        return CellState("pending", "eval", "", paths, last.step, last.total_steps)
    return CellState("finished", "done", "", paths, last.step, last.total_steps)


def sweep_states(spec: SweepSpec, workspace: Path | None = None) -> list[tuple[CellSpec, CellState]]:
    """Every cell of the sweep with its state, in the spec's cell order."""
    folder = Path(workspace) if workspace is not None else spec.workspace
    return [(cell, cell_state(folder, cell)) for cell in spec.cells()]


def counts(states: list[tuple[CellSpec, CellState]]) -> dict[str, int]:
    """How many cells are in each status (every status present, zeros included)."""
    out = dict.fromkeys(CELL_STATUSES, 0)
    for _, state in states:
        out[state.status] += 1
    return out
