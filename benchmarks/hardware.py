"""What the machine can do, measured in the benchmark's own process (imports as `hardware`).

The CPU capability torch's kernels run with, the dense matmul peak (float32, and bf16 where it is
native) at the benchmark's thread count, and the floating-point work of one training step
(torch's FlopCounterMode over one forward and backward), so a throughput can be given as a
fraction of what the hardware does on the same operation.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from tsstudio.models.runtime import cpu_has_native_bf16


def capability(device: torch.device) -> str:
    """The kernel capability a run uses: torch's CPU capability (with the oneDNN cap if set) or the GPU."""
    if device.type == "cuda":
        return f"CUDA {torch.cuda.get_device_name(device)}"
    cap = torch.backends.cpu.get_cpu_capability()
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA")
    return f"{cap}" + (f" (oneDNN capped at {isa})" if isa else "") + (", native bf16" if cpu_has_native_bf16() else "")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device: torch.device, dtype: torch.dtype = torch.float32, n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of an n×n×n matmul in `dtype` (best of `repeats`, after a warm-up): the dense peak."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    out = torch.empty(n, n, device=device, dtype=dtype)
    torch.matmul(a, b, out=out)
    _sync(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b, out=out)
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def peaks(device: torch.device) -> dict[str, float]:
    """Matmul peaks in GFLOP/s: fp32 always, bf16 where the device runs it natively."""
    out = {"fp32": matmul_peak(device, torch.float32)}
    native = torch.cuda.is_bf16_supported() if device.type == "cuda" else cpu_has_native_bf16()
    if native:
        out["bf16"] = matmul_peak(device, torch.bfloat16)
    return out


def step_flops(step: Callable[[], object]) -> float:
    """Floating-point operations of one call of `step` (a forward and backward), as torch counts them."""
    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return float(counter.get_total_flops())
