"""The stop/pause flags a training loop checks; the device helpers live in `tsstudio.models.runtime`.

Importing this module does not import torch, so front ends can hold a `TrainingControl` cheaply.
"""

from __future__ import annotations

import threading
from typing import Any

# Older import paths (`from tsstudio.train.runtime import resolve_device`) keep working, lazily.
_MOVED = ("cpu_has_native_bf16", "precision_name", "resolve_device", "resolve_precision", "seed_everything", "set_threads")


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        from tsstudio.models import runtime

        return getattr(runtime, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class TrainingControl:
    """Stop and pause flags that a training loop checks at every step boundary (thread-safe)."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def request_stop(self) -> None:
        """Ask the loop to checkpoint and end as `stopped` after the current step."""
        self._stop.set()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> None:
        """Block while paused; returns at once when running or when a stop is requested."""
        while not self._running.wait(timeout=0.1):
            if self._stop.is_set():
                return
