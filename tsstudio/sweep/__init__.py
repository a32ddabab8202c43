"""Running run specifications to run files: single runs, seed repeats, sweeps and published-protocol reproductions.

`train_run` is imported on first use, so the light parts (sweep specs, status, summaries) load
without torch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["train_run"]


def __getattr__(name: str) -> Any:
    if name == "train_run":
        from tsstudio.sweep.runner import train_run

        return train_run
    raise AttributeError(f"module 'tsstudio.sweep' has no attribute {name!r}")
