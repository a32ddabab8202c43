"""Comparing two tokenizer runs: refusal, per-series errors and their ordering, config difference, CLI CSV."""

from __future__ import annotations

import csv
import shutil

import h5py
import numpy as np
import pytest
import torch

from tsstudio.cli.main import main
from tsstudio.config.flat import config_difference, flatten_config
from tsstudio.data import load_dataset
from tsstudio.eval.compare import ComparisonError, check_comparable, filter_by_class, order_by_difference
from tsstudio.eval.reconstruction import reconstruction_metrics
from tsstudio.store import RunFile
from tsstudio.store.models_io import load_tokenizer
from tsstudio.store.run_compare import compare_runs

FAST = ["--set", "trainer.batch_size=32", "--set", "trainer.device=cpu", "--set", "trainer.snapshot_every_steps=3",
        "--set", "trainer.checkpoint_every_steps=3", "--set", "trainer.num_threads=1", "--quiet"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two tiny CBF tokenizer runs that differ in seed and codebook size."""
    folder = tmp_path_factory.mktemp("compare")
    a, b = folder / "a.h5", folder / "b.h5"
    assert main(["train", "--dataset", "CBF", "--max-steps", "6", "--seed", "1", "--out", str(a), *FAST]) == 0
    assert main(["train", "--dataset", "CBF", "--max-steps", "6", "--seed", "2", "--out", str(b), *FAST,
                 "--set", "quantizer.codebook_size=16"]) == 0
    return a, b


@pytest.fixture(scope="module")
def comparison(runs):
    return compare_runs(*runs, device="cpu", with_probes=False)


def test_compare_refuses_runs_on_different_datasets_naming_both(runs, tmp_path, capsys):
    a, _ = runs
    other = tmp_path / "other.h5"
    shutil.copy(a, other)
    with h5py.File(other, "r+") as f:  # the same file, claimed to be a GunPoint run
        f.attrs["dataset"], f.attrs["length"] = "GunPoint", 150
    with pytest.raises(ComparisonError) as info:
        compare_runs(a, other, device="cpu")
    message = str(info.value)
    for part in (str(a), str(other), "dataset CBF, length 128", "dataset GunPoint, length 150"):
        assert part in message
    out_csv = tmp_path / "errors.csv"
    code = main(["compare", str(a), str(other), "--csv", str(out_csv), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err and "GunPoint" in err
    assert not out_csv.exists()


def test_compare_refuses_a_run_that_is_not_a_tokenizer_run(tmp_path):
    tok = {"kind": "tokenizer", "dataset": "CBF", "length": 128}
    with pytest.raises(ComparisonError, match=r"b\.h5 \(prior run\).*both must be tokenizer runs"):
        check_comparable(tmp_path / "a.h5", tok, tmp_path / "b.h5", {**tok, "kind": "prior"})


def test_per_series_errors_match_errors_computed_here(runs, comparison):
    dataset = load_dataset("CBF")
    x = torch.as_tensor(dataset.x_test, dtype=torch.float32)
    for path, side in zip(runs, (comparison.a, comparison.b)):
        with RunFile.open(path) as run:
            model, step = load_tokenizer(run, "best")
        assert side.weights == "best" and side.step == step
        with torch.no_grad():
            out = model(x)
        mse_time = ((out.x_hat[:, 0] - x) ** 2).mean(dim=1).double().numpy()
        mse_stft = ((out.u_hat - out.u) ** 2).mean(dim=(1, 2, 3)).double().numpy()
        np.testing.assert_allclose(side.recon.mse_time, mse_time, rtol=1e-4)
        np.testing.assert_allclose(side.recon.mse_stft, mse_stft, rtol=1e-4)
        np.testing.assert_array_equal(side.recon.tokens, out.indices.numpy())
        assert side.recon.stft_mag.shape == side.recon.stft_mag_hat.shape == (900, 5, 65)
        whole = reconstruction_metrics(model, dataset.x_test, 256, torch.device("cpu"))
        errors = side.recon.whole_split_errors()
        assert errors["mse_time"] == pytest.approx(whole["test_mse_time"], rel=1e-9)
        assert errors["mse_stft"] == pytest.approx(whole["test_mse_stft"], rel=1e-9)


def test_sorting_by_difference_puts_the_largest_first(comparison):
    ea, eb = comparison.a.recon.mse_time, comparison.b.recon.mse_time
    diff = np.abs(ea - eb)
    order = comparison.order("difference")
    assert sorted(order.tolist()) == list(range(900))
    assert order[0] == int(np.argmax(diff))
    assert np.all(np.diff(diff[order]) <= 0)
    assert order_by_difference([1.0, 5.0, 2.0], [1.5, 1.0, 2.0]).tolist() == [1, 0, 2]
    by_b = comparison.order("b", error="mse_stft")
    assert by_b[0] == int(np.argmax(comparison.b.recon.mse_stft))
    only_2 = comparison.order("difference", class_id=2)
    assert set(only_2.tolist()) == set(np.flatnonzero(comparison.labels == 2).tolist())
    assert np.all(np.diff(diff[only_2]) <= 0)
    assert filter_by_class(np.array([3, 1, 0]), np.array([0, 1, 0, 0]), 0).tolist() == [3, 0]


def test_config_difference_shows_only_differing_keys(comparison):
    assert comparison.config_difference == {"quantizer.codebook_size": (32, 16), "trainer.seed": (1, 2)}
    a = {"x": {"y": 1, "z": [1, 2]}, "w": "same"}
    b = {"x": {"y": 2, "z": [1, 2]}, "w": "same", "v": 0}
    assert config_difference(a, b) == {"v": (None, 0), "x.y": (1, 2)}
    assert flatten_config(a) == {"x.y": 1, "x.z": (1, 2), "w": "same"}
    assert flatten_config({"m": [[1, 2], [3]]}) == {"m": ((1, 2), (3,))}  # hashable, for grouping


def test_cli_compare_prints_errors_probes_and_writes_one_csv_row_per_test_series(runs, comparison, tmp_path, capsys):
    out_csv = tmp_path / "errors.csv"
    code = main(["compare", str(runs[0]), str(runs[1]), "--csv", str(out_csv), "--device", "cpu"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    for name in ("test_mse_time", "test_mse_stft", "svm_accuracy", "knn_accuracy"):
        assert any(line.split()[:1] == [name] for line in lines), name
    assert any(line.split() == ["quantizer.codebook_size", "32", "16"] for line in lines)
    assert any(line.split() == ["trainer.seed", "1", "2"] for line in lines)
    assert not any(line.startswith("trainer.max_steps") for line in lines)
    with out_csv.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 900
    assert [int(r["series"]) for r in rows] == list(range(900))
    assert [int(r["label"]) for r in rows] == comparison.labels.tolist()
    np.testing.assert_allclose([float(r["mse_time_a"]) for r in rows], comparison.a.recon.mse_time, rtol=1e-6)
    np.testing.assert_allclose([float(r["mse_stft_b"]) for r in rows], comparison.b.recon.mse_stft, rtol=1e-6)


def test_cli_compare_csv_in_a_missing_folder_is_one_line(runs, tmp_path, capsys):
    code = main(["compare", str(runs[0]), str(runs[1]), "--csv", str(tmp_path / "nope" / "e.csv")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "--csv" in err and "does not exist" in err


def test_a_run_without_best_weights_is_compared_with_its_latest(runs, tmp_path):
    no_best = tmp_path / "no_best.h5"
    shutil.copy(runs[0], no_best)
    with h5py.File(no_best, "r+") as f:
        del f["weights/best_info"]
    with RunFile.open(no_best) as run:
        assert run.best_weights() is None
        latest_step = run.latest_checkpoint()[0]
    result = compare_runs(no_best, runs[1], device="cpu", with_probes=False)
    assert (result.a.weights, result.a.step) == ("latest", latest_step)
    assert result.b.weights == "best"


def test_each_run_is_measured_on_its_dataset_as_it_was_scaled_for_it(runs, tmp_path):
    import json

    unscaled = tmp_path / "unscaled.h5"
    shutil.copy(runs[1], unscaled)
    with h5py.File(unscaled, "r+") as f:  # as if B had been trained without scaling
        config = json.loads(f.attrs["config"])
        config["data"]["scaling"] = False
        f.attrs["config"] = json.dumps(config)
    result = compare_runs(runs[0], unscaled, device="cpu", with_probes=False)
    np.testing.assert_array_equal(result.a.recon.x, load_dataset("CBF", scaling=True).x_test)
    np.testing.assert_array_equal(result.b.recon.x, load_dataset("CBF", scaling=False).x_test)
    assert result.config_difference["data.scaling"] == (True, False)
