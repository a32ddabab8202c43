"""Built-in Cylinder-Bell-Funnel generator and dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tsstudio.data import BUILTIN_DATASET, load_dataset
from tsstudio.data.synthetic import cylinder_bell_funnel


@pytest.fixture(autouse=True)
def _isolate_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv("TSSTUDIO_DATA_DIR", raising=False)


def test_shapes_and_types() -> None:
    x, y = cylinder_bell_funnel(10)
    assert x.shape == (30, 128) and x.dtype == np.float64
    assert y.shape == (30,) and y.dtype == np.int64
    x, _ = cylinder_bell_funnel(4, length=64)
    assert x.shape == (12, 64)


def test_class_balance() -> None:
    _, y = cylinder_bell_funnel(25)
    assert np.bincount(y).tolist() == [25, 25, 25]


def test_seeded_determinism() -> None:
    a, ya = cylinder_bell_funnel(5, seed=3)
    b, yb = cylinder_bell_funnel(5, seed=3)
    c, _ = cylinder_bell_funnel(5, seed=4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert not np.allclose(a, c)


def test_class_shapes_on_average() -> None:
    """Inside the event window (t in [32, 48] is always inside since a <= 32 and b >= 48):
    cylinder is flat and high, bell rises, funnel falls; far outside the window only noise."""
    x, y = cylinder_bell_funnel(300, seed=7)
    early, late = slice(32, 40), slice(40, 48)
    cyl, bell, funnel = (x[y == k] for k in range(3))
    assert cyl[:, 32:48].mean() > 4.0
    assert bell[:, late].mean() > bell[:, early].mean() + 0.2
    assert funnel[:, early].mean() > funnel[:, late].mean() + 0.2
    assert abs(x[:, :16].mean()) < 0.1  # before any onset: pure N(0, 1) noise


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        cylinder_bell_funnel(0)


def test_builtin_dataset() -> None:
    ds = load_dataset(BUILTIN_DATASET)
    assert ds.name == "CBF" and ds.source == "built-in"
    assert (ds.n_train, ds.n_test, ds.length, ds.n_classes) == (90, 900, 128, 3)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert np.bincount(ds.y_train).tolist() == [30, 30, 30]
    assert np.bincount(ds.y_test).tolist() == [300, 300, 300]
    assert abs(float(ds.x_train.mean())) < 1e-5 and abs(float(ds.x_train.std()) - 1.0) < 1e-5
    again = load_dataset("cbf")
    np.testing.assert_array_equal(ds.x_test, again.x_test)
    raw = load_dataset("CBF", scaling=False)
    assert (raw.mean, raw.std) == (0.0, 1.0)
    x_train, _ = cylinder_bell_funnel(30, seed=0)
    np.testing.assert_allclose(raw.x_train, x_train.astype(np.float32))
