"""The training loop: events, reproducibility, stop/resume and the evaluation it reports."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from support import QUICK

from tsstudio.config import RunConfig, apply_overrides
from tsstudio.data import load_dataset
from tsstudio.train import (
    BestWeights,
    Checkpoint,
    EvalMetrics,
    Failed,
    Finished,
    RunStarted,
    Snapshot,
    StepMetrics,
    TokenizerTrainer,
    TrainingControl,
)
from tsstudio.train.tokenizer_trainer import cosine_lr, snapshot_indices


@pytest.fixture(scope="module")
def cbf():
    return load_dataset("CBF")


def quick(*extra: str) -> RunConfig:
    return apply_overrides(RunConfig(), [*QUICK, *extra])


def train(cbf, config, control=None, resume=None):
    events = []
    trainer = TokenizerTrainer(config, cbf, events.append, control=control, resume_state=resume)
    status = trainer.run()
    return status, events, trainer


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


@pytest.mark.slow
def test_run_reports_the_whole_event_sequence(cbf):
    status, events, trainer = train(cbf, quick("trainer.epochs=4"))
    assert status == "finished"
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], Finished)
    started = events[0]
    assert started.steps_per_epoch == 3 and started.total_steps == 12  # 90 series, batch 32
    assert started.token_grid == (5, 8)
    steps = of(events, StepMetrics)
    assert [e.step for e in steps] == list(range(1, 13))
    assert set(steps[0].metrics) == set(started.train_metrics)
    assert steps[-1].metrics["lr"] < steps[0].metrics["lr"]
    evals = [e for e in of(events, EvalMetrics) if "svm_accuracy" in e.metrics]
    assert [e.step for e in evals] == [0, 6, 12]  # at start, every 2 epochs (3 steps each), end
    assert all(0.0 <= e.metrics["knn_accuracy"] <= 1.0 for e in evals)
    snaps = of(events, Snapshot)
    assert [s.step for s in snaps] == [5, 10, 12]  # every 5 steps, and a last one at the end
    assert snaps[0].recon.shape == (6, 128) and snaps[0].recon.dtype == np.float32
    assert int(sum(s.codebook_usage.sum() for s in snaps)) > 0
    assert of(events, Checkpoint)[-1].step == 12
    assert of(events, BestWeights)


def test_a_run_shorter_than_the_snapshot_interval_ends_with_a_snapshot(cbf):
    status, events, _ = train(cbf, quick("trainer.max_steps=3", "trainer.snapshot_every_steps=50", "probes.at_start=false"))
    assert status == "finished"
    snaps = of(events, Snapshot)
    assert [s.step for s in snaps] == [3]
    assert snaps[0].recon.shape == (6, 128) and int(snaps[0].codebook_usage.sum()) > 0
    assert any(e.step == 3 and "dead_codes" in e.metrics for e in of(events, EvalMetrics))  # codebook panel data
    assert events.index(snaps[0]) < len(events) - 1 and isinstance(events[-1], Finished)


@pytest.mark.slow
def test_seeded_runs_are_identical(cbf):
    a = [e.metrics["loss"] for e in of(train(cbf, quick("trainer.max_steps=6", "trainer.precision=fp32"))[1], StepMetrics)]
    b = [e.metrics["loss"] for e in of(train(cbf, quick("trainer.max_steps=6", "trainer.precision=fp32"))[1], StepMetrics)]
    c = [e.metrics["loss"] for e in of(train(cbf, quick("trainer.max_steps=6", "trainer.precision=fp32",
                                                        "trainer.seed=2"))[1], StepMetrics)]
    assert a == b
    assert a != c


@pytest.mark.slow
def test_stop_checkpoints_and_resume_continues_exactly(cbf):
    config = quick("trainer.max_steps=9", "trainer.precision=fp32", "probes.at_start=false")
    _, full, _ = train(cbf, config)
    control = TrainingControl()
    events = []

    def stop_at_4(event):
        events.append(event)
        if isinstance(event, StepMetrics) and event.step == 4:
            control.request_stop()

    trainer = TokenizerTrainer(config, cbf, stop_at_4, control=control)
    assert trainer.run() == "stopped"
    assert events[-1].status == "stopped"
    checkpoint = of(events, Checkpoint)[-1]
    assert checkpoint.step == 4
    status, resumed, _ = train(cbf, config, resume=checkpoint.state)
    assert status == "finished"
    assert resumed[0].start_step == 4
    tail = [e.metrics["loss"] for e in of(resumed, StepMetrics)]
    expected = [e.metrics["loss"] for e in of(full, StepMetrics)][4:]
    assert tail == pytest.approx(expected, rel=1e-5)


def test_pause_blocks_until_resumed(cbf):
    control = TrainingControl()
    seen = []
    paused = threading.Event()

    def pause_at_2(event):
        if isinstance(event, StepMetrics):
            seen.append(event.step)
            if event.step == 2:
                control.pause()
                paused.set()

    config = quick("trainer.max_steps=5", "probes.at_start=false")
    thread = threading.Thread(target=lambda: TokenizerTrainer(config, cbf, pause_at_2, control=control).run(), daemon=True)
    thread.start()
    try:
        assert paused.wait(timeout=120), "the loop never reached step 2"
        time.sleep(0.5)  # a loop that ignored the pause would run on meanwhile
        assert thread.is_alive() and seen == [1, 2]
        control.resume()
        thread.join(timeout=120)
        assert not thread.is_alive() and seen == [1, 2, 3, 4, 5]
    finally:
        if thread.is_alive():  # a failed check must not leave a paused thread behind
            control.request_stop()
            thread.join(timeout=120)


def absent_device() -> str:
    """A device this machine does not have (CUDA machines lack MPS, Macs lack CUDA)."""
    import torch

    return "mps" if torch.cuda.is_available() else "cuda"


def test_failure_becomes_one_line_event(cbf):
    events = []
    device = absent_device()
    config = quick("trainer.max_steps=3", f"trainer.device={device}")
    status = TokenizerTrainer(config, cbf, events.append).run()
    failed = of(events, Failed)
    assert status == "failed" and len(failed) == 1
    assert "\n" not in failed[0].message and f"'{device}'" in failed[0].message


def test_snapshot_indices_are_class_balanced():
    y = np.array([0, 0, 0, 1, 1, 2])
    assert snapshot_indices(y, 4).tolist() == [0, 3, 5, 1]
    assert snapshot_indices(y, 10).tolist() == [0, 3, 5, 1, 4, 2]


def test_cosine_schedule_anneals_to_zero():
    assert cosine_lr(1e-3, 0, 100) == pytest.approx(1e-3)
    assert cosine_lr(1e-3, 50, 100) == pytest.approx(5e-4)
    assert cosine_lr(1e-3, 100, 100) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.slow
def test_ssl_run_resumes_exactly_with_its_projector_and_augmentation_stream(cbf):
    from tsstudio.config import load_preset

    config = apply_overrides(
        load_preset("vibcreg-warp"),
        [*QUICK, "trainer.max_steps=6", "trainer.precision=fp32", "probes.at_start=false",
         "ssl.proj_hidden=64", "ssl.proj_out=64", "ssl.iternorm_groups=8"],
    )
    _, full, _ = train(cbf, config)
    control = TrainingControl()
    events = []

    def stop_at_3(event):
        events.append(event)
        if isinstance(event, StepMetrics) and event.step == 3:
            control.request_stop()

    assert TokenizerTrainer(config, cbf, stop_at_3, control=control).run() == "stopped"
    _, resumed, _ = train(cbf, config, resume=of(events, Checkpoint)[-1].state)
    assert "ssl_invariance" in resumed[0].train_metrics
    tail = [e.metrics["ssl_loss"] for e in of(resumed, StepMetrics)]
    assert tail == pytest.approx([e.metrics["ssl_loss"] for e in of(full, StepMetrics)][3:], rel=1e-5)


def test_a_run_that_fails_before_starting_writes_no_file(cbf, tmp_path):
    from tsstudio.store import RunFileWriter

    path = tmp_path / "never.h5"
    writer = RunFileWriter(path)
    config = quick("trainer.max_steps=3", "trainer.device=cuda")
    status = TokenizerTrainer(config, cbf, writer).run()
    writer.close()
    if status == "failed":
        assert not path.exists()
