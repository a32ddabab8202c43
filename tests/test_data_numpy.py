"""NumPy datasets (`.npz` archives and folders of `.npy` files): layouts, labels and every error."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from tsstudio.data import list_datasets, load_dataset, load_dataset_at
from tsstudio.data.folders import load_by_name
from tsstudio.errors import DataError


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TSSTUDIO_DATA_DIR", raising=False)


def arrays(n: int = 6, length: int = 16, labels: bool = True) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out = {"x_train": rng.normal(size=(n, length)), "x_test": rng.normal(size=(n, length))}
    if labels:
        out |= {"y_train": np.arange(n) % 2, "y_test": np.arange(n) % 2}
    return out


def test_npz_at_the_top_of_a_data_folder(tmp_path: Path) -> None:
    data = arrays()
    np.savez(tmp_path / "Mine.npz", **data)
    ds = load_dataset("Mine", tmp_path, scaling=False)
    assert ds.format == "npz" and ds.class_labels == (0, 1) and ds.source == str((tmp_path / "Mine.npz").resolve())
    np.testing.assert_allclose(ds.x_train, data["x_train"].astype(np.float32))
    info = {i.name: i for i in list_datasets(tmp_path)}["Mine"]
    assert (info.format, info.channels, info.n_train, info.length, info.n_classes, info.error) == ("npz", 1, 6, 16, 2, "")
    # the app reloads a listed dataset from its source, a file here
    assert load_by_name("Mine", source=info.source).n_train == 6


def test_npz_in_a_dataset_folder_with_channel_axis_and_string_labels(tmp_path: Path) -> None:
    data = arrays()
    data["x_train"] = data["x_train"][:, None, :]
    data["y_train"] = np.array(["up", "down"] * 3)
    data["y_test"] = np.array(["down"] * 6)
    (tmp_path / "Named").mkdir()
    np.savez(tmp_path / "Named" / "Named.npz", **data)
    ds = load_dataset("Named", tmp_path)
    assert ds.length == 16 and ds.class_labels == ("down", "up") and ds.y_test.tolist() == [0] * 6


def test_npy_folder_and_unlabelled(tmp_path: Path) -> None:
    folder = tmp_path / "Loose"
    folder.mkdir()
    for key, value in arrays(labels=False).items():
        np.save(folder / f"{key}.npy", value)
    ds = load_dataset("Loose", tmp_path)
    assert ds.format == "npy" and not ds.labelled and ds.n_classes == 0
    assert load_dataset_at(folder).n_test == 6
    info = {i.name: i for i in list_datasets(tmp_path)}["Loose"]
    assert (info.format, info.n_classes, info.error) == ("npy", 0, "")


def _error(tmp_path: Path, **data: np.ndarray) -> str:
    path = tmp_path / "Bad.npz"
    np.savez(path, **data)
    with pytest.raises(DataError) as exc:
        load_dataset("Bad", tmp_path)
    message = str(exc.value)
    assert "\n" not in message
    assert {i.name: i for i in list_datasets(tmp_path)}["Bad"].error == message
    return message.replace(str(path.resolve()), "Bad.npz")


def test_each_error(tmp_path: Path) -> None:
    good = arrays()
    nan = good["x_train"].copy()
    nan[2, 5] = np.nan
    assert _error(tmp_path, **(good | {"x_train": nan})) == (
        "Bad.npz: x_train row 3: sample 6 is NaN (missing values are not supported)")
    assert _error(tmp_path, **(good | {"x_train": np.zeros((6, 3, 16))})) == (
        "Bad.npz: x_test: 1 channels, but x_train has 3 (mismatched channel counts)")
    three = np.zeros((6, 3, 16))
    three[1, 2, 4] = np.inf
    assert _error(tmp_path, **(good | {"x_train": three, "x_test": three})) == (
        "Bad.npz: x_train row 2: channel 3 sample 5 is infinite (missing values are not supported)")
    assert _error(tmp_path, **(good | {"x_test": np.zeros((6, 12))})) == (
        "Bad.npz: x_test: series of length 12, but x_train has length 16 (unequal lengths are not supported)")
    assert _error(tmp_path, **(good | {"x_train": np.array([["a"] * 16] * 6)})) == (
        "Bad.npz: x_train: series must be numbers, found dtype <U1")
    assert _error(tmp_path, **(good | {"y_test": np.arange(6) % 3})) == (
        "Bad.npz: x_test: label 2 does not occur in Bad.npz: x_train")
    assert _error(tmp_path, **(good | {"y_train": np.arange(5)})) == (
        "Bad.npz: y_train: expected 6 labels (one per series, shape (6,)), got shape (5,)")
    assert _error(tmp_path, **{k: v for k, v in good.items() if k != "y_test"}) == (
        "Bad.npz: x_test: has no class labels but Bad.npz: x_train has; give both splits labels or neither")
    assert _error(tmp_path, x_train=good["x_train"]) == (
        "Bad.npz: missing the array x_test (expected x_train, y_train, x_test, y_test)")


def test_pickled_arrays_are_never_loaded(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    ragged = np.empty(6, dtype=object)
    ragged[:] = [np.zeros(i + 1) for i in range(6)]
    np.savez(tmp_path / "Bad.npz", **(arrays() | {"x_train": ragged}))
    with pytest.raises(DataError) as exc:
        load_dataset("Bad", tmp_path)
    assert str(exc.value).endswith("x_train: holds Python objects (a pickled array); store numbers or fixed-width strings")
    assert not marker.exists() and pickle  # nothing was unpickled


def test_ragged_npy_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "Rag"
    folder.mkdir()
    np.save(folder / "x_train.npy", np.zeros((4, 8)))
    with pytest.raises(DataError) as exc:
        load_dataset("Rag", tmp_path)
    assert str(exc.value) == f"{folder.resolve()}: missing x_test.npy"
    np.save(folder / "x_test.npy", np.zeros((4, 8, 2, 2)))
    expected = r"x_test.npy: expected a non-empty \(series, length\) or \(series, channels, length\) array"
    with pytest.raises(DataError, match=expected):
        load_dataset("Rag", tmp_path)
