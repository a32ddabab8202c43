"""Wall-clock of the same 8-cell sweep on the local executor with 1 and with 2 workers, and their ratio.

The sweep is CBF × (regular, barlowtwins-slice) × 4 seeds, each cell a short tokenizer run and its
evaluation, every worker with one torch thread. Each worker count runs in a fresh workspace as
`python -m tsstudio sweep SPEC --workers N` (worker start-up, data loading and evaluation included,
as a user sees it). The target is a ratio of at least 1.7 on 2 cores; other processes on the
machine lower it, so the load average is printed before and after.

Usage: python benchmarks/sweep_workers.py [--steps 30] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = """\
datasets: [CBF]
presets: [regular, barlowtwins-slice]
seeds: [1, 2, 3, 4]
overrides: [trainer.max_steps={steps}, trainer.device=cpu, trainer.num_threads=1, trainer.precision=fp32, trainer.batch_size=32,
            trainer.val_every_epochs=0, probes.every_epochs=0, probes.at_start=false]
stages: [tokenizer, eval]
"""


def cpu_text() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cores} cores available"


def run_sweep(spec: Path, workers: int, workspace: Path) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
           "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tsstudio", "sweep", str(spec), "--workers", str(workers),
                    "--workspace", str(workspace)], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="training steps per cell")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print(f"CPU: {cpu_text()}; python {platform.python_version()}; load average {os.getloadavg()[0]:.1f}")
    times = {}
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "bench.yaml"
        spec.write_text(SPEC.format(steps=args.steps), encoding="utf-8")
        for workers in args.workers:
            times[workers] = run_sweep(spec, workers, Path(folder) / f"ws{workers}")
            print(f"{workers} worker{'s' if workers != 1 else ''} × 1 thread: {times[workers]:.1f} s for 8 cells "
                  f"of {args.steps} steps")
    base = times[args.workers[0]]
    for workers in args.workers[1:]:
        print(f"speed-up {args.workers[0]} → {workers} workers: {base / times[workers]:.2f}×")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (other processes share these cores)")


if __name__ == "__main__":
    main()
