"""Reader for one split of the UEA / aeon / sktime `.ts` format (`<Name>_TRAIN.ts`, `<Name>_TEST.ts`).

Layout: `#` comment lines, then `@` header lines (`@problemName`, `@univariate`, `@classLabel
true <labels...>` or `@classLabel false`, `@dimensions`, `@seriesLength`, ...) up to `@data`, then one series per line: values
separated by `,`, channels separated by `:`, the class label last (after the final `:`) when
`@classLabel true`. Only equal-length series without timestamps are read; every channel of every
series has the same length, and every series the same number of channels. Where the header
declares `@univariate`, `@dimensions` or `@seriesLength`, the series must match it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tsstudio.data.parsing import parse_labels, parse_values, short
from tsstudio.data.ucr import read_text
from tsstudio.errors import DataError


def _header(path: Path, lines: list[str]) -> tuple[dict[str, tuple[str, int]], int]:
    """The `@` header as {key: (rest of line, line number)} and the index of the first data line."""
    header: dict[str, tuple[str, int]] = {}
    for index, raw in enumerate(lines):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("@"):
            raise DataError(f"{path}:{index + 1}: data before the @data line ('{short(line)}')")
        key, _, rest = line[1:].partition(" ")
        key = key.lower()
        if key == "data":
            return header, index + 1
        header[key] = (rest.strip(), index + 1)
    raise DataError(f"{path}: no @data line (a .ts file has @ header lines, then @data, then the series)")


def _flag(path: Path, header: dict[str, tuple[str, int]], key: str) -> bool | None:
    if key not in header:
        return None
    value, line = header[key]
    word = value.split()[0].lower() if value.split() else ""
    if word not in ("true", "false"):
        raise DataError(f"{path}:{line}: @{key} must be true or false, found '{short(value)}'")
    return word == "true"


def _declared_int(path: Path, header: dict[str, tuple[str, int]], key: str, name: str) -> int | None:
    if key not in header:
        return None
    value, line = header[key]
    word = value.split()[0] if value.split() else ""
    if not word.isdigit() or int(word) < 1:
        raise DataError(f"{path}:{line}: @{name} must be a whole number of at least 1, found '{short(value)}'")
    return int(word)


def _check_declared_shape(path: Path, header: dict[str, tuple[str, int]], channels: int, length: int,
                          first: int) -> None:
    """The header's @univariate, @dimensions and @seriesLength, where given, must describe the series read."""
    univariate = _flag(path, header, "univariate")
    if univariate and channels > 1:
        raise DataError(f"{path}:{header['univariate'][1]}: @univariate true, but line {first} has {channels} channels")
    dimensions = _declared_int(path, header, "dimensions", "dimensions")
    if dimensions is not None and dimensions != channels:
        raise DataError(f"{path}:{header['dimensions'][1]}: @dimensions {dimensions}, but line {first} has "
                        f"{channels} channel{'s' if channels != 1 else ''}")
    declared_length = _declared_int(path, header, "serieslength", "seriesLength")
    if declared_length is not None and declared_length != length:
        raise DataError(f"{path}:{header['serieslength'][1]}: @seriesLength {declared_length}, but line {first} "
                        f"has series of length {length}")


def read_ts_split(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Read one `.ts` split: values float64, (N, L) with one channel or (N, C, L) with C > 1, and raw labels (N,)
    (float64 or str), or None without labels."""
    path = Path(path)
    lines = read_text(path).split("\n")
    header, start = _header(path, lines)
    if _flag(path, header, "timestamps"):
        raise DataError(f"{path}:{header['timestamps'][1]}: @timeStamps true is not supported (values only)")
    if "targetlabel" in header and _flag(path, header, "targetlabel"):
        raise DataError(f"{path}:{header['targetlabel'][1]}: regression targets (@targetLabel true) are not supported")
    labelled = _flag(path, header, "classlabel")
    if labelled is None:
        raise DataError(
            f"{path}: no @classLabel line in the header (expected '@classLabel true <labels>' or '@classLabel false')"
        )
    declared = header["classlabel"][0].split()[1:] if labelled else []
    rows: list[list[list[float]]] = []
    labels: list[str] = []
    numbers: list[int] = []
    first_channels = first_length = 0
    for index in range(start, len(lines)):
        line = lines[index].strip()
        number = index + 1
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if labelled:
            if len(parts) < 2:
                raise DataError(f"{path}:{number}: no class label after the values (expected '<values>:<label>')")
            labels.append(parts[-1].strip())
            parts = parts[:-1]
        channels = len(parts)
        if not numbers:
            first_channels = channels
        elif channels != first_channels:
            raise DataError(
                f"{path}:{number}: {channels} channels, but line {numbers[0]} has {first_channels} "
                "(mismatched channel counts)"
            )
        series: list[list[float]] = []
        for c, part in enumerate(parts):
            what = f"channel {c + 1} value" if channels > 1 else "value"
            values = parse_values(path, number, part.split(","), what=what)
            if not numbers and not series:
                first_length = len(values)
            elif not numbers:
                if len(values) != first_length:
                    raise DataError(f"{path}:{number}: channel {c + 1} has length {len(values)}, but channel 1 has "
                                    f"length {first_length} (unequal lengths are not supported)")
            elif len(values) != first_length:
                channel = f"channel {c + 1}: " if channels > 1 else ""
                raise DataError(
                    f"{path}:{number}: {channel}series of length {len(values)}, but line {numbers[0]} has length "
                    f"{first_length} (unequal lengths are not supported)"
                )
            series.append(values)
        rows.append(series)
        numbers.append(number)
    if not rows:
        raise DataError(f"{path}: no series after @data")
    _check_declared_shape(path, header, first_channels, first_length, numbers[0])
    x = np.asarray(rows, dtype=np.float64)
    if first_channels == 1:
        x = x[:, 0, :]
    if not labelled:
        return x, None
    if declared:
        allowed = set(declared)
        for label, number in zip(labels, numbers):
            if label not in allowed:
                raise DataError(
                    f"{path}:{number}: class label '{short(label)}' is not among those @classLabel declares "
                    f"({', '.join(declared)})"
                )
    return x, parse_labels(path, labels, numbers, "the label after the last ':'")
