"""Reader for one split of a CSV dataset (`<Name>_TRAIN.csv`, `<Name>_TEST.csv`): one series per row.

The first row is a header when a field other than the first is not a number. Which column holds
the class label (`label_column`, the `--label-column` option and `data.label_column`):

- "" (automatic): the header's column named `label` or `class` (any case), else the first column;
- "none": no labels (an unlabelled dataset);
- a header name, or a 1-based column number.

Every other column is a value; a row is one univariate series.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from tsstudio.data.parsing import parse_labels, parse_values, short
from tsstudio.data.ucr import read_text
from tsstudio.errors import DataError

AUTO, NONE = "", "none"
LABEL_NAMES = ("label", "class")


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _label_index(path: Path, header: list[str] | None, width: int, label_column: str) -> int | None:
    """0-based column of the label, or None for no labels."""
    choice = label_column.strip()
    if choice.lower() == NONE:
        return None
    if choice == AUTO:
        if header is not None:
            for i, name in enumerate(header):
                if name.strip().lower() in LABEL_NAMES:
                    return i
        return 0
    if choice.isdigit():
        number = int(choice)
        if not 1 <= number <= width:
            raise DataError(f"{path}: --label-column {choice}: the file has columns 1..{width}")
        return number - 1
    if header is None:
        raise DataError(f"{path}: --label-column {choice}: the file has no header row to name columns by")
    for i, name in enumerate(header):
        if name.strip() == choice:
            return i
    raise DataError(f"{path}: --label-column {choice}: no such column in the header ({short(', '.join(header), 80)})")


def read_csv_split(path: str | Path, label_column: str = AUTO) -> tuple[np.ndarray, np.ndarray | None]:
    """Read one CSV split: values (N, L) float64 and raw labels (N,) (float64 or str), or None without labels."""
    path = Path(path)
    try:
        parsed = enumerate(csv.reader(io.StringIO(read_text(path))), start=1)
        rows = [(n, row) for n, row in parsed if any(f.strip() for f in row)]
    except csv.Error as exc:
        raise DataError(f"{path}: not CSV ({exc})") from None
    if not rows:
        raise DataError(f"{path}: empty file, no series")
    header = None
    if any(not _is_number(f) for f in rows[0][1][1:]):
        header = rows[0][1]
        rows = rows[1:]
        if not rows:
            raise DataError(f"{path}: a header row but no series")
    width = len(header) if header is not None else len(rows[0][1])
    first = rows[0][0] - 1 if header is not None else rows[0][0]
    label = _label_index(path, header, width, label_column)
    values: list[list[float]] = []
    labels: list[str] = []
    numbers: list[int] = []
    for number, row in rows:
        if len(row) != width:
            raise DataError(f"{path}:{number}: expected {width} columns like line {first}, found {len(row)} (ragged row)")
        if label is None:
            values.append(parse_values(path, number, row))
        else:
            labels.append(row[label])
            values.append(parse_values(path, number, row[:label], 1) + parse_values(path, number, row[label + 1 :], label + 2))
        numbers.append(number)
    if width - (label is not None) == 0:
        raise DataError(f"{path}: rows have a label but no values")
    x = np.asarray(values, dtype=np.float64)
    if label is None:
        return x, None
    return x, parse_labels(path, labels, numbers, f"column {label + 1}")
