"""Dataset discovery, listing cache, loading and preprocessing (label mapping, global scaling)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np
import pytest

from tsstudio.config.settings import (
    UserSettings,
    load_settings,
    save_settings,
    settings_path,
    user_cache_dir,
    user_data_dir,
)
from tsstudio.data import list_datasets, load_dataset, search_dirs
from tsstudio.data.dataset import make_dataset
from tsstudio.data.registry import find_dataset_dir
from tsstudio.errors import ConfigError, DataError

UCR_DIR = os.environ.get("TSSTUDIO_DATA_DIR", "")
needs_ucr = pytest.mark.skipif(not UCR_DIR, reason="set TSSTUDIO_DATA_DIR to the UCR folder")

UCR_SHAPES = {
    "ArrowHead": (36, 175, 251, 3),
    "ECG5000": (500, 4500, 140, 5),
    "ElectricDevices": (8926, 7711, 96, 7),
    "FordA": (3601, 1320, 500, 2),
    "GunPoint": (50, 150, 150, 2),
    "Mallat": (55, 2345, 1024, 8),
}


@pytest.fixture(autouse=True)
def _isolate_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TSSTUDIO_DATA_DIR", raising=False)


def rows(labels: list, values: list[list[float]]) -> str:
    return "".join("\t".join([str(lab), *(repr(float(v)) for v in vals)]) + "\n" for lab, vals in zip(labels, values))


def make_ucr(root: Path, name: str, train: str, test: str | None, gz: bool = False) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for split, text in (("TRAIN", train), ("TEST", test)):
        if text is None:
            continue
        if gz:
            (folder / f"{name}_{split}.tsv.gz").write_bytes(gzip.compress(text.encode()))
        else:
            (folder / f"{name}_{split}.tsv").write_text(text)
    return folder


TINY_TRAIN = rows([1, 2, 1, 2], [[0, 2], [4, 6], [1, 3], [5, 7]])
TINY_TEST = rows([2, 1], [[8, 0], [2, 2]])


# ---------------------------------------------------------------- preprocessing


@pytest.mark.parametrize("gz", [False, True])
def test_load_tiny_with_hand_computed_scaling(tmp_path: Path, no_env: None, gz: bool) -> None:
    make_ucr(tmp_path / "data", "Tiny", TINY_TRAIN, TINY_TEST, gz=gz)
    ds = load_dataset("Tiny", data_dir=tmp_path / "data")
    train = np.array([[0, 2], [4, 6], [1, 3], [5, 7]], dtype=np.float64)
    mean = train.sum() / 8  # 28 / 8 = 3.5
    std = np.sqrt(((train - mean) ** 2).sum() / 8)  # population std
    assert ds.mean == pytest.approx(3.5) and ds.mean == pytest.approx(mean)
    assert ds.std == pytest.approx(std)
    assert ds.x_train.dtype == np.float32
    np.testing.assert_allclose(ds.x_train, (train - 3.5) / std, rtol=1e-6)
    np.testing.assert_allclose(ds.x_test, (np.array([[8, 0], [2, 2]]) - 3.5) / std, rtol=1e-6)
    assert ds.y_train.tolist() == [0, 1, 0, 1] and ds.y_test.tolist() == [1, 0]
    assert ds.class_labels == (1, 2)
    assert (ds.n_train, ds.n_test, ds.length, ds.n_classes) == (4, 2, 2, 2)
    assert ds.source == str((tmp_path / "data" / "Tiny").resolve())


def test_scaling_off(tmp_path: Path, no_env: None) -> None:
    make_ucr(tmp_path, "Tiny", TINY_TRAIN, TINY_TEST)
    ds = load_dataset("Tiny", data_dir=tmp_path, scaling=False)
    assert (ds.mean, ds.std) == (0.0, 1.0)
    np.testing.assert_array_equal(ds.x_test, [[8, 0], [2, 2]])


def test_constant_train_uses_std_one() -> None:
    ds = make_dataset("C", np.full((2, 3), 5.0), np.array([0, 1]), np.full((1, 3), 7.0), np.array([1]), "here")
    assert (ds.mean, ds.std) == (5.0, 1.0)
    np.testing.assert_array_equal(ds.x_test, [[2, 2, 2]])


def test_label_mapping_minus_one_one() -> None:
    x = np.zeros((3, 2))
    ds = make_dataset("M", x, np.array([1.0, -1.0, 1.0]), x[:2], np.array([-1.0, 1.0]), "s", scaling=False)
    assert ds.class_labels == (-1, 1)
    assert ds.y_train.tolist() == [1, 0, 1] and ds.y_test.tolist() == [0, 1]


def test_label_mapping_one_to_five() -> None:
    labels = np.array([5.0, 3.0, 1.0, 2.0, 4.0, 1.0])
    x = np.arange(12.0).reshape(6, 2)
    ds = make_dataset("M", x, labels, x, labels, "s")
    assert ds.class_labels == (1, 2, 3, 4, 5)
    assert ds.y_train.tolist() == [4, 2, 0, 1, 3, 0]
    assert ds.y_train.dtype == np.int64


def test_string_labels(tmp_path: Path, no_env: None) -> None:
    make_ucr(tmp_path, "Pets", rows(["dog", "cat"], [[1, 2], [3, 4]]), rows(["cat"], [[0, 0]]))
    ds = load_dataset("Pets", data_dir=tmp_path)
    assert ds.class_labels == ("cat", "dog") and ds.y_test.tolist() == [0]


# ---------------------------------------------------------------- errors


def test_fewer_than_two_classes(tmp_path: Path, no_env: None) -> None:
    make_ucr(tmp_path, "One", rows([3, 3], [[1, 2], [3, 4]]), rows([3], [[1, 2]]))
    with pytest.raises(DataError) as exc:
        load_dataset("One", data_dir=tmp_path)
    message = str(exc.value)
    assert "One_TRAIN.tsv: found 1 class (label 3); a classification dataset needs at least two" in message
    assert "\n" not in message


def test_test_label_unseen_in_train(tmp_path: Path, no_env: None) -> None:
    make_ucr(tmp_path, "Tiny", TINY_TRAIN, rows([1, 7], [[1, 2], [3, 4]]))
    with pytest.raises(DataError) as exc:
        load_dataset("Tiny", data_dir=tmp_path)
    message = str(exc.value)
    assert "Tiny_TEST.tsv" in message and "label 7" in message and "does not occur" in message


def test_train_test_length_differs(tmp_path: Path, no_env: None) -> None:
    make_ucr(tmp_path, "Tiny", TINY_TRAIN, rows([1, 2], [[1, 2, 3], [3, 4, 5]]))
    with pytest.raises(DataError) as exc:
        load_dataset("Tiny", data_dir=tmp_path)
    message = str(exc.value)
    assert "Tiny_TRAIN.tsv" in message and "Tiny_TEST.tsv" in message and "length 2" in message


def test_missing_test_file(tmp_path: Path, no_env: None) -> None:
    folder = make_ucr(tmp_path, "Tiny", TINY_TRAIN, None)
    with pytest.raises(DataError) as exc:
        load_dataset("Tiny", data_dir=tmp_path)
    assert str(exc.value) == f"{folder.resolve()}: missing Tiny_TEST.tsv (or .tsv.gz)"


def test_bad_file_error_names_file_and_line(tmp_path: Path, no_env: None) -> None:
    make_ucr(tmp_path, "Tiny", TINY_TRAIN, "1\t1\t2\n2\t1\n")
    with pytest.raises(DataError) as exc:
        load_dataset("Tiny", data_dir=tmp_path)
    assert "Tiny_TEST.tsv:2: expected 3 columns like line 1, found 2 (ragged row)" in str(exc.value)


def test_unknown_name_suggests(tmp_path: Path, no_env: None) -> None:
    make_ucr(tmp_path, "GunPoint", TINY_TRAIN, TINY_TEST)
    with pytest.raises(DataError) as exc:
        load_dataset("GunPont", data_dir=tmp_path)
    message = str(exc.value)
    assert message.startswith("unknown dataset 'GunPont'; did you mean 'GunPoint'?")
    assert f"(searched: {tmp_path.resolve()})" in message


def test_unknown_name_without_folders_says_how_to_add(no_env: None) -> None:
    with pytest.raises(DataError) as exc:
        load_dataset("GunPoint")
    message = str(exc.value)
    assert "unknown dataset 'GunPoint'" in message and "--data-dir" in message and "TSSTUDIO_DATA_DIR" in message


def test_missing_data_dir(tmp_path: Path, no_env: None) -> None:
    with pytest.raises(DataError) as exc:
        search_dirs(tmp_path / "nowhere")
    assert str(exc.value) == f"data folder not found: {tmp_path / 'nowhere'}"


# ---------------------------------------------------------------- discovery


def test_case_insensitive_lookup(tmp_path: Path, no_env: None) -> None:
    make_ucr(tmp_path, "Tiny", TINY_TRAIN, TINY_TEST)
    assert load_dataset("tiny", data_dir=tmp_path).name == "Tiny"
    assert find_dataset_dir("TINY", data_dir=tmp_path) == (tmp_path / "Tiny").resolve()
    assert find_dataset_dir("Nope", data_dir=tmp_path) is None


def test_search_dirs_order_and_dedup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b, c = (tmp_path / n for n in "abc")
    for d in (a, b, c):
        d.mkdir()
    monkeypatch.setenv("TSSTUDIO_DATA_DIR", os.pathsep.join([str(b), str(tmp_path / "missing"), str(a)]))
    save_settings(UserSettings(data_dirs=[str(c), str(b)]))
    assert search_dirs(a) == [a.resolve(), b.resolve(), c.resolve()]
    assert search_dirs() == [b.resolve(), a.resolve(), c.resolve()]


def test_archive_subfolder_and_first_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    make_ucr(first / "UCRArchive_2018", "Tiny", TINY_TRAIN, TINY_TEST)
    make_ucr(second, "Tiny", rows([1, 2, 3], [[1], [2], [3]]), rows([1], [[1]]))
    make_ucr(second, "Other", TINY_TRAIN, TINY_TEST)
    (second / "NotADataset").mkdir()
    (second / "NotADataset" / "Something_TRAIN.tsv").write_text(TINY_TRAIN)
    monkeypatch.setenv("TSSTUDIO_DATA_DIR", os.pathsep.join([str(first), str(second)]))
    infos = list_datasets()
    assert [i.name for i in infos] == ["CBF", "Other", "Tiny"]
    tiny = infos[2]
    assert (tiny.n_train, tiny.n_test, tiny.length, tiny.n_classes) == (4, 2, 2, 2)
    assert tiny.source == str((first / "UCRArchive_2018" / "Tiny").resolve())


def test_listing_reports_broken_datasets(tmp_path: Path, no_env: None) -> None:
    make_ucr(tmp_path, "Good", TINY_TRAIN, TINY_TEST)
    make_ucr(tmp_path, "Ragged", "1\t1\t2\n2\t1\n", TINY_TEST)
    make_ucr(tmp_path, "NoTest", TINY_TRAIN, None)
    (tmp_path / "Corrupt").mkdir()
    (tmp_path / "Corrupt" / "Corrupt_TRAIN.tsv.gz").write_bytes(b"\x1f\x8bnot really gzip")
    infos = {i.name: i for i in list_datasets(tmp_path)}
    assert infos["Good"].error == "" and infos["CBF"].error == ""
    assert "Ragged_TRAIN.tsv:2:" in infos["Ragged"].error and "ragged" in infos["Ragged"].error
    assert "missing NoTest_TEST.tsv" in infos["NoTest"].error
    assert "corrupt gzip" in infos["Corrupt"].error


def test_listing_cache_is_used_and_invalidated(tmp_path: Path, no_env: None) -> None:
    folder = make_ucr(tmp_path / "data", "Tiny", TINY_TRAIN, TINY_TEST)
    first = list_datasets(tmp_path / "data")
    cache_file = user_cache_dir() / "datasets.json"
    assert cache_file.is_file()
    cache = json.loads(cache_file.read_text())
    key = str((folder / "Tiny_TRAIN.tsv").resolve())
    assert cache["files"][key]["n"] == 4
    # A cached entry is trusted while size and mtime match ...
    cache["files"][key]["n"] = 99
    cache_file.write_text(json.dumps(cache))
    assert list_datasets(tmp_path / "data")[1].n_train == 99
    # ... and recomputed when the file changes.
    train = folder / "Tiny_TRAIN.tsv"
    train.write_text(TINY_TRAIN + rows([1], [[9, 9]]))
    os.utime(train, ns=(1_000_000_000, 1_000_000_000))
    assert list_datasets(tmp_path / "data")[1].n_train == 5
    assert first[1].n_train == 4


def test_broken_cache_is_ignored(tmp_path: Path, no_env: None) -> None:
    make_ucr(tmp_path, "Tiny", TINY_TRAIN, TINY_TEST)
    cache_file = user_cache_dir() / "datasets.json"
    cache_file.parent.mkdir(parents=True)
    cache_file.write_text("{not json")
    assert list_datasets(tmp_path)[1].n_train == 4


def test_only_builtin_without_folders(no_env: None) -> None:
    infos = list_datasets()
    assert len(infos) == 1 and infos[0].name == "CBF" and infos[0].source == "built-in"


# ---------------------------------------------------------------- user settings


def test_settings_round_trip(tmp_path: Path) -> None:
    assert settings_path() == tmp_path / "xdg-config" / "tsstudio" / "settings.yaml"
    assert user_cache_dir() == tmp_path / "xdg-cache" / "tsstudio"
    assert user_data_dir() == tmp_path / "xdg-data" / "tsstudio"
    assert load_settings() == UserSettings()
    save_settings(UserSettings(data_dirs=["/a", "/b"], workspace="/w"))
    assert load_settings() == UserSettings(data_dirs=["/a", "/b"], workspace="/w")


def test_settings_invalid_yaml(tmp_path: Path) -> None:
    settings_path().parent.mkdir(parents=True)
    settings_path().write_text("data_dirs: [unclosed\n")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert str(settings_path()) in str(exc.value) and "not valid YAML" in str(exc.value)


def test_settings_wrong_shape_gives_defaults(tmp_path: Path) -> None:
    settings_path().parent.mkdir(parents=True)
    settings_path().write_text("- just\n- a list\n")
    assert load_settings() == UserSettings()
    settings_path().write_text("data_dirs: 5\nworkspace: [1]\n")
    assert load_settings() == UserSettings()


# ---------------------------------------------------------------- real UCR data


@needs_ucr
@pytest.mark.ucr
def test_real_ucr_listing() -> None:
    infos = {i.name: i for i in list_datasets(UCR_DIR)}
    for name, shape in UCR_SHAPES.items():
        info = infos[name]
        assert info.error == "", info.error
        assert (info.n_train, info.n_test, info.length, info.n_classes) == shape, name
    assert [i.name for i in list_datasets(UCR_DIR)][:1] == ["CBF"]


@needs_ucr
@pytest.mark.ucr
def test_real_gunpoint_loads_scaled() -> None:
    ds = load_dataset("GunPoint", data_dir=UCR_DIR)
    assert (ds.n_train, ds.n_test, ds.length, ds.n_classes) == (50, 150, 150, 2)
    assert ds.class_labels == (1, 2)
    assert set(ds.y_train.tolist()) == {0, 1} and set(ds.y_test.tolist()) <= {0, 1}
    assert abs(float(ds.x_train.mean())) < 1e-5
    assert abs(float(ds.x_train.std()) - 1.0) < 1e-5


def test_parsed_splits_are_cached_and_invalidated_by_changes(tmp_path, monkeypatch):
    import os

    from tsstudio.data import registry

    folder = tmp_path / "data" / "Toy"
    folder.mkdir(parents=True)
    (folder / "Toy_TRAIN.tsv").write_text("1\t0.1\t0.2\n2\t0.3\t0.4\n")
    (folder / "Toy_TEST.tsv").write_text("1\t0.5\t0.6\n2\t0.7\t0.8\n")
    calls = []
    real = registry.read_split
    monkeypatch.setattr(registry, "read_split", lambda p: (calls.append(p), real(p))[1])
    first = registry.load_dataset("Toy", tmp_path / "data")
    again = registry.load_dataset("Toy", tmp_path / "data")
    assert len(calls) == 2  # the second load came from the cache
    assert (first.x_train == again.x_train).all() and (first.y_test == again.y_test).all()
    train = folder / "Toy_TRAIN.tsv"
    train.write_text("1\t9.0\t9.0\n2\t0.3\t0.4\n")
    os.utime(train, ns=(1, 10**18))
    changed = registry.load_dataset("Toy", tmp_path / "data", scaling=False)
    assert len(calls) == 3 and changed.x_train[0, 0] == 9.0
