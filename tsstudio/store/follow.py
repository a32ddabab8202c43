"""Following a run file: what a live view draws, read incrementally from the file.

`RunFollower` keeps a run file open (with SWMR when it is still being written) and on each
`poll()` reads only the metric rows appended since the previous poll, plus the newest
reconstruction snapshot and codebook usage row. It holds no Qt and no threads of its own, so a
front end can call it from a worker thread and hand the returned `RunData` (fresh arrays, never
mutated afterwards) to its drawing thread.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tsstudio.errors import RunFileError
from tsstudio.store.class_labels import class_name, run_class_labels
from tsstudio.store.runfile import RunFile

Series = tuple[np.ndarray, np.ndarray]  # (steps int64, values float64)


@dataclass
class RunData:
    """What a run view draws: run facts, metric curves and the newest snapshot (plain numpy)."""

    name: str = ""
    status: str = ""
    kind: str = ""  # tokenizer / prior: which panels a view shows
    dataset: str = ""
    preset: str = ""
    device: str = ""
    step: int = 0
    start_step: int = 0
    total_steps: int = 0
    rate_steps_s: float = 0.0
    train_metrics: tuple[str, ...] = ()  # the names the run declared (fixes each curve's colour)
    train: dict[str, Series] = field(default_factory=dict)
    evals: dict[str, Series] = field(default_factory=dict)
    inputs: np.ndarray | None = None  # (S, L)
    labels: np.ndarray | None = None
    recon: np.ndarray | None = None  # (S, L) latest
    recon_step: int = 0
    usage: np.ndarray | None = None  # (K,) latest token counts
    n_fft: int = 8
    hop_length: int = 2
    message: str = ""
    class_labels: tuple[str, ...] = ()  # the dataset's label of class id i (empty when unknown)

    def class_name(self, class_id: int) -> str:
        """What the user calls class `class_id`: the dataset's label, or `id N` when it is unknown."""
        return class_name(self.class_labels, class_id)

    def frozen_copy(self) -> RunData:
        """A copy whose dicts are new (the arrays are never mutated in place, so they are shared)."""
        return dataclasses.replace(self, train=dict(self.train), evals=dict(self.evals))


def _append(old: Series | None, steps: np.ndarray, values: np.ndarray) -> Series:
    if old is None or not len(old[0]):
        return steps, values
    return np.concatenate([old[0], steps]), np.concatenate([old[1], values])


def truncate(data: dict[str, Series], last_step: int) -> dict[str, Series]:
    """The curves of `data` cut to the rows at or before `last_step` (what a resumed run keeps)."""
    out: dict[str, Series] = {}
    for name, (steps, values) in data.items():
        keep = steps <= last_step
        if keep.any():
            out[name] = (steps[keep], values[keep])
    return out


class RunFollower:
    """Reads a run file incrementally; `poll()` returns a `RunData` when something changed.

    `rows_read` counts the metric rows read from the file so far: a poll after n new rows adds
    exactly n per metric, however long the run already is.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._run: RunFile | None = RunFile.open(self.path, live=True)
        except RunFileError:  # HDF5 refuses a second, SWMR open of a file this process has open plainly
            self._run = RunFile.open(self.path)
        self._data = RunData(name=self.path.stem)
        self._rows: dict[str, int] = {}
        self._last: tuple[str, int] | None = None
        self._snapshot_step = -1
        self.rows_read = 0
        self.live = True
        self._read_static()

    def _read_static(self) -> None:
        run = self._run
        assert run is not None
        d, attrs, config = self._data, run.attrs, run.config
        d.dataset, d.preset = run.dataset, run.preset or ""
        d.kind = run.kind
        d.class_labels = run_class_labels(run)
        d.device = f"{attrs.get('device', '')}/{attrs.get('precision', '')}"
        d.total_steps, d.start_step = run.total_steps, int(attrs.get("start_step", 0) or 0)
        d.n_fft = int(config.get("stft", {}).get("n_fft", 8))
        d.hop_length = int(config.get("stft", {}).get("hop_length", 2))
        try:
            names = json.loads(attrs.get("train_metrics", "[]") or "[]")
        except ValueError:
            names = []
        d.train_metrics = tuple(str(n) for n in names) if isinstance(names, list) else ()
        snaps = run.snapshots(last=0)
        if snaps["inputs"].size:
            d.inputs, d.labels = snaps["inputs"], snaps["labels"]

    def poll(self) -> RunData | None:
        """Read what is new; None when nothing changed (or the follower is closed)."""
        run = self._run
        if run is None:
            return None
        run.refresh()
        d = self._data
        status, step = run.status, run.step
        changed = (status, step) != self._last
        self._last = (status, step)
        train_names = set(d.train_metrics)
        for name in run.metric_names():
            n = run.metric_length(name)
            have = self._rows.get(name, 0)
            if n < have:  # the file was rewritten shorter (a resume in another process): start over
                have = 0
                d.train.pop(name, None)
                d.evals.pop(name, None)
            if n == have:
                continue
            steps, _, values = run.metric(name, start=have)
            self._rows[name] = have + len(steps)
            self.rows_read += len(steps)
            target = d.train if name in train_names else d.evals
            target[name] = _append(target.get(name) if have else None, steps, values)
            changed = True
        if not changed:
            return None
        d.status, d.step, d.message = status, step, run.error
        elapsed = run.elapsed_s
        if elapsed and elapsed > 0:
            d.rate_steps_s = max(0, step - d.start_step) / elapsed
        snaps = run.snapshots(last=1)
        if len(snaps["steps"]) and int(snaps["steps"][-1]) != self._snapshot_step:
            self._snapshot_step = int(snaps["steps"][-1])
            d.recon, d.recon_step = snaps["recon"][-1], self._snapshot_step
            usage_steps, usage = run.codebook_usage(last=1)
            if len(usage_steps):
                d.usage = usage[-1]
        self.live = status == "running"
        if not self.live:
            self._add_evaluation(run, step)
            self.close()
        return d.frozen_copy()

    def _add_evaluation(self, run: RunFile, step: int) -> None:
        """Probe accuracies stored after training (`tsstudio evaluate`) as a last point."""
        d = self._data
        for key, value in run.evaluation().items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and key.endswith("accuracy"):
                steps, values = d.evals.get(key, (np.zeros(0, np.int64), np.zeros(0)))
                if not len(steps) or values[-1] != value:
                    d.evals[key] = (np.append(steps, step), np.append(values, float(value)))

    def close(self) -> None:
        """Close the file (idempotent); later polls return None."""
        if self._run is not None:
            self._run.close()
            self._run = None


def read_run(path: str | os.PathLike[str]) -> RunData:
    """Everything a view draws of a run file, read once (the file is closed again)."""
    follower = RunFollower(path)
    try:
        data = follower.poll()
        return data if data is not None else follower._data.frozen_copy()
    finally:
        follower.close()
