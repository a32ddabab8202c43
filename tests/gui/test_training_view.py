"""The training view: live from a job (throttled redraws), live from another process's file, controls."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tsstudio.errors import TsstudioError
from tsstudio.gui.controller import AppController
from tsstudio.gui.training_view import FileSource, JobSource, TrainingView, ema, format_duration, stft_magnitude
from tsstudio.gui.workers import readable_error

TIMEOUT_MS = 120_000


def _view(qtbot, workspace: Path) -> TrainingView:  # noqa: ANN001
    view = TrainingView(AppController(workspace))
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    return view


def test_live_job_redraws_on_a_timer_not_per_step(qtbot, workspace: Path, tiny) -> None:  # noqa: ANN001
    view = _view(qtbot, workspace)
    statuses: list[str] = []
    original = view.redraw

    def counting_redraw() -> None:
        statuses.append(view.source.data.status if view.source else "")
        original()

    view.redraw = counting_redraw  # type: ignore[method-assign]
    t0 = time.perf_counter()
    job = view.controller.start_training(tiny("trainer.max_steps=40"))
    view.show_run(job.path)
    assert isinstance(view.source, JobSource)
    with qtbot.waitSignal(job.finished, timeout=TIMEOUT_MS) as blocker:
        pass
    elapsed = time.perf_counter() - t0
    assert blocker.args == ["finished"]
    live = [s for s in statuses if s == "running"]
    assert live, "the view drew nothing while the job ran"
    assert len(statuses) <= elapsed / 0.1 + 5  # ≤ 10 Hz, whatever the step rate
    # after the job, the view reloads the run from its file
    qtbot.waitUntil(lambda: isinstance(view.source, FileSource), timeout=5000)
    qtbot.waitUntil(lambda: view.source.data.status == "finished" and not view.source.is_reading(), timeout=5000)
    xs, _ = view.loss_curves["loss"][1].getData()
    assert len(xs) == 40


def test_pause_resume_stop_buttons(qtbot, workspace: Path, tiny) -> None:  # noqa: ANN001
    view = _view(qtbot, workspace)
    job = view.controller.start_training(tiny("trainer.max_steps=400"))
    view.show_run(job.path)
    qtbot.waitUntil(lambda: view.pause_button.isEnabled(), timeout=5000)
    view.pause_button.click()
    assert job.control.paused and view.resume_button.isEnabled() and not view.pause_button.isEnabled()
    view.resume_button.click()
    assert not job.control.paused
    qtbot.waitUntil(lambda: job.read(10**9).step >= 1, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(job.finished, timeout=TIMEOUT_MS) as blocker:
        view.stop_button.click()
    assert blocker.args == ["stopped"]
    qtbot.waitUntil(lambda: view.source is not None and view.source.data.status == "stopped", timeout=5000)
    assert view.resume_button.isEnabled()  # a stopped run can be continued from here
    assert not view.stop_button.isEnabled()


@pytest.mark.slow
def test_follows_a_run_file_written_by_another_process(qtbot, workspace: Path) -> None:  # noqa: ANN001
    out = workspace / "cli.h5"
    sets = ["encoder.dim=16", "decoder.dim=16", "trainer.batch_size=32", "probes.at_start=false"]
    sets.append("trainer.snapshot_every_steps=2")
    args = [sys.executable, "-m", "tsstudio", "train", "--dataset", "CBF", "--max-steps", "30", "--quiet", "--out", str(out)]
    for item in sets:
        args += ["--set", item]
    proc = subprocess.Popen(args, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    view = _view(qtbot, workspace)
    try:

        def opened() -> bool:
            if not out.exists():
                return False
            source = view.source
            if isinstance(source, FileSource) and not source.error:
                return source.data.status != "" or not source.is_reading()
            view.show_run(out)  # (again: the file can exist before its writer made it a run file)
            return False

        qtbot.waitUntil(opened, timeout=TIMEOUT_MS)
        qtbot.waitUntil(lambda: view.source.data.status == "finished", timeout=TIMEOUT_MS)
    finally:
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    xs, _ = view.loss_curves["loss"][1].getData()
    assert len(xs) == 30
    assert view.spec_images[1].image is not None


def test_helpers() -> None:
    x = np.array([1.0, 1.0, 3.0, np.nan, 3.0])
    smoothed = ema(x, 0.5)
    assert smoothed[0] == 1.0 and np.all(np.isfinite(smoothed)) and 1.0 < smoothed[-1] < 3.0
    assert ema(x, 0.0) is x
    image = stft_magnitude(np.sin(np.linspace(0, 20, 128)), 8, 2)
    assert image.shape == (5, 65) and image.dtype == np.float32 and image.flags["C_CONTIGUOUS"]
    assert format_duration(3725) == "1:02:05" and format_duration(65) == "1:05"
    assert format_duration(float("nan")) == "–"
    try:
        try:
            raise TsstudioError("trainer.device: 'cuda' was asked for")
        except TsstudioError:
            raise TsstudioError("x.h5: event Failed before RunStarted") from None
    except TsstudioError as exc:
        exc.__context__ = TsstudioError("trainer.device: 'cuda' was asked for")
        assert readable_error(exc) == "trainer.device: 'cuda' was asked for"
    assert readable_error(ValueError("bad\nmore")) == "ValueError: bad"


def test_log_axis_labels_minor_ticks_only_where_they_fit(qapp) -> None:  # noqa: ANN001
    import math

    from tsstudio.gui.plots import LogAxis, minor_log_labels

    assert minor_log_labels(300) == (2, 3, 5, 7) and minor_log_labels(100) == (5,) and minor_log_labels(20) == ()
    axis = LogAxis("left")
    axis.setLogMode(False, True)
    axis.resize(60, 200)
    values = [math.log10(v) for v in (0.2, 0.5, 1.0, 3.0)]
    axis.setRange(-2, 1)  # three decades in 200 px: about 67 px a decade, room for the fives only
    assert axis.logTickStrings(values, 1.0, None) == ["", "0.5", "1", ""]
    axis.setRange(-0.5, 0.5)  # one decade in 200 px: twos and fives
    assert axis.logTickStrings(values, 1.0, None) == ["0.2", "0.5", "1", ""]
    axis.setRange(-0.25, 0.25)  # 400 px a decade
    assert axis.logTickStrings(values, 1.0, None) == ["0.2", "0.5", "1", "3"]
    assert axis.logTickStrings([-1.0, 0.0], 1.0, 1.0) == ["0.1", "1"]  # whole decades are always labelled


def test_stft_panels_share_a_colour_bar(qtbot, workspace: Path, finished_run: Path) -> None:  # noqa: ANN001
    view = _view(qtbot, workspace)
    view.show_run(finished_run)
    qtbot.waitUntil(lambda: view.source.data.status == "finished", timeout=10_000)
    low, high = view.spec_colorbar.levels()
    assert low == 0.0 and high > 0
    for image in view.spec_images:
        assert tuple(image.getLevels()) == (low, high)
    assert high == max(float(image.image.max()) for image in view.spec_images)
