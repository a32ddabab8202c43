"""The command line end to end: datasets, train, eval, runs, resume, live reading, kill, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import needs_ucr

from tsstudio.cli.main import main
from tsstudio.store import RunFile

QUICK = ["--set", "trainer.batch_size=32", "--set", "trainer.snapshot_every_steps=5",
         "--set", "trainer.checkpoint_every_steps=5", "--set", "trainer.device=cpu", "--quiet"]


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_datasets_lists_builtin_without_flags(capsys, monkeypatch):
    monkeypatch.delenv("TSSTUDIO_DATA_DIR", raising=False)
    code, out, _ = run_cli(capsys, "datasets")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["name", "train", "test", "length", "classes", "channels", "format", "source"]
    assert lines[1].split() == ["CBF", "90", "900", "128", "3", "1", "built-in", "built-in"]


@needs_ucr
def test_datasets_lists_the_six_ucr_datasets(capsys, ucr_dir):
    code, out, _ = run_cli(capsys, "datasets", "--data-dir", str(ucr_dir))
    assert code == 0
    rows = {line.split()[0]: line.split()[1:5] for line in out.splitlines()[1:]}
    assert rows["ArrowHead"] == ["36", "175", "251", "3"]
    assert rows["ECG5000"] == ["500", "4500", "140", "5"]
    assert rows["ElectricDevices"] == ["8926", "7711", "96", "7"]
    assert rows["FordA"] == ["3601", "1320", "500", "2"]
    assert rows["GunPoint"] == ["50", "150", "150", "2"]
    assert rows["Mallat"] == ["55", "2345", "1024", "8"]


def test_presets_lists_regular_first(capsys):
    code, out, _ = run_cli(capsys, "presets")
    assert code == 0 and out.splitlines()[1].split()[0] == "regular"


@needs_ucr
def test_train_eval_runs_resume_on_gunpoint(capsys, tmp_path, ucr_dir):
    run = tmp_path / "gp.h5"
    code, _, err = run_cli(capsys, "train", "--dataset", "GunPoint", "--data-dir", str(ucr_dir), "--epochs", "3",
                           "--seed", "7", "--out", str(run), *QUICK)
    assert code == 0, err
    with RunFile.open(run) as r:
        assert r.status == "finished" and r.dataset == "GunPoint" and r.seed == 7
        steps, _, _ = r.metric("loss")
        assert steps.tolist() == [1, 2, 3, 4, 5, 6]  # 50 series, batch 32: 2 steps per epoch
        assert r.latest_checkpoint()[0] == 6

    code, out, err = run_cli(capsys, "eval", str(run))
    assert code == 0, err
    results = json.loads(out)
    for key in ("svm_accuracy", "knn_accuracy", "test_mse_time", "test_mse_stft", "perplexity", "dead_codes"):
        assert key in results
    assert 0.0 <= results["svm_accuracy"] <= 1.0 and results["test_mse_time"] > 0
    with RunFile.open(run) as r:
        assert r.evaluation()["svm_accuracy"] == pytest.approx(results["svm_accuracy"])

    code, out, _ = run_cli(capsys, "runs", str(tmp_path))
    assert code == 0
    row = out.splitlines()[1].split()
    assert row[:5] == ["gp", "finished", "tokenizer", "GunPoint", "regular"] and row[6] == "6/6"

    code, _, err = run_cli(capsys, "train", "--resume", str(run))
    assert code == 1 and "finished" in err and "--epochs" in err
    code, _, err = run_cli(capsys, "train", "--resume", str(run), "--epochs", "5", "--quiet")
    assert code == 0, err
    with RunFile.open(run) as r:
        steps, _, _ = r.metric("loss")
        assert steps.tolist() == list(range(1, 11)) and r.status == "finished"


def _spawn_training(out: Path, steps: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, "-m", "tsstudio", "train", "--dataset", "CBF", "--max-steps", str(steps), "--out", str(out),
            "--set", "trainer.checkpoint_every_steps=3", "--set", "trainer.num_threads=1", *QUICK]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_steps(path: Path, n: int, timeout: float = 120.0) -> RunFile:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists():
            try:
                run = RunFile.open(path, live=True)
            except Exception:  # the writer has not switched SWMR on yet
                time.sleep(0.2)
                continue
            if run.latest_checkpoint() and len(run.metric("loss")[0]) >= n:
                return run
            run.close()
        time.sleep(0.3)
    raise AssertionError(f"{path} never reached {n} steps")


@pytest.mark.slow
def test_live_reading_kill_and_resume(tmp_path, capsys):
    run_path = tmp_path / "live.h5"
    proc = _spawn_training(run_path, steps=400)
    try:
        reader = _wait_for_steps(run_path, 4)
        seen = len(reader.metric("loss")[0])
        assert reader.status == "running"
        deadline = time.time() + 60
        while len(reader.metric("loss")[0]) <= seen and time.time() < deadline:
            time.sleep(0.5)
            reader.refresh()
        assert len(reader.metric("loss")[0]) > seen  # rows appended after the reader opened
        reader.close()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    with RunFile.open(run_path) as killed:
        assert killed.status == "interrupted"
        checkpoint_step = killed.latest_checkpoint()[0]
        assert checkpoint_step >= 3
        assert len(killed.metric("loss")[0]) >= checkpoint_step
    code, _, err = run_cli(capsys, "train", "--resume", str(run_path), "--max-steps", str(checkpoint_step + 4))
    assert code == 0, err
    with RunFile.open(run_path) as resumed:
        steps, _, _ = resumed.metric("loss")
        assert steps.tolist() == list(range(1, checkpoint_step + 5))
        assert resumed.status == "finished"


@pytest.mark.slow
def test_ctrl_c_stops_with_a_checkpoint(tmp_path):
    run_path = tmp_path / "stop.h5"
    proc = _spawn_training(run_path, steps=400)
    try:
        _wait_for_steps(run_path, 4).close()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert b"Traceback" not in err
    with RunFile.open(run_path) as r:
        assert r.status == "stopped"
        assert r.latest_checkpoint()[0] == r.step


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


GOOD_TRAIN = "1\t0.1\t0.2\t0.3\n2\t0.4\t0.5\t0.6\n1\t0.2\t0.2\t0.1\n"


@pytest.mark.parametrize(
    ("train_text", "test_text", "expected"),
    [
        ("1\t0.1\t0.2\t0.3\n2\t0.4\t0.5\n", GOOD_TRAIN, r"Toy_TRAIN.tsv:2: .*ragged"),
        ("1\t0.1\tabc\t0.3\n2\t0.4\t0.5\t0.6\n", GOOD_TRAIN, r"Toy_TRAIN.tsv:1: .*'abc'"),
        ("1\t0.1\tnan\t0.3\n2\t0.4\t0.5\t0.6\n", GOOD_TRAIN, r"Toy_TRAIN.tsv:1: .*(NaN|nan)"),
        ("1\t0.1\tinf\t0.3\n2\t0.4\t0.5\t0.6\n", GOOD_TRAIN, r"Toy_TRAIN.tsv:1: .*inf"),
        ("", GOOD_TRAIN, r"Toy_TRAIN.tsv: empty file"),
        ("1\t0.1\t0.2\t0.3\n1\t0.4\t0.5\t0.6\n", GOOD_TRAIN, r"Toy_TRAIN.tsv: found 1 class"),
        (GOOD_TRAIN, None, r"missing Toy_TEST.tsv"),
    ],
    ids=["ragged", "non-numeric", "nan", "inf", "empty", "one-class", "missing-test"],
)
def test_bad_input_gets_one_clear_line(capsys, tmp_path, train_text, test_text, expected):
    write(tmp_path / "Toy" / "Toy_TRAIN.tsv", train_text)
    if test_text is not None:
        write(tmp_path / "Toy" / "Toy_TEST.tsv", test_text)
    code, _, err = run_cli(capsys, "train", "--dataset", "Toy", "--data-dir", str(tmp_path), "--epochs", "1",
                           "--out", str(tmp_path / "toy.h5"), "--quiet")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    import re

    assert re.search(expected, lines[0]), lines[0]
    assert not (tmp_path / "toy.h5").exists()  # nothing half-written


def test_unknown_dataset_suggests_close_name(capsys, tmp_path):
    write(tmp_path / "GunPoint" / "GunPoint_TRAIN.tsv", GOOD_TRAIN)
    write(tmp_path / "GunPoint" / "GunPoint_TEST.tsv", GOOD_TRAIN)
    code, _, err = run_cli(capsys, "train", "--dataset", "GunPont", "--data-dir", str(tmp_path), "--out",
                           str(tmp_path / "x.h5"))
    assert code == 1 and "did you mean 'GunPoint'" in err and len(err.strip().splitlines()) == 1


def test_bad_config_value_and_existing_output(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "--set", "quantizer.decay=2", "--out", str(tmp_path / "x.h5"))
    assert code == 1 and "quantizer.decay" in err and "(0, 1]" in err
    existing = write(tmp_path / "taken.h5", "not a run")
    code, _, err = run_cli(capsys, "train", "--out", str(existing))
    assert code == 1 and "exists" in err and existing.read_text() == "not a run"


def test_eval_of_a_non_run_file_is_one_line(capsys, tmp_path):
    bogus = write(tmp_path / "bogus.h5", "hello")
    code, _, err = run_cli(capsys, "eval", str(bogus))
    assert code == 1 and str(bogus) in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_core_never_imports_qt():
    code = (
        "import sys, pkgutil, importlib, tsstudio\n"
        "for m in pkgutil.walk_packages(tsstudio.__path__, 'tsstudio.'):\n"
        "    if not m.name.startswith('tsstudio.gui') and m.name != 'tsstudio.__main__':\n"
        "        importlib.import_module(m.name)\n"
        "bad = [n for n in ('PySide6', 'pyqtgraph', 'superqt', 'qtpy') if n in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
