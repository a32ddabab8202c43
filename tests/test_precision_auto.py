"""`precision: auto` picks bf16 only where torch's CPU kernels run it natively.

The capability is torch's own query (patched here, not tsstudio code): under an AVX2 capability,
real or imposed with ATEN_CPU_CAPABILITY=avx2 on a bigger CPU, bf16 is emulated and slower than
float32, so auto must stay float32 even when /proc/cpuinfo lists avx512_bf16.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tsstudio.models.runtime import cpu_has_native_bf16, resolve_precision

CPU = torch.device("cpu")


def cpuinfo_has_bf16() -> bool:
    try:
        text = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return False
    return "avx512_bf16" in text or "amx_bf16" in text


@pytest.mark.parametrize("capability", ["AVX2", "DEFAULT", "ZVECTOR", "NEON"])
def test_auto_is_float32_without_a_bf16_capability(monkeypatch, capability):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    assert not cpu_has_native_bf16()
    assert resolve_precision("auto", CPU) is None
    assert resolve_precision("bf16", CPU) is torch.bfloat16  # asked for explicitly, still given


@pytest.mark.parametrize("capability", ["AVX512_BF16", "AMX"])
def test_auto_is_bf16_with_a_bf16_capability(monkeypatch, capability):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    assert resolve_precision("auto", CPU) is torch.bfloat16


def test_plain_avx512_follows_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    assert (resolve_precision("auto", CPU) is torch.bfloat16) == cpuinfo_has_bf16()


def test_fp32_runs_without_an_autocast_context(monkeypatch):
    from tsstudio.config import load_preset
    from tsstudio.models.tokenizer import Tokenizer

    entered = []
    original = torch.autocast.__enter__
    monkeypatch.setattr(torch.autocast, "__enter__", lambda self: entered.append(1) or original(self))
    config = load_preset("regular")
    tokenizer = Tokenizer(config, 64, precision=None)
    tokenizer(torch.randn(2, 64))
    assert entered == []
    Tokenizer(config, 64, precision=torch.bfloat16)(torch.randn(2, 64))
    assert entered
