"""Shared fixtures: isolated user folders, the UCR folder, small training configurations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

UCR_DIR = os.environ.get("TSSTUDIO_DATA_DIR", "")
needs_ucr = pytest.mark.skipif(
    not (UCR_DIR and Path(UCR_DIR.split(os.pathsep)[0]).is_dir()),
    reason="set TSSTUDIO_DATA_DIR to the UCR folder (../shared/data/ucr) to run tests on real UCR data",
)


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read or write the real user's settings, cache or data folders."""
    home = tmp_path_factory.mktemp("home")
    for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))


@pytest.fixture
def ucr_dir() -> Path:
    """The shared UCR folder (tests using it are marked `needs_ucr`)."""
    return Path(UCR_DIR.split(os.pathsep)[0])


QUICK = [
    "trainer.batch_size=32",
    "trainer.snapshot_every_steps=5",
    "trainer.checkpoint_every_steps=10",
    "trainer.val_every_epochs=2",
    "probes.every_epochs=2",
    "trainer.device=cpu",
    "trainer.num_threads=2",
]
