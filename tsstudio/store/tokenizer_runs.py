"""Tokenizer runs a prior can be trained on: checking one file, listing a workspace's.

A prior trains on the tokens of a *finished* tokenizer run. The app checks the file the user
picks before it offers Start, and again when the run starts, with the same one-line messages.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsstudio.errors import RunFileError, TsstudioError
from tsstudio.store.runfile import RunFile
from tsstudio.store.workspace import list_runs


@dataclass(frozen=True)
class TokenizerRun:
    """A finished tokenizer run: where it is and what a prior on it needs to know."""

    path: Path
    dataset: str
    preset: str
    step: int
    config: dict[str, Any] = field(default_factory=dict)
    length: int = 0  # series length of its dataset
    n_classes: int = 0
    codebook_size: int = 0
    token_grid: tuple[int, int] = (0, 0)  # (H, W)

    @property
    def label(self) -> str:
        """How a list names it: file name, dataset and preset."""
        return f"{self.path.stem}  ({self.dataset}, {self.preset or 'custom'}, step {self.step})"


def finished_tokenizer(path: str | os.PathLike[str]) -> TokenizerRun:
    """The finished tokenizer run at `path`; raises TsstudioError (one line naming the file) otherwise."""
    p = Path(path)
    if not p.is_file():
        raise TsstudioError(f"{p}: tokenizer run file not found; pick a finished tokenizer run")
    try:
        with RunFile.open(p) as run:
            kind, status, config = run.kind, run.status, run.config
            dataset, preset, step, attrs = run.dataset, run.preset or "", run.step, run.attrs
    except RunFileError as exc:
        raise TsstudioError(f"{exc}; a prior trains on a finished tokenizer run") from None
    if kind != "tokenizer":
        raise TsstudioError(f"{p.name}: is a {kind or 'unknown'} run, not a tokenizer run; "
                            "a prior trains on a finished tokenizer run")
    if status != "finished":
        raise TsstudioError(f"{p.name}: the tokenizer run is {status or 'of unknown status'}, not finished; "
                            "finish (resume) it before training a prior on it")
    grid = tuple(int(v) for v in attrs.get("token_grid", (0, 0)))
    return TokenizerRun(p, dataset, preset, step, config, length=int(attrs.get("length", 0)),
                        n_classes=int(attrs.get("n_classes", 0)), codebook_size=int(attrs.get("codebook_size", 0)),
                        token_grid=(grid[0], grid[1]) if len(grid) == 2 else (0, 0))


def finished_tokenizers(folder: str | os.PathLike[str]) -> list[TokenizerRun]:
    """The finished tokenizer runs of a workspace folder, newest first (unreadable files skipped)."""
    out = []
    for summary in reversed(list_runs(folder)):
        if summary.kind != "tokenizer" or summary.status != "finished" or summary.error:
            continue
        try:
            out.append(finished_tokenizer(summary.path))
        except TsstudioError:
            continue
    return out
