"""Reader for datasets stored as NumPy arrays.

Two layouts, both holding the arrays `x_train`, `x_test` and optionally `y_train`, `y_test`:

- one `.npz` archive: `<root>/<Name>.npz` or `<root>/<Name>/<Name>.npz`;
- a folder `<root>/<Name>/` with `x_train.npy`, `x_test.npy` (and `y_train.npy`, `y_test.npy`).

Series are `(N, L)` or `(N, C, L)`; `(N, 1, L)` is read as `(N, L)` (one channel). Labels are
`(N,)` integers or strings; both splits have labels or neither does. Files are
always opened with `allow_pickle=False`: a data file never executes code.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from tsstudio.data.parsing import check_array_finite
from tsstudio.errors import DataError

ARRAYS = ("x_train", "y_train", "x_test", "y_test")
Arrays = tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None]


def _load(path: Path, key: str | None = None) -> np.ndarray:
    """One array of a `.npy` file, or of a `.npz` archive when `key` is given; never unpickled."""
    where = f"{path}: {key}" if key else str(path)
    try:
        if key is None:
            return np.load(path, allow_pickle=False)
        with np.load(path, allow_pickle=False) as archive:
            return archive[key]
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DataError(f"{where}: holds Python objects (a pickled array); store numbers or fixed-width strings") from None
        raise DataError(f"{where}: not a readable NumPy array ({short_reason(exc)})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{where}: cannot read ({short_reason(exc)})") from None


def short_reason(exc: BaseException) -> str:
    """An exception's message on one short line, for an error naming the file."""
    return " ".join(str(exc).split())[:120] or type(exc).__name__


def _series(where: str, x: np.ndarray) -> np.ndarray:
    """Check a series array and give it as (N, L) float64, or (N, C, L) when it has C > 1 channels."""
    if x.dtype.kind not in "iuf":
        raise DataError(f"{where}: series must be numbers, found dtype {x.dtype}")
    if x.ndim == 3 and x.shape[1] == 1:
        x = x[:, 0, :]
    if x.ndim not in (2, 3) or 0 in x.shape:
        raise DataError(
            f"{where}: expected a non-empty (series, length) or (series, channels, length) array, got shape {x.shape}"
        )
    x = x.astype(np.float64)
    check_array_finite(where, x)
    return x


def _labels(where: str, y: np.ndarray, n: int) -> np.ndarray:
    """Check a label array: (n,) integers (integral floats allowed) or strings."""
    if y.ndim != 1 or y.shape[0] != n:
        raise DataError(f"{where}: expected {n} labels (one per series, shape ({n},)), got shape {y.shape}")
    if y.dtype.kind in "US":
        return y.astype(str)
    if y.dtype.kind in "iub":
        return y.astype(np.int64)
    if y.dtype.kind == "f":
        bad = ~(np.isfinite(y) & (y == np.round(y)))
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{where} row {i + 1}: label {y[i]:g} is not a class label (expected an integer or a name)")
        return y.astype(np.float64)
    raise DataError(f"{where}: labels must be integers or strings, found dtype {y.dtype}")


def _check(sources: dict[str, tuple[str, np.ndarray]]) -> Arrays:
    """Check the arrays found (by name: (where, array)) and give (x_train, y_train, x_test, y_test)."""
    for key in ("x_train", "x_test"):
        if key not in sources:
            raise DataError(f"{sources['_where'][0]}: missing the array {key} (expected {', '.join(ARRAYS)})")
    raw_train, raw_test = sources["x_train"][1], sources["x_test"][1]
    channels = [a.shape[1] if a.ndim == 3 else 1 for a in (raw_train, raw_test)]
    if channels[0] != channels[1]:
        raise DataError(
            f"{sources['x_test'][0]}: {channels[1]} channels, but x_train has {channels[0]} (mismatched channel counts)"
        )
    x_train = _series(sources["x_train"][0], raw_train)
    x_test = _series(sources["x_test"][0], raw_test)
    if x_train.shape[-1] != x_test.shape[-1]:
        raise DataError(
            f"{sources['x_test'][0]}: series of length {x_test.shape[-1]}, but x_train has length {x_train.shape[-1]} "
            "(unequal lengths are not supported)"
        )
    y_train = _labels(sources["y_train"][0], sources["y_train"][1], len(x_train)) if "y_train" in sources else None
    y_test = _labels(sources["y_test"][0], sources["y_test"][1], len(x_test)) if "y_test" in sources else None
    return x_train, y_train, x_test, y_test


def read_npz(path: str | Path) -> Arrays:
    """(x_train, y_train, x_test, y_test) of a `.npz` archive; labels None where absent."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = set(archive.files)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable .npz archive ({short_reason(exc)})") from None
    sources: dict[str, tuple[str, np.ndarray]] = {"_where": (str(path), np.empty(0))}
    for key in ARRAYS:
        if key in keys:
            sources[key] = (f"{path}: {key}", _load(path, key))
    return _check(sources)


def read_npy_folder(folder: str | Path) -> Arrays:
    """(x_train, y_train, x_test, y_test) of a folder of `.npy` files; labels None where absent."""
    folder = Path(folder)
    sources: dict[str, tuple[str, np.ndarray]] = {"_where": (str(folder), np.empty(0))}
    for key in ARRAYS:
        file = folder / f"{key}.npy"
        if file.is_file():
            sources[key] = (str(file), _load(file))
    return _check(sources)
