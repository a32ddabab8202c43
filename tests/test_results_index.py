"""The results table: index cache, grouping over seeds, best per column, baseline, CSV/markdown; seed-grouped curves."""

from __future__ import annotations

import csv
import io
import json
import shutil
import statistics
from pathlib import Path

import h5py
import numpy as np
import pytest

from tsstudio.cli.main import main
from tsstudio.errors import TsstudioError
from tsstudio.store import RunFile, write_evaluation
from tsstudio.store.curves import RunCurve, curve_stats, group_by_seed, group_curves, group_labels, read_run_curve
from tsstudio.store.results_index import (
    INDEX_NAME,
    best_per_metric,
    default_group_keys,
    group_rows,
    index_runs,
    metric_direction,
    results_table,
    table_csv,
    table_markdown,
    write_table,
)

FAST = ["--set", "trainer.batch_size=32", "--set", "trainer.device=cpu", "--set", "trainer.snapshot_every_steps=2",
        "--set", "trainer.checkpoint_every_steps=2", "--set", "trainer.num_threads=1", "--quiet"]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> Path:
    """One tiny real CBF tokenizer run; the workspaces below are copies with other seeds and results."""
    path = tmp_path_factory.mktemp("results") / "base.h5"
    assert main(["train", "--dataset", "CBF", "--max-steps", "4", "--seed", "1", "--out", str(path), *FAST]) == 0
    return path


def clone(src: Path, dst: Path, seed: int, codebook_size: int | None = None, results: dict | None = None,
          loss_scale: float = 1.0) -> Path:
    """Copy a run file as if it had been trained with another seed (and codebook size), with given results."""
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        config = json.loads(f.attrs["config"])
        config["trainer"]["seed"] = seed
        if codebook_size is not None:
            config["quantizer"]["codebook_size"] = codebook_size
        f.attrs["config"], f.attrs["seed"] = json.dumps(config), seed
        for ds in f["metrics"].values():
            if ds.attrs.get("name") == "loss":
                rows = ds[:]
                rows["value"] *= loss_scale
                ds[:] = rows
    if results:
        write_evaluation(dst, results)
    return dst


@pytest.fixture
def workspace(real_run, tmp_path) -> Path:
    clone(real_run, tmp_path / "s1.h5", 1, results={"svm_accuracy": 0.6, "test_mse_time": 0.9})
    clone(real_run, tmp_path / "s2.h5", 2, results={"svm_accuracy": 0.8, "test_mse_time": 0.7}, loss_scale=2.0)
    (tmp_path / "small").mkdir()
    clone(real_run, tmp_path / "small" / "k16.h5", 1, codebook_size=16, results={"svm_accuracy": 0.5, "test_mse_time": 0.4})
    (tmp_path / "junk.h5").write_bytes(b"not HDF5")
    return tmp_path


def test_grouping_two_seeds_gives_their_mean_and_std(workspace):
    rows = index_runs(workspace).rows
    assert sorted(r.name for r in rows) == ["k16", "s1", "s2"]
    keys = default_group_keys(rows)
    assert "trainer.seed" not in keys and "trainer.device" not in keys and "quantizer.codebook_size" in keys
    groups = group_rows(rows)
    assert [sorted(r.name for r in g.rows) for g in groups] == [["k16"], ["s1", "s2"]]
    pair = groups[1]
    assert pair.values["quantizer.codebook_size"] == 32 and pair.n == 2
    svm = pair.stats["svm_accuracy"]
    assert svm.n == 2
    assert svm.mean == pytest.approx(statistics.fmean([0.6, 0.8]))
    assert svm.std == pytest.approx(statistics.stdev([0.6, 0.8]))
    with RunFile.open(workspace / "s1.h5") as run:
        last_loss = run.headline()["loss"]
    assert pair.stats["loss"].mean == pytest.approx(statistics.fmean([last_loss, 2 * last_loss]))
    assert groups[0].stats["svm_accuracy"].std == 0.0
    by_seed = group_rows(rows, ["seed"])
    assert {g.values["seed"]: g.n for g in by_seed} == {1: 2, 2: 1}


def test_index_cache_is_reused_when_files_are_unchanged_and_refreshed_when_one_changes(workspace):
    first = index_runs(workspace)
    assert (first.n_read, first.n_reused) == (4, 0)  # three runs and the junk file
    index_file = workspace / INDEX_NAME
    assert first.index_path == index_file and index_file.is_file()
    second = index_runs(workspace)
    assert (second.n_read, second.n_reused) == (0, 4)
    # The rows really come from the index: a value edited there shows up while the file is unchanged.
    data = json.loads(index_file.read_text())
    data["entries"]["s1.h5"]["row"]["metrics"]["svm_accuracy"] = 0.123
    index_file.write_text(json.dumps(data))
    assert {r.name: r.metrics["svm_accuracy"] for r in index_runs(workspace).rows}["s1"] == 0.123
    write_evaluation(workspace / "s1.h5", {"svm_accuracy": 0.65, "test_mse_time": 0.85})
    third = index_runs(workspace)
    assert (third.n_read, third.n_reused) == (1, 3)
    assert {r.name: r.metrics["svm_accuracy"] for r in third.rows}["s1"] == 0.65
    index_file.write_text("{ damaged")
    assert index_runs(workspace).n_read == 4


def test_a_deleted_run_file_disappears_from_the_index(workspace):
    index_runs(workspace)
    (workspace / "s2.h5").unlink()
    again = index_runs(workspace)
    assert sorted(r.name for r in again.rows) == ["k16", "s1"]
    assert set(json.loads((workspace / INDEX_NAME).read_text())["entries"]) == {"s1.h5", "small/k16.h5", "junk.h5"}


def test_metric_directions_and_best_per_column(workspace):
    assert metric_direction("test_mse_time") == "lower" and metric_direction("val_loss") == "lower"
    assert metric_direction("fid") == "lower" and metric_direction("svm_accuracy") == "higher"
    assert metric_direction("is_mean") == "higher" and metric_direction("cas_accuracy") == "higher"
    assert metric_direction("perplexity") is None and metric_direction("real_fid_floor") is None
    groups = group_rows(index_runs(workspace).rows)
    best = best_per_metric(groups, ["svm_accuracy", "test_mse_time", "test_mse_stft", "perplexity"])
    # pair: mean svm 0.7 > 0.5; k16: mse 0.4 < 0.8; the STFT error was not re-evaluated, so both tie
    assert best == {"svm_accuracy": [1], "test_mse_time": [0], "test_mse_stft": [0, 1]}


def test_baseline_differences(workspace):
    table = results_table(index_runs(workspace).rows, metrics=["svm_accuracy", "test_mse_time"], baseline=1)
    assert table.key_columns == ["quantizer.codebook_size"]
    assert table.differences[1] == {"svm_accuracy": 0.0, "test_mse_time": 0.0}
    assert table.differences[0]["svm_accuracy"] == pytest.approx(0.5 - statistics.fmean([0.6, 0.8]))
    assert table.differences[0]["test_mse_time"] == pytest.approx(0.4 - statistics.fmean([0.9, 0.7]))


def test_csv_and_markdown_export(workspace, tmp_path_factory):
    table = results_table(index_runs(workspace).rows, metrics=["svm_accuracy", "test_mse_time"], baseline=0)
    rows = list(csv.DictReader(io.StringIO(table_csv(table))))
    assert [r["quantizer.codebook_size"] for r in rows] == ["16", "32"] and [r["n"] for r in rows] == ["1", "2"]
    assert float(rows[1]["svm_accuracy_mean"]) == pytest.approx(0.7)
    assert float(rows[1]["svm_accuracy_std"]) == pytest.approx(statistics.stdev([0.6, 0.8]))
    assert rows[0]["svm_accuracy_std"] == "" and rows[0]["svm_accuracy_n"] == "1"  # one run has no std
    assert rows[1]["svm_accuracy_best"] == "1" and rows[0]["test_mse_time_best"] == "1"
    assert float(rows[1]["svm_accuracy_minus_baseline"]) == pytest.approx(0.2)
    md = table_markdown(table).splitlines()
    assert md[0] == "| quantizer.codebook_size | n | svm_accuracy ↑ | test_mse_time ↓ |"
    assert md[2] == "| 16 | 1 (baseline) | 0.5000 | **0.4000** |"  # one run: its value, no "± 0"
    assert md[3].startswith("| 32 | 2 | **0.7000 ± 0.1414** (+0.2000) | 0.8000 ± 0.1414 (+0.4000)")
    out = tmp_path_factory.mktemp("export") / "t.md"
    write_table(table, out, "markdown")
    assert out.read_text() == table_markdown(table)
    reference = out.with_name("reference.txt")
    reference.write_text("")
    assert out.stat().st_mode == reference.stat().st_mode  # the umask's permissions, not owner-only
    assert sorted(p.name for p in out.parent.iterdir()) == ["reference.txt", "t.md"]  # no temporary left


def test_cli_results_prints_and_writes_the_grouped_table(workspace, tmp_path, capsys):
    out_csv = tmp_path / "table.csv"
    code = main(["results", str(workspace), "--group-by", "quantizer.codebook_size", "--csv", str(out_csv)])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["#", "quantizer.codebook_size", "n"]
    assert lines[1].split()[1:3] == ["16", "1"] and lines[2].split()[1:3] == ["32", "2"]
    assert "0.7000 ± 0.1414 *" in lines[2]
    assert "±" not in lines[1] and "0.5000" in lines[1].split()  # the group of one: the value alone
    assert len(list(csv.DictReader(out_csv.open()))) == 2
    out_md = tmp_path / "table.md"
    assert main(["results", str(workspace), "--markdown", str(out_md)]) == 0
    assert out_md.read_text().startswith("| quantizer.codebook_size | n |")


@pytest.mark.parametrize(("flags", "needle"), [
    (["--group-by", "quantizer.no_such_key"], "--group-by quantizer.no_such_key: no run has this key"),
    (["--metrics", "nope"], "--metrics nope: no run has this metric"),
    (["--baseline", "9"], "--baseline 9: expected a row number from 1 to 2"),
    (["--csv", "/nonexistent-folder/t.csv"], "--csv /nonexistent-folder/t.csv: folder /nonexistent-folder does not exist"),
])
def test_cli_results_bad_input_is_one_line(workspace, capsys, flags, needle):
    code = main(["results", str(workspace), *flags])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and err.count("\n") == 1 and needle in err


def test_seed_groups_and_curve_statistics_aligned_on_step(workspace):
    paths = [workspace / "s1.h5", workspace / "small" / "k16.h5", workspace / "s2.h5"]
    assert group_by_seed(paths) == [[paths[0], paths[2]], [paths[1]]]
    with RunFile.open(paths[0]) as run:
        steps, _, loss = run.metric("loss")
    stats = curve_stats([paths[0], paths[2]], "loss")
    np.testing.assert_array_equal(stats.steps, steps)
    pair = np.stack([loss, 2 * loss])
    np.testing.assert_allclose(stats.mean, pair.mean(axis=0))
    np.testing.assert_allclose(stats.std, pair.std(axis=0))
    np.testing.assert_allclose(stats.min, loss)
    np.testing.assert_allclose(stats.max, 2 * loss)
    assert stats.n.tolist() == [2] * len(steps)


def test_curve_statistics_carry_the_epoch_of_each_step_and_groups_get_labels_that_tell_them_apart(workspace):
    paths = [workspace / "s1.h5", workspace / "small" / "k16.h5", workspace / "s2.h5"]
    with RunFile.open(paths[0]) as run:
        steps, epochs, _ = run.metric("loss")
    assert not np.allclose(epochs, steps)
    np.testing.assert_allclose(curve_stats(paths[:1], "loss").epochs, epochs)
    curves = [read_run_curve(p, "loss") for p in paths]
    groups = group_curves(curves)
    assert [[c.path for c in g] for g in groups] == [[paths[0], paths[2]], [paths[1]]]
    # readable: dataset · preset, then the key that tells the groups apart, and the group's size
    assert group_labels(groups) == ["CBF · regular · codebook_size=32 (n=2)", "CBF · regular · codebook_size=16 (n=1)"]
    missing = read_run_curve(paths[0], "no_such_metric")
    assert len(missing.steps) == 0 and "loss" in missing.metric_names
    assert len(curve_stats(paths[:1], "no_such_metric").steps) == 0


def _curve(dataset: str, preset: str, seed: int, methods: tuple) -> RunCurve:
    empty = np.zeros(0)
    config = {"data.dataset": dataset, "augmentations.methods": methods, "trainer.seed": seed}
    return RunCurve(Path(f"{dataset}-{preset}-s{seed}.h5"), "tokenizer", dataset, seed, config, [], "loss",
                    empty.astype(np.int64), empty, empty, preset)


def test_group_labels_read_as_dataset_and_preset_never_as_a_python_tuple():
    curves = [_curve(d, p, s, m) for d in ("ECG5000", "GunPoint")
              for p, m in (("regular", ()), ("barlowtwins-slice", ("slice_and_shuffle",))) for s in (1, 2)]
    labels = group_labels(group_curves(curves))
    assert labels == ["ECG5000 · regular (n=2)", "ECG5000 · barlowtwins-slice (n=2)",
                      "GunPoint · regular (n=2)", "GunPoint · barlowtwins-slice (n=2)"]
    # groups that dataset and preset do not tell apart: the differing key, its value as the table shows it
    same_preset = [_curve("ECG5000", "custom", 1, ()), _curve("ECG5000", "custom", 1, ("slice_and_shuffle",))]
    assert group_labels(group_curves(same_preset)) == ["ECG5000 · custom · methods=[] (n=1)",
                                                       "ECG5000 · custom · methods=[slice_and_shuffle] (n=1)"]


def test_a_running_run_is_listed_but_never_cached(tmp_path):
    from test_workspace import make_run  # a live writer in this process, no training needed

    from tsstudio.train.events import Finished

    writer = make_run(tmp_path / "live.h5", "SetA", 3, finish=False)
    try:
        index = index_runs(tmp_path)
        assert [(r.name, r.status) for r in index.rows] == [("live", "running")]
        assert not (tmp_path / INDEX_NAME).exists()  # nothing cacheable yet
        assert index_runs(tmp_path).n_read == 1
        writer(Finished(step=3, epoch=1.5, status="finished", elapsed_s=0.1))
    finally:
        writer.close()
    assert [r.status for r in index_runs(tmp_path).rows] == ["finished"]
    assert index_runs(tmp_path).n_reused == 1


def test_the_parser_of_the_new_commands_imports_no_heavy_module():
    import subprocess
    import sys

    code = ("import sys; from tsstudio.cli.main import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'h5py', 'numpy', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_grouping_reads_identity_config_and_metric_keys_and_freezes_unhashable_values(tmp_path):
    from tsstudio.store.results_index import ResultRow

    rows = [ResultRow(tmp_path / f"r{i}.h5", f"r{i}", "tokenizer", "finished", "CBF", "regular", i, 1,
                      {"augmentations.methods": ["slice_and_shuffle"] if i % 2 else [], "trainer.seed": i},
                      {"svm_accuracy": 0.5 + i / 10}) for i in range(4)]
    groups = group_rows(rows, ["dataset", "augmentations.methods"])
    by_methods = {g.values["augmentations.methods"]: g for g in groups}  # lists frozen to tuples
    assert set(by_methods) == {(), ("slice_and_shuffle",)} and {g.values["dataset"] for g in groups} == {"CBF"}
    assert sorted(r.name for r in by_methods[()].rows) == ["r0", "r2"]
    assert sorted(r.name for r in by_methods[("slice_and_shuffle",)].rows) == ["r1", "r3"]
    assert by_methods[("slice_and_shuffle",)].stats["svm_accuracy"].mean == pytest.approx(0.7)
    with pytest.raises(TsstudioError, match="--group-by nope: no run has this key"):
        group_rows(rows, ["nope"])
