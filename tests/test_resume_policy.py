"""The one resume policy (`plan_resume`), and the CLI and the sweeps agreeing with it by calling it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsstudio.cli.main import main
from tsstudio.config import apply_overrides, load_preset
from tsstudio.errors import RunFileError
from tsstudio.store import RunFile
from tsstudio.sweep import train_run
from tsstudio.sweep.resume import NoCheckpointError, plan_resume
from tsstudio.sweep.runner import train_and_evaluate
from tsstudio.train import TrainingControl
from tsstudio.train.events import StepMetrics

TINY = ["trainer.batch_size=16", "trainer.device=cpu", "trainer.num_threads=1", "trainer.checkpoint_every_steps=2",
        "trainer.snapshot_every_steps=2", "trainer.val_every_epochs=0", "probes.every_epochs=0", "probes.at_start=false",
        "ssl.proj_hidden=8", "ssl.proj_out=8"]


def tiny(*overrides: str):  # noqa: ANN201 - RunConfig
    return apply_overrides(load_preset("regular"), [*TINY, *overrides])


def train_until(path: Path, stop_at: int, *overrides: str, on_step=None) -> str:  # noqa: ANN001
    """Train a tiny CBF run into `path`, asking it to stop after `stop_at` steps; returns the final status."""
    control = TrainingControl()

    def listener(event) -> None:  # noqa: ANN001
        if isinstance(event, StepMetrics):
            if on_step is not None:
                on_step(event.step)
            if event.step == stop_at:
                control.request_stop()

    return train_run(tiny(*overrides), path, control=control, listeners=[listener]).status


@pytest.fixture(scope="module")
def stopped(tmp_path_factory) -> Path:
    """A run stopped at step 4 of 20 (checkpointed there)."""
    path = tmp_path_factory.mktemp("resume") / "stopped.h5"
    assert train_until(path, 4, "trainer.max_steps=20") == "stopped"
    return path


def test_a_stopped_run_resumes_as_it_was(stopped):
    plan = plan_resume(stopped)
    with RunFile.open(stopped) as run:
        step, _, state = run.latest_checkpoint()
        config = run.config
    assert (plan.step, plan.total_steps, plan.state) == (step, 20, state) == (4, 20, state)
    assert plan.config.trainer.max_steps == 20 and plan.config.data.dataset == config["data"]["dataset"] == "CBF"
    bigger = plan_resume(stopped, overrides=["trainer.max_steps=30", "trainer.device=cpu"])
    assert bigger.total_steps == 30 and bigger.config.trainer.max_steps == 30 and bigger.state != state


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--dataset", "GunPoint"], "data.dataset is 'CBF' in the run, 'GunPoint' was asked"),
        (["--preset", "vibcreg-slice"], "trained with preset 'regular'; a resumed run keeps it"),
        (["--set", "quantizer.codebook_size=64"], "quantizer.codebook_size is 32 in the run, 64 was asked"),
        (["--seed", "5"], "trainer.seed is 1 in the run, 5 was asked"),
        (["--max-steps", "3"], "the budget of 3 steps does not exceed the checkpoint step 4"),
        (["--max-steps", "4"], "the budget of 4 steps does not exceed the checkpoint step 4"),
        (["--out", "elsewhere.h5"], "--out elsewhere.h5: a resumed run is written in place"),
        (["--overwrite"], "--overwrite: a resumed run is written in place; drop --overwrite or drop --resume"),
    ],
    ids=["dataset", "preset", "set", "seed", "budget-below", "budget-at", "out", "overwrite"],
)
def test_cli_resume_refuses_changes_it_cannot_honour(capsys, stopped, args, expected):
    before = stopped.read_bytes()
    assert main(["train", "--resume", str(stopped), *args, "--quiet"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and expected in err, err
    assert stopped.read_bytes() == before  # refused before anything was written


def test_a_run_still_being_written_is_refused(tmp_path):
    path = tmp_path / "live.h5"
    seen: list[str] = []

    def try_resume(step: int) -> None:
        if step == 3 and not seen:
            with pytest.raises(RunFileError) as exc:
                plan_resume(path)
            seen.append(str(exc.value))

    assert train_until(path, 5, "trainer.max_steps=10", on_step=try_resume) == "stopped"
    assert seen and "the run is still being written (writer pid" in seen[0]


def test_finished_runs_need_a_larger_budget(tmp_path):
    path = tmp_path / "done.h5"
    assert train_until(path, -1, "trainer.max_steps=4") == "finished"
    with pytest.raises(RunFileError, match="the run is finished at step 4; pass a larger --epochs or --max-steps"):
        plan_resume(path)
    assert plan_resume(path, finished_ok=True).state is None  # a sweep reuses it as it is
    assert plan_resume(path, overrides=["trainer.max_steps=6"]).total_steps == 6


def test_no_checkpoint_is_its_own_error(tmp_path):
    path = tmp_path / "early.h5"

    def crash(step: int) -> None:
        raise RuntimeError("crash before the first checkpoint")

    assert train_until(path, 10, "trainer.max_steps=10", "trainer.checkpoint_every_steps=100", on_step=crash) == "failed"
    with pytest.raises(NoCheckpointError, match="holds no checkpoint to resume from"):
        plan_resume(path)


def test_a_sweep_refuses_a_file_of_another_configuration(tmp_path):
    path = tmp_path / "cell.h5"
    assert train_until(path, 2, "trainer.max_steps=6") == "stopped"
    with pytest.raises(RunFileError, match=r"quantizer\.codebook_size is 32 in the run, 16 was asked"):
        train_and_evaluate(tiny("trainer.max_steps=6", "quantizer.codebook_size=16"), path)
    results = train_and_evaluate(tiny("trainer.max_steps=6"), path)
    assert "svm_accuracy" in results
    with RunFile.open(path) as run:
        assert run.status == "finished" and run.step == 6 and int(run.attrs["resumed_from_step"]) == 2
