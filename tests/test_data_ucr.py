"""UCR-layout split reader: good files, every kind of bad input, and speed on the real data."""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import numpy as np
import pytest

from tsstudio.data.ucr import read_info, read_split
from tsstudio.errors import DataError

UCR_DIR = os.environ.get("TSSTUDIO_DATA_DIR", "")
needs_ucr = pytest.mark.skipif(not UCR_DIR, reason="set TSSTUDIO_DATA_DIR to the UCR folder")


@pytest.fixture(autouse=True)
def _isolate_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def write(path: Path, text: str) -> Path:
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def one_line_error(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


GOOD = "1\t0.5\t1.5\t2.5\n-1\t-1\t0\t1e1\n1\t3\t4\t5\n"


@pytest.mark.parametrize("suffix", [".tsv", ".tsv.gz"])
def test_reads_tsv_and_gz(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path / f"X_TRAIN{suffix}", GOOD)
    x, y = read_split(path)
    assert x.dtype == np.float64 and x.shape == (3, 3)
    np.testing.assert_array_equal(x, [[0.5, 1.5, 2.5], [-1, 0, 10], [3, 4, 5]])
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, [1, -1, 1])


def test_crlf_and_trailing_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "X_TRAIN.tsv", "1\t1\t2\r\n2\t3\t4\r\n\r\n\n")
    x, y = read_split(path)
    assert x.shape == (2, 2)
    np.testing.assert_array_equal(y, [1, 2])


def test_string_labels_are_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "X_TRAIN.tsv", "cat\t1\t2\ndog\t3\t4\n")
    _, y = read_split(path)
    assert y.dtype.kind == "U"
    assert list(y) == ["cat", "dog"]


def test_read_info(tmp_path: Path) -> None:
    path = write(tmp_path / "X_TRAIN.tsv.gz", GOOD)
    assert read_info(path) == (3, 3, {1.0, -1.0})


def test_ragged_row(tmp_path: Path) -> None:
    path = write(tmp_path / "GunPoint_TRAIN.tsv", "1\t1\t2\t3\n2\t1\t2\t3\n1\t1\t2\n")
    with pytest.raises(DataError) as exc:
        read_split(path)
    message = one_line_error(exc)
    assert "GunPoint_TRAIN.tsv:3:" in message
    assert "expected 4 columns like line 1, found 3 (ragged row)" in message


def test_non_numeric_value(tmp_path: Path) -> None:
    path = write(tmp_path / "X_TRAIN.tsv", "1\t1\t2\t3\n2\t1\tabc\t3\n")
    with pytest.raises(DataError) as exc:
        read_split(path)
    message = one_line_error(exc)
    assert "X_TRAIN.tsv:2:" in message
    assert "column 3" in message and "'abc'" in message and "non-numeric" in message


def test_empty_value(tmp_path: Path) -> None:
    path = write(tmp_path / "X_TRAIN.tsv", "1\t1\t2\t3\n2\t1\t\t3\n")
    with pytest.raises(DataError) as exc:
        read_split(path)
    assert "X_TRAIN.tsv:2: column 3: empty value" in one_line_error(exc)


def test_nan_value(tmp_path: Path) -> None:
    path = write(tmp_path / "X_TRAIN.tsv", "1\t1\t2\t3\n2\t1\t2\t3\n1\t4\tNaN\t6\n")
    with pytest.raises(DataError) as exc:
        read_split(path)
    message = one_line_error(exc)
    assert "X_TRAIN.tsv:3:" in message and "column 3" in message and "'NaN'" in message and "NaN" in message


def test_inf_value(tmp_path: Path) -> None:
    path = write(tmp_path / "X_TRAIN.tsv", "1\t1\t2\t3\n2\t1\t2\t-inf\n")
    with pytest.raises(DataError) as exc:
        read_split(path)
    message = one_line_error(exc)
    assert "X_TRAIN.tsv:2:" in message and "column 4" in message and "'-inf'" in message and "infinite" in message


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "X_TRAIN.tsv", text)
    with pytest.raises(DataError) as exc:
        read_split(path)
    assert one_line_error(exc) == f"{path}: empty file, no series"


def test_label_without_values(tmp_path: Path) -> None:
    path = write(tmp_path / "X_TRAIN.tsv", "1\t1\t2\n2\n")
    with pytest.raises(DataError) as exc:
        read_split(path)
    message = one_line_error(exc)
    assert "X_TRAIN.tsv:2:" in message and "label" in message and "no values" in message


def test_corrupt_gzip(tmp_path: Path) -> None:
    data = gzip.compress(GOOD.encode() * 50)
    path = tmp_path / "X_TRAIN.tsv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError) as exc:
        read_split(path)
    message = one_line_error(exc)
    assert "X_TRAIN.tsv.gz" in message and "corrupt gzip" in message


def test_not_gzip_data_with_gz_name(tmp_path: Path) -> None:
    path = tmp_path / "X_TRAIN.tsv.gz"
    path.write_text(GOOD)
    with pytest.raises(DataError) as exc:
        read_split(path)
    assert "corrupt gzip" in one_line_error(exc)


def test_non_integer_label(tmp_path: Path) -> None:
    path = write(tmp_path / "X_TRAIN.tsv", "1\t1\t2\n0.37\t3\t4\n")
    with pytest.raises(DataError) as exc:
        read_split(path)
    message = one_line_error(exc)
    assert "X_TRAIN.tsv:2:" in message and "column 1" in message and "'0.37'" in message


def test_mixed_numeric_and_text_labels(tmp_path: Path) -> None:
    path = write(tmp_path / "X_TRAIN.tsv", "1\t1\t2\n2\t3\t4\nx\t5\t6\n")
    with pytest.raises(DataError) as exc:
        read_split(path)
    assert "X_TRAIN.tsv:3: column 1: label 'x'" in one_line_error(exc)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as exc:
        read_split(tmp_path / "nope_TRAIN.tsv")
    assert "nope_TRAIN.tsv: cannot read file" in one_line_error(exc)


def test_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "X_TRAIN.tsv", "1\t1\t2\n\n2\t1\tzz\n")
    with pytest.raises(DataError) as exc:
        read_split(path)
    assert "X_TRAIN.tsv:3:" in one_line_error(exc)


@needs_ucr
@pytest.mark.ucr
@pytest.mark.parametrize("relative", ["FordA/FordA_TRAIN.tsv.gz", "Mallat/Mallat_TEST.tsv.gz"])
def test_large_files_are_fast(relative: str) -> None:
    path = Path(UCR_DIR) / relative
    start = time.perf_counter()
    x, y = read_split(path)
    elapsed = time.perf_counter() - start
    assert x.shape in {(3601, 500), (2345, 1024)}
    assert np.isfinite(x).all() and y.shape == (x.shape[0],)
    assert elapsed < 3.0, f"{relative} took {elapsed:.2f} s"
