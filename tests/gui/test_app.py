"""The app shell: window start/close, first launch, training from the GUI, stop/resume, errors,
runs written by another process, themes and the runs list actions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel, QMessageBox

from tsstudio.gui.controller import AppController
from tsstudio.gui.main_window import FIRST_HINT, MainWindow
from tsstudio.gui.theme import ThemeManager
from tsstudio.store import RunFile

TRAIN_TIMEOUT_MS = 120_000


@pytest.fixture
def window(qtbot, workspace: Path) -> MainWindow:  # noqa: ANN001
    controller = AppController(workspace)
    win = MainWindow(controller=controller, theme=ThemeManager())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def _scan(qtbot, runs) -> None:  # noqa: ANN001
    """Refresh the runs list and wait for its scan (it runs on a pool thread)."""
    runs.refresh()
    qtbot.waitUntil(lambda: not runs.is_scanning(), timeout=10_000)


def _wait_job(qtbot, job, timeout: int = TRAIN_TIMEOUT_MS) -> str:  # noqa: ANN001
    if not job.is_running:
        return job.status
    with qtbot.waitSignal(job.finished, timeout=timeout) as blocker:
        pass
    return blocker.args[0]


def test_window_starts_and_closes_cleanly(qtbot, window: MainWindow, no_leaked_threads) -> None:  # noqa: ANN001
    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert tabs[:4] == ["Data", "Augmentations", "Configure", "Training"] and "Sampler" in tabs
    assert window.runs_dock.isVisible()
    assert "device: cpu" in window.device_label.text()
    assert window.jobs_label.text() == "jobs running: 0"
    names = [a.text() for a in window.menuBar().actions()]
    assert names == ["&File", "&View", "&Run", "&Help"]
    window.close()
    assert not window.controller.running_jobs()


def test_first_launch_opens_on_cbf_with_a_hint(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    assert window.controller.dataset_name == "CBF"
    assert window.tabs.currentIndex() == 0
    assert window.hint.isVisible() and window.hint.text() == FIRST_HINT
    # the real Data view, not a placeholder label
    assert not isinstance(window.datasets_view, QLabel)
    if hasattr(window.datasets_view, "current_dataset"):
        qtbot.waitUntil(lambda: window.datasets_view.current_dataset() is not None, timeout=30_000)
        assert window.datasets_view.current_dataset().name == "CBF"


def test_window_geometry_and_theme_persist(qtbot, workspace: Path) -> None:  # noqa: ANN001
    first = MainWindow(controller=AppController(workspace), theme=ThemeManager())
    qtbot.addWidget(first)
    first.resize(701, 503)
    first.theme_action.setChecked(False)  # light
    first.close()
    assert QSettings().value("ui/theme") == "light"
    second = MainWindow(controller=AppController(workspace), theme=ThemeManager())
    qtbot.addWidget(second)
    assert second.theme.name == "light" and not second.theme_action.isChecked()
    assert (second.width(), second.height()) == (701, 503)


def test_training_from_the_gui_finishes_with_a_complete_run_file(qtbot, window: MainWindow, tiny) -> None:  # noqa: ANN001
    config = tiny("trainer.max_steps=6")
    if window._has_form:
        window.config_form.set_config(config)
        qtbot.waitUntil(lambda: window.start_button.isEnabled(), timeout=5000)
        form_config = window.config_form.config()
        assert form_config is not None and form_config.trainer.max_steps == 6
        job = window.start_training()
    else:
        job = window.start_training(config)
    assert job is not None
    assert window.tabs.currentWidget() is window.training_view
    assert window.jobs_label.text() == "jobs running: 1"
    assert job.path.parent == window.controller.workspace and job.path.name.startswith("CBF-regular-")
    assert _wait_job(qtbot, job) == "finished"
    with RunFile.open(job.path) as run:
        assert run.status == "finished"
        assert run.step == 6
        steps, _, values = run.metric("loss")
        assert len(steps) == 6 and all(v == v for v in values)
        assert len(run.metric("svm_accuracy")[0]) >= 1 and len(run.metric("knn_accuracy")[0]) >= 1
        assert run.latest_checkpoint() is not None
    # the training view shows the finished run from its file, with data in its curves
    view = window.training_view
    qtbot.waitUntil(lambda: view.source is not None and view.source.data.status == "finished", timeout=10_000)
    xs, _ = view.loss_curves["loss"][1].getData()
    assert xs is not None and len(xs) == 6
    assert window.jobs_label.text() == "jobs running: 0"
    qtbot.waitUntil(lambda: job.path in window.runs_view.paths(), timeout=5000)


def test_stop_mid_run_then_resume_from_the_runs_list(qtbot, window: MainWindow, tiny) -> None:  # noqa: ANN001
    job = window.start_training(tiny("trainer.max_steps=40"))
    qtbot.waitUntil(lambda: job.read(10**9).step >= 2, timeout=TRAIN_TIMEOUT_MS)
    window.training_view.stop()
    assert _wait_job(qtbot, job) == "stopped"
    with RunFile.open(job.path) as run:
        assert run.status == "stopped"
        stopped_at = run.step
        assert 2 <= stopped_at < 40
        assert run.latest_checkpoint() is not None
    runs = window.runs_view
    _scan(qtbot, runs)
    runs.select_path(job.path)
    assert runs.selected_path() == job.path
    assert runs.resume_button.isEnabled()
    runs.resume_button.click()
    resumed = window.controller.job_for(job.path)
    assert resumed is not None and resumed is not job
    assert not runs.rename_button.isEnabled() and not runs.delete_button.isEnabled()  # refused while running
    assert _wait_job(qtbot, resumed) == "finished"
    with RunFile.open(job.path) as run:
        assert run.status == "finished" and run.step == 40
        assert int(run.attrs["resumed_from_step"]) == stopped_at


def test_worker_error_shows_one_message_and_the_app_stays_usable(qtbot, window: MainWindow, tiny) -> None:  # noqa: ANN001
    job = window.start_training(tiny("trainer.max_steps=3", "trainer.device=cuda"))
    with qtbot.waitSignal(window.controller.jobFailed, timeout=TRAIN_TIMEOUT_MS) as blocker:
        pass
    message = blocker.args[1]
    assert "cuda" in message.lower() and "Traceback" not in message
    qtbot.waitUntil(lambda: not job.is_running, timeout=10_000)
    boxes = [b for b in window._error_boxes if b.isVisible()]
    assert len(boxes) == 1 and "cuda" in boxes[0].text().lower()
    assert not boxes[0].isModal()
    # still usable: another run starts and finishes
    again = window.start_training(tiny("trainer.max_steps=2"))
    assert _wait_job(qtbot, again) == "finished"


def test_missing_data_folder_is_reported(qtbot, window: MainWindow, tiny, tmp_path: Path) -> None:  # noqa: ANN001
    folder = tmp_path / "ucr" / "Gone"
    folder.mkdir(parents=True)
    rows = "\n".join(f"{i % 2}\t" + "\t".join(str((i * j) % 7 * 0.1) for j in range(32)) for i in range(20))
    (folder / "Gone_TRAIN.tsv").write_text(rows)
    (folder / "Gone_TEST.tsv").write_text(rows)
    window.controller.add_data_dir(tmp_path / "ucr")
    config = tiny("data.dataset=Gone", "trainer.max_steps=2")
    shutil.rmtree(tmp_path / "ucr")  # the folder disappears before training starts
    job = window.start_training(config)
    with qtbot.waitSignal(window.controller.jobFailed, timeout=TRAIN_TIMEOUT_MS) as blocker:
        pass
    assert "Gone" in blocker.args[1]
    qtbot.waitUntil(lambda: not job.is_running, timeout=10_000)
    assert window.start_button.isEnabled()


def test_training_view_draws_a_finished_run_file(qtbot, workspace: Path, finished_run: Path) -> None:  # noqa: ANN001
    from tsstudio.gui.training_view import TrainingView

    controller = AppController(workspace)
    view = TrainingView(controller)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    view.show_run(finished_run)
    qtbot.waitUntil(lambda: view.source.data.status == "finished", timeout=10_000)  # read on a pool thread
    data = view.source.data
    assert data.step == 8
    for name in ("loss", "recon_time", "recon_stft", "val_loss"):
        xs, ys = view.loss_curves[name][1].getData()
        assert xs is not None and len(xs) >= 1, name
    assert len(view.lr_curve.getData()[0]) == 8
    assert len(view.svm_curve.getData()[0]) >= 1
    assert view.spec_images[0].image is not None and view.spec_images[1].image is not None
    assert view.spec_images[0].image.dtype.name == "float32"
    assert len(view.usage_bars.opts["height"]) == 16
    assert "step 8 / 8" in view.progress.format()
    view.log_check.setChecked(False)
    view.smooth_slider.setValue(0)
    assert not view.loss_curves["loss"][0].isVisible()


def test_run_written_by_another_process_appears(qtbot, window: MainWindow, workspace: Path) -> None:  # noqa: ANN001
    out = workspace / "x.h5"
    sets = [
        "--set",
        "encoder.dim=16",
        "--set",
        "decoder.dim=16",
        "--set",
        "trainer.batch_size=32",
        "--set",
        "probes.at_start=false",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tsstudio", "train", "--dataset", "CBF", "--max-steps", "3", "--quiet", *sets, "--out", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        qtbot.waitUntil(lambda: out in window.runs_view.paths(), timeout=TRAIN_TIMEOUT_MS)
        summary = window.runs_view.summary_for(out)
        assert summary is not None and summary.dataset == "CBF"
        # once written, it can be followed and ends as finished in the list
        qtbot.waitUntil(lambda: window.runs_view.summary_for(out).status == "finished", timeout=TRAIN_TIMEOUT_MS)
    finally:
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()


def test_rename_and_delete_from_the_runs_list(qtbot, window: MainWindow, finished_run: Path, monkeypatch) -> None:  # noqa: ANN001
    path = window.controller.workspace / "copy.h5"
    shutil.copy(finished_run, path)
    runs = window.runs_view
    _scan(qtbot, runs)
    assert runs.proxy.rowCount() == 1
    runs.filter_edit.setText("nomatch")
    assert runs.proxy.rowCount() == 0
    runs.filter_edit.setText("cop")
    assert runs.proxy.rowCount() == 1
    renamed = runs.rename_run(path, "renamed")
    assert renamed.name == "renamed.h5" and renamed.exists() and not path.exists()
    qtbot.waitUntil(lambda: not runs.is_scanning(), timeout=10_000)
    assert runs.paths() == [renamed]
    runs.filter_edit.clear()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    runs.ask_delete(renamed)
    assert renamed.exists()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    runs.ask_delete(renamed)
    qtbot.waitUntil(lambda: not runs.is_scanning(), timeout=10_000)
    assert not renamed.exists() and runs.paths() == []


def test_workspace_switch_is_remembered(qtbot, window: MainWindow, tmp_path: Path) -> None:  # noqa: ANN001
    other = tmp_path / "other-ws"
    with qtbot.waitSignal(window.controller.workspaceChanged, timeout=1000):
        window.controller.set_workspace(other)
    assert other.is_dir()
    assert window.controller.recent_workspaces()[0] == str(other.resolve())
    assert [a.text() for a in window.recent_menu.actions()][0] == str(other.resolve())
    assert str(other.resolve()) in window.workspace_label.text()


def test_runs_list_columns_fit_the_sidebar_and_are_remembered(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    from tsstudio.gui.runs_view import COLUMNS, DEFAULT_HIDDEN, RunsView

    runs = window.runs_view
    table = runs.table
    shown = [name for col, name in enumerate(COLUMNS) if not table.isColumnHidden(col)]
    assert shown == [n for n in COLUMNS if n not in DEFAULT_HIDDEN]
    assert not table.horizontalScrollBar().isVisible()  # nothing cut off at the default dock width
    runs.set_column_visible("preset", True)
    runs.set_column_visible("svm", False)
    assert not table.isColumnHidden(COLUMNS.index("preset")) and table.isColumnHidden(COLUMNS.index("svm"))
    again = RunsView(window.controller)
    qtbot.addWidget(again)
    assert not again.table.isColumnHidden(COLUMNS.index("preset"))
    assert again.table.isColumnHidden(COLUMNS.index("svm"))
    with pytest.raises(ValueError, match="name"):
        runs.set_column_visible("name", False)
