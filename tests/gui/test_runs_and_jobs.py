"""Runs sidebar states, job lifetime in the controller, resumed runs keeping their history, data folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from stubs import write_ucr

from tsstudio.config.settings import load_settings
from tsstudio.errors import TsstudioError
from tsstudio.gui.controller import AppController
from tsstudio.gui.datasets_view import DatasetsView
from tsstudio.gui.main_window import MainWindow
from tsstudio.gui.runs_view import EMPTY_TEXT, NAME_MIN_WIDTH, RunsView
from tsstudio.gui.theme import ThemeManager
from tsstudio.gui.training_view import FileSource, JobSource, TrainingView

TIMEOUT_MS = 120_000


def _scan(qtbot, runs: RunsView) -> None:  # noqa: ANN001
    runs.refresh()
    qtbot.waitUntil(lambda: not runs.is_scanning(), timeout=10_000)


def _finish(qtbot, job) -> str:  # noqa: ANN001
    if not job.is_running:
        return job.status
    with qtbot.waitSignal(job.finished, timeout=TIMEOUT_MS) as blocker:
        pass
    return blocker.args[0]


def test_runs_sidebar_empty_state_and_view_menu_toggle(qtbot, workspace: Path, finished_run: Path) -> None:  # noqa: ANN001
    window = MainWindow(controller=AppController(workspace), theme=ThemeManager())
    qtbot.addWidget(window)
    window.show()
    runs = window.runs_view
    _scan(qtbot, runs)
    assert runs.stack.currentWidget() is runs.empty_label and runs.empty_label.isVisible()
    assert runs.empty_label.text() == EMPTY_TEXT
    shutil.copy(finished_run, workspace / "one.h5")
    _scan(qtbot, runs)
    assert runs.stack.currentWidget() is runs.table and not runs.empty_label.isVisible()

    toggle = window.runs_dock.toggleViewAction()
    assert toggle.isEnabled()  # View → Runs works
    toggle.trigger()
    assert not window.runs_dock.isVisible()
    toggle.trigger()
    assert window.runs_dock.isVisible()


def test_run_names_keep_their_room_in_a_narrow_sidebar(qtbot, workspace: Path, finished_run: Path) -> None:  # noqa: ANN001
    shutil.copy(finished_run, workspace / "GunPoint-regular-20261201-203000.h5")
    runs = RunsView(AppController(workspace))
    qtbot.addWidget(runs)
    runs.resize(300, 400)
    runs.show()
    _scan(qtbot, runs)
    runs.resize(300, 400)
    assert runs.table.columnWidth(0) >= NAME_MIN_WIDTH  # not "G…8": the table scrolls sideways instead
    runs.resize(900, 400)
    qtbot.wait(10)
    assert runs.table.columnWidth(0) > NAME_MIN_WIDTH  # and takes the room it is given


def test_paused_job_shows_paused_and_finished_jobs_are_released(qtbot, workspace: Path, tiny) -> None:  # noqa: ANN001
    controller = AppController(workspace)
    runs = RunsView(controller)
    qtbot.addWidget(runs)
    job = controller.start_training(tiny("trainer.max_steps=400"))
    qtbot.waitUntil(lambda: job.read(10**9).step >= 1, timeout=TIMEOUT_MS)
    job.pause()
    _scan(qtbot, runs)
    assert runs.summary_for(job.path).status == "paused"  # not "running"
    job.resume()
    _scan(qtbot, runs)
    assert runs.summary_for(job.path).status == "running"
    job.stop()
    assert _finish(qtbot, job) == "stopped"
    qtbot.waitUntil(lambda: not controller.jobs, timeout=5000)  # released once its thread ended
    assert controller.job_for(job.path) is None and controller.running_jobs() == []
    _scan(qtbot, runs)
    assert runs.summary_for(job.path).status == "stopped"


def test_resumed_run_keeps_its_history_and_loss_colours_match(qtbot, workspace: Path, tiny) -> None:  # noqa: ANN001
    controller = AppController(workspace)
    view = TrainingView(controller)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    job = controller.start_training(tiny("trainer.max_steps=60", "trainer.checkpoint_every_steps=1"))
    view.show_run(job.path)
    qtbot.waitUntil(lambda: job.read(10**9).step >= 6, timeout=TIMEOUT_MS)
    job.stop()
    assert _finish(qtbot, job) == "stopped"
    qtbot.waitUntil(lambda: isinstance(view.source, FileSource) and view.source.data.status == "stopped", timeout=10_000)
    stopped_at = view.source.data.step
    finished_pens = {name: line.opts["pen"].color().name() for name, (_raw, line) in view.loss_curves.items()}

    resumed = controller.resume_run(job.path)
    qtbot.waitUntil(lambda: isinstance(view.source, JobSource) and view.source.data.step > stopped_at + 2, timeout=TIMEOUT_MS)
    steps, _ = view.source.data.train["loss"]
    assert steps[0] == 1 and stopped_at in steps and steps[-1] > stopped_at  # history before the resume is kept
    assert np.all(np.diff(steps) > 0)
    xs, _ = view.loss_curves["loss"][1].getData()
    assert xs[0] == 1
    live_pens = {name: line.opts["pen"].color().name() for name, (_raw, line) in view.loss_curves.items()}
    shared = set(live_pens) & set(finished_pens)
    assert shared >= {"loss", "recon_time"}
    assert {n: live_pens[n] for n in shared} == {n: finished_pens[n] for n in shared}
    resumed.stop()
    _finish(qtbot, resumed)


def test_nonexistent_data_folder_is_refused_and_not_saved(qtbot, workspace: Path, tmp_path: Path) -> None:  # noqa: ANN001
    controller = AppController(workspace)
    before = list(load_settings().data_dirs)
    with pytest.raises(TsstudioError, match=r"data folder .*nowhere: no such folder"):
        controller.add_data_dir(tmp_path / "nowhere")
    assert load_settings().data_dirs == before
    assert str(tmp_path / "nowhere") not in controller.data_dirs()
    view = DatasetsView(controller)
    qtbot.addWidget(view)
    view.add_folder(str(tmp_path / "nowhere"))
    assert "no such folder" in view.status.text()


def test_failed_dataset_load_clears_the_previous_plots(qtbot, workspace: Path, tmp_path: Path) -> None:  # noqa: ANN001
    root = tmp_path / "ucr"
    write_ucr(root, "Good64", 64)
    bad = root / "Bad"
    bad.mkdir()
    (bad / "Bad_TRAIN.tsv").write_text("1\t0.1\t0.2\n2\t0.3\tabc\n")
    (bad / "Bad_TEST.tsv").write_text("1\t0.1\t0.2\n")
    controller = AppController(workspace)
    controller.add_data_dir(root)
    view = DatasetsView(controller)
    qtbot.addWidget(view)
    view.load("Good64")
    loaded = lambda: (d := view.current_dataset()) is not None and d.name == "Good64" and not view.is_busy()  # noqa: E731
    qtbot.waitUntil(loaded, timeout=30_000)
    assert view.series_curves.count() > 0 and view.spectrogram.image_data() is not None
    view.load("Bad")
    qtbot.waitUntil(lambda: not view.is_busy() and view.current_dataset() is None, timeout=30_000)
    assert "Bad" in view.status.text()
    assert view.series_curves.count() == 0 and view.selected_curve.getData()[0] is None
    assert view.spectrogram.image_data() is None and len(view.legend.items) == 0
