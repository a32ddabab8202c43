"""Sweeps run end to end: on a real Ray cluster, on the local pool with a worker killed mid-run, and stopped by a signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import UCR_DIR, needs_ucr

from tsstudio.store import RunFile
from tsstudio.sweep.spec import load_spec
from tsstudio.sweep.status import sweep_states

ROOT = Path(__file__).resolve().parents[1]
TINY = ("trainer.batch_size=16, trainer.device=cpu, trainer.precision=fp32, trainer.checkpoint_every_steps=4, "
        "trainer.val_every_epochs=0, probes.every_epochs=0, probes.at_start=false, encoder.dim=8, decoder.dim=8, "
        "encoder.n_resnet_blocks=1, decoder.n_resnet_blocks=1, quantizer.codebook_size=8, ssl.proj_hidden=8, ssl.proj_out=8")


def write_spec(folder: Path, steps: int, datasets: str = "[CBF, GunPoint]", seeds: str = "[1, 2]") -> Path:
    path = folder / "grid.yaml"
    path.write_text(f"datasets: {datasets}\npresets: [regular, barlowtwins-slice]\nseeds: {seeds}\n"
                    f"overrides: [trainer.max_steps={steps}, {TINY}]\n", encoding="utf-8")
    return path


def env() -> dict[str, str]:
    paths = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), "TSSTUDIO_DATA_DIR": UCR_DIR,
            "OMP_NUM_THREADS": "1"}


def sweep(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tsstudio", "sweep", *args], env=env(), capture_output=True, text=True,
                          timeout=timeout)


def start_sweep(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tsstudio", "sweep", *args], env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def check_finished(spec_path: Path, steps: int) -> None:
    """Every cell finished at `steps` with its evaluation, and the summary tabulates both datasets, n = 2 each."""
    spec = load_spec(spec_path)
    states = sweep_states(spec)
    assert [s.status for _, s in states] == ["finished"] * len(states)
    for cell, _ in states:
        with RunFile.open(cell.tokenizer_path(spec.workspace)) as run:
            assert (run.status, run.step, run.dataset, run.preset, run.seed) == ("finished", steps, cell.dataset, cell.preset,
                                                                                cell.seed)
            assert 0.0 <= run.evaluation_scalars()["svm_accuracy"] <= 1.0
    summary = (spec.workspace / "summary.md").read_text(encoding="utf-8")
    table = summary.split("## `svm_accuracy`")[1].split("##")[0]
    rows = [line for line in table.splitlines() if line.startswith("| CBF |") or line.startswith("| GunPoint |")]
    assert len(rows) == 2 and all(line.count("(n=2)") == 2 for line in rows), summary
    assert "8 of 8 cells finished" in summary


def wait_for(predicate, timeout: float, proc: subprocess.Popen):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("timed out")


def running_cell(spec_path: Path, min_step: int):  # noqa: ANN201
    """(cell, state, writer pid) of a cell being trained past `min_step` (so past a checkpoint), or None."""
    spec = load_spec(spec_path)
    for cell, state in sweep_states(spec):
        if state.status == "running" and state.step >= min_step:
            with RunFile.open(cell.tokenizer_path(spec.workspace)) as run:
                return cell, state, int(run.attrs["pid"])
    return None


@pytest.mark.slow
@needs_ucr
def test_a_sweep_runs_on_a_real_ray_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ray = pytest.importorskip("ray")
    for key, value in env().items():  # the cluster's workers import tsstudio from this checkout
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=100 * 1024**2, log_to_driver=False)
    try:
        address = ray.get_runtime_context().gcs_address  # this machine's cluster, reached as a remote one would be
        spec = write_spec(tmp_path, steps=6)
        result = sweep(str(spec), "--executor", "ray", "--address", address)
        assert result.returncode == 0, result.stderr
        assert "as Ray tasks of 1 CPU, at most 2 at once, on a cluster of 2 CPUs" in result.stderr
        check_finished(spec, 6)
        again = sweep(str(spec), "--executor", "ray", "--address", address)
        assert again.returncode == 0 and "0 cells to run, 8 finished" in again.stderr, again.stderr
    finally:
        ray.shutdown()


@pytest.mark.slow
@needs_ucr
def test_a_killed_worker_resumes_from_its_checkpoint_and_finished_cells_do_not_rerun(tmp_path: Path) -> None:
    steps = 40
    spec_path = write_spec(tmp_path, steps=steps)
    proc = start_sweep(str(spec_path), "--workers", "2")
    try:
        cell, state, pid = wait_for(lambda: running_cell(spec_path, 8), 300, proc)
        os.kill(pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, err
    assert f"stopped  {cell.name} at tokenizer: worker killed by SIGKILL; resumes on the next run" in err
    assert "7 of 8 cells finished" in (load_spec(spec_path).workspace / "summary.md").read_text(encoding="utf-8")
    spec = load_spec(spec_path)
    killed = cell.tokenizer_path(spec.workspace)
    with RunFile.open(killed) as run:
        assert run.status == "interrupted"
        checkpoint_step = run.latest_checkpoint()[0]
    assert checkpoint_step >= 8
    before = {c.name: (c.tokenizer_path(spec.workspace).stat().st_mtime_ns, s.step)
              for c, s in sweep_states(spec) if c.name != cell.name}
    assert all(step == steps for _, step in before.values())

    result = sweep(str(spec_path), "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert "1 cell to run, 7 finished or running elsewhere (skipped)" in result.stderr
    with RunFile.open(killed) as run:
        assert (run.status, run.step) == ("finished", steps)
        assert run.attrs["resumed_from_step"] == checkpoint_step  # continued, not restarted
        assert run.metric("loss")[0][0] == 1  # the curve still starts at the first step of the first attempt
    after = {c.name: (c.tokenizer_path(spec.workspace).stat().st_mtime_ns, s.step)
             for c, s in sweep_states(spec) if c.name != cell.name}
    assert after == before
    check_finished(spec_path, steps)


@pytest.mark.slow
def test_sigterm_checkpoints_the_running_cells_and_exits_130(tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path, steps=400, datasets="[CBF]", seeds="[1]")
    proc = start_sweep(str(spec_path), "--workers", "2")
    try:
        watched, *_ = wait_for(lambda: running_cell(spec_path, 4), 300, proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "sweep stopped; run the same command again to resume it" in err
    spec = load_spec(spec_path)
    states = dict(sweep_states(spec))
    assert (states[watched].status, states[watched].stage) == ("stopped", "tokenizer")
    with RunFile.open(watched.tokenizer_path(spec.workspace)) as run:  # checkpointed where it stopped
        assert run.stored_status == "stopped" and 4 <= run.latest_checkpoint()[0] == run.step < 400
    assert {s.status for s in states.values()} <= {"stopped", "pending"}  # the other one had perhaps not started
    assert not (spec.workspace / ".sweep-stop").exists()
    dry = sweep(str(spec_path), "--dry-run")
    assert "resume tokenizer from its checkpoint (step" in dry.stdout and json.dumps(dry.returncode) == "0"


@pytest.mark.slow
def test_a_cell_trains_a_prior_on_its_tokenizer(tmp_path: Path) -> None:
    path = tmp_path / "prior.yaml"
    path.write_text(f"datasets: [CBF]\npresets: [regular]\nseeds: [3]\noverrides: [trainer.max_steps=4, {TINY}]\n"
                    "stages: [tokenizer, prior]\nprior_overrides: [trainer.max_steps=3, trainer.epochs=1]\n", encoding="utf-8")
    result = sweep(str(path))
    assert result.returncode == 0, result.stderr
    spec = load_spec(path)
    (cell, state), = sweep_states(spec)
    assert (state.status, set(state.paths)) == ("finished", {"tokenizer", "prior"})
    with RunFile.open(cell.prior_path(spec.workspace)) as run:
        assert (run.kind, run.status, run.step, run.seed) == ("prior", "finished", 3, 3)
        assert run.attrs["tokenizer_run"] == str(cell.tokenizer_path(spec.workspace))
    assert "0 cells to run, 1 finished" in sweep(str(path)).stderr
