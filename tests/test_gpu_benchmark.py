"""The GPU benchmark says in one line that it skipped where there is no GPU (and runs where there is)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_throughput.py"


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present: the benchmark would run")
def test_gpu_benchmark_skips_with_one_line_without_cuda():
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("no CUDA device") and "skipped" in lines[0]
    assert done.stderr == ""


@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_gpu_benchmark_runs_on_cuda():
    done = subprocess.run([sys.executable, str(SCRIPT), "--rounds", "1", "--steps", "1", "--no-app"],
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr
    assert "capability: CUDA" in done.stdout and "| vibcreg-warp | auto (bf16) |" in done.stdout
