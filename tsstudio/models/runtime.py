"""Device, precision, thread and seed choices shared by training and evaluation.

They live below both `train` and `eval` so that neither package imports the other for them.
"""

from __future__ import annotations

import random

import numpy as np
import torch

from tsstudio.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA, then MPS, then CPU; an explicit device that is absent is an error."""
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if name == "cuda" and not cuda:
        raise ConfigError("trainer.device: 'cuda' was asked for but no CUDA device is available")
    if name == "mps" and not mps:
        raise ConfigError("trainer.device: 'mps' was asked for but no MPS device is available")
    return torch.device(name)


def cpu_has_native_bf16() -> bool:
    """Whether torch's CPU kernels run bf16 matrix work natively here (AVX512-BF16 or AMX).

    torch's own capability comes first: a CPU whose kernels are AVX2 (or that was capped to AVX2
    with ATEN_CPU_CAPABILITY) emulates bf16, which is slower than float32, whatever the CPU flags
    say. Only an AVX-512 capability is refined by the flags, since torch reports plain `AVX512`
    on CPUs with and without the BF16 extension.
    """
    cpu = getattr(torch.backends, "cpu", None)
    capability = (cpu.get_cpu_capability() if cpu else "").upper()
    if "AMX" in capability or capability == "AVX512_BF16":
        return True
    if not capability.startswith("AVX512"):
        return False
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as fh:
            flags = fh.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(name: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype for a precision setting, or None for full float32."""
    if name == "fp32":
        return None
    if name == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device.type == "cpu":
        return torch.bfloat16 if cpu_has_native_bf16() else None
    return None


def precision_name(dtype: torch.dtype | None) -> str:
    """`bf16` or `fp32`, for run files and displays."""
    return "bf16" if dtype == torch.bfloat16 else "fp32"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so a run is reproducible on the same device."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_threads(n: int) -> None:
    """Set torch's intra-op CPU threads when `n` > 0."""
    if n > 0 and torch.get_num_threads() != n:
        torch.set_num_threads(n)
