"""The run-file contract: writer, live and killed-writer reading, checkpoints, resume, evaluation."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from tsstudio.errors import RunFileError
from tsstudio.store import SCHEMA_VERSION, RunFile, RunFileWriter, read_config, write_evaluation
from tsstudio.store import runfile as runfile_mod
from tsstudio.train import deserialize, serialize
from tsstudio.train.events import (
    BestWeights,
    Checkpoint,
    EvalMetrics,
    Failed,
    Finished,
    RunStarted,
    Snapshot,
    StepMetrics,
)

S, L, K = 3, 16, 8
TRAIN = ("loss", "recon_loss", "perplexity")
EVAL = ("val_loss", "svm_accuracy", "knn_accuracy")
TESTS_DIR = str(Path(__file__).resolve().parent)


def make_started(start_step: int = 0, seed: int = 7, preset: str | None = "tiny") -> RunStarted:
    """A RunStarted event with small fixed arrays (shared with the subprocess scripts)."""
    rng = np.random.default_rng(0)
    config = {"preset": preset, "trainer": {"seed": seed, "steps": 100}, "model": {"codebook_size": K}}
    return RunStarted(
        kind="tokenizer",
        config=config,
        dataset="FakeSet",
        n_train=40,
        n_test=20,
        length=L,
        n_classes=2,
        steps_per_epoch=10,
        total_steps=100,
        start_step=start_step,
        train_metrics=TRAIN,
        eval_metrics=EVAL,
        codebook_size=K,
        token_grid=(2, 4),
        snapshot_indices=np.array([0, 5, 9], dtype=np.int64),
        snapshot_inputs=rng.standard_normal((S, L)).astype(np.float32),
        snapshot_labels=np.array([0, 1, 0], dtype=np.int64),
        device="cpu",
        precision="fp32",
        parameters=1234,
    )


def step_event(step: int) -> StepMetrics:
    return StepMetrics(step=step, epoch=step / 10, metrics={name: step + i / 10 for i, name in enumerate(TRAIN)})


def snapshot_event(step: int) -> Snapshot:
    return Snapshot(
        step=step,
        epoch=step / 10,
        recon=np.full((S, L), float(step), dtype=np.float32),
        codebook_usage=np.arange(K, dtype=np.int64) + step,
    )


BEST_20 = serialize({"model": {"w": "best-20"}})


def ckpt_event(step: int) -> Checkpoint:
    return Checkpoint(step=step, epoch=step / 10, state=serialize({"model": {"w": step}, "step": step}))


def run_steps(writer: RunFileWriter, first: int, last: int, every: int = 10) -> None:
    """Steps first..last with eval, snapshot and checkpoint every `every` steps."""
    for step in range(first, last + 1):
        writer(step_event(step))
        if step % every == 0:
            writer(EvalMetrics(step=step, epoch=step / 10, metrics={"val_loss": 100.0 - step, "svm_accuracy": 0.5}))
            writer(snapshot_event(step))
            writer(ckpt_event(step))


def fake_run(path: Path, steps: int = 30, finish: bool = True) -> RunFileWriter:
    writer = RunFileWriter(path, extra_attrs={"note": "test"}, flush_every_s=0.0)
    writer(make_started())
    run_steps(writer, 1, steps)
    writer(BestWeights(step=20, metric="val_loss", value=80.0, state=BEST_20))
    if finish:
        writer(Finished(step=steps, epoch=steps / 10, status="finished", elapsed_s=1.5))
    return writer


# ---------------------------------------------------------------------------------------- contract
ROOT_ATTRS = (
    "schema_version", "kind", "status", "created", "tsstudio_version", "config", "dataset", "seed", "preset",
    "n_train", "n_test", "length", "n_classes", "steps_per_epoch", "total_steps", "codebook_size", "token_grid",
    "device", "precision", "parameters", "pid", "hostname", "finished", "elapsed_s",
)


def test_contract_layout_and_roundtrip(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    fake_run(path)
    with h5py.File(path, "r") as f:
        for key in ROOT_ATTRS:
            assert key in f.attrs, key
        assert f.attrs["schema_version"] == SCHEMA_VERSION
        assert f.attrs["status"] == "finished"
        assert f.attrs["kind"] == "tokenizer"
        assert f.attrs["seed"] == 7
        assert f.attrs["preset"] == "tiny"
        assert f.attrs["note"] == "test"
        assert list(f.attrs["token_grid"]) == [2, 4]
        assert f.attrs["elapsed_s"] == pytest.approx(1.5)
        for name in TRAIN + EVAL:
            ds = f[f"metrics/{name}"]
            assert ds.dtype.names == ("step", "epoch", "value")
            assert ds.dtype["step"] == np.int64 and ds.dtype["value"] == np.float64
            assert ds.maxshape == (None,) and ds.chunks is not None
        assert f["metrics/loss"].shape == (30,)
        assert f["metrics/val_loss"].shape == (3,)
        assert f["metrics/knn_accuracy"].shape == (0,)
        assert f["progress"].dtype.names == ("step", "epoch", "heartbeat", "elapsed_s")
        assert f["progress"][0]["step"] == 30
        assert f["status_live"].dtype == np.dtype("S16") and f["status_live"][0] == b"finished"
        assert f["snapshots/indices"].shape == (S,) and f["snapshots/indices"].dtype == np.int64
        assert f["snapshots/labels"].shape == (S,)
        assert f["snapshots/inputs"].shape == (S, L) and f["snapshots/inputs"].dtype == np.float32
        assert f["snapshots/step"].shape == (3,) and f["snapshots/step"].dtype == np.int64
        assert f["snapshots/epoch"].shape == (3,) and f["snapshots/epoch"].dtype == np.float64
        assert f["snapshots/recon"].shape == (3, S, L) and f["snapshots/recon"].dtype == np.float32
        assert f["codebook/step"].shape == (3,)
        assert f["codebook/usage"].shape == (3, K) and f["codebook/usage"].dtype == np.int64
        for slot in ("slot0", "slot1"):
            assert f[f"checkpoint/{slot}"].dtype == np.uint8 and f[f"checkpoint/{slot}"].maxshape == (None,)
        assert f["checkpoint/slot_step"].shape == (2,) and f["checkpoint/slot_step"].dtype == np.int64
        assert f["checkpoint/slot_epoch"].shape == (2,) and f["checkpoint/slot_epoch"].dtype == np.float64
        assert f["weights/best"].dtype == np.uint8
        assert f["weights/best"].attrs["metric"] == "val_loss"
        assert f["weights/best_info"].dtype.names[:2] == ("step", "value")

    with RunFile.open(path) as rf:
        assert not rf.swmr
        assert rf.status == "finished"
        assert rf.kind == "tokenizer" and rf.dataset == "FakeSet" and rf.seed == 7 and rf.preset == "tiny"
        assert rf.config["trainer"]["seed"] == 7
        assert rf.step == 30
        assert set(rf.metric_names()) == set(TRAIN + EVAL)
        steps, epochs, values = rf.metric("loss")
        np.testing.assert_array_equal(steps, np.arange(1, 31))
        np.testing.assert_allclose(epochs, np.arange(1, 31) / 10)
        np.testing.assert_allclose(values, np.arange(1, 31))
        steps, _, values = rf.metric("val_loss")
        np.testing.assert_array_equal(steps, [10, 20, 30])
        np.testing.assert_allclose(values, [90, 80, 70])
        snaps = rf.snapshots()
        np.testing.assert_array_equal(snaps["indices"], [0, 5, 9])
        np.testing.assert_array_equal(snaps["steps"], [10, 20, 30])
        assert snaps["recon"].shape == (3, S, L) and snaps["recon"][1, 0, 0] == 20
        usage_steps, usage = rf.codebook_usage()
        np.testing.assert_array_equal(usage_steps, [10, 20, 30])
        np.testing.assert_array_equal(usage[2], np.arange(K) + 30)
        newest = rf.snapshots(last=1)
        np.testing.assert_array_equal(newest["steps"], [30])
        assert newest["recon"].shape == (1, S, L) and newest["recon"][0, 0, 0] == 30
        assert rf.snapshots(last=10)["recon"].shape == (3, S, L)
        usage_steps, usage = rf.codebook_usage(last=2)
        np.testing.assert_array_equal(usage_steps, [20, 30])
        np.testing.assert_array_equal(usage[1], np.arange(K) + 30)
        step, epoch, state = rf.latest_checkpoint()
        assert step == 30 and epoch == pytest.approx(3.0)
        assert deserialize(state)["model"] == {"w": 30}
        assert rf.best_weights() == (20, 80.0, BEST_20)
        assert rf.headline()["val_loss"] == 70.0
        assert rf.evaluation() == {}
        with pytest.raises(KeyError):
            rf.metric("nope")
    assert read_config(path)["preset"] == "tiny"


def test_checkpoint_slots_alternate_and_keep_previous(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    writer = RunFileWriter(path)
    writer(make_started())
    expected = []
    for i, step in enumerate((10, 20, 30, 40)):
        writer(ckpt_event(step))
        expected.append(step)
        with h5py.File(path, "r", libver="latest", swmr=True) as f:
            slot_step = list(f["checkpoint/slot_step"][:])
        assert slot_step[i % 2] == step
        if i:
            assert slot_step[1 - i % 2] == expected[-2]  # the previous checkpoint is intact
    writer(Finished(step=40, epoch=4.0, status="stopped", elapsed_s=1.0))
    with RunFile.open(path) as rf:
        assert rf.status == "stopped"
        assert rf.latest_checkpoint()[0] == 40
    assert writer.final_attrs_written


def test_failed_event_and_close_without_finish(tmp_path: Path) -> None:
    path = tmp_path / "failed.h5"
    writer = RunFileWriter(path)
    writer(make_started())
    writer(step_event(1))
    writer(Failed(step=1, message="CUDA out of memory", details="Traceback ..."))
    writer.close()  # idempotent
    with RunFile.open(path) as rf:
        assert rf.status == "failed"
        assert rf.attrs["error"] == "CUDA out of memory" and rf.attrs["error_details"] == "Traceback ..."
        assert rf.error == "CUDA out of memory"
        assert rf.metric("loss")[0].tolist() == [1]

    path2 = tmp_path / "closed.h5"
    writer = RunFileWriter(path2, flush_every_s=60)
    writer(make_started())
    writer(step_event(1))  # buffered, flushed by close()
    writer.close()
    writer.close()
    with RunFile.open(path2) as rf:
        assert rf.status == "stopped"
        assert rf.metric("loss")[0].tolist() == [1]
    with pytest.raises(RunFileError):
        writer(step_event(2))


def test_event_before_start_and_unknown_metric(tmp_path: Path) -> None:
    writer = RunFileWriter(tmp_path / "x.h5")
    with pytest.raises(RunFileError, match="before RunStarted"):
        writer(step_event(1))
    writer(make_started())
    writer(EvalMetrics(step=1, epoch=0.1, metrics={"val_loss": 1.0, "surprise": 2.0}))
    writer.close()
    with RunFile.open(tmp_path / "x.h5") as rf:
        assert "surprise" not in rf.metric_names()
        assert rf.metric("val_loss")[2].tolist() == [1.0]


def test_no_seed_or_preset(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    ev = make_started(preset=None)
    ev.config["trainer"].pop("seed")
    with RunFileWriter(path) as writer:
        writer(ev)
    with RunFile.open(path) as rf:
        assert rf.seed is None and rf.preset is None and rf.status == "stopped"


# ---------------------------------------------------------------------------------------- live reading
READER = textwrap.dedent(
    """
    import sys
    from tsstudio.store import RunFile
    rf = RunFile.open(sys.argv[1], live=True)
    print(len(rf.metric("loss")[0]), rf.status, flush=True)
    sys.stdin.readline()  # wait until the writer appended more rows
    rf.refresh()
    steps = rf.metric("loss")[0]
    print(len(steps), int(steps[-1]), rf.step, rf.status, len(rf.snapshots()["steps"]), flush=True)
    sys.stdin.readline()
    rf.refresh()
    print(rf.status, flush=True)
    rf.close()
    """
)


@pytest.mark.slow
def test_second_process_reads_while_writing(tmp_path: Path) -> None:
    path = tmp_path / "live.h5"
    writer = RunFileWriter(path, flush_every_s=0.0)
    writer(make_started())
    run_steps(writer, 1, 5)
    proc = subprocess.Popen(
        [sys.executable, "-c", READER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        first = proc.stdout.readline().split()
        assert first == ["5", "running"]
        run_steps(writer, 6, 12)  # includes a snapshot at step 10
        proc.stdin.write("go\n")
        proc.stdin.flush()
        second = proc.stdout.readline().split()
        assert second == ["12", "12", "12", "running", "1"]
        writer(Finished(step=12, epoch=1.2, status="finished", elapsed_s=0.1))
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().split() == ["finished"]
        proc.wait(timeout=30)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # The reader held the file open when the run ended, so the attribute update may have been
    # refused by the file lock; the live mirror keeps the status right either way.
    with RunFile.open(path) as rf:
        assert rf.status == "finished"


def test_final_status_when_reader_holds_file(tmp_path: Path) -> None:
    path = tmp_path / "held.h5"
    writer = RunFileWriter(path)
    writer(make_started())
    run_steps(writer, 1, 3)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys,h5py; f=h5py.File(sys.argv[1],'r',libver='latest',swmr=True);"
         "print('open',flush=True); sys.stdin.readline()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        writer(Failed(step=3, message="boom"))
        written = writer.final_attrs_written
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    with RunFile.open(path) as rf:
        assert rf.status == "failed"
        assert rf.error == "boom"
        if not written:
            assert rf.attrs["status"] == "running"
    write_evaluation(path, {"svm_accuracy": 0.5})  # also copies the final status into the attribute
    with RunFile.open(path) as rf:
        assert rf.attrs["status"] == "failed" and rf.attrs["error"] == "boom"


# ---------------------------------------------------------------------------------------- SIGKILL
KILLED_WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[2])
    from test_runfile import make_started, step_event, snapshot_event, ckpt_event
    from tsstudio.store import RunFileWriter
    w = RunFileWriter(sys.argv[1], flush_every_s=0.0)
    w(make_started())
    step = 0
    while True:
        step += 1
        w(step_event(step))
        if step % 10 == 0:
            w(snapshot_event(step))
            w(ckpt_event(step))
            print(step, flush=True)
    """
)


def write_then_kill(path: Path, checkpoints: int = 3) -> int:
    """Run a writer in a subprocess and SIGKILL it after `checkpoints` flushed checkpoints."""
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(path), TESTS_DIR], stdout=subprocess.PIPE, text=True
    )
    try:
        last = 0
        for _ in range(checkpoints):
            line = proc.stdout.readline()
            assert line, "writer subprocess died"
            last = int(line)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return last


@pytest.mark.slow
def test_sigkilled_writer_leaves_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "killed.h5"
    last = write_then_kill(path)
    with pytest.raises(OSError):
        h5py.File(path, "r").close()  # the SWMR write flag is still set after the kill
    with RunFile.open(path) as rf:
        assert rf.swmr
        assert rf.status == "interrupted"
        assert rf.stored_status == "running"
        steps, _, values = rf.metric("loss")
        assert len(steps) >= last
        np.testing.assert_array_equal(steps[:last], np.arange(1, last + 1))
        np.testing.assert_allclose(values[:last], np.arange(1, last + 1))
        assert rf.step >= last
        ckpt = rf.latest_checkpoint()
        assert ckpt is not None and ckpt[0] >= last - 10
        assert deserialize(ckpt[2])["model"] == {"w": ckpt[0]}
        assert len(rf.snapshots()["steps"]) >= 3
    # Running without locking is also accepted (the last fallback).
    f, swmr = runfile_mod._open_h5_read(path, live=True)
    f.close()
    assert swmr


@pytest.mark.slow
def test_write_evaluation_on_killed_file(tmp_path: Path) -> None:
    path = tmp_path / "killed.h5"
    write_then_kill(path, checkpoints=2)
    write_evaluation(path, {"svm_accuracy": 0.75, "note": "ok"}, {"confusion": np.eye(2)})
    with h5py.File(path, "r") as f:  # a normal open works again
        assert f.attrs["status"] == "interrupted"
    with RunFile.open(path) as rf:
        assert not rf.swmr
        assert rf.status == "interrupted"
        ev = rf.evaluation()
        assert ev["svm_accuracy"] == 0.75 and ev["note"] == "ok" and "evaluated" in ev
        np.testing.assert_array_equal(ev["confusion"], np.eye(2))
        assert rf.latest_checkpoint()[0] >= 10
        assert len(rf.metric("loss")[0]) >= 20
    assert not (tmp_path / "killed.h5.rewrite-tmp").exists()


def test_heartbeat_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "run.h5"
    writer = RunFileWriter(path)
    writer(make_started())
    writer.flush()
    with RunFile.open(path) as rf:
        assert rf.status == "running"  # our own pid is alive
        # on this host a live writer stays running through a long silence (e.g. a slow evaluation) ...
        monkeypatch.setattr(runfile_mod, "HEARTBEAT_TIMEOUT_S", -1.0)
        assert rf.status == "running"
        # ... unless the heartbeat is so old that the pid has probably been reused
        monkeypatch.setattr(runfile_mod, "SAME_HOST_HEARTBEAT_TIMEOUT_S", -1.0)
        assert rf.status == "interrupted"
        # a writer on another host is judged by its heartbeat alone
        monkeypatch.setattr(runfile_mod, "SAME_HOST_HEARTBEAT_TIMEOUT_S", 3600.0)
        monkeypatch.setattr(runfile_mod.socket, "gethostname", lambda: "elsewhere")
        assert rf.status == "interrupted"
        monkeypatch.setattr(runfile_mod, "HEARTBEAT_TIMEOUT_S", 3600.0)
        assert rf.status == "running"
    writer.close()


def test_write_evaluation_refuses_running_run(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    writer = RunFileWriter(path)
    writer(make_started())
    with pytest.raises(RunFileError, match=str(path)):
        write_evaluation(path, {"a": 1})
    writer.close()


# ---------------------------------------------------------------------------------------- resume
def test_resume_truncates_at_checkpoint_step(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    first = fake_run(path, steps=25, finish=False)  # checkpoints at 10 and 20, best at 20
    first.close()
    writer = RunFileWriter(path, resume=True, flush_every_s=0.0)
    writer(make_started(start_step=10))
    assert not Path(str(path) + ".resume-tmp").exists()
    run_steps(writer, 11, 15)
    writer(Finished(step=15, epoch=1.5, status="finished", elapsed_s=2.0))
    with RunFile.open(path) as rf:
        assert rf.attrs["resumed_from_step"] == 10
        assert rf.attrs["resume_count"] == 1
        assert rf.status == "finished"
        np.testing.assert_array_equal(rf.metric("loss")[0], np.arange(1, 16))
        np.testing.assert_array_equal(rf.metric("val_loss")[0], [10])
        np.testing.assert_array_equal(rf.snapshots()["steps"], [10])
        np.testing.assert_array_equal(rf.codebook_usage()[0], [10])
        ckpt = rf.latest_checkpoint()
        assert ckpt[0] == 10 and deserialize(ckpt[2])["model"] == {"w": 10}
        assert rf.best_weights() is None  # the best weights were from step 20 > 10
        assert rf.step == 15


@pytest.mark.slow
def test_resume_after_kill_and_best_kept(tmp_path: Path) -> None:
    path = tmp_path / "killed.h5"
    last = write_then_kill(path, checkpoints=3)
    with RunFile.open(path) as rf:
        k = rf.latest_checkpoint()[0]
        created = rf.created
    writer = RunFileWriter(path, resume=True, flush_every_s=0.0)
    writer(make_started(start_step=k))
    writer(BestWeights(step=k + 1, metric="val_loss", value=1.0, state=serialize({"model": {"w": -1}})))
    run_steps(writer, k + 1, k + 3)
    writer.close()
    with RunFile.open(path) as rf:
        assert rf.created == created
        assert rf.attrs["resumed_from_step"] == k
        steps = rf.metric("loss")[0]
        np.testing.assert_array_equal(steps, np.arange(1, k + 4))
        assert np.all(np.diff(steps) > 0)
        assert rf.snapshots()["steps"].max() <= k
        assert rf.best_weights() == (k + 1, 1.0, serialize({"model": {"w": -1}}))
        assert rf.status == "stopped"
    assert last >= k


def test_resume_without_file_fails(tmp_path: Path) -> None:
    writer = RunFileWriter(tmp_path / "none.h5", resume=True)
    with pytest.raises(RunFileError, match="none.h5"):
        writer(make_started(start_step=5))


def test_resume_recovers_from_interrupted_resume(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    fake_run(path, steps=20)
    tmp = Path(str(path) + ".resume-tmp")
    os.replace(path, tmp)
    path.write_bytes(b"half-written")  # a resume that died while copying
    writer = RunFileWriter(path, resume=True)
    writer(make_started(start_step=10))
    writer.close()
    assert not tmp.exists()
    with RunFile.open(path) as rf:
        assert rf.metric("loss")[0].tolist() == list(range(1, 11))


# ---------------------------------------------------------------------------------------- evaluation
def test_write_evaluation_roundtrip_and_replace(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    fake_run(path, steps=10)
    write_evaluation(path, {"svm_accuracy": 0.9, "knn_accuracy": 0.8, "n": 3}, {"per_class": np.array([0.1, 0.2])})
    with RunFile.open(path) as rf:
        ev = rf.evaluation()
        assert ev["svm_accuracy"] == 0.9 and ev["n"] == 3
        np.testing.assert_allclose(ev["per_class"], [0.1, 0.2])
        assert rf.status == "finished"
    write_evaluation(path, {"svm_accuracy": 0.95})
    with RunFile.open(path) as rf:
        ev = rf.evaluation()
        assert ev["svm_accuracy"] == 0.95 and "knn_accuracy" not in ev and "per_class" not in ev


# ---------------------------------------------------------------------------------------- errors
def test_errors_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing.h5"
    with pytest.raises(RunFileError, match="missing.h5"):
        RunFile.open(missing)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all" * 10)
    with pytest.raises(RunFileError, match="junk.h5.*not an HDF5 file"):
        RunFile.open(junk)
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(RunFileError, match="plain.h5.*not a tsstudio run"):
        RunFile.open(plain)
    with pytest.raises(RunFileError, match="plain.h5"):
        write_evaluation(plain, {"a": 1})
    with pytest.raises(RunFileError, match="missing.h5"):
        write_evaluation(missing, {"a": 1})
    with pytest.raises(RunFileError, match="missing.h5"):
        read_config(missing)
    for err in (RunFileError,):
        assert "\n" not in str(err(f"{missing}: x"))


def test_writer_is_usable_as_timing_friendly_callback(tmp_path: Path) -> None:
    """Metric rows are buffered: with a long flush interval nothing is appended per step."""
    path = tmp_path / "run.h5"
    writer = RunFileWriter(path, flush_every_s=3600)
    writer(make_started())
    t0 = time.perf_counter()
    for step in range(1, 2001):
        writer(step_event(step))
    elapsed = time.perf_counter() - t0
    with RunFile.open(path, live=True) as rf:
        assert len(rf.metric("loss")[0]) == 0
    writer(EvalMetrics(step=2000, epoch=200.0, metrics={"val_loss": 1.0}))
    with RunFile.open(path, live=True) as rf:
        assert len(rf.metric("loss")[0]) == 2000
    writer.close()
    assert elapsed < 5.0


# ---------------------------------------------------------------------------------------- safety
def _slot_of(path: Path, step: int) -> int:
    with h5py.File(path, "r") as f:
        return int(np.flatnonzero(f["checkpoint/slot_step"][:] == step)[0])


def _overwrite_slot(path: Path, slot: int, data: bytes) -> None:
    with h5py.File(path, "r+") as f:
        ds = f[f"checkpoint/slot{slot}"]
        ds.resize((len(data),))
        ds[:] = np.frombuffer(data, dtype=np.uint8)
        f["checkpoint/slot_nbytes"][slot] = len(data)


def test_corrupt_checkpoint_slot_falls_back_to_the_other(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    fake_run(path, steps=30)  # checkpoints at 10, 20, 30: the slots hold 30 and 20
    rng = np.random.default_rng(1)
    _overwrite_slot(path, _slot_of(path, 30), rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with RunFile.open(path) as rf:
        step, _, state = rf.latest_checkpoint()
        assert step == 20 and deserialize(state)["model"] == {"w": 20}
        assert rf.latest_state()[2]["step"] == 20
    _overwrite_slot(path, _slot_of(path, 20), b"\x80\x04garbage")
    with RunFile.open(path) as rf, pytest.raises(RunFileError) as err:
        rf.latest_checkpoint()
    assert str(err.value) == f"{path}: checkpoint is unreadable or not a tsstudio checkpoint"


def _no_space(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("where", ["dataset", "copy", "fsync"])
def test_write_evaluation_on_a_full_disk_leaves_the_run_unchanged(tmp_path, monkeypatch, where) -> None:
    path = tmp_path / "run.h5"
    fake_run(path, steps=20)
    before = path.read_bytes()
    target = {"dataset": (h5py.Group, "create_dataset"), "copy": (h5py.Group, "copy"), "fsync": (os, "fsync")}[where]
    with monkeypatch.context() as m:
        m.setattr(*target, _no_space)
        with pytest.raises(RunFileError) as err:
            write_evaluation(path, {"svm_accuracy": 0.5}, {"confusion": np.eye(2)})
    assert str(err.value) == f"{path}: no space left on device; the run is unchanged"
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5"]
    with RunFile.open(path) as rf:
        assert rf.evaluation() == {} and rf.latest_checkpoint()[0] == 20


def test_a_full_disk_during_training_keeps_the_last_checkpoint(tmp_path, monkeypatch) -> None:
    path = tmp_path / "run.h5"
    writer = RunFileWriter(path, flush_every_s=0.0)
    writer(make_started())
    run_steps(writer, 1, 15)  # checkpoint 10 is complete
    assert runfile_mod.reserve_path(path).exists()
    real_setitem = h5py.Dataset.__setitem__

    def full_for_slots(self, key, value):
        if self.name.startswith("/checkpoint/slot") and self.name[-1].isdigit():
            _no_space()
        real_setitem(self, key, value)

    with monkeypatch.context() as m:
        m.setattr(h5py.Dataset, "__setitem__", full_for_slots)
        with pytest.raises(RunFileError) as err:
            run_steps(writer, 16, 20)
    assert str(err.value) == f"{path}: no space left on device; training stopped at step 20 and its checkpoint of step 10 is kept"
    writer(Failed(step=20, message=str(err.value)))  # what the loop reports next is taken quietly
    writer.close()
    assert not runfile_mod.reserve_path(path).exists()
    with h5py.File(path, "r") as f:  # closed cleanly: a plain open works
        assert f.attrs["schema_version"] == SCHEMA_VERSION
    with RunFile.open(path) as rf:
        step, _, state = rf.latest_checkpoint()
        assert step == 10 and deserialize(state)["step"] == 10
        assert rf.status == "failed" and "no space left" in rf.error


def test_a_new_run_refuses_to_replace_a_live_one(tmp_path: Path) -> None:
    path = tmp_path / "live.h5"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(path), TESTS_DIR], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline(), "writer subprocess died"
        for resume in (False, True):
            with pytest.raises(RunFileError) as err:
                RunFileWriter(path, resume=resume)(make_started())
            assert str(err.value) == (f"{path}: the run is still being written by process {proc.pid}; "
                                      "stop it before overwriting")
        assert proc.stdout.readline(), "the first writer was disturbed"
        with RunFile.open(path) as rf:
            assert rf.status == "running" and rf.latest_checkpoint()[0] >= 10
    finally:
        proc.kill()
        proc.wait(timeout=30)
    with RunFile.open(path) as rf:
        assert rf.status == "interrupted"
    writer = RunFileWriter(path)  # once the writer is gone, replacing it is fine
    writer(make_started())
    writer.close()


@pytest.mark.parametrize("left", ["truncated", "missing", "partial"])
def test_killed_resume_is_recovered_by_the_next_one(tmp_path: Path, left: str) -> None:
    path = tmp_path / "run.h5"
    fake_run(path, steps=25, finish=False).close()  # checkpoints at 10 and 20
    tmp = runfile_mod.resume_tmp_path(path)
    os.replace(path, tmp)  # what a resume does first; then it is killed while writing `path`
    if left == "truncated":
        path.write_bytes(tmp.read_bytes()[:48])
    elif left == "partial":
        with h5py.File(path, "w", libver="latest") as f:
            f.create_group("metrics")
    with RunFile.open(path) as rf:  # the run is still there for readers and for the next resume
        assert rf.status == "stopped"
        k = rf.latest_checkpoint()[0]
        assert k == 20
    writer = RunFileWriter(path, resume=True, flush_every_s=0.0)
    writer(make_started(start_step=k))
    run_steps(writer, k + 1, k + 2)
    writer.close()
    assert not tmp.exists()
    with RunFile.open(path) as rf:
        assert rf.path == path and rf.attrs["resumed_from_step"] == 20
        assert rf.metric("loss")[0].tolist() == list(range(1, 23))


def test_write_evaluation_moves_a_killed_resume_back(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    fake_run(path, steps=20)
    tmp = runfile_mod.resume_tmp_path(path)
    os.replace(path, tmp)
    path.write_bytes(tmp.read_bytes()[:48])
    write_evaluation(path, {"svm_accuracy": 0.5})
    assert not tmp.exists()
    with RunFile.open(path) as rf:
        assert rf.path == path and rf.evaluation()["svm_accuracy"] == 0.5 and rf.latest_checkpoint()[0] == 20
