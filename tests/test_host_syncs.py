"""The training step reads its metrics from the device once: no per-term host transfers.

On a GPU every `float(t)`, `.item()`, `.cpu()` or `bool(t)` of a device tensor waits for the device
to finish; the loop reports every step's metrics, so one transfer per step is the floor. The
counts below patch torch's own tensor methods (not tsstudio code), so they hold on the CPU too.
"""

from __future__ import annotations

import pytest
import torch
from support import QUICK

from tsstudio.config import apply_overrides, load_preset
from tsstudio.data import load_dataset
from tsstudio.train import TokenizerTrainer

HOST_READS = ("item", "tolist", "cpu", "numpy", "__float__", "__int__", "__bool__", "__index__")
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"))]


@pytest.fixture(scope="module")
def cbf():
    return load_dataset("CBF")


def count_host_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Patch torch.Tensor's host-reading methods to record each call; returns the record."""
    calls: list[str] = []
    for name in HOST_READS:
        original = getattr(torch.Tensor, name)

        def wrapper(self, *args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, wrapper)
    return calls


def tiny_trainer(cbf, preset: str, device: str) -> TokenizerTrainer:
    config = apply_overrides(
        load_preset(preset),
        [*QUICK, f"trainer.device={device}", "trainer.precision=fp32", "trainer.max_steps=20", "encoder.dim=8",
         "decoder.dim=8", "ssl.proj_hidden=32", "ssl.proj_out=32", "ssl.iternorm_groups=4", "probes.at_start=false"],
    )
    trainer = TokenizerTrainer(config, cbf, lambda event: None)
    trainer._setup()
    return trainer


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("preset", ["regular", "barlowtwins-warp", "vibcreg-warp"])
def test_a_training_step_reads_the_device_once(cbf, monkeypatch, preset, device):
    trainer = tiny_trainer(cbf, preset, device)
    trainer.train_step(trainer._batch_indices())  # the first step may set things up
    calls = count_host_reads(monkeypatch)
    steps = 3
    for _ in range(steps):
        metrics = trainer.train_step(trainer._batch_indices())
        trainer.step += 1
    monkeypatch.undo()
    assert len(calls) <= steps, f"{len(calls)} host reads in {steps} steps: {calls}"
    assert set(trainer.objective.metric_names) - {"lr"} == set(metrics)
    assert all(isinstance(v, float) for v in metrics.values())


@pytest.mark.parametrize("device", DEVICES)
def test_the_training_data_lives_on_the_training_device(cbf, device):
    trainer = tiny_trainer(cbf, "regular", device)
    assert trainer.x_train.device.type == device
    assert trainer.usage.device.type == device
    assert next(trainer.objective.parameters()).device.type == device
