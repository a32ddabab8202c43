"""Sweep cell states, read from the run files of a workspace: pending, running, stopped, failed, finished."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsstudio.sweep import train_run
from tsstudio.sweep.runner import train_and_evaluate
from tsstudio.sweep.spec import load_spec
from tsstudio.sweep.status import cell_state, clear_failure, counts, record_failure, sweep_states
from tsstudio.train import TrainingControl
from tsstudio.train.events import StepMetrics

SPEC = """\
datasets: [CBF]
presets: [regular]
seeds: [1, 2, 3, 4, 5]
overrides: [trainer.max_steps=6, trainer.batch_size=16, trainer.device=cpu, trainer.num_threads=1,
            trainer.checkpoint_every_steps=2, trainer.val_every_epochs=0, probes.every_epochs=0, probes.at_start=false,
            encoder.dim=8, decoder.dim=8, encoder.n_resnet_blocks=1, decoder.n_resnet_blocks=1, quantizer.codebook_size=8]
"""


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """Seed 1 finished and evaluated, seed 2 finished only, seed 3 stopped at step 2, seed 4 not started,
    seed 5 failed before writing a run file; `seen` holds seed 2's state read while it trained."""
    folder = tmp_path_factory.mktemp("sweep")
    path = folder / "tiny.yaml"
    path.write_text(SPEC, encoding="utf-8")
    spec = load_spec(path)
    cells = spec.cells()
    ws = spec.workspace
    train_and_evaluate(cells[0].tokenizer_config(), cells[0].tokenizer_path(ws))
    seen = []

    def watch(event) -> None:  # noqa: ANN001
        if isinstance(event, StepMetrics) and event.step == 3:
            seen.append(cell_state(ws, cells[1]))

    train_run(cells[1].tokenizer_config(), cells[1].tokenizer_path(ws), listeners=[watch])
    control = TrainingControl()

    def stop(event) -> None:  # noqa: ANN001
        if isinstance(event, StepMetrics) and event.step == 2:
            control.request_stop()

    trainer = train_run(cells[2].tokenizer_config(), cells[2].tokenizer_path(ws), control=control, listeners=[stop])
    assert trainer.status == "stopped"
    record_failure(ws, cells[4], "tokenizer", "dataset CBF: something\nwent wrong")
    return spec, seen


def test_each_cell_state_comes_from_its_run_files(sweep) -> None:  # noqa: ANN001
    spec, seen = sweep
    states = [state for _, state in sweep_states(spec)]
    assert [(s.status, s.stage) for s in states] == [
        ("finished", "done"), ("pending", "eval"), ("stopped", "tokenizer"), ("pending", "tokenizer"), ("failed", "tokenizer"),
    ]
    assert (states[0].step, states[0].total_steps) == (6, 6) and states[2].step == 2
    assert states[4].error == "dataset CBF: something went wrong"
    assert states[0].paths == {"tokenizer": spec.workspace / "cbf-regular-s1.h5"}
    assert counts(sweep_states(spec)) == {"pending": 2, "running": 0, "finished": 1, "failed": 1, "stopped": 1}


def test_a_cell_being_written_is_running(sweep) -> None:  # noqa: ANN001
    _, seen = sweep
    assert [(s.status, s.stage) for s in seen] == [("running", "tokenizer")]
    assert seen[0].total_steps == 6


def test_a_cleared_failure_leaves_the_cell_pending(sweep, tmp_path: Path) -> None:  # noqa: ANN001
    spec, _ = sweep
    cell = spec.cells()[4]
    record_failure(tmp_path, cell, "eval", "boom")
    assert (cell_state(tmp_path, cell).status, cell_state(tmp_path, cell).stage) == ("failed", "eval")
    clear_failure(tmp_path, cell)
    assert cell_state(tmp_path, cell).status == "pending"


def test_the_summary_reads_evaluated_cells_and_lists_failures(sweep) -> None:  # noqa: ANN001
    from tsstudio.store import RunFile
    from tsstudio.sweep.summary import summarize

    spec, _ = sweep
    summary = summarize(spec)
    with RunFile.open(spec.cells()[0].tokenizer_path(spec.workspace)) as run:
        svm = run.evaluation()["svm_accuracy"]
    _, rows = summary.table("svm_accuracy")
    assert rows == [["CBF", f"{svm:.4f} (n=1) *"]]  # only seed 1 is evaluated
    assert summary.failures == [("cbf-regular-s5", "dataset CBF: something went wrong")]
    assert summary.counts["finished"] == 1 and "1 of 5 cells finished" in summary.markdown()
