"""Run files end to end: reading weights never runs code from them, bad or lost state is recovered or one line."""

from __future__ import annotations

import errno
import io
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from tsstudio.cli.main import main
from tsstudio.store import RunFile
from tsstudio.store.models_io import load_prior, load_tokenizer
from tsstudio.train import deserialize, serialize

FAST = ["--set", "trainer.batch_size=32", "--set", "trainer.device=cpu", "--set", "trainer.snapshot_every_steps=3",
        "--set", "trainer.checkpoint_every_steps=3", "--quiet"]
SMALL_PRIOR = ["--set", "prior.hidden_dim=32", "--set", "prior.n_layers=1", "--set", "prior.heads=2"]
UNREADABLE = "checkpoint is unreadable or not a tsstudio checkpoint"


class _Payload:
    """Unpickling this (with an unrestricted unpickler) creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


def crafted_bytes(marker: Path) -> bytes:
    """A torch.save checkpoint whose unpickling would run code (what schema-1 readers loaded)."""
    buf = io.BytesIO()
    torch.save({"config": {}, "model": _Payload(marker), "step": 3}, buf)
    return buf.getvalue()


def put(path: Path, place: str, data: bytes, schema: int | None = None) -> None:
    """Write `data` into a checkpoint slot (both: 'checkpoint') or the best weights of a run file."""
    with h5py.File(path, "r+") as f:
        if schema is not None:
            f.attrs["schema_version"] = schema
        raw = np.frombuffer(data, dtype=np.uint8)
        if place == "checkpoint":
            for i in (0, 1):
                ds = f[f"checkpoint/slot{i}"]
                ds.resize((len(raw),))
                ds[:] = raw
                f["checkpoint/slot_nbytes"][i] = len(raw)
                f["checkpoint/slot_step"][i] = 6 - i
        else:
            ds = f["weights/best"]
            ds.resize((len(raw),))
            ds[:] = raw


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A finished tokenizer run and a prior run on it (CBF, a few steps)."""
    folder = tmp_path_factory.mktemp("safety")
    tok, prior = folder / "tok.h5", folder / "prior.h5"
    assert main(["train", "--dataset", "CBF", "--max-steps", "6", "--out", str(tok), *FAST]) == 0
    assert main(["prior", "--tokenizer", str(tok), "--max-steps", "3", "--out", str(prior), *FAST, *SMALL_PRIOR]) == 0
    return tok, prior


def _one_line_error(capsys, path: Path) -> None:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert f"{path}: {UNREADABLE}" in err, err


@pytest.mark.parametrize("schema", [2, 1])
@pytest.mark.parametrize("place", ["checkpoint", "best"])
def test_crafted_payload_runs_nothing_anywhere_weights_are_read(capsys, tmp_path, runs, place, schema):
    marker = tmp_path / "marker"
    tok, prior = (tmp_path / p.name for p in runs)
    for src, dst in zip(runs, (tok, prior), strict=True):
        shutil.copy(src, dst)
        put(dst, place, crafted_bytes(marker), schema)
    weights = ["--weights", "best"] if place == "best" else []
    commands = [
        (tok, ["eval", str(tok), *weights, "--quiet"]),
        (tok, ["export-tokens", str(tok), *weights, "--out", str(tmp_path / "tokens.h5")]),
        (prior, ["sample", str(prior), "--n", "2", *weights, "--out", str(tmp_path / "gen.h5")]),
        (prior, ["eval", str(prior), *weights, "--quiet"]),
    ]
    if place == "checkpoint":
        commands += [
            (tok, ["train", "--resume", str(tok), "--max-steps", "9", *FAST]),
            (prior, ["prior", "--resume", str(prior), "--max-steps", "6", *FAST]),
            (tok, ["prior", "--tokenizer", str(tok), "--max-steps", "3", "--out", str(tmp_path / "p2.h5"), *FAST]),
        ]
    for path, argv in commands:
        assert main(argv) == 1, argv
        _one_line_error(capsys, path)
        assert not marker.exists(), argv
    with RunFile.open(tok) as run:
        loader = run.best_weights if place == "best" else run.latest_checkpoint
        with pytest.raises(Exception, match=UNREADABLE):
            loader()
        with pytest.raises(Exception, match=UNREADABLE):
            load_tokenizer(run, "best" if place == "best" else "latest")
    with RunFile.open(prior) as run, pytest.raises(Exception, match=UNREADABLE):
        load_prior(run, "best" if place == "best" else "latest")
    assert not marker.exists()
    assert not (tmp_path / "tokens.h5").exists() and not (tmp_path / "gen.h5").exists()


def test_well_formed_state_with_wrong_contents_is_one_line(capsys, tmp_path, runs):
    tok = tmp_path / "tok.h5"
    shutil.copy(runs[0], tok)
    with RunFile.open(tok) as run:
        state = run.latest_state()[2]
    state["model"] = {"not_a_weight": torch.zeros(3)}  # decodes fine, but is not this model's weights
    put(tok, "checkpoint", serialize(state))
    assert main(["export-tokens", str(tok), "--out", str(tmp_path / "t.h5")]) == 1
    _one_line_error(capsys, tok)
    assert main(["train", "--resume", str(tok), "--max-steps", "9", *FAST]) == 1
    err = capsys.readouterr().err.strip()
    assert UNREADABLE in err and "\n" not in err and "Traceback" not in err, err


def test_schema_1_run_files_stay_readable_and_resume_into_schema_2(capsys, tmp_path, runs):
    """A pickled (torch.save) state in a schema-1 file is read with the weights-only unpickler."""
    tok = tmp_path / "tok.h5"
    shutil.copy(runs[0], tok)
    with RunFile.open(tok) as run:
        step, _, state = run.latest_state()
        best = run.best_state()[2]
    assert isinstance(state["numpy_rng"][1], np.ndarray)
    for place, value in (("checkpoint", state), ("best", best)):
        buf = io.BytesIO()
        torch.save(value, buf)
        put(tok, place, buf.getvalue(), schema=1)
    with RunFile.open(tok) as run:
        assert run.schema_version == 1
        model, got = load_tokenizer(run)
        assert got == 6
        legacy = deserialize(run.latest_checkpoint()[2])  # handed on re-encoded in the safe format
        torch.testing.assert_close(legacy["model"], state["model"])
        assert legacy["numpy_rng"][0] == "MT19937"
        np.testing.assert_array_equal(legacy["numpy_rng"][1], state["numpy_rng"][1])
    assert main(["train", "--resume", str(tok), "--max-steps", "9", *FAST]) == 0, capsys.readouterr().err
    with RunFile.open(tok) as run:
        assert run.schema_version == 2 and run.step == 9 and run.status == "finished"


def test_pickle_bytes_in_a_schema_2_file_are_refused(tmp_path):
    marker = tmp_path / "marker"
    assert pickle.loads(pickle.dumps(_Payload(marker))) is None and marker.exists()  # the payload is live
    os.remove(marker)
    with pytest.raises(Exception, match=UNREADABLE):
        deserialize(crafted_bytes(marker))
    with pytest.raises(Exception, match=UNREADABLE):
        deserialize(pickle.dumps({"model": _Payload(marker)}))
    assert not marker.exists()


def _corrupt_slot(path: Path, step: int) -> None:
    with h5py.File(path, "r+") as f:
        slot = int(np.flatnonzero(f["checkpoint/slot_step"][:] == step)[0])
        ds = f[f"checkpoint/slot{slot}"]
        noise = np.random.default_rng(0).integers(0, 256, ds.shape[0], dtype=np.uint8)
        ds[:] = noise


def test_resume_skips_a_corrupt_newest_slot_and_refuses_two(capsys, tmp_path, runs):
    tok = tmp_path / "tok.h5"
    shutil.copy(runs[0], tok)
    _corrupt_slot(tok, 6)  # checkpoints at 3 and 6: the newest is random bytes
    assert main(["train", "--resume", str(tok), "--max-steps", "9", *FAST]) == 0, capsys.readouterr().err
    with RunFile.open(tok) as run:
        assert run.attrs["resumed_from_step"] == 3 and run.step == 9
        assert run.metric("loss")[0].tolist() == list(range(1, 10))
    capsys.readouterr()
    _corrupt_slot(tok, 9)
    _corrupt_slot(tok, 6)
    assert main(["train", "--resume", str(tok), "--max-steps", "12", *FAST]) == 1
    _one_line_error(capsys, tok)


def test_resume_killed_after_the_move_is_recovered_by_the_next_resume(capsys, tmp_path, runs):
    tok = tmp_path / "tok.h5"
    tmp = Path(str(tok) + ".resume-tmp")
    shutil.copy(runs[0], tmp)
    tok.write_bytes(tmp.read_bytes()[:48])  # what a SIGKILL right after the rename leaves
    assert main(["runs", str(tmp_path)]) == 0
    assert main(["train", "--resume", str(tok), "--max-steps", "9", *FAST]) == 0, capsys.readouterr().err
    assert not tmp.exists()
    with RunFile.open(tok) as run:
        assert run.path == tok and run.status == "finished" and run.step == 9
        assert run.metric("loss")[0].tolist() == list(range(1, 10))


@pytest.fixture
def small_disk(tmp_path):
    """An 11 MiB tmpfs (needs the right to mount, e.g. root in a container; skipped otherwise)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=11m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.mark.slow
def test_training_onto_a_disk_that_fills_ends_in_one_line_with_a_consistent_file(small_disk):
    run = small_disk / "run.h5"
    cmd = [sys.executable, "-m", "tsstudio", "train", "--dataset", "CBF", "--max-steps", "60", "--out", str(run),
           "--set", "trainer.checkpoint_every_steps=3", *FAST]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=280)
    err = done.stderr.strip()
    assert done.returncode == 1, (done.returncode, err)  # not 139 (a segfault) or 135 (a bus error)
    assert "no space left on device" in err and "\n" not in err and "Traceback" not in err, err
    with h5py.File(run, "r") as f:  # closed cleanly: no SWMR flag left, a plain open works
        assert "checkpoint" in f
    with RunFile.open(run) as rf:
        assert rf.status == "failed"
        found = rf.latest_checkpoint()
        if "no checkpoint" in err:
            assert found is None
        else:
            assert found is not None and f"checkpoint of step {found[0]} is kept" in err
            assert deserialize(found[2])["step"] == found[0]
    assert sorted(p.name for p in small_disk.iterdir()) == ["run.h5"]


def test_exports_on_a_full_disk_are_one_line_and_leave_nothing(capsys, tmp_path, runs, monkeypatch):
    tok, prior = runs

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    out = tmp_path / "out"
    out.mkdir()
    for argv, target in ((["export-tokens", str(tok)], out / "tokens.h5"), (["sample", str(prior), "--n", "2"], out / "gen.h5")):
        with monkeypatch.context() as m:
            m.setattr(h5py.Group, "create_dataset", no_space)
            assert main([*argv, "--out", str(target)]) == 1
        err = capsys.readouterr().err.strip()
        assert err.endswith(f"{target}: no space left on device; nothing was written") and "\n" not in err, err
        assert list(out.iterdir()) == []
