"""Which files make a dataset, in every layout tsstudio reads, and reading them into raw arrays.

A dataset `<Name>` in a data folder `<root>` is, in this order of precedence:

- `ucr`: `<root>/<Name>/<Name>_TRAIN.tsv[.gz]` and `_TEST.tsv[.gz]` (the UCR archive);
- `ts`: `<root>/<Name>/<Name>_TRAIN.ts` and `_TEST.ts` (UEA / aeon / sktime);
- `npz`: `<root>/<Name>/<Name>.npz`, or `<root>/<Name>.npz` directly in the data folder;
- `npy`: `<root>/<Name>/x_train.npy` and `x_test.npy` (labels `y_train.npy`, `y_test.npy` optional);
- `csv`: `<root>/<Name>/<Name>_TRAIN.csv` and `_TEST.csv`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tsstudio.data.csv_format import read_csv_split
from tsstudio.data.numpy_format import read_npy_folder, read_npz
from tsstudio.data.ts_format import read_ts_split
from tsstudio.errors import DataError

FORMATS = ("ucr", "ts", "npz", "npy", "csv")
_SPLIT_SUFFIXES = {"ucr": (".tsv", ".tsv.gz"), "ts": (".ts",), "csv": (".csv",)}


@dataclass(frozen=True)
class DatasetFiles:
    """Where one dataset's data lives: its format, the train and test files (the same for one archive)."""

    name: str
    format: str
    train: Path | None  # None: the train file is missing (the dataset is listed with an error)
    test: Path | None  # None: the test file is missing
    location: Path  # the dataset folder, or the .npz file directly in a data folder

    def missing(self) -> str:
        """One line naming the file that is missing, or "" when both are there."""
        for split, path in (("TRAIN", self.train), ("TEST", self.test)):
            if path is None:
                if self.format == "npy":
                    return f"{self.location}: missing x_{split.lower()}.npy"
                suffixes = _SPLIT_SUFFIXES[self.format]
                alt = f" (or {suffixes[1]})" if len(suffixes) > 1 else ""
                return f"{self.location}: missing {self.name}_{split}{suffixes[0]}{alt}"
        return ""


def _split_file(folder: Path, name: str, split: str, suffixes: tuple[str, ...]) -> Path | None:
    for suffix in suffixes:
        candidate = folder / f"{name}_{split}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def in_folder(folder: Path) -> DatasetFiles | None:
    """The dataset a folder `<Name>/` holds (the first layout whose train data is there), or None."""
    name = folder.name
    for fmt in ("ucr", "ts"):
        train = _split_file(folder, name, "TRAIN", _SPLIT_SUFFIXES[fmt])
        if train is not None:
            return DatasetFiles(name, fmt, train, _split_file(folder, name, "TEST", _SPLIT_SUFFIXES[fmt]), folder)
    archive = folder / f"{name}.npz"
    if archive.is_file():
        return DatasetFiles(name, "npz", archive, archive, folder)
    if (folder / "x_train.npy").is_file():
        test = folder / "x_test.npy"
        return DatasetFiles(name, "npy", folder / "x_train.npy", test if test.is_file() else None, folder)
    train = _split_file(folder, name, "TRAIN", _SPLIT_SUFFIXES["csv"])
    if train is not None:
        return DatasetFiles(name, "csv", train, _split_file(folder, name, "TEST", _SPLIT_SUFFIXES["csv"]), folder)
    return None


def archive_file(path: Path) -> DatasetFiles | None:
    """A `<Name>.npz` directly in a data folder, as a dataset named by its stem."""
    if path.suffix == ".npz" and path.is_file():
        return DatasetFiles(path.stem, "npz", path, path, path)
    return None


def at_path(path: Path) -> DatasetFiles:
    """The dataset at an explicit path: a dataset folder or a `.npz` file."""
    path = Path(path).expanduser()
    if path.is_file():
        found = archive_file(path)
        if found is None:
            raise DataError(f"{path}: not a dataset (a .npz file or a dataset folder is expected)")
        return found
    if path.is_dir():
        found = in_folder(path)
        if found is None:
            raise DataError(
                f"{path}: no dataset files in this folder (expected {path.name}_TRAIN.tsv, {path.name}_TRAIN.ts, "
                f"{path.name}.npz, x_train.npy or {path.name}_TRAIN.csv)"
            )
        return found
    raise DataError(f"{path}: no such file or folder")


RawData = tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None]


SplitReader = Callable[[Path], tuple[np.ndarray, np.ndarray]]


def read_raw(files: DatasetFiles, label_column: str = "", split_reader: SplitReader | None = None) -> RawData:
    """(x_train, labels_train, x_test, labels_test) of a dataset, labels None when unlabelled.

    `split_reader(path)` reads a UCR split (the registry passes its cached reader).
    """
    problem = files.missing()
    if problem:
        raise DataError(problem)
    if files.format == "npz":
        return read_npz(files.train)
    if files.format == "npy":
        return read_npy_folder(files.location)
    if files.format == "ucr":
        if split_reader is None:
            from tsstudio.data.ucr import read_split as split_reader
        (x_tr, y_tr), (x_te, y_te) = split_reader(files.train), split_reader(files.test)
        return x_tr, y_tr, x_te, y_te
    if files.format == "ts":
        (x_tr, y_tr), (x_te, y_te) = read_ts_split(files.train), read_ts_split(files.test)
    else:
        (x_tr, y_tr), (x_te, y_te) = read_csv_split(files.train, label_column), read_csv_split(files.test, label_column)
    channels = [x.shape[1] if x.ndim == 3 else 1 for x in (x_tr, x_te)]
    if channels[0] != channels[1]:
        raise DataError(
            f"{files.test}: {channels[1]} channels, but {files.train} has {channels[0]} (mismatched channel counts)"
        )
    if x_tr.shape[-1] != x_te.shape[-1]:
        raise DataError(
            f"{files.test}: series of length {x_te.shape[-1]}, but {files.train} has length {x_tr.shape[-1]} "
            "(unequal lengths are not supported)"
        )
    return x_tr, y_tr, x_te, y_te
