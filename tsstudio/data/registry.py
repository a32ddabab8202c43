"""Finding datasets: the built-in CBF plus dataset folders and files from the data dirs.

Search order: an explicit `data_dir`, then each entry of `TSSTUDIO_DATA_DIR`
(os.pathsep-separated), then the folders in the user settings. A dataset is a
folder `<root>/<Name>/` (or `<root>/UCRArchive_2018/<Name>/`) in one of the layouts of
`data.formats` (UCR `.tsv`, `.ts`, `.npz`, `.npy`, CSV), or a `<root>/<Name>.npz` file.
Summaries for listings are cached in `$XDG_CACHE_HOME/tsstudio/datasets.json`, keyed by
path, size and mtime.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from tsstudio.config.settings import load_settings, settings_path, user_cache_dir
from tsstudio.data.dataset import Dataset, DatasetInfo, make_dataset
from tsstudio.data.formats import DatasetFiles, archive_file, at_path, in_folder, read_raw
from tsstudio.data.synthetic import (
    CBF_LENGTH,
    CBF_NAME,
    CBF_TEST_PER_CLASS,
    CBF_TEST_SEED,
    CBF_TRAIN_PER_CLASS,
    CBF_TRAIN_SEED,
    cylinder_bell_funnel,
)
from tsstudio.data.ucr import read_info, read_split
from tsstudio.errors import DataError, warn

BUILTIN_DATASET = CBF_NAME
BUILTIN_SOURCE = "built-in"
ENV_VAR = "TSSTUDIO_DATA_DIR"
ARCHIVE_SUBDIR = "UCRArchive_2018"
_SUFFIXES = (".tsv", ".tsv.gz")
_CACHE_VERSION = 1


def search_dirs(data_dir: str | Path | None = None) -> list[Path]:
    """Existing folders to search for datasets, in priority order, without duplicates.

    An explicit `data_dir` that does not exist is an error; a missing or unreadable folder from
    the environment or the user settings is skipped with a one-line warning naming it.
    """
    candidates: list[tuple[Path, str]] = []
    if data_dir is not None and str(data_dir) != "":
        given = Path(data_dir).expanduser()
        if not given.is_dir():
            raise DataError(f"data folder not found: {given}")
        candidates.append((given, ""))
    for entry in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if entry.strip():
            candidates.append((Path(entry.strip()).expanduser(), ENV_VAR))
    for entry in load_settings().data_dirs:
        candidates.append((Path(entry).expanduser(), f"data_dirs in {settings_path()}"))
    result: list[Path] = []
    seen: set[Path] = set()
    for path, origin in candidates:
        try:
            found = path.is_dir()
        except OSError as exc:
            warn(f"{path} (from {origin}): cannot read the data folder ({exc.strerror or exc}); skipped")
            continue
        if not found:
            warn(f"{path} (from {origin}): data folder not found; skipped")
            continue
        resolved = path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            result.append(resolved)
    return result


def _split_file(folder: Path, name: str, split: str) -> Path | None:
    """`<folder>/<name>_<split>.tsv` or `.tsv.gz` (uncompressed preferred), or None."""
    for suffix in _SUFFIXES:
        candidate = folder / f"{name}_{split}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _datasets_in(root: Path) -> dict[str, DatasetFiles]:
    """Datasets directly under `root` and under `root/UCRArchive_2018`, by name (sorted)."""
    found: dict[str, DatasetFiles] = {}
    for base in (root, root / ARCHIVE_SUBDIR):
        try:
            children = sorted(base.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            warn(f"{base}: cannot read the data folder ({exc.strerror or exc}); skipped")
            continue
        for child in children:
            try:
                if child.name in found:
                    continue
                files = in_folder(child) if child.is_dir() else archive_file(child)
            except OSError as exc:  # e.g. a dataset folder without read permission
                warn(f"{child}: cannot read the dataset folder ({exc.strerror or exc}); skipped")
                continue
            if files is not None and files.name not in found:
                found[files.name] = files
    return found


def _all_datasets(dirs: list[Path]) -> dict[str, DatasetFiles]:
    """All datasets in the search folders; the first folder wins on duplicate names."""
    found: dict[str, DatasetFiles] = {}
    for root in dirs:
        for name, files in _datasets_in(root).items():
            found.setdefault(name, files)
    return found


def find_dataset_dir(name: str, data_dir: str | Path | None = None) -> Path | None:
    """Folder (or `.npz` file) of the dataset `name` (exact match first, then case-insensitive), or None."""
    found = _all_datasets(search_dirs(data_dir))
    if name in found:
        return found[name].location
    lowered = {key.lower(): files.location for key, files in reversed(list(found.items()))}
    return lowered.get(name.lower())


# ---------------------------------------------------------------- info cache


def _cache_path() -> Path:
    return user_cache_dir() / "datasets.json"


def _load_cache() -> dict:
    try:
        data = json.loads(_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != _CACHE_VERSION or not isinstance(data.get("files"), dict):
        return {}
    return data["files"]


def _save_cache(files: dict) -> None:
    """Write the cache atomically; a cache that cannot be written is simply not used."""
    path = _cache_path()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"version": _CACHE_VERSION, "files": files}), encoding="utf-8")
        os.replace(tmp, path)


def _file_info(path: Path, cache: dict) -> dict:
    """{n, length, labels, error} of a split file, from the cache when size and mtime match."""
    resolved = path.resolve()
    stat = resolved.stat()
    key = str(resolved)
    entry = cache.get(key)
    if isinstance(entry, dict) and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns:
        return entry
    try:
        n, length, labels = read_info(resolved)
        plain = [int(v) if isinstance(v, float) and v.is_integer() else v for v in labels]
        entry = {"n": n, "length": length, "labels": sorted(plain, key=str), "error": ""}
    except DataError as exc:
        entry = {"n": 0, "length": 0, "labels": [], "error": str(exc)}
    entry.update(size=stat.st_size, mtime_ns=stat.st_mtime_ns)
    cache[key] = entry
    return entry


def _missing_test(folder: Path, name: str) -> str:
    return f"{folder}: missing {name}_TEST.tsv (or .tsv.gz)"


def _dataset_info(files: DatasetFiles, cache: dict, label_column: str = "") -> DatasetInfo:
    """Summary of one dataset; problems go into `error` instead of raising."""
    if files.format != "ucr":
        return _read_info(files, cache, label_column)
    name, folder = files.name, files.location
    source = str(folder)
    train = _split_file(folder, name, "TRAIN")
    test = _split_file(folder, name, "TEST")
    if train is None:  # the folder changed since it was found
        return DatasetInfo(name, 0, 0, 0, 0, source, error=f"{folder}: missing {name}_TRAIN.tsv (or .tsv.gz)")
    try:
        tr = _file_info(train, cache)
        te = _file_info(test, cache) if test is not None else None
    except OSError as exc:
        return DatasetInfo(name, 0, 0, 0, 0, source, error=f"{folder}: cannot read ({exc.strerror or exc})")
    n_classes = len(tr["labels"])
    error = tr["error"]
    if not error and te is None:
        error = _missing_test(folder, name)
    elif not error:
        error = te["error"]
    if not error and n_classes < 2:
        label = tr["labels"][0] if tr["labels"] else "?"
        error = f"{train}: found 1 class (label {label}); a classification dataset needs at least two"
    if not error and tr["length"] != te["length"]:
        error = f"{train} has series of length {tr['length']} but {test} has length {te['length']}"
    if not error:
        unseen = [label for label in te["labels"] if label not in tr["labels"]]
        if unseen:
            error = f"{test}: label {unseen[0]} does not occur in {train}"
    return DatasetInfo(
        name=name,
        n_train=tr["n"],
        n_test=te["n"] if te else 0,
        length=tr["length"],
        n_classes=n_classes,
        source=source,
        error=error,
    )


def _read_info(files: DatasetFiles, cache: dict, label_column: str) -> DatasetInfo:
    """Summary of a dataset in another format, by reading it whole (cached by size and mtime of its files)."""
    source = str(files.location)
    paths = sorted({p.resolve() for p in (files.train, files.test) if p is not None})
    try:
        stamps = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths]
    except OSError as exc:
        return DatasetInfo(files.name, 0, 0, 0, 0, source, error=f"{files.location}: cannot read ({exc.strerror or exc})",
                           format=files.format)
    key = f"{files.format}:{label_column}:" + "|".join(str(p) for p in paths)
    entry = cache.get(key)
    if not (isinstance(entry, dict) and entry.get("stamps") == [list(s) for s in stamps]):
        try:
            dataset = _make(files, scaling=False, label_column=label_column)
            entry = {"n_train": dataset.n_train, "n_test": dataset.n_test, "length": dataset.length,
                     "n_classes": dataset.n_classes, "channels": dataset.n_channels, "error": ""}
        except DataError as exc:
            entry = {"n_train": 0, "n_test": 0, "length": 0, "n_classes": 0, "error": str(exc)}
        entry["stamps"] = [list(s) for s in stamps]
        cache[key] = entry
    return DatasetInfo(files.name, entry["n_train"], entry["n_test"], entry["length"], entry["n_classes"], source,
                       error=entry["error"], format=files.format, channels=int(entry.get("channels", 1)))


def _builtin_info() -> DatasetInfo:
    return DatasetInfo(
        name=CBF_NAME,
        n_train=3 * CBF_TRAIN_PER_CLASS,
        n_test=3 * CBF_TEST_PER_CLASS,
        length=CBF_LENGTH,
        n_classes=3,
        source=BUILTIN_SOURCE,
    )


def list_datasets(data_dir: str | Path | None = None, label_column: str = "") -> list[DatasetInfo]:
    """The built-in CBF, then every dataset in the search folders sorted by name.

    Broken datasets are listed with a one-line `error` rather than raising. A dataset
    named like the built-in one is shadowed by it. `label_column` is the CSV label column rule
    (see `data.csv_format`).
    """
    infos = [_builtin_info()]
    found = _all_datasets(search_dirs(data_dir))
    cache = _load_cache()
    before = json.dumps(cache, sort_keys=True)
    for name in sorted(found):
        if name.lower() == CBF_NAME.lower():
            continue
        infos.append(_dataset_info(found[name], cache, label_column))
    if json.dumps(cache, sort_keys=True) != before:
        _save_cache(cache)
    return infos


# ---------------------------------------------------------------- loading


def read_split_cached(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """`read_split` through a cache of parsed arrays keyed by path, size and mtime.

    Parsing a large text file holds the interpreter lock for up to a second; a cached split loads
    in milliseconds, which keeps the app responsive when a run starts on a dataset already seen.
    """
    stat = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:20]
    cached = user_cache_dir() / "parsed" / f"{key}.npz"
    try:
        with np.load(cached, allow_pickle=False) as data:
            return data["x"], data["labels"]
    except (OSError, KeyError, ValueError):
        pass
    x, labels = read_split(path)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f"{key}.{os.getpid()}.tmp.npz")
        np.savez(tmp, x=x, labels=labels)
        os.replace(tmp, cached)
    except OSError:
        pass  # a read-only cache folder only costs speed
    return x, labels


def _load_builtin(scaling: bool) -> Dataset:
    x_train, y_train = cylinder_bell_funnel(CBF_TRAIN_PER_CLASS, CBF_LENGTH, seed=CBF_TRAIN_SEED)
    x_test, y_test = cylinder_bell_funnel(CBF_TEST_PER_CLASS, CBF_LENGTH, seed=CBF_TEST_SEED)
    return make_dataset(CBF_NAME, x_train, y_train, x_test, y_test, BUILTIN_SOURCE, scaling=scaling)


def _unknown_dataset(name: str, dirs: list[Path]) -> DataError:
    """Error for a name that matches nothing: suggests close names and says where it looked."""
    if not dirs:
        return DataError(
            f"unknown dataset '{name}'; only the built-in {CBF_NAME} is available "
            f"(add a UCR-layout folder with --data-dir or {ENV_VAR})"
        )
    known = [CBF_NAME, *_all_datasets(dirs)]
    by_lower = {k.lower(): k for k in reversed(known)}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    hint = f"; did you mean '{by_lower[close[0]]}'?" if close else ""
    return DataError(f"unknown dataset '{name}'{hint} (searched: {', '.join(str(d) for d in dirs)})")


def _make(files: DatasetFiles, scaling: bool, label_column: str = "") -> Dataset:
    """Read a dataset's files and preprocess them (label mapping, scaling)."""
    x_train, labels_train, x_test, labels_test = read_raw(files, label_column, split_reader=read_split_cached)
    one_file = files.train == files.test
    return make_dataset(
        files.name,
        x_train,
        labels_train,
        x_test,
        labels_test,
        source=str(files.location),
        scaling=scaling,
        train_name=f"{files.train}: x_train" if one_file else str(files.train),
        test_name=f"{files.test}: x_test" if one_file else str(files.test),
        format=files.format,
    )


def load_dataset(
    name: str, data_dir: str | Path | None = None, scaling: bool = True, label_column: str = ""
) -> Dataset:
    """Load a dataset by name: "CBF" (any case) is built in; other names are searched in the data folders.

    `label_column` chooses a CSV dataset's label column ("" automatic, "none", a name or a number).
    """
    if name.lower() == CBF_NAME.lower():
        return _load_builtin(scaling)
    dirs = search_dirs(data_dir)
    found = _all_datasets(dirs)
    files = found.get(name)
    if files is None:
        matches = [key for key in found if key.lower() == name.lower()]
        if not matches:
            raise _unknown_dataset(name, dirs)
        files = found[matches[0]]
    return _make(files, scaling, label_column)


def load_dataset_at(path: str | Path, scaling: bool = True, label_column: str = "") -> Dataset:
    """Load the dataset at an explicit path: a dataset folder (any layout) or a `.npz` file."""
    return _make(at_path(Path(path)), scaling, label_column)
