"""Shared fixtures: isolated user folders, the UCR folder, small training configurations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import UCR_DIR

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# One torch/OpenMP thread: the nets here are tiny, and on a shared 2-core machine two threads
# that spin-wait for each other made compute tests many times slower (set before torch loads;
# subprocesses inherit it).
os.environ.setdefault("OMP_NUM_THREADS", "1")


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
