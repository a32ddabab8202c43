"""Start-up cost of the light CLI commands, as a ratio to `python -c "import torch"` timed in the same run.

`tsstudio presets`, `config`, `datasets`, `runs` and `--help` compute nothing, so they must not
import torch, scikit-learn or scipy; the target is under 0.5 s each on a warm cache. Each command
runs as its own process (`python -m tsstudio ...`, as the `tsstudio` script does), the median of
several runs after one warm-up; the ratio to importing torch makes figures from different
machines comparable.

Usage: python benchmarks/cli_startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import median_time

ROOT = Path(__file__).resolve().parents[1]
LIGHT = [["presets"], ["config"], ["datasets"], ["runs", "."], ["--help"]]


def process_time(argv: list[str], cwd: str, repeats: int) -> float:
    """Median wall time of one `python ARGV` process, output discarded."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    return median_time(lambda: subprocess.run([sys.executable, *argv], cwd=cwd, env=env, check=True,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:  # `runs .` lists an empty folder
        torch_s = process_time(["-c", "import torch"], folder, args.repeats)
        print(f"python -c 'import torch': {torch_s:.3f} s (median of {args.repeats})")
        print(f"{'command':<20} {'seconds':>8} {'/ import torch':>15}")
        for argv in LIGHT:
            seconds = process_time(["-m", "tsstudio", *argv], folder, args.repeats)
            print(f"{'tsstudio ' + ' '.join(argv):<20} {seconds:8.3f} {seconds / torch_s:15.2f}")


if __name__ == "__main__":
    main()
