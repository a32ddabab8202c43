"""The local executor: a pool of worker processes on this machine, one process per cell.

Sized to the machine: one worker per GPU, else as many as there are cores with one torch thread
each (`--workers N` gives N workers sharing the cores: workers × threads = cores). Each cell runs in
`python -m tsstudio.sweep.worker`, in a session of its own, so a crash or a kill of one cell never
takes the sweep down; its output goes to `.sweep-logs/<cell>.log` in the workspace.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from tsstudio.sweep.cell_run import EXIT_CODES, CellOutcome, cell_to_json
from tsstudio.sweep.execute import Progress, SweepControl
from tsstudio.sweep.spec import CellSpec
from tsstudio.sweep.status import cell_state, record_failure

LOGS_DIR = ".sweep-logs"
POLL_S = 0.2


def cpu_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def gpu_count() -> int:
    """CUDA devices visible to torch (0 without CUDA)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


@dataclass(frozen=True)
class PoolSize:
    """How many cells run at once, the torch threads each gets, and whether each worker has a GPU of its own."""

    workers: int
    threads: int
    gpus: int

    def text(self) -> str:
        where = ", one GPU each" if self.gpus else ""
        return f"{self.workers} local worker{'s' if self.workers != 1 else ''} × {self.threads} thread" \
               f"{'s' if self.threads != 1 else ''}{where}"


def pool_size(n_cells: int, workers: int | None = None, cores: int | None = None, gpus: int | None = None) -> PoolSize:
    """One worker per GPU, else workers × threads = cores (at most one worker per cell); `workers` overrides the count."""
    cores = cpu_cores() if cores is None else cores
    gpus = gpu_count() if gpus is None else gpus
    if workers is None:
        workers = gpus if gpus else cores
        workers = max(1, min(workers, n_cells))
    threads = max(1, cores // workers)
    return PoolSize(workers, threads, min(gpus, workers))


def _worker_command(cell: CellSpec, workspace: Path, size: PoolSize) -> list[str]:
    return [sys.executable, "-m", "tsstudio.sweep.worker", cell_to_json(cell), os.fspath(workspace), str(size.threads)]


def run_locally(cells: list[CellSpec], workspace: Path, *, skipped: list[str], workers: int | None,
                control: SweepControl, stream: TextIO) -> list[CellOutcome]:
    """Run `cells` on a pool of worker processes; returns each cell's outcome in the order they ended."""
    size = pool_size(len(cells), workers)
    print(f"sweep: {len(cells)} cell{'s' if len(cells) != 1 else ''} to run, {len(skipped)} finished or running "
          f"elsewhere (skipped), on {size.text()}; workspace {workspace}", file=stream, flush=True)
    progress = Progress(len(cells), size.workers, stream)
    logs = workspace / LOGS_DIR
    logs.mkdir(parents=True, exist_ok=True)
    pending = list(cells)
    running: dict[int, tuple[subprocess.Popen, CellSpec, float, int]] = {}  # pid -> (process, cell, start, slot)
    outcomes: list[CellOutcome] = []
    signalled: set[int] = set()
    try:
        while pending or running:
            free_slots = sorted(set(range(size.workers)) - {slot for *_, slot in running.values()})
            while pending and free_slots and not control.stop_requested:
                cell, slot = pending.pop(0), free_slots.pop(0)
                env = dict(os.environ)
                env["OMP_NUM_THREADS"] = str(size.threads)
                if size.gpus:
                    env["CUDA_VISIBLE_DEVICES"] = str(slot)
                with open(logs / f"{cell.name}.log", "ab") as log:
                    proc = subprocess.Popen(_worker_command(cell, workspace, size), stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
                running[proc.pid] = (proc, cell, time.monotonic(), slot)
                progress.started(cell.name, f"(pid {proc.pid})")
            if control.stop_requested:
                pending.clear()
                for pid, (proc, *_rest) in running.items():
                    if pid not in signalled and proc.poll() is None:
                        _signal(proc, signal.SIGKILL if control.abort_requested else signal.SIGTERM)
                        if not control.abort_requested:
                            signalled.add(pid)
            for pid in list(running):
                proc, cell, start, _slot = running[pid]
                code = proc.poll()
                if code is None:
                    continue
                del running[pid]
                log = logs / f"{cell.name}.log"
                with contextlib.suppress(OSError):
                    if log.stat().st_size == 0:
                        log.unlink()  # nothing to read: keep the folder to the cells that said something
                outcome = _outcome(cell, workspace, code, time.monotonic() - start)
                outcomes.append(outcome)
                progress.ended(outcome)
            time.sleep(POLL_S)
    finally:
        for proc, *_rest in running.values():  # only reached on an error in this loop: leave no worker behind
            _signal(proc, signal.SIGKILL)
            proc.wait()
    return outcomes


def _signal(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)


def _outcome(cell: CellSpec, workspace: Path, code: int, seconds: float) -> CellOutcome:
    """How a worker's cell ended, from its exit code and what its run files say."""
    state = cell_state(workspace, cell)
    by_code = {value: key for key, value in EXIT_CODES.items()}
    if code in by_code:
        status = by_code[code]
        return CellOutcome(cell.name, status, state.stage, state.error if status == "failed" else "", seconds)
    if code < 0:  # killed by a signal: its run stays resumable from its last checkpoint
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else f"signal {-code}"
        return CellOutcome(cell.name, "stopped", state.stage, f"worker killed by {name}; resumes on the next run", seconds)
    message = f"worker exited with code {code}; see {workspace / LOGS_DIR / (cell.name + '.log')}"
    record_failure(workspace, cell, state.stage, message)
    return CellOutcome(cell.name, "failed", state.stage, message, seconds)
