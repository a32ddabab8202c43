"""Listing the runs of a workspace folder."""

from __future__ import annotations

import time
from pathlib import Path

import h5py
import numpy as np

from tsstudio.store import RunFileWriter, list_runs, write_evaluation
from tsstudio.train.events import EvalMetrics, Finished, RunStarted, StepMetrics


def started(dataset: str, seed: int) -> RunStarted:
    return RunStarted(
        kind="tokenizer",
        config={"preset": "tiny", "trainer": {"seed": seed}},
        dataset=dataset,
        n_train=10,
        n_test=5,
        length=8,
        n_classes=2,
        steps_per_epoch=2,
        total_steps=10,
        start_step=0,
        train_metrics=("loss", "perplexity"),
        eval_metrics=("val_loss", "svm_accuracy", "knn_accuracy"),
        codebook_size=4,
        token_grid=(1, 2),
        snapshot_indices=np.array([0, 1], dtype=np.int64),
        snapshot_inputs=np.zeros((2, 8), dtype=np.float32),
        snapshot_labels=np.array([0, 1], dtype=np.int64),
        device="cpu",
        precision="fp32",
        parameters=10,
    )


def make_run(path: Path, dataset: str, seed: int, finish: bool = True) -> RunFileWriter:
    writer = RunFileWriter(path)
    writer(started(dataset, seed))
    for step in (1, 2, 3):
        writer(StepMetrics(step=step, epoch=step / 2, metrics={"loss": 1.0 / step, "perplexity": 2.0 + step}))
    writer(EvalMetrics(step=3, epoch=1.5, metrics={"val_loss": 0.5, "svm_accuracy": 0.6}))
    if finish:
        writer(Finished(step=3, epoch=1.5, status="finished", elapsed_s=0.1))
    return writer


def test_list_runs_skips_non_runs_and_sorts(tmp_path: Path) -> None:
    make_run(tmp_path / "b_first.h5", "SetA", 1)
    time.sleep(0.05)  # `created` has millisecond resolution
    (tmp_path / "sub").mkdir()
    make_run(tmp_path / "sub" / "a_second.h5", "SetB", 2)
    (tmp_path / "junk.h5").write_bytes(b"this is not HDF5")
    with h5py.File(tmp_path / "plain.h5", "w") as f:
        f["x"] = np.arange(3)
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "sub" / "deeper").mkdir()
    make_run(tmp_path / "sub" / "deeper" / "too_deep.h5", "SetC", 3)

    runs = list_runs(tmp_path)
    assert [r.name for r in runs] == ["b_first", "a_second"]
    first = runs[0]
    assert first.kind == "tokenizer" and first.status == "finished" and first.dataset == "SetA"
    assert first.preset == "tiny" and first.seed == 1 and first.step == 3 and first.total_steps == 10
    assert first.error is None
    assert first.headline == {"val_loss": 0.5, "svm_accuracy": 0.6, "perplexity": 5.0}
    assert first.path == tmp_path / "b_first.h5"


def test_evaluation_wins_in_headline(tmp_path: Path) -> None:
    make_run(tmp_path / "run.h5", "SetA", 1)
    write_evaluation(tmp_path / "run.h5", {"svm_accuracy": 0.9, "knn_accuracy": 0.7, "method": "svm"})
    (run,) = list_runs(tmp_path)
    assert run.headline["svm_accuracy"] == 0.9
    assert run.headline["knn_accuracy"] == 0.7
    assert run.headline["val_loss"] == 0.5
    assert "method" not in run.headline


def test_live_run_is_listed_as_running(tmp_path: Path) -> None:
    writer = make_run(tmp_path / "live.h5", "SetA", 1, finish=False)
    try:
        (run,) = list_runs(tmp_path)
        assert run.status == "running" and run.step == 3
    finally:
        writer.close()
    (run,) = list_runs(tmp_path)
    assert run.status == "stopped"


def test_missing_or_empty_folder(tmp_path: Path) -> None:
    assert list_runs(tmp_path / "nope") == []
    assert list_runs(tmp_path) == []


def test_scan_workspace_reopens_only_changed_files_and_takes_live_state_from_jobs(tmp_path: Path) -> None:
    from tsstudio.store.workspace import LIVE_RECHECK_S, ScanCache, scan_workspace

    make_run(tmp_path / "done.h5", "SetA", 1)
    live_writer = make_run(tmp_path / "live.h5", "SetB", 2, finish=False)
    live_writer.flush()
    cache = ScanCache()
    first = scan_workspace(tmp_path, cache, now=0.0)
    assert {s.name: s.status for s in first} == {"done": "finished", "live": "running"}
    assert cache.opened == 2
    scan_workspace(tmp_path, cache, now=1.0)
    assert cache.opened == 2  # nothing changed: nothing reopened, not even the running one
    scan_workspace(tmp_path, cache, now=1.0 + LIVE_RECHECK_S)
    assert cache.opened == 3  # a running file of another writer is looked at again now and then
    # a file this process trains: status and step from the job, the file left alone
    again = scan_workspace(tmp_path, cache, live={tmp_path / "live.h5": ("paused", 7)}, now=2.0 + LIVE_RECHECK_S)
    assert cache.opened == 3
    assert {s.name: (s.status, s.step) for s in again}["live"] == ("paused", 7)
    live_writer.close("stopped")
    after = scan_workspace(tmp_path, cache, now=3.0 + LIVE_RECHECK_S)  # the job is gone: read the file
    assert {s.name: s.status for s in after}["live"] == "stopped"


def test_rename_and_delete_run_refuse_busy_or_bad_names(tmp_path: Path) -> None:
    import pytest

    from tsstudio.errors import RunFileError
    from tsstudio.store.workspace import delete_run, rename_run

    make_run(tmp_path / "a.h5", "SetA", 1)
    make_run(tmp_path / "b.h5", "SetA", 2)
    with pytest.raises(RunFileError, match="a.h5 is training; stop it before renaming"):
        rename_run(tmp_path / "a.h5", "c", busy=True)
    with pytest.raises(RunFileError, match="not a valid run name"):
        rename_run(tmp_path / "a.h5", "x/y")
    with pytest.raises(RunFileError, match="b.h5 already exists"):
        rename_run(tmp_path / "a.h5", "b")
    renamed = rename_run(tmp_path / "a.h5", "c")
    assert renamed == tmp_path / "c.h5" and renamed.exists() and not (tmp_path / "a.h5").exists()
    with pytest.raises(RunFileError, match="c.h5 is training; stop it before deleting"):
        delete_run(renamed, busy=True)
    delete_run(renamed)
    assert not renamed.exists()
    with pytest.raises(RunFileError, match="no such run file"):
        delete_run(renamed)
