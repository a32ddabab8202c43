"""The Ray executor: one Ray task per cell, on an existing cluster or a local one started for the sweep.

The cluster is the one at `--address`, else at `RAY_ADDRESS` (as Ray's own tools do), else a local
one started here and shut down at the end. Each task declares its CPUs (the torch threads it
uses) and a GPU where the cluster has them, and runs in a fresh worker process (`max_calls=1`), so
a crash stays with its cell. Run files are written to the sweep's workspace, which every node must
see at the same path (a shared file system); the stop file there stops the tasks on every node.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, TextIO

from tsstudio.errors import TsstudioError
from tsstudio.sweep.cell_run import CellOutcome, cell_from_json, cell_to_json
from tsstudio.sweep.execute import Progress, SweepControl
from tsstudio.sweep.spec import CellSpec
from tsstudio.sweep.status import cell_state, record_failure

INSTALL_HINT = '--executor ray needs Ray, which is not installed here: pip install "tsstudio[ray]"'
POLL_S = 0.5


def import_ray() -> Any:
    """The `ray` module, or one line saying how to install it."""
    try:
        import ray
    except ImportError:
        raise TsstudioError(INSTALL_HINT) from None
    return ray


def ray_cell(cell_json: str, workspace: str, threads: int) -> dict[str, Any]:
    """The body of a cell's Ray task (module level, so Ray workers import it from tsstudio)."""
    from tsstudio.sweep.cell_run import run_cell

    outcome = run_cell(cell_from_json(cell_json), Path(workspace), num_threads=threads)
    return {"status": outcome.status, "stage": outcome.stage, "error": outcome.error, "seconds": outcome.seconds}


def connect(ray: Any, address: str | None) -> bool:
    """Connect to the cluster at `address` / RAY_ADDRESS, or start a local one; True when this call started Ray."""
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"--address {address}" if address else "a local Ray cluster"
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise TsstudioError(f"{where}: cannot connect ({text[:300]})") from None
    return True


def run_on_ray(cells: list[CellSpec], workspace: Path, *, skipped: list[str], workers: int | None, address: str | None,
               control: SweepControl, stream: TextIO) -> list[CellOutcome]:
    """Run `cells` as Ray tasks (at most `workers` at once); returns each cell's outcome in the order they ended."""
    ray = import_ray()
    started_here = connect(ray, address)
    try:
        resources = ray.cluster_resources()
        cpus, gpus = int(resources.get("CPU", 1)), int(resources.get("GPU", 0))
        if workers is None:
            workers = max(1, min(len(cells) or 1, gpus if gpus else cpus))
        threads = max(1, (cpus // gpus) if gpus else cpus // workers)
        task = ray.remote(max_calls=1)(ray_cell).options(num_cpus=threads, num_gpus=1 if gpus else 0, max_retries=0)
        print(f"sweep: {len(cells)} cell{'s' if len(cells) != 1 else ''} to run, {len(skipped)} finished or running "
              f"elsewhere (skipped), as Ray tasks of {threads} CPU{'s' if threads != 1 else ''}"
              f"{' and 1 GPU' if gpus else ''}, at most {workers} at once, on a cluster of {cpus} CPUs and {gpus} GPUs; "
              f"workspace {workspace}", file=stream, flush=True)
        return _drive(ray, task, cells, workspace, workers, threads, control, Progress(len(cells), workers, stream))
    finally:
        if started_here:
            ray.shutdown()


def _drive(ray: Any, task: Any, cells: list[CellSpec], workspace: Path, workers: int, threads: int, control: SweepControl,
           progress: Progress) -> list[CellOutcome]:
    pending = list(cells)
    running: dict[Any, tuple[CellSpec, float]] = {}  # object ref -> (cell, submitted)
    outcomes: list[CellOutcome] = []
    cancelled = False
    while pending or running:
        while pending and len(running) < workers and not control.stop_requested:
            cell = pending.pop(0)
            ref = task.remote(cell_to_json(cell), os.fspath(workspace), threads)
            running[ref] = (cell, time.monotonic())
            progress.started(cell.name, "(Ray task)")
        if control.stop_requested:
            pending.clear()
            if control.abort_requested and not cancelled:
                for ref in running:
                    ray.cancel(ref, force=True)
                cancelled = True
        if not running:
            break
        done, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
        for ref in done:
            cell, start = running.pop(ref)
            outcome = _outcome(ray, ref, cell, workspace, time.monotonic() - start)
            outcomes.append(outcome)
            progress.ended(outcome)
    return outcomes


def _outcome(ray: Any, ref: Any, cell: CellSpec, workspace: Path, seconds: float) -> CellOutcome:
    try:
        result = ray.get(ref)  # its wall-clock from submission: a task's own time leaves out its worker's start
        return CellOutcome(cell.name, result["status"], result["stage"], result["error"], seconds)
    except (ray.exceptions.TaskCancelledError, ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as exc:
        state = cell_state(workspace, cell)
        text = type(exc).__name__
        return CellOutcome(cell.name, "stopped", state.stage, f"Ray task ended ({text}); resumes on the next run", seconds)
    except ray.exceptions.RayError as exc:
        state = cell_state(workspace, cell)
        message = f"Ray task failed: {' '.join(str(exc).split())[:300]}"
        record_failure(workspace, cell, state.stage, message)
        return CellOutcome(cell.name, "failed", state.stage, message, seconds)
