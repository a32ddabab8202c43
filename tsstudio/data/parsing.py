"""Checks every dataset reader shares, so each format reports a problem in the same words.

Messages are one line, `<file>:<line>: <problem>` for text formats and `<file>: <array> row <n>:
<problem>` for NumPy arrays (a row is the series' 1-based index there).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tsstudio.errors import DataError


def short(token: str, limit: int = 40) -> str:
    """A token quoted safely in a one-line message (cut when long)."""
    token = " ".join(str(token).split())
    return token if len(token) <= limit else token[: limit - 3] + "..."


def parse_labels(path: Path, tokens: Sequence[str], line_numbers: Sequence[int], column: str) -> np.ndarray:
    """Label tokens as float64 when all are numbers (they must then be integers), else as str.

    `column` says where the label sits in a line ("column 1", "the label after the last ':'").
    """
    numeric: list[float] = []
    first_text: int | None = None
    for i, token in enumerate(tokens):
        if not token.strip():
            raise DataError(f"{path}:{line_numbers[i]}: {column}: empty class label")
        try:
            numeric.append(float(token))
        except ValueError:
            if first_text is None:
                first_text = i
    if first_text is None:
        for i, value in enumerate(numeric):
            if not math.isfinite(value) or not value.is_integer():
                raise DataError(
                    f"{path}:{line_numbers[i]}: {column}: label '{short(tokens[i])}' is not a class label "
                    "(expected an integer or a name)"
                )
        return np.asarray(numeric, dtype=np.float64)
    if numeric:
        i = first_text
        raise DataError(
            f"{path}:{line_numbers[i]}: {column}: label '{short(tokens[i])}' is not a number like the other labels"
        )
    return np.asarray([t.strip() for t in tokens], dtype=str)


def parse_values(path: Path, line: int, tokens: Sequence[str], first_column: int = 1, what: str = "column") -> list[float]:
    """Numbers of one series; an empty, non-numeric, missing (`?`), NaN or infinite value is refused."""
    values: list[float] = []
    for offset, token in enumerate(tokens):
        where = f"{path}:{line}: {what} {first_column + offset}"
        text = token.strip()
        if not text:
            raise DataError(f"{where}: empty value (missing values are not supported)")
        if text == "?":
            raise DataError(f"{where}: missing value '?' (missing values are not supported)")
        try:
            value = float(text)
        except ValueError:
            raise DataError(f"{where}: non-numeric value '{short(text)}'") from None
        if not math.isfinite(value):
            kind = "NaN" if math.isnan(value) else "infinite"
            raise DataError(f"{where}: value '{short(text)}' is {kind} (missing values are not supported)")
        values.append(value)
    return values


def check_array_finite(where: str, x: np.ndarray) -> None:
    """Refuse NaN or infinite values in a (N, L) or (N, C, L) array, naming the row, channel and sample."""
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(x[first]) else "infinite"
        channel = f" channel {first[1] + 1}" if x.ndim == 3 else ""
        raise DataError(
            f"{where} row {first[0] + 1}:{channel} sample {first[-1] + 1} is {kind} (missing values are not supported)"
        )
