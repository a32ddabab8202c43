"""Reader for one split file in the UCR archive layout (`<Name>_TRAIN.tsv[.gz]`).

Format: tab-separated text, no header, one series per line; column 1 is the class
label, columns 2.. are the values. Parsing is done in one numpy call over all
values (fast for files of tens of MB); only when that fails is the text rescanned
line by line so that the error can name the exact line and column.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tsstudio.data.parsing import parse_labels, short
from tsstudio.errors import DataError

_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class _Rows:
    """Structure of a checked file: its data lines, 1-based line numbers, label tokens and width."""

    lines: list[str]
    line_numbers: list[int]
    labels: list[str]
    n_columns: int


def read_text(path: Path) -> str:
    """Whole file as text, gunzipped when it is gzip data (by magic bytes or suffix)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    if data[:2] == _GZIP_MAGIC or path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise DataError(f"{path}: corrupt gzip file ({reason})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x})") from None


def _scan(path: Path) -> _Rows:
    """Split into rows and check their shape: not empty, same column count, a value after the label."""
    text = read_text(path)
    lines: list[str] = []
    numbers: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip()
        if line:
            lines.append(line)
            numbers.append(number)
    if not lines:
        raise DataError(f"{path}: empty file, no series")
    expected = lines[0].count("\t") + 1
    first = numbers[0]
    for line, number in zip(lines, numbers):
        found = line.count("\t") + 1
        if found == 1:
            raise DataError(f"{path}:{number}: row has a label ('{short(line)}') but no values")
        if found != expected:
            raise DataError(
                f"{path}:{number}: expected {expected} columns like line {first}, found {found} (ragged row)"
            )
    labels = [line.partition("\t")[0].strip() for line in lines]
    return _Rows(lines, numbers, labels, expected)


def _locate_bad_value(path: Path, rows: _Rows) -> DataError:
    """Slow path: find the first value that does not parse, for the error message."""
    for line, number in zip(rows.lines, rows.line_numbers):
        for column, token in enumerate(line.split("\t")[1:], start=2):
            try:
                float(token)
            except ValueError:
                if not token.strip():
                    return DataError(f"{path}:{number}: column {column}: empty value")
                return DataError(f"{path}:{number}: column {column}: non-numeric value '{short(token)}'")
    return DataError(f"{path}: values could not be parsed as numbers")


def _parse_values(path: Path, rows: _Rows) -> np.ndarray:
    """All values in one numpy conversion; (N, L) float64, checked finite."""
    n, width = len(rows.lines), rows.n_columns - 1
    joined = "\t".join([line.partition("\t")[2] for line in rows.lines])
    try:
        values = np.array(joined.split("\t"), dtype=np.float64)
    except ValueError:
        raise _locate_bad_value(path, rows) from None
    if values.size != n * width:  # cannot happen after the shape check; kept as a guard
        raise DataError(f"{path}: expected {n * width} values, found {values.size}")
    x = values.reshape(n, width)
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        token = rows.lines[row].split("\t")[col + 1].strip()
        kind = "NaN" if np.isnan(x[row, col]) else "infinite"
        raise DataError(
            f"{path}:{rows.line_numbers[row]}: column {col + 2}: value '{short(token)}' is {kind} "
            "(missing values are not supported)"
        )
    return x


def read_split(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one split file: values (N, L) float64 and raw labels (N,) as float64 or str.

    Raises DataError with one line `<file>:<line>: <problem>` for any malformed input.
    """
    path = Path(path)
    rows = _scan(path)
    x = _parse_values(path, rows)
    y = parse_labels(path, rows.labels, rows.line_numbers, "column 1")
    return x, y


def read_info(path: str | Path) -> tuple[int, int, set]:
    """(number of series, length, set of raw labels) of a split file, for listing.

    Checks the file's structure and labels but skips converting the values, so it
    is cheaper than `read_split`; bad values are reported when the dataset is loaded.
    """
    path = Path(path)
    rows = _scan(path)
    labels = parse_labels(path, rows.labels, rows.line_numbers, "column 1")
    return len(rows.lines), rows.n_columns - 1, set(labels.tolist())
