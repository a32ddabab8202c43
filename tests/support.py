"""Shared test helpers: the UCR folder marker and a quick training configuration."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

UCR_DIR = os.environ.get("TSSTUDIO_DATA_DIR", "")
needs_ucr = pytest.mark.skipif(
    not (UCR_DIR and Path(UCR_DIR.split(os.pathsep)[0]).is_dir()),
    reason="set TSSTUDIO_DATA_DIR to the UCR folder (../shared/data/ucr) to run tests on real UCR data",
)


QUICK = [
    "trainer.batch_size=32",
    "trainer.snapshot_every_steps=5",
    "trainer.checkpoint_every_steps=10",
    "trainer.val_every_epochs=2",
    "probes.every_epochs=2",
    "trainer.device=cpu",
    "trainer.num_threads=2",
]
