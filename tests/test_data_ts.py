"""The UEA / aeon `.ts` reader: discovery, labels, unlabelled files and every error it reports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support import needs_ucr

from tsstudio.data import list_datasets, load_dataset
from tsstudio.data.ts_format import read_ts_split
from tsstudio.errors import DataError

HEADER = "# written by a test\n@problemName Tiny\n@timeStamps false\n@univariate true\n@equalLength true\n"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TSSTUDIO_DATA_DIR", raising=False)


def ts_text(rows: list[tuple[list[float], object]], labels: str | None = "a b") -> str:
    head = HEADER + (f"@classLabel true {labels}\n" if labels is not None else "@classLabel false\n") + "@data\n"
    body = "".join(",".join(repr(float(v)) for v in vals) + (f":{lab}" if labels is not None else "") + "\n"
                   for vals, lab in rows)
    return head + body


def write_ts(root: Path, name: str, train: str, test: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}_TRAIN.ts").write_text(train)
    (folder / f"{name}_TEST.ts").write_text(test)
    return folder


def write_ucr_as_ts(x: np.ndarray, labels: np.ndarray, path: Path) -> None:
    """A UCR split written in the .ts format (the conversion aeon's writer makes)."""
    names = sorted({str(int(v)) for v in labels})
    lines = [f"@problemName {path.stem}", "@timeStamps false", "@univariate true", "@equalLength true",
             f"@seriesLength {x.shape[1]}", f"@classLabel true {' '.join(names)}", "@data"]
    lines += [",".join(repr(float(v)) for v in row) + f":{int(lab)}" for row, lab in zip(x, labels)]
    path.write_text("\n".join(lines) + "\n")


def test_string_labels_are_kept_as_class_names(tmp_path: Path) -> None:
    rows = [([1, 2, 3, 4], "a"), ([2, 3, 4, 5], "b"), ([0, 1, 0, 1], "a")]
    write_ts(tmp_path, "Tiny", ts_text(rows), ts_text(rows[:2]))
    ds = load_dataset("Tiny", tmp_path, scaling=False)
    assert ds.format == "ts" and ds.labelled
    assert ds.class_labels == ("a", "b")
    assert ds.y_train.tolist() == [0, 1, 0] and ds.y_test.tolist() == [0, 1]
    np.testing.assert_array_equal(ds.x_train[1], [2, 3, 4, 5])
    info = {i.name: i for i in list_datasets(tmp_path)}["Tiny"]
    assert (info.format, info.channels, info.n_classes, info.length, info.error) == ("ts", 1, 2, 4, "")


def test_unlabelled_ts(tmp_path: Path) -> None:
    rows = [([1, 2, 3], None), ([3, 2, 1], None)]
    write_ts(tmp_path, "Free", ts_text(rows, labels=None), ts_text(rows, labels=None))
    ds = load_dataset("Free", tmp_path)
    assert not ds.labelled and ds.n_classes == 0 and ds.class_labels == ()
    assert ds.y_train.tolist() == [-1, -1]


@needs_ucr
def test_gunpoint_as_ts_gives_the_same_arrays_as_the_tsv(tmp_path: Path, ucr_dir: Path) -> None:
    from tsstudio.data.ucr import read_split

    folder = tmp_path / "GunPointTS"
    folder.mkdir()
    for split in ("TRAIN", "TEST"):
        x, labels = read_split(ucr_dir / "GunPoint" / f"GunPoint_{split}.tsv.gz")
        write_ucr_as_ts(x, labels, folder / f"GunPointTS_{split}.ts")
    original = load_dataset("GunPoint", ucr_dir)
    converted = load_dataset("GunPointTS", tmp_path)
    for key in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(converted, key), getattr(original, key))
    assert converted.class_labels == original.class_labels == (1, 2)
    assert (converted.mean, converted.std) == (original.mean, original.std)


GOOD = "1,2,3:a\n"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("1,2,3:a\n1,2:b\n", "Bad_TRAIN.ts:9: series of length 2, but line 8 has length 3 (unequal lengths are not supported)"),
        ("1,2,3:a\n1,x,3:b\n", "Bad_TRAIN.ts:9: value 2: non-numeric value 'x'"),
        ("1,2,3:a\n1,NaN,3:b\n", "Bad_TRAIN.ts:9: value 2: value 'NaN' is NaN (missing values are not supported)"),
        ("1,?,3:a\n", "Bad_TRAIN.ts:8: value 2: missing value '?' (missing values are not supported)"),
        ("1,2,3:4,5:a\n", "Bad_TRAIN.ts:8: channel 2 has length 2, but channel 1 has length 3 "
         "(unequal lengths are not supported)"),
        ("1,2,3:4,5,6:a\n1,2,3:4,5:b\n", "Bad_TRAIN.ts:9: channel 2: series of length 2, but line 8 has length 3 "
         "(unequal lengths are not supported)"),
        ("1,2,3:4,x,6:a\n", "Bad_TRAIN.ts:8: channel 2 value 2: non-numeric value 'x'"),
        ("1,2,3:a\n1,2,3:4,5,6:b\n", "Bad_TRAIN.ts:9: 2 channels, but line 8 has 1 (mismatched channel counts)"),
        ("1,2,3:c\n", "Bad_TRAIN.ts:8: class label 'c' is not among those @classLabel declares (a, b)"),
        ("1,2,3\n", "Bad_TRAIN.ts:8: no class label after the values (expected '<values>:<label>')"),
        ("", "Bad_TRAIN.ts: no series after @data"),
    ],
)
def test_errors_name_file_line_and_problem(tmp_path: Path, data: str, message: str) -> None:
    head = HEADER + "@classLabel true a b\n@data\n"
    write_ts(tmp_path, "Bad", head + data, head + GOOD)
    with pytest.raises(DataError) as exc:
        load_dataset("Bad", tmp_path)
    assert str(exc.value) == f"{tmp_path.resolve() / 'Bad' / 'Bad_TRAIN.ts'}{message.removeprefix('Bad_TRAIN.ts')}"
    assert "\n" not in str(exc.value)
    info = {i.name: i for i in list_datasets(tmp_path)}["Bad"]
    assert info.error == str(exc.value)


def test_header_errors(tmp_path: Path) -> None:
    path = tmp_path / "X_TRAIN.ts"
    path.write_text("@problemName X\n1,2,3:a\n")
    with pytest.raises(DataError, match=r"X_TRAIN.ts:2: data before the @data line"):
        read_ts_split(path)
    path.write_text("@problemName X\n@data\n1,2,3:a\n")
    with pytest.raises(DataError, match=r"X_TRAIN.ts: no @classLabel line in the header"):
        read_ts_split(path)
    path.write_text("@problemName X\n@classLabel true a\n")
    with pytest.raises(DataError, match=r"X_TRAIN.ts: no @data line"):
        read_ts_split(path)
    path.write_text("@timeStamps true\n@classLabel true a\n@data\n")
    with pytest.raises(DataError, match=r"X_TRAIN.ts:1: @timeStamps true is not supported"):
        read_ts_split(path)


def test_test_split_with_a_class_the_train_split_lacks(tmp_path: Path) -> None:
    train = ts_text([([1, 2, 3], "a"), ([2, 3, 4], "b")], labels="a b c")
    test = ts_text([([1, 2, 3], "c")], labels="a b c")
    folder = write_ts(tmp_path, "Unseen", train, test)
    with pytest.raises(DataError) as exc:
        load_dataset("Unseen", tmp_path)
    assert str(exc.value) == f"{folder.resolve()}/Unseen_TEST.ts: label c does not occur in {folder.resolve()}/Unseen_TRAIN.ts"


def test_labelled_train_with_unlabelled_test_is_refused(tmp_path: Path) -> None:
    folder = write_ts(tmp_path, "Mixed", ts_text([([1, 2, 3], "a"), ([2, 3, 4], "b")]), ts_text([([1, 2, 3], None)], labels=None))
    with pytest.raises(DataError) as exc:
        load_dataset("Mixed", tmp_path)
    assert str(exc.value) == (f"{folder.resolve()}/Mixed_TEST.ts: has no class labels but {folder.resolve()}/Mixed_TRAIN.ts "
                              "has; give both splits labels or neither")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("@univariate true\n@dimensions 1\n", "X_TRAIN.ts:1: @univariate true, but line 5 has 2 channels"),
        ("@univariate false\n@dimensions 3\n", "X_TRAIN.ts:2: @dimensions 3, but line 5 has 2 channels"),
        ("@dimensions 2\n@seriesLength 4\n", "X_TRAIN.ts:2: @seriesLength 4, but line 5 has series of length 3"),
        ("@dimensions two\n@univariate false\n", "X_TRAIN.ts:1: @dimensions must be a whole number of at least 1, "
                                                 "found 'two'"),
    ],
)
def test_declared_shape_must_match_the_series(tmp_path: Path, header: str, message: str) -> None:
    path = tmp_path / "X_TRAIN.ts"
    path.write_text(header + "@classLabel true a\n@data\n1,2,3:4,5,6:a\n")
    with pytest.raises(DataError) as exc:
        read_ts_split(path)
    assert str(exc.value) == f"{path}:{message.removeprefix('X_TRAIN.ts:')}"


def test_declared_shape_that_matches_is_read(tmp_path: Path) -> None:
    path = tmp_path / "X_TRAIN.ts"
    path.write_text("@univariate false\n@dimensions 2\n@seriesLength 3\n@classLabel true a\n@data\n1,2,3:4,5,6:a\n")
    x, labels = read_ts_split(path)
    assert x.shape == (1, 2, 3) and list(labels) == ["a"]
