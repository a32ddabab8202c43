"""A workspace is a folder of run files; this module lists and summarises them."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tsstudio.errors import RunFileError
from tsstudio.store.class_labels import class_name, recorded_class_labels
from tsstudio.store.runfile import RunFile

HEADLINE_METRICS = ("val_loss", "val_prior_loss", "svm_accuracy", "knn_accuracy", "perplexity")
"""Metrics shown in a run list: their latest values, overridden by stored evaluation results."""


@dataclass
class RunSummary:
    """What a run list shows about one run file."""

    path: Path
    name: str
    kind: str = ""
    status: str = ""
    dataset: str = ""
    preset: str | None = None
    seed: int | None = None
    step: int = 0
    total_steps: int = 0
    created: str = ""
    headline: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    facts: dict[str, str] = field(default_factory=dict)  # a generation file's or token export's own facts

    @property
    def is_run(self) -> bool:
        """A training run (tokenizer or prior), as opposed to a generation file or token export."""
        return self.kind not in FILE_KINDS


FILE_KINDS = ("generation", "export")
"""Kinds of tsstudio files that are not runs: listed apart, with their own facts."""


def _prior_facts(prior_run: Path) -> tuple[str, tuple[str, ...]]:
    """(dataset, class labels) of the prior run a generation file came from (empty when that run is gone)."""
    import h5py

    try:
        with h5py.File(prior_run, "r") as f:
            return str(f.attrs.get("dataset", "")), recorded_class_labels(f.attrs)
    except (OSError, ValueError):
        return "", ()


def _file_facts(path: Path, kind: str) -> tuple[dict[str, str], str]:
    """(facts, dataset) of a generation file or token export, read from its attributes and shapes."""
    import json

    import h5py

    with h5py.File(path, "r") as f:
        attrs = dict(f.attrs)
        if kind == "generation":
            settings = json.loads(attrs.get("settings", "{}"))
            series = f["series"]
            klass = int(settings.get("class", -1))
            dataset, labels = _prior_facts(Path(str(settings.get("prior_run", ""))))
            facts = {
                "prior": Path(str(settings.get("prior_run", ""))).stem,
                "class": "any (unconditional)" if klass < 0 else class_name(labels, klass),
                "N": str(series.shape[0]),
                "length": str(series.shape[1]) if series.ndim > 1 else "",
                "settings": ", ".join(
                    f"{key} {settings[key]}" for key in
                    ("guidance_scale", "decoding_steps", "choice_temperature", "sampling_temperature", "seed")
                    if key in settings
                ),
                "steps recorded": "yes" if "steps" in f else "no",
            }
            return facts, dataset
        splits = [name for name in ("train", "test") if name in f and "tokens" in f[name]]
        grid = attrs.get("token_grid")
        facts = {
            "tokenizer": Path(str(attrs.get("tokenizer_run", ""))).stem,
            "splits": ", ".join(splits),
            "N": ", ".join(f"{name} {f[name]['tokens'].shape[0]}" for name in splits),
            "grid": f"{int(grid[0])} x {int(grid[1])}" if grid is not None and len(grid) == 2 else "",
            "codebook size": str(attrs.get("codebook_size", "")),
        }
        return facts, str(attrs.get("dataset", ""))


def summarize(path: str | os.PathLike[str]) -> RunSummary:
    """Summarise one run file; raises RunFileError if it is not a readable run file."""
    p = Path(path)
    with RunFile.open(p) as rf:
        summary = RunSummary(path=p, name=p.stem, kind=rf.kind, created=rf.created)
        if summary.kind not in FILE_KINDS:
            _fill_run(summary, rf)
    return _summarize_file(summary) if summary.kind in FILE_KINDS else summary


def _fill_run(summary: RunSummary, rf: RunFile) -> None:
    """The status, progress and headline metrics of a tokenizer or prior run."""
    try:
        summary.status = rf.status
        summary.dataset = rf.dataset
        summary.preset = rf.preset
        summary.seed = rf.seed
        summary.step = rf.step
        summary.total_steps = rf.total_steps
        latest = rf.headline()
        headline = {name: latest[name] for name in HEADLINE_METRICS if name in latest}
        for key, value in rf.evaluation().items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                headline[key] = float(value)
        summary.headline = headline
    except (OSError, KeyError, ValueError, RunFileError) as exc:
        summary.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _summarize_file(summary: RunSummary) -> RunSummary:
    try:
        summary.facts, summary.dataset = _file_facts(summary.path, summary.kind)
        summary.status = "file"
    except (OSError, KeyError, ValueError, TypeError) as exc:
        summary.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if not summary.created:
        with contextlib.suppress(OSError):
            summary.created = _dt.datetime.fromtimestamp(summary.path.stat().st_mtime).isoformat(timespec="seconds")
    return summary


def _created_key(summary: RunSummary) -> tuple[float, str]:
    try:
        stamp = _dt.datetime.fromisoformat(summary.created).timestamp()
    except (TypeError, ValueError):
        try:
            stamp = summary.path.stat().st_mtime
        except OSError:
            stamp = 0.0
    return stamp, str(summary.path)


def list_runs(folder: str | os.PathLike[str]) -> list[RunSummary]:
    """Summaries of the run files in `folder` and its direct subfolders, oldest first.

    Files that are not tsstudio run files (or cannot be opened) are skipped; a run file whose
    details cannot be read is listed with `error` set.
    """
    root = Path(folder)
    if not root.is_dir():
        return []
    candidates = sorted({*root.glob("*.h5"), *root.glob("*/*.h5")})
    out: list[RunSummary] = []
    for path in candidates:
        if not path.is_file():
            continue
        try:
            out.append(summarize(path))
        except RunFileError:
            continue
        except Exception as exc:  # a damaged file must not break the listing
            out.append(RunSummary(path=path, name=path.stem, error=_first_line(exc)))
    out.sort(key=_created_key)
    return out


def _first_line(exc: Any) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


LIVE_RECHECK_S = 10.0
"""A running run file of another process is reopened when it changed, or this often to catch a dead writer."""


@dataclass
class ScanCache:
    """What `scan_workspace` remembers between calls: per path, its (mtime_ns, size), summary and read time."""

    entries: dict[Path, tuple[tuple[int, int], RunSummary | None, float]] = field(default_factory=dict)
    opened: int = 0  # files opened so far (a scan of unchanged files opens none)


def scan_workspace(
    folder: str | os.PathLike[str],
    cache: ScanCache,
    live: dict[Path, tuple[str, int]] | None = None,
    now: float | None = None,
) -> list[RunSummary]:
    """Summaries of the run files in `folder` (and direct subfolders), oldest first, reusing `cache`.

    Unchanged files are not reopened. A running file of another process is reopened when its
    size or modification time changed, and at least every `LIVE_RECHECK_S` (its writer may have
    died). Files this process trains (`live`: path → (status, step)) are never opened: their
    status and step come from the job, so the listing does not compete with the writer.
    """
    live = live or {}
    now = time.monotonic() if now is None else now
    root = Path(folder)
    if not root.is_dir():
        cache.entries.clear()
        return []
    paths = sorted({*root.glob("*.h5"), *root.glob("*/*.h5")})
    seen: set[Path] = set()
    out: list[RunSummary] = []
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            continue
        key = (st.st_mtime_ns, st.st_size)
        seen.add(path)
        cached = cache.entries.get(path)
        if cached is not None and cached[1] is not None and path in live:
            status, step = live[path]
            summary = dataclasses.replace(cached[1], status=status, step=step)
            cache.entries[path] = ((-1, -1), summary, cached[2])  # reread once the job is gone
        elif cached is not None and cached[0] == key and (
            cached[1] is None or cached[1].status != "running" or now - cached[2] < LIVE_RECHECK_S
        ):
            summary = cached[1]
        else:
            cache.opened += 1
            try:
                summary = summarize(path)
            except RunFileError:
                summary = None  # not a run file
            except Exception as exc:  # a damaged file must not break the listing
                summary = RunSummary(path=path, name=path.stem, error=_first_line(exc))
            if summary is not None and path in live:
                summary = dataclasses.replace(summary, status=live[path][0], step=live[path][1])
            cache.entries[path] = ((-1, -1) if path in live else key, summary, now)
        if summary is not None:
            out.append(summary)
    for gone in set(cache.entries) - seen:
        del cache.entries[gone]
    out.sort(key=lambda s: (s.created or "", str(s.path)))
    return out


def _check_run_name(new_name: str) -> str:
    name = new_name.strip()
    if not name or "/" in name or os.sep in name or name in (".", ".."):
        raise RunFileError(f"not a valid run name: {new_name!r}; expected a file name without folders")
    return name if name.endswith(".h5") else f"{name}.h5"


def rename_run(path: str | os.PathLike[str], new_name: str, busy: bool = False) -> Path:
    """Rename a run file within its folder; returns the new path. `busy`: it is training (refused)."""
    p = Path(path)
    if busy:
        raise RunFileError(f"{p.name} is training; stop it before renaming")
    target = p.with_name(_check_run_name(new_name))
    if target.exists():
        raise RunFileError(f"{target.name} already exists")
    if not p.exists():
        raise RunFileError(f"{p}: no such run file")
    p.rename(target)
    return target


def delete_run(path: str | os.PathLike[str], busy: bool = False) -> None:
    """Delete a run file. `busy`: it is training (refused)."""
    p = Path(path)
    if busy:
        raise RunFileError(f"{p.name} is training; stop it before deleting")
    if not p.exists():
        raise RunFileError(f"{p}: no such run file")
    p.unlink()
