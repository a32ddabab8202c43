"""Running a sweep: which cells need work, a progress line per change, the summary at the end.

The cells run on an executor: `local` (a pool of worker processes on this machine, in
`local_executor`) or `ray` (one task per cell on a Ray cluster, in `ray_executor`). Neither
schedules anything itself beyond "at most N cells at once": finished cells are skipped, the others
run (or resume) through `cell_run.run_cell`, and a failing or killed cell never stops the rest.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tsstudio.errors import TsstudioError
from tsstudio.sweep.cell_run import CellOutcome, stop_path
from tsstudio.sweep.spec import CellSpec, SweepSpec
from tsstudio.sweep.status import CellState, sweep_states

if TYPE_CHECKING:
    from tsstudio.sweep.summary import SweepSummary

EXECUTORS = ("local", "ray")


class SweepControl:
    """Stop (checkpoint the running cells, start no more) or abort (kill them) a sweep from another thread or a signal."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = Path(workspace)
        self._stop = threading.Event()
        self._abort = threading.Event()

    def request_stop(self) -> None:
        """Ask every running cell to checkpoint and stop (through the workspace's stop file), and start no new one."""
        if not self._stop.is_set():
            self._stop.set()
            with contextlib.suppress(OSError):
                stop_path(self.workspace).touch()

    def abort(self) -> None:
        """Stop at once: the executor kills its workers (their runs resume from the last checkpoint)."""
        self.request_stop()
        self._abort.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def abort_requested(self) -> bool:
        return self._abort.is_set()


def describe(state: CellState, cell: CellSpec) -> str:
    """What running the sweep would do with a cell in this state (the --dry-run column)."""
    later = list(cell.stages[cell.stages.index(state.stage) + 1:]) if state.stage in cell.stages else []
    rest = " → ".join(later)
    then = f", then {rest}" if rest else ""
    if state.status == "finished":
        return "skip (finished)"
    if state.status == "running":
        return f"skip (being written by another process, {state.stage} at step {state.step}/{state.total_steps})"
    if state.status == "stopped":
        return f"resume {state.stage} from its checkpoint (step {state.step}/{state.total_steps}){then}"
    if state.status == "failed":
        return f"retry {state.stage}{then} (failed: {state.error})"
    return " → ".join(cell.stages[cell.stages.index(state.stage):]) if state.stage in cell.stages else state.stage


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@dataclass
class Progress:
    """Counts of this invocation's cells and one line on `stream` per change (no terminal control codes)."""

    total: int
    workers: int
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    finished: int = 0
    failed: int = 0
    stopped: int = 0
    running: int = 0
    durations: list[float] = field(default_factory=list)

    def eta(self) -> str:
        remaining = self.total - self.finished - self.failed - self.stopped
        if not self.durations or remaining <= 0:
            return "-" if remaining > 0 else "0s"
        per_cell = sum(self.durations) / len(self.durations)
        return _duration(per_cell * remaining / max(1, min(self.workers, remaining)))

    def line(self, verb: str, name: str, detail: str = "") -> None:
        counts = (f"[{self.finished}/{self.total} done, {self.running} running, {self.failed} failed"
                  + (f", {self.stopped} stopped" if self.stopped else "") + f", ETA {self.eta()}]")
        text = f"{time.strftime('%H:%M:%S')} {verb:<8} {name}{(' ' + detail) if detail else ''}  {counts}"
        print(text, file=self.stream, flush=True)

    def started(self, name: str, detail: str = "") -> None:
        self.running += 1
        self.line("started", name, detail)

    def ended(self, outcome: CellOutcome, detail: str = "") -> None:
        self.running = max(0, self.running - 1)
        if outcome.status == "finished":
            self.finished += 1
            self.durations.append(outcome.seconds)
            text = f"in {_duration(outcome.seconds)}"
        elif outcome.status == "failed":
            self.failed += 1
            text = f"at {outcome.stage}: {outcome.error}"
        else:
            self.stopped += 1
            text = f"at {outcome.stage}" + (f": {outcome.error}" if outcome.error else "; resumes on the next run")
        self.line(outcome.status, outcome.name, f"{text}{(' ' + detail) if detail else ''}")


@dataclass
class SweepReport:
    """What one invocation did: each cell it ran and how it ended, and whether it was stopped."""

    outcomes: list[CellOutcome]
    skipped: list[str]
    stopped: bool
    summary_paths: tuple[Path, ...] = ()

    @property
    def unfinished(self) -> list[CellOutcome]:
        return [o for o in self.outcomes if o.status != "finished"]


def cells_to_run(spec: SweepSpec, workspace: Path) -> tuple[list[CellSpec], list[str]]:
    """(cells that need work, names of those skipped): finished cells and cells another process is writing are skipped."""
    todo, skipped = [], []
    for cell, state in sweep_states(spec, workspace):
        if state.status in ("finished", "running"):
            skipped.append(cell.name)
        else:
            todo.append(cell)
    return todo, skipped


def write_summary(spec: SweepSpec, workspace: Path, summary: SweepSummary | None = None) -> tuple[Path, Path]:
    """Write `summary.md` and `summary.csv` (of `summary`, default: summarised now) into the workspace.

    Each file is written whole or not at all.
    """
    from tsstudio.store.text_files import write_text_atomic
    from tsstudio.sweep.summary import summarize

    summary = summarize(spec, workspace) if summary is None else summary
    return (write_text_atomic(workspace / "summary.md", summary.markdown(), "summary"),
            write_text_atomic(workspace / "summary.csv", summary.csv(), "summary"))


def run_sweep(spec: SweepSpec, workspace: Path | None = None, *, executor: str = "local", workers: int | None = None,
              address: str | None = None, control: SweepControl | None = None, stream: TextIO | None = None) -> SweepReport:
    """Run every cell that is not finished on `executor`, then write the summary; returns what happened."""
    if executor not in EXECUTORS:
        raise TsstudioError(f"--executor {executor}: expected one of {', '.join(EXECUTORS)}")
    if workers is not None and workers < 1:
        raise TsstudioError(f"--workers {workers}: expected an integer ≥ 1")
    if executor == "ray":
        from tsstudio.sweep.ray_executor import import_ray

        import_ray()  # without Ray, say how to install it before anything is written
    workspace = Path(workspace if workspace is not None else spec.workspace).resolve()
    try:
        workspace.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TsstudioError(f"{workspace}: cannot create the sweep workspace ({exc.strerror or exc})") from None
    stream = stream or sys.stderr
    control = control or SweepControl(workspace)
    stop_path(workspace).unlink(missing_ok=True)  # a stop file left by an earlier, stopped invocation
    todo, skipped = cells_to_run(spec, workspace)
    try:
        if executor == "ray":
            from tsstudio.sweep.ray_executor import run_on_ray

            outcomes = run_on_ray(todo, workspace, skipped=skipped, workers=workers, address=address, control=control,
                                  stream=stream)
        else:
            from tsstudio.sweep.local_executor import run_locally

            outcomes = run_locally(todo, workspace, skipped=skipped, workers=workers, control=control, stream=stream)
    finally:
        stop_path(workspace).unlink(missing_ok=True)
    paths = write_summary(spec, workspace)
    return SweepReport(outcomes, skipped, control.stop_requested, paths)
