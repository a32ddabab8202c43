"""Shared test helpers: the UCR folder marker and a quick training configuration."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

UCR_DIR = os.environ.get("TSSTUDIO_DATA_DIR", "")
_skip_without_ucr = pytest.mark.skipif(
    not (UCR_DIR and Path(UCR_DIR.split(os.pathsep)[0]).is_dir()),
    reason="set TSSTUDIO_DATA_DIR to the UCR folder (../shared/data/ucr) to run tests on real UCR data",
)


def needs_ucr(test: Callable) -> Callable:
    """Mark a test `ucr` (left out of the default selection, run in CI) and skip it without the data."""
    return pytest.mark.ucr(_skip_without_ucr(test))


QUICK = [
    "trainer.batch_size=32",
    "trainer.snapshot_every_steps=5",
    "trainer.checkpoint_every_steps=10",
    "trainer.val_every_epochs=2",
    "probes.every_epochs=2",
    "trainer.device=cpu",
    "trainer.num_threads=1",
]

# `--set` flags for a tiny, fast tokenizer run from the command line (a 1-step run takes about a second).
TINY_CLI = [flag for pair in (("--set", s) for s in (
    "trainer.device=cpu", "trainer.precision=fp32", "trainer.batch_size=16", "trainer.num_threads=1",
    "encoder.dim=8", "decoder.dim=8", "encoder.n_resnet_blocks=1", "decoder.n_resnet_blocks=1",
    "quantizer.codebook_size=8", "probes.at_start=false",
)) for flag in pair]
