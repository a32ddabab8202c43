"""Evaluation and export jobs from the runs list, files that are not runs, plot and table export."""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage
from sampler_runs import train_tiny_prior

from tsstudio.cli.main import main
from tsstudio.errors import TsstudioError
from tsstudio.gui.controller import AppController
from tsstudio.gui.main_window import MainWindow
from tsstudio.gui.plot_export import export_plot
from tsstudio.gui.runs_view import RunsView
from tsstudio.gui.theme import ThemeManager
from tsstudio.store.exports import export_tokens, read_token_export
from tsstudio.store.run_eval import evaluate_prior_run, evaluate_run
from tsstudio.store.runfile import RunFile

WAIT_MS = 120_000


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tok.h5 (tokenizer, 4 steps) and prior.h5 (3 steps on it), trained once for this module."""
    folder = tmp_path_factory.mktemp("jobs-app")
    train_tiny_prior(folder)
    return folder


def _scan(qtbot, runs: RunsView) -> None:  # noqa: ANN001
    runs.refresh()
    qtbot.waitUntil(lambda: not runs.is_scanning(), timeout=10_000)


def _runs_view(qtbot, workspace: Path) -> RunsView:  # noqa: ANN001
    runs = RunsView(AppController(workspace))
    qtbot.addWidget(runs)
    runs.resize(600, 500)
    runs.show()
    _scan(qtbot, runs)
    return runs


def _finish(qtbot, job) -> tuple[str, str]:  # noqa: ANN001
    if job.is_running:
        with qtbot.waitSignal(job.finished, timeout=WAIT_MS) as blocker:
            pass
        return tuple(blocker.args)
    state = job.state()
    return state.status, state.message


def test_evaluating_a_tokenizer_run_from_the_app_stores_what_tsstudio_eval_stores(qtbot, workspace, trained, tmp_path) -> None:  # noqa: ANN001
    app_copy = Path(shutil.copy(trained / "tok.h5", workspace / "tok.h5"))
    cli_copy = Path(shutil.copy(trained / "tok.h5", tmp_path / "tok-cli.h5"))
    assert main(["eval", str(cli_copy)]) == 0
    runs = _runs_view(qtbot, workspace)
    assert runs.can_evaluate(app_copy)
    [job] = runs.evaluate([app_copy])
    assert runs.jobs_panel.isVisible() and runs.jobs_panel.row_for(job) is not None
    assert not runs.rename_button.isEnabled() or runs.selected_path() != app_copy  # busy while evaluated
    assert _finish(qtbot, job)[0] == "finished"
    with RunFile.open(app_copy) as a, RunFile.open(cli_copy) as b:
        app_eval, cli_eval = a.evaluation(), b.evaluation()
    assert set(app_eval) == set(cli_eval) and "svm_accuracy" in app_eval and "perplexity" in app_eval
    assert app_eval.pop("evaluated") >= cli_eval.pop("evaluated")  # when: the only figure that differs
    for key, value in cli_eval.items():
        if isinstance(value, float):
            assert app_eval[key] == pytest.approx(value, rel=1e-5, abs=1e-7), key
        elif isinstance(value, np.ndarray):
            np.testing.assert_allclose(app_eval[key], value, rtol=1e-5, err_msg=key)
        else:
            assert app_eval[key] == value, key
    qtbot.waitUntil(lambda: not runs.is_scanning() and runs.summary_for(app_copy).headline.get("svm_accuracy") is not None,
                    timeout=10_000)  # the list rereads the file when the job ends
    assert runs.summary_for(app_copy).headline["svm_accuracy"] == pytest.approx(cli_eval["svm_accuracy"])
    qtbot.waitUntil(lambda: not runs.jobs_panel.isVisible(), timeout=5_000)


def test_cancelling_an_evaluation_keeps_the_run_file_and_its_previous_evaluation(qtbot, workspace, trained) -> None:  # noqa: ANN001
    run = Path(shutil.copy(trained / "tok.h5", workspace / "tok.h5"))
    previous = evaluate_run(run)
    before = digest(run)
    runs = _runs_view(qtbot, workspace)
    [job] = runs.evaluate([run])
    job.cancel()
    status, message = _finish(qtbot, job)
    assert status == "cancelled" and "nothing was written" in message
    assert digest(run) == before
    with RunFile.open(run) as rf:
        assert rf.evaluation()["svm_accuracy"] == previous["svm_accuracy"]
    assert runs.can_evaluate(run)  # free again


def test_a_prior_evaluation_job_reports_progress_and_cancels_cleanly(qtbot, workspace, trained) -> None:  # noqa: ANN001
    run = Path(shutil.copy(trained / "prior.h5", workspace / "prior.h5"))
    before = digest(run)
    runs = _runs_view(qtbot, workspace)
    [job] = runs.evaluate([run], fcn_epochs=100_000, cas_epochs=1)
    qtbot.waitUntil(lambda: job.state().stage.startswith("FCN classifier") and job.state().done >= 2, timeout=WAIT_MS)
    row = runs.jobs_panel.row_for(job)
    qtbot.waitUntil(lambda: "FCN classifier" in row.bar.format(), timeout=5_000)
    assert job.state().total == 100_000 and row.cancel.isEnabled()
    row.cancel.click()
    assert not row.cancel.isEnabled()
    assert _finish(qtbot, job)[0] == "cancelled"
    assert digest(run) == before
    cache = workspace / "fcn-cache"
    assert not cache.exists() or not any(cache.iterdir())  # a cancelled classifier is not cached


def test_a_whole_prior_evaluation_from_the_app_matches_the_core(qtbot, workspace, trained, tmp_path) -> None:  # noqa: ANN001
    app_copy = Path(shutil.copy(trained / "prior.h5", workspace / "prior.h5"))
    core_copy = Path(shutil.copy(trained / "prior.h5", tmp_path / "prior-core.h5"))
    options = {"fcn_epochs": 2, "cas_epochs": 2}
    expected = evaluate_prior_run(core_copy, device="auto", fcn_cache=tmp_path / "cache", **options)
    runs = _runs_view(qtbot, workspace)
    [job] = runs.evaluate([app_copy], **options)
    assert _finish(qtbot, job)[0] == "finished"
    with RunFile.open(app_copy) as rf:
        stored = rf.evaluation()
    figures = {k: v for k, v in expected.items() if isinstance(v, float)}
    assert {"fcn_test_accuracy"} <= set(figures) and any(k.startswith("fid") for k in figures)
    assert any(k.startswith("cas") for k in figures) and len(figures) >= 4
    for key, value in figures.items():  # FID, IS, CAS, the real-vs-real floor, the FCN's accuracy
        assert stored[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    assert stored["fcn_epochs"] == 2 and stored["cas_epochs"] == 2


def test_cancelling_a_token_export_leaves_no_file(qtbot, workspace, trained) -> None:  # noqa: ANN001
    run = Path(shutil.copy(trained / "tok.h5", workspace / "tok.h5"))
    runs = _runs_view(qtbot, workspace)
    out = workspace / "exports" / "tokens.h5"
    out.parent.mkdir()
    job = runs.export_tokens(run, out, "train")
    job.cancel()
    status, message = _finish(qtbot, job)
    assert status == "cancelled" and "no file written" in message
    assert list(out.parent.iterdir()) == []
    job = runs.export_tokens(run, workspace / "missing-folder" / "t.h5")
    status, message = _finish(qtbot, job)
    assert status == "failed" and message and not (workspace / "missing-folder").exists()
    job = runs.export_tokens(run, out, "test")  # and one that runs to the end, as export-tokens writes it
    assert _finish(qtbot, job)[0] == "finished"
    cli_out = workspace / "exports" / "cli.h5"
    assert main(["export-tokens", str(run), "--split", "test", "--out", str(cli_out)]) == 0
    ours, theirs = read_token_export(out), read_token_export(cli_out)
    assert list(ours.tokens) == ["test"]
    np.testing.assert_array_equal(ours.tokens["test"], theirs.tokens["test"])
    assert ours.tokens["test"].dtype == theirs.tokens["test"].dtype


def test_generations_and_token_exports_are_listed_apart_and_open_where_they_fit(qtbot, workspace, trained) -> None:  # noqa: ANN001
    shutil.copy(trained / "tok.h5", workspace / "tok.h5")
    gen = workspace / "gen.h5"
    assert main(["sample", str(trained / "prior.h5"), "--n", "4", "--class", "1", "--out", str(gen)]) == 0
    tokens = export_tokens(trained / "tok.h5", workspace / "tokens.h5", split="test")
    window = MainWindow(controller=AppController(workspace), theme=ThemeManager())
    qtbot.addWidget(window)
    try:
        runs = window.runs_view
        window.show()
        _scan(qtbot, runs)
        assert runs.paths() == [workspace / "tok.h5"]  # not among the runs
        assert sorted(runs.file_paths()) == [gen, tokens]
        assert runs.files_table.isVisible() and runs.files_label.isVisible()
        model = runs.files_model
        texts = {model.summary(r).name: [model.data(model.index(r, c)).replace("\u00a0", " ") for c in range(4)]
                 for r in range(model.rowCount())}
        assert texts["gen"][1] == "generations" and "prior prior" in texts["gen"][3] and "class 1" in texts["gen"][3]
        assert "N 4" in texts["gen"][3]
        n_test = len(read_token_export(tokens).labels["test"])
        assert texts["tokens"][1:3] == ["tokens", "CBF"]
        assert "tokenizer tok" in texts["tokens"][3] and f"N test {n_test}" in texts["tokens"][3]

        with qtbot.waitSignal(window.sampler_view.shown, timeout=WAIT_MS):
            runs.open_file(gen)
        assert window.tabs.currentWidget() is window.sampler_view and window.sampler_view.grid.count() == 4
        qtbot.waitUntil(lambda: not window.sampler_view.service.busy, timeout=WAIT_MS)

        with qtbot.waitSignal(window.token_browser.loaded, timeout=WAIT_MS):
            runs.open_file(tokens)
        browser = window.token_browser
        assert window.tabs.currentWidget() is browser
        assert browser.split() == "test" and browser.series_spin.maximum() == n_test - 1
        browser.select("test", 3)
        expected = read_token_export(tokens).tokens["test"][3]
        np.testing.assert_array_equal(browser.grid.tokens(), expected)
        assert browser.grid.describe(0, 0) == f"frequency 0, time 0: code {int(expected[0, 0])}"
        assert window.training_view.isHidden() or window.tabs.currentWidget() is not window.training_view
    finally:
        window.close()


def test_plot_export_writes_a_valid_png_and_svg_and_refuses_other_names(qtbot, workspace, trained, tmp_path) -> None:  # noqa: ANN001
    tokens = export_tokens(trained / "tok.h5", workspace / "tokens.h5", split="test")
    out = tmp_path / "plots"
    out.mkdir()
    window = MainWindow(controller=AppController(workspace), theme=ThemeManager())
    qtbot.addWidget(window)
    try:
        window.resize(1366, 768)
        window.show()
        with qtbot.waitSignal(window.token_browser.loaded, timeout=WAIT_MS):
            window.open_file(str(tokens), "export")
        plots = window.current_plots()
        assert window.token_browser.grid in plots and window.token_browser.usage_plot in plots
        png = export_plot(window.token_browser.grid, out / "grid.png")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        image = QImage(str(png))
        assert not image.isNull() and image.width() == 1600
        svg = export_plot(window.token_browser.usage_plot, out / "usage.svg")
        root = ET.fromstring(svg.read_text())
        assert root.tag.endswith("svg") and len(list(root.iter())) > 10
        with pytest.raises(TsstudioError, match=r"grid\.jpg: expected a \.png or \.svg"):
            export_plot(window.token_browser.grid, out / "grid.jpg")
        assert sorted(p.name for p in out.iterdir()) == ["grid.png", "usage.svg"]  # no partial files
    finally:
        window.close()


def test_runs_table_copies_and_exports_as_csv(qtbot, workspace, trained, tmp_path) -> None:  # noqa: ANN001
    shutil.copy(trained / "tok.h5", workspace / "a.h5")
    shutil.copy(trained / "prior.h5", workspace / "b.h5")
    runs = _runs_view(qtbot, workspace)
    rows = list(csv.reader(io.StringIO(runs.table_csv())))
    assert rows[0][:3] == ["name", "status", "kind"]
    assert sorted((r[0], r[2]) for r in rows[1:]) == [("a", "tokenizer"), ("b", "prior")]
    runs.filter_edit.setText("prior")
    assert [r[0] for r in csv.reader(io.StringIO(runs.table_csv()))][1:] == ["b"]  # as filtered on screen
    (tmp_path / "csv").mkdir()
    out = runs.export_table_csv(tmp_path / "csv" / "runs.csv")
    assert out.read_text() == runs.table_csv() and [p.name for p in (tmp_path / "csv").iterdir()] == ["runs.csv"]
    runs.copy_table_csv()
    from PySide6.QtWidgets import QApplication

    assert QApplication.clipboard().text() == runs.table_csv()


def test_a_prior_s_evaluation_options_are_asked_and_used(qtbot, workspace, trained) -> None:  # noqa: ANN001
    from tsstudio.gui.background_jobs import PRIOR_EVAL_DEFAULTS
    from tsstudio.gui.widgets.prior_eval_dialog import PriorEvalDialog

    run = Path(shutil.copy(trained / "prior.h5", workspace / "prior.h5"))
    runs = _runs_view(qtbot, workspace)
    runs.ask_evaluate([run])
    [dialog] = [d for d in runs.findChildren(PriorEvalDialog) if d.isVisible()]
    assert dialog.options() == PRIOR_EVAL_DEFAULTS  # as `tsstudio eval` runs it unless told otherwise
    assert not runs.controller.background_jobs  # nothing starts before the options are confirmed
    dialog.fcn_epochs.setValue(2)
    dialog.with_cas.setChecked(False)
    assert not dialog.cas_epochs.isEnabled()
    dialog.accept()
    [job] = runs.controller.background_jobs
    assert _finish(qtbot, job)[0] == "finished"
    with RunFile.open(run) as rf:
        stored = rf.evaluation()
    assert stored["fcn_epochs"] == 2 and "fcn_test_accuracy" in stored
    assert not any(key.startswith("cas_accuracy") for key in stored)  # CAS was turned off
