"""Following a run file while it is written: only new rows are read, snapshots arrive, the end closes."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from test_workspace import started

from tsstudio.store import RunFileWriter
from tsstudio.store.follow import RunFollower, read_run, truncate
from tsstudio.train.events import EvalMetrics, Finished, Snapshot, StepMetrics


def _steps(writer: RunFileWriter, first: int, last: int) -> None:
    for step in range(first, last + 1):
        writer(StepMetrics(step=step, epoch=step / 2, metrics={"loss": 1.0 / step, "perplexity": 2.0 + step}))
    writer.flush()


def test_follower_reads_only_the_rows_appended_since_the_last_poll(tmp_path: Path) -> None:
    path = tmp_path / "live.h5"
    writer = RunFileWriter(path, flush_every_s=3600)
    writer(started("SetA", 1))
    _steps(writer, 1, 3)
    follower = RunFollower(path)
    try:
        first = follower.poll()
        assert first is not None and first.status == "running" and first.step == 3
        assert first.train_metrics == ("loss", "perplexity")
        assert list(first.train["loss"][0]) == [1, 2, 3]
        assert follower.rows_read == 6  # 3 rows of each of the two train metrics
        assert follower.poll() is None  # nothing new, nothing read
        assert follower.rows_read == 6

        _steps(writer, 4, 5)
        writer(Snapshot(step=5, epoch=2.5, recon=np.full((2, 8), 0.5, np.float32), codebook_usage=np.arange(4)))
        second = follower.poll()
        assert second is not None and second.step == 5
        assert follower.rows_read == 6 + 4  # only the two new rows of each metric
        np.testing.assert_array_equal(second.train["loss"][0], [1, 2, 3, 4, 5])
        np.testing.assert_allclose(second.train["loss"][1], [1.0, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
        assert second.recon_step == 5 and second.recon.shape == (2, 8)
        np.testing.assert_array_equal(second.usage, np.arange(4))
        assert list(first.train["loss"][0]) == [1, 2, 3]  # what was handed out earlier is not mutated

        writer(EvalMetrics(step=5, epoch=2.5, metrics={"val_loss": 0.25}))
        writer(Finished(step=5, epoch=2.5, status="finished", elapsed_s=1.0))
        last = follower.poll()
        assert last is not None and last.status == "finished" and not follower.live
        np.testing.assert_array_equal(last.evals["val_loss"][1], [0.25])
        assert follower.poll() is None  # closed after the final state
    finally:
        follower.close()
        writer.close()


def test_follower_keeps_up_with_a_writer_on_another_thread(tmp_path: Path) -> None:
    path = tmp_path / "threaded.h5"
    writer = RunFileWriter(path, flush_every_s=0.0)
    writer(started("SetA", 1))
    follower = RunFollower(path)
    done = threading.Event()

    def write() -> None:
        for step in range(1, 201):
            writer(StepMetrics(step=step, epoch=step / 2, metrics={"loss": float(step), "perplexity": 1.0}))
        writer(Finished(step=200, epoch=100.0, status="finished", elapsed_s=1.0))
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    seen = None
    try:
        while True:
            finished = done.is_set()
            data = follower.poll()
            seen = data or seen
            if finished and not follower.live:
                break
            if finished and data is None:
                break
    finally:
        thread.join()
        follower.close()
        writer.close()
    assert seen is not None and seen.status == "finished"
    np.testing.assert_array_equal(seen.train["loss"][0], np.arange(1, 201))
    assert follower.rows_read == 400  # every row exactly once


def test_read_run_and_truncate(tmp_path: Path) -> None:
    path = tmp_path / "done.h5"
    writer = RunFileWriter(path)
    writer(started("SetA", 1))
    _steps(writer, 1, 4)
    writer(Finished(step=4, epoch=2.0, status="stopped", elapsed_s=1.0))
    data = read_run(path)
    assert data.status == "stopped" and data.step == 4
    cut = truncate(data.train, 2)
    np.testing.assert_array_equal(cut["loss"][0], [1, 2])
    assert set(cut) == {"loss", "perplexity"}
