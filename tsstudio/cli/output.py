"""What the commands share: output to the terminal, the run file to write, Ctrl-C as a cooperative stop."""

from __future__ import annotations

import json
import os
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


def resolve_out(path: str | None, overwrite: bool, *, resumable: bool = False) -> Path:
    """The file to create; refuses to clobber an existing file unless asked, a folder, or an unwritable place.

    `resumable` commands (train, prior) also suggest `--resume` for an existing file.
    """
    if not path:
        raise TsstudioError("--out RUN.h5 is required (the run file to write)")
    out = Path(path)
    if out.is_dir():
        raise TsstudioError(f"--out {out}: is a folder; expected the name of a file to write in it")
    if out.exists() and not overwrite:
        hint = f" or --resume {out} to continue it" if resumable else ""
        raise TsstudioError(f"{out} exists; pass --overwrite to replace it{hint}")
    if not out.parent.is_dir():
        raise TsstudioError(f"{out.parent}: folder does not exist")
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise TsstudioError(f"{out.parent}: folder is not writable")
    return out


def resolve_out_dir(path: str, option: str = "--out-dir") -> Path:
    """The folder a command writes several files to, created if missing; refuses a file or an unwritable folder."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise TsstudioError(f"{option} {folder}: is a file; expected a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TsstudioError(f"{option} {folder}: cannot create the folder ({exc.strerror or exc})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise TsstudioError(f"{option} {folder}: folder is not writable")
    return folder
