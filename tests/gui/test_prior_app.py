"""Prior runs from the app: run kind in Configure, the tokenizer run it trains on, Start through the
CLI's loop, refusals of tokenizer runs that are missing or not finished, and the prior's own panels."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tsstudio.cli.main import main
from tsstudio.config import load_preset
from tsstudio.errors import TsstudioError
from tsstudio.gui.controller import AppController
from tsstudio.gui.main_window import MainWindow
from tsstudio.gui.theme import ThemeManager
from tsstudio.store import RunFile
from tsstudio.sweep.runner import train_run
from tsstudio.train import TrainingControl

TRAIN_TIMEOUT_MS = 120_000
# a small, fast prior (the form's values and the CLI's --set flags)
PRIOR_VALUES = {"trainer.max_steps": 4, "trainer.batch_size": 32, "trainer.device": "cpu", "trainer.precision": "fp32",
                "trainer.snapshot_every_steps": 2, "trainer.checkpoint_every_steps": 2, "prior.hidden_dim": 32,
                "prior.n_layers": 1, "prior.decoding_steps": 3}


@pytest.fixture
def window(qtbot, workspace: Path, finished_run: Path) -> MainWindow:  # noqa: ANN001
    shutil.copy(finished_run, workspace / "tok.h5")
    win = MainWindow(controller=AppController(workspace), theme=ThemeManager())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def _prior_form(qtbot, window: MainWindow):  # noqa: ANN001, ANN202
    form = window.config_form
    window.tabs.setCurrentIndex(2)
    form.set_run_kind("prior")
    qtbot.waitUntil(lambda: not form.is_busy(), timeout=30_000)
    return form


def _boxes(window: MainWindow) -> list[QMessageBox]:
    return [b for b in window.findChildren(QMessageBox) if b.isVisible()]


def _names(path: Path) -> set[str]:
    with h5py.File(path, "r") as f:
        names: list[str] = []
        f.visit(names.append)
    return set(names)


def test_presets_are_offered_per_run_kind(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    form = window.config_form
    assert form.run_kind() == "tokenizer"
    assert "regular" in form.preset_names() and not any(n.startswith("maskgit") for n in form.preset_names())
    form = _prior_form(qtbot, window)
    assert form.preset_names() == ["maskgit", "maskgit-stochastic"]
    assert form.tokenizer_row.isVisible() and form._sections["prior"].isVisible()
    assert not form._sections["encoder"].isVisible() and not form._sections["ssl"].isVisible()
    form.set_run_kind("tokenizer")
    assert "maskgit" not in form.preset_names() and form.config().preset == "regular"


def test_a_prior_trained_from_the_app_is_the_cli_s_run(qtbot, window: MainWindow, workspace: Path, tmp_path: Path) -> None:  # noqa: ANN001
    form = _prior_form(qtbot, window)
    tok = workspace / "tok.h5"
    assert form.tokenizer_choices() == [str(tok)]  # the workspace's finished tokenizer runs
    assert not form.is_valid() and "Pick the tokenizer run" in form.error()
    form.tokenizer_combo.setCurrentIndex(1)
    form.tokenizer_combo.activated.emit(1)
    assert form.tokenizer_run() == tok
    form.set_value("prior.variant", "token-context")
    for key, value in PRIOR_VALUES.items():
        form.set_value(key, value)
    assert form.is_valid(), form.error()
    qtbot.waitUntil(lambda: "parameters: counting" not in form.facts_text() and not form.is_busy(), timeout=30_000)
    facts = form.facts_text()
    assert "token grid 5 × 8 = 40 tokens" in facts and "sequence length 41" in facts
    assert "parameters: " in facts and "runs on: cpu, fp32" in facts

    window.start_button.click()
    jobs = window.controller.jobs
    assert len(jobs) == 1 and jobs[0].kind == "prior"
    job = jobs[0]
    with qtbot.waitSignal(window.controller.jobFinished, timeout=TRAIN_TIMEOUT_MS) as blocker:
        pass
    assert blocker.args[1] == "finished", job.read().message
    assert "maskgit" in job.path.name

    cli = tmp_path / "cli.h5"
    sets = [a for k, v in PRIOR_VALUES.items() if k != "trainer.max_steps" for a in ("--set", f"{k}={v}")]
    assert main(["prior", "--tokenizer", str(tok), "--variant", "token-context", "--max-steps", "4",
                 "--out", str(cli), "--quiet", *sets]) == 0
    with RunFile.open(job.path) as app_run, RunFile.open(cli) as cli_run:
        assert app_run.kind == cli_run.kind == "prior"
        assert app_run.status == cli_run.status == "finished"
        assert app_run.config == cli_run.config and app_run.config["prior"]["variant"] == "token-context"
        for key in ("tokenizer_run", "tokenizer_step", "tokenizer_created", "dataset", "data_source"):
            assert app_run.attrs[key] == cli_run.attrs[key], key
        assert app_run.attrs["tokenizer_run"] == str(tok.resolve())
        assert set(app_run.attrs) == set(cli_run.attrs)
        assert app_run.metric_names() == cli_run.metric_names()
        for name in ("loss", "masked_accuracy", "lr"):
            assert len(app_run.metric(name)[0]) == 4
        assert len(app_run.metric("val_prior_loss")[0]) >= 1
        assert app_run.latest_checkpoint() is not None and app_run.latest_checkpoint()[0] == 4
        assert app_run.snapshots()["recon"].shape[1:] == (6, 128)
    assert _names(job.path) == _names(cli)  # the same datasets: weights, checkpoints, snapshots, metrics
    view = window.training_view  # the app followed its job with the prior's panels
    assert view.path == job.path
    qtbot.waitUntil(lambda: view.shows_prior_panels() and view.prior_panels.sample_count() == 6, timeout=10_000)
    assert not form.set_tokenizer_run(job.path)  # a prior is no tokenizer to train a prior on
    assert "is a prior run, not a tokenizer run" in form.error()


def test_a_missing_tokenizer_file_is_one_message(qtbot, window: MainWindow, workspace: Path) -> None:  # noqa: ANN001
    form = _prior_form(qtbot, window)
    tok = workspace / "tok.h5"
    assert form.set_tokenizer_run(tok)
    tok.rename(workspace / "moved.h5")
    window.start_button.click()
    boxes = _boxes(window)
    assert len(boxes) == 1 and "tok.h5: tokenizer run file not found" in boxes[0].text()
    assert not window.controller.jobs
    boxes[0].close()
    # the app stays usable: the form refuses the file it now cannot find, and accepts another
    assert not form.set_tokenizer_run(tok)
    assert not form.is_valid() and "tokenizer run file not found" in form.error()
    assert form.set_tokenizer_run(workspace / "moved.h5") and form.is_valid()


def test_a_tokenizer_run_that_is_not_finished_is_refused(qtbot, window: MainWindow, workspace: Path, tiny) -> None:  # noqa: ANN001
    control = TrainingControl()
    control.request_stop()
    stopped = workspace / "stopped.h5"
    assert train_run(tiny("trainer.max_steps=8"), stopped, control=control).status == "stopped"
    form = _prior_form(qtbot, window)
    form.refresh_tokenizers()
    qtbot.waitUntil(lambda: not form.is_busy(), timeout=10_000)
    assert str(stopped) not in form.tokenizer_choices()
    assert not form.set_tokenizer_run(stopped)
    assert "the tokenizer run is stopped, not finished" in form.error() and not window.start_button.isEnabled()
    assert "stopped.h5" in form.message.text()
    with pytest.raises(TsstudioError, match="stopped, not finished"):  # the controller checks too
        window.controller.start_prior(load_preset("maskgit", kind="prior"), stopped)
    assert not window.controller.jobs and not _boxes(window)


@pytest.fixture(scope="module")
def prior_run(tmp_path_factory, finished_run: Path) -> Path:  # noqa: ANN001
    """A small finished prior, trained by the CLI on the session's tokenizer run."""
    path = tmp_path_factory.mktemp("prior") / "prior.h5"
    sets = [a for k, v in PRIOR_VALUES.items() if k != "trainer.max_steps" for a in ("--set", f"{k}={v}")]
    assert main(["prior", "--tokenizer", str(finished_run), "--max-steps", "4", "--out", str(path), "--quiet", *sets]) == 0
    return path


def test_the_training_view_shows_each_kind_s_own_panels(qtbot, workspace: Path, prior_run: Path,  # noqa: ANN001
                                                        finished_run: Path) -> None:
    from tsstudio.gui.training_view import TrainingView

    view = TrainingView(AppController(workspace))
    qtbot.addWidget(view)
    view.resize(1366, 700)
    view.show()
    view.show_run(prior_run)
    panels = view.prior_panels
    qtbot.waitUntil(lambda: view.shows_prior_panels() and panels.sample_count() == 6, timeout=10_000)
    assert len(panels.loss.line.yData) == 4 and len(panels.loss.val.yData) >= 1  # loss, train and test
    assert len(panels.accuracy.line.yData) == 4 and len(panels.accuracy.val.yData) >= 1  # masked-token accuracy
    assert 0 <= panels.accuracy.line.yData.min() <= panels.accuracy.line.yData.max() <= 1
    assert len(panels.lr_curve.yData) == 4
    with RunFile.open(prior_run) as run:
        snaps = run.snapshots(last=1)
    recon = snaps["recon"][-1]
    first = panels.sample_curves[0].yData  # class 0's samples, NaN-separated, as stored
    assert np.array_equal(first[: recon.shape[1]], recon[0])
    assert panels.panel_titles() == ["class 0 (2 samples)", "class 1 (2 samples)", "class 2 (2 samples)"]  # CBF
    assert panels.spec_images[0].image is not None and panels.spec_images[0].image.shape[0] == 5  # n_fft 8: 5 bins
    assert f"step {int(snaps['steps'][-1])}" in panels.samples_title.text
    assert "sample perplexity" in panels.headline.text()

    view.show_run(finished_run)  # a tokenizer run: the tokenizer's panels again
    qtbot.waitUntil(lambda: bool(view.loss_curves), timeout=10_000)
    assert not view.shows_prior_panels() and view.stack.currentIndex() == 1
    assert panels.sample_count() == 0  # the prior's panels were emptied
    view.close()


def test_a_prior_stops_and_resumes_like_a_tokenizer(qtbot, window: MainWindow, workspace: Path) -> None:  # noqa: ANN001
    form = _prior_form(qtbot, window)
    assert form.set_tokenizer_run(workspace / "tok.h5")
    for key, value in {**PRIOR_VALUES, "trainer.max_steps": 60, "trainer.checkpoint_every_steps": 500}.items():
        form.set_value(key, value)
    job = window.start_training()
    assert job is not None and job.kind == "prior"
    view = window.training_view
    assert view.path == job.path and view.shows_prior_panels()  # live, from the job, before its first step
    qtbot.waitUntil(lambda: job.read(10**9).step >= 2, timeout=TRAIN_TIMEOUT_MS)
    view.stop()
    with qtbot.waitSignal(job.finished, timeout=TRAIN_TIMEOUT_MS) as blocker:
        pass
    assert blocker.args[0] == "stopped"
    with RunFile.open(job.path) as run:
        stopped_at = run.step
        assert run.status == "stopped" and 2 <= stopped_at < 60 and run.latest_checkpoint()[0] == stopped_at
    qtbot.waitUntil(lambda: view.resume_button.isEnabled(), timeout=10_000)
    tok = workspace / "tok.h5"
    tok.rename(workspace / "away.h5")  # its tokenizer gone: the resume is refused, in one line
    view.resume_button.click()
    assert "tok.h5: tokenizer run file not found" in view.status_label.text() and not window.controller.jobs
    (workspace / "away.h5").rename(tok)
    view.resume_button.click()
    resumed = window.controller.job_for(job.path)
    assert resumed is not None and resumed is not job and resumed.kind == "prior"
    with qtbot.waitSignal(resumed.finished, timeout=TRAIN_TIMEOUT_MS) as blocker:
        pass
    assert blocker.args[0] == "finished"
    with RunFile.open(job.path) as run:
        assert run.kind == "prior" and run.status == "finished" and run.step == 60
        assert int(run.attrs["resumed_from_step"]) == stopped_at
        assert run.attrs["tokenizer_run"] == str((workspace / "tok.h5").resolve())


def test_the_runs_list_shows_a_prior_s_own_validation_loss(qtbot, window: MainWindow, workspace: Path,  # noqa: ANN001
                                                           prior_run: Path) -> None:
    from tsstudio.gui.runs_view import COLUMNS

    shutil.copy(prior_run, workspace / "prior.h5")
    runs = window.runs_view
    runs.refresh()
    qtbot.waitUntil(lambda: not runs.is_scanning() and workspace / "prior.h5" in runs.paths(), timeout=10_000)
    with RunFile.open(prior_run) as run:
        val_prior_loss = float(run.metric("val_prior_loss")[2][-1])
    with RunFile.open(workspace / "tok.h5") as run:
        val_loss = float(run.metric("val_loss")[2][-1])
    model, col = runs.model, COLUMNS.index("val_loss")

    def shown(name: str) -> str:
        return model.data(model.index(model.row_of(workspace / name), col))

    assert shown("prior.h5") == f"{val_prior_loss:.4f}"  # the prior's masked-token loss, not an empty cell
    assert shown("tok.h5") == f"{val_loss:.4f}"  # a tokenizer's reconstruction loss, as before
    assert "val_prior_loss" in model.headerData(col, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
