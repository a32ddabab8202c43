"""CSV datasets: header detection, the label column rule (`--label-column`) and every error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsstudio.data import list_datasets, load_dataset
from tsstudio.errors import DataError


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TSSTUDIO_DATA_DIR", raising=False)


def write_csv(root: Path, name: str, train: str, test: str | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}_TRAIN.csv").write_text(train)
    (folder / f"{name}_TEST.csv").write_text(train if test is None else test)
    return folder


def test_label_in_the_first_column_without_header(tmp_path: Path) -> None:
    write_csv(tmp_path, "Plain", "1,0.5,1.5,2.5\n2,1,2,3\n1,0,0,0\n")
    ds = load_dataset("Plain", tmp_path, scaling=False)
    assert ds.format == "csv" and ds.class_labels == (1, 2) and ds.length == 3
    np.testing.assert_array_equal(ds.x_train[1], [1, 2, 3])
    info = {i.name: i for i in list_datasets(tmp_path)}["Plain"]
    assert (info.format, info.channels, info.n_classes, info.error) == ("csv", 1, 2, "")


def test_header_with_a_label_column_anywhere(tmp_path: Path) -> None:
    write_csv(tmp_path, "Head", "t1,t2,Class,t3\n1,2,cat,3\n4,5,dog,6\n")
    ds = load_dataset("Head", tmp_path, scaling=False)
    assert ds.class_labels == ("cat", "dog")
    np.testing.assert_array_equal(ds.x_train, [[1, 2, 3], [4, 5, 6]])


def test_label_column_by_name_number_or_none(tmp_path: Path) -> None:
    write_csv(tmp_path, "Pick", "a,b,target\n1,2,0\n3,4,1\n")
    assert load_dataset("Pick", tmp_path, label_column="target").class_labels == (0, 1)
    assert load_dataset("Pick", tmp_path, scaling=False, label_column="3").x_train.tolist() == [[1, 2], [3, 4]]
    free = load_dataset("Pick", tmp_path, scaling=False, label_column="none")
    assert not free.labelled and free.x_train.tolist() == [[1, 2, 0], [3, 4, 1]]
    info = {i.name: i for i in list_datasets(tmp_path, label_column="none")}["Pick"]
    assert (info.n_classes, info.length, info.error) == (0, 3, "")


@pytest.mark.parametrize(
    ("train", "label_column", "message"),
    [
        ("1,2,3\n1,2\n", "", "Bad_TRAIN.csv:2: expected 3 columns like line 1, found 2 (ragged row)"),
        ("1,2,3\n2,x,3\n", "", "Bad_TRAIN.csv:2: column 2: non-numeric value 'x'"),
        ("1,2,3\n2,nan,3\n", "", "Bad_TRAIN.csv:2: column 2: value 'nan' is NaN (missing values are not supported)"),
        ("1,2,3\n2,,3\n", "", "Bad_TRAIN.csv:2: column 2: empty value (missing values are not supported)"),
        ("1,2,3\n1.5,2,3\n", "", "Bad_TRAIN.csv:2: column 1: label '1.5' is not a class label (expected an integer or a name)"),
        ("a,b\n1,2\n", "target", "Bad_TRAIN.csv: --label-column target: no such column in the header (a, b)"),
        ("1,2\n1,2\n", "target", "Bad_TRAIN.csv: --label-column target: the file has no header row to name columns by"),
        ("1,2\n1,2\n", "5", "Bad_TRAIN.csv: --label-column 5: the file has columns 1..2"),
    ],
)
def test_errors_name_file_line_and_problem(tmp_path: Path, train: str, label_column: str, message: str) -> None:
    folder = write_csv(tmp_path, "Bad", train, "1,2,3\n2,2,3\n")
    with pytest.raises(DataError) as exc:
        load_dataset("Bad", tmp_path, label_column=label_column)
    assert str(exc.value) == f"{folder.resolve()}/{message}"


def test_unequal_lengths_and_unseen_test_class(tmp_path: Path) -> None:
    folder = write_csv(tmp_path, "Len", "1,2,3\n2,2,3\n", "1,2,3,4\n").resolve()
    with pytest.raises(DataError) as exc:
        load_dataset("Len", tmp_path)
    assert str(exc.value) == (f"{folder}/Len_TEST.csv: series of length 3, but {folder}/Len_TRAIN.csv has length 2 "
                              "(unequal lengths are not supported)")
    folder = write_csv(tmp_path, "Unseen", "1,2,3\n2,2,3\n", "3,2,3\n").resolve()
    with pytest.raises(DataError) as exc:
        load_dataset("Unseen", tmp_path)
    assert str(exc.value) == f"{folder}/Unseen_TEST.csv: label 3 does not occur in {folder}/Unseen_TRAIN.csv"
