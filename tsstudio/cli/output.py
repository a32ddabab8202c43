"""What the commands share: output to the terminal, the run file to write, Ctrl-C as a cooperative stop."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from tsstudio.errors import TsstudioError


def install_stop_handler(control) -> Callable[[], None]:  # noqa: ANN001 - TrainingControl, imported lazily
    """Turn SIGINT/SIGTERM into a cooperative stop (checkpoint, status `stopped`).

    Returns a function that puts the previous handlers back; call it when the command's work
    ends, so a caller embedding `tsstudio.cli.main` keeps its own signal handling.
    """

    def handler(signum, frame):  # noqa: ANN001, ARG001
        if control.stop_requested:
            raise KeyboardInterrupt
        print("\nstopping after this step (press Ctrl-C again to abort)...", file=sys.stderr)
        control.request_stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)

    return restore


def print_json(obj: object) -> None:
    """One JSON object on stdout."""
    print(json.dumps(obj, indent=2, sort_keys=False, default=float))


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """A plain aligned text table (None shows as '-')."""
    rows = [["-" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line.rstrip())
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def resolve_out(path: str | None, overwrite: bool) -> Path:
    """The run file to create; refuses to clobber an existing file unless asked."""
    if not path:
        raise TsstudioError("--out RUN.h5 is required (the run file to write)")
    out = Path(path)
    if out.exists() and not overwrite:
        raise TsstudioError(f"{out} exists; pass --overwrite to replace it or --resume {out} to continue it")
    if not out.parent.exists():
        raise TsstudioError(f"{out.parent}: folder does not exist")
    return out
