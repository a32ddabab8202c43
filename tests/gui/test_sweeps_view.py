"""The Sweeps tab: spec editing and errors, the cell grid's colours, and real sweeps launched from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QPalette

from tsstudio.gui.controller import AppController
from tsstudio.gui.main_window import MainWindow
from tsstudio.gui.theme import THEMES, ThemeManager, contrast_ratio
from tsstudio.gui.views.sweeps_view import SweepsView
from tsstudio.gui.widgets.sweep_grid import STATUSES, cell_background

SCREEN = (1366, 768)


@pytest.fixture
def window(qtbot, workspace: Path) -> MainWindow:  # noqa: ANN001
    win = MainWindow(controller=AppController(workspace), theme=ThemeManager())
    qtbot.addWidget(win)
    win.resize(*SCREEN)
    win.show()
    qtbot.waitExposed(win)
    win.tabs.setCurrentWidget(win.sweeps_view)
    return win


def test_sweeps_tab_is_there_and_the_tab_bar_fits_1366_px(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    assert window.tabs.tabText(window.tabs.indexOf(window.sweeps_view)) == "Sweeps"
    qtbot.wait(50)
    assert window.tabs.tabBar().sizeHint().width() <= window.tabs.width()
    hint = window.minimumSizeHint()
    assert hint.width() <= SCREEN[0] and hint.height() <= SCREEN[1]


def test_template_spec_loads_into_a_grid_of_pending_cells(qtbot, window: MainWindow, tmp_path: Path) -> None:  # noqa: ANN001
    view: SweepsView = window.sweeps_view
    view.new_from_template()
    assert view.editor.document().isModified()
    assert view.save_to(tmp_path / "sweep.yaml")
    assert view.spec is not None and len(view.spec.cells()) == 4
    assert view.grid.table.rowCount() == 1 and view.grid.table.columnCount() == 4
    assert view.grid.table.verticalHeaderItem(0).text() == "CBF"
    assert view.grid.table.horizontalHeaderItem(2).text() == "barlowtwins-slice\nseed 0"
    qtbot.waitUntil(lambda: not view.poller.busy, timeout=10_000)
    for name in view.grid.names():
        item = view.grid.item_of(name)
        assert item.text() == "· pending" and name in item.toolTip()
    assert view.progress_label.text() == "0/4 finished · 4 pending"
    assert str(tmp_path / "my-sweep") in view.workspace_label.text()
    assert not view.editor.document().isModified() and (tmp_path / "sweep.yaml").read_text() == view.editor.toPlainText()


def test_spec_error_is_one_line_and_the_view_stays_usable(qtbot, window: MainWindow, tmp_path: Path) -> None:  # noqa: ANN001
    view: SweepsView = window.sweeps_view
    bad = tmp_path / "bad.yaml"
    bad.write_text("datasets: [CBF]\npresets: [regular, no-such-preset]\nseeds: [0]\n")
    assert not view.open_spec(bad)
    text = view.message.text()
    assert "\n" not in text and str(bad) in text and "presets" in text and "no-such-preset" in text
    assert view.spec is None and view.message.property("error")
    assert view.editor.toPlainText().startswith("datasets: [CBF]")  # the text stays, to be fixed
    view.editor.setPlainText("datasets: [CBF]\npresets: [regular]\nseeds: [0]\n  bad: [indent\n")
    assert not view.save()
    assert "not valid YAML" in view.message.text() and "line" in view.message.text()
    view.editor.setPlainText("datasets: [CBF]\npresets: [regular]\nseeds: [0, 1]\n")
    assert view.save()
    assert view.spec is not None and not view.message.property("error")
    assert view.grid.names() == ["cbf-regular-s0", "cbf-regular-s1"]
    assert view.launch_button.isEnabled() and not view.cancel_button.isEnabled()


def test_cell_text_stays_readable_on_every_status_tint_in_both_themes(qtbot, window: MainWindow,  # noqa: ANN001
                                                                     tmp_path: Path) -> None:
    from PySide6.QtWidgets import QApplication

    view: SweepsView = window.sweeps_view
    view.new_from_template()
    assert view.save_to(tmp_path / "sweep.yaml")
    item = view.grid.item_of(view.grid.names()[0])
    for name in (*THEMES, THEMES[0]):
        window.theme.apply(name)  # the cells follow at once, not at the next poll
        palette = QApplication.instance().palette()
        base, text = palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Text)
        assert item.background().color() == cell_background("pending", base, name), name
        assert (item.background().color().lightness() >= 128) == (name == "light")
        for status in STATUSES:
            background = cell_background(status, base, name)
            assert contrast_ratio(text, background) >= 4.5, (name, status)
        distinct = {cell_background(s, base, name).name() for s in STATUSES}
        assert len(distinct) == len(STATUSES), name


def test_double_clicking_a_cell_opens_its_run_in_the_training_tab(qtbot, window: MainWindow, tmp_path: Path,  # noqa: ANN001
                                                                  finished_run: Path) -> None:
    import shutil

    from PySide6.QtCore import Qt

    view: SweepsView = window.sweeps_view
    spec = tmp_path / "one.yaml"
    spec.write_text("datasets: [CBF]\npresets: [regular]\nseeds: [0, 1]\nstages: [tokenizer]\nworkspace: ws\n")
    (tmp_path / "ws").mkdir()
    shutil.copy(finished_run, tmp_path / "ws" / "cbf-regular-s1.h5")
    assert view.open_spec(spec)
    qtbot.waitUntil(lambda: view.grid.status_of("cbf-regular-s1") == "finished", timeout=10_000)
    assert view.grid.status_of("cbf-regular-s0") == "pending"
    assert view.grid.item_of("cbf-regular-s1").text() == "✓ finished"
    assert view.progress_label.text() == "1/2 finished · 1 pending"

    assert not view.open_cell("cbf-regular-s0")  # nothing to watch yet: said so, nothing opened
    assert "no run file yet" in view.message.text()
    assert window.tabs.currentWidget() is view

    table = view.grid.table
    item = view.grid.item_of("cbf-regular-s1")
    rect = table.visualItemRect(item)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # as a user does: press first
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.tabs.currentWidget() is window.training_view
    assert window.training_view.path == tmp_path / "ws" / "cbf-regular-s1.h5"
    qtbot.waitUntil(lambda: window.training_view.source.data.status == "finished", timeout=10_000)


def test_a_failed_cell_says_so_and_shows_its_error_in_the_tooltip(qtbot, window: MainWindow, tmp_path: Path) -> None:  # noqa: ANN001
    from tsstudio.sweep.spec import load_spec
    from tsstudio.sweep.status import record_failure

    spec_path = tmp_path / "f.yaml"
    spec_path.write_text("datasets: [CBF]\npresets: [regular]\nseeds: [0, 1]\nstages: [tokenizer]\nworkspace: ws\n")
    spec = load_spec(spec_path)
    record_failure(spec.workspace, spec.cells()[0], "tokenizer", "dataset CBF: series length 3 is too short")
    view: SweepsView = window.sweeps_view
    assert view.open_spec(spec_path)
    qtbot.waitUntil(lambda: view.grid.status_of("cbf-regular-s0") == "failed", timeout=10_000)
    item = view.grid.item_of("cbf-regular-s0")
    assert item.text() == "✗ failed\ntokenizer"
    assert "error: dataset CBF: series length 3 is too short" in item.toolTip()
    assert view.progress_label.text() == "0/2 finished · 1 failed · 1 pending"
    qtbot.waitUntil(lambda: view.summary is not None, timeout=10_000)
    assert "cbf-regular-s0" in view.summary_note.text()
    view.copy_button.click()
    from PySide6.QtGui import QGuiApplication

    copied = QGuiApplication.clipboard().text()
    assert copied == view.summary.markdown() and "## Failed cells" in copied and "series length 3" in copied


def test_the_last_spec_opens_again_and_unsaved_edits_are_not_dropped_silently(  # noqa: ANN001
        qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    view: SweepsView = window.sweeps_view
    spec = tmp_path / "mine.yaml"
    spec.write_text("datasets: [CBF]\npresets: [regular]\nseeds: [3]\n")
    assert view.open_spec(spec)
    view.editor.appendPlainText("# a note not saved yet")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    view.new_from_template()
    assert view.editor.toPlainText().endswith("# a note not saved yet") and view.spec_path == spec.resolve()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    view.new_from_template()
    assert view.editor.toPlainText().startswith("# A sweep") and view.spec_path is None

    again = SweepsView(window.controller)  # as at the next start of the app
    qtbot.addWidget(again)
    assert again.spec_path == spec.resolve() and again.grid.names() == ["cbf-regular-s3"]
    assert again.shutdown()


# ---------------------------------------------------------------------------------------------- real sweeps

TINY_OVERRIDES = [
    "trainer.batch_size=32", "trainer.device=cpu", "trainer.precision=fp32", "encoder.dim=16", "decoder.dim=16",
    "encoder.n_resnet_blocks=1", "decoder.n_resnet_blocks=1", "quantizer.codebook_size=16", "probes.at_start=false",
    "trainer.num_threads=1",
]


def _write_spec(folder: Path, presets: list[str], seeds: list[int], steps: int, stages: str = "[tokenizer, eval]",
                extra: tuple[str, ...] = ()) -> Path:
    overrides = "".join(f"  - {o}\n" for o in (*TINY_OVERRIDES, f"trainer.max_steps={steps}", *extra))
    path = folder / "tiny.yaml"
    path.write_text(f"name: tiny\ndatasets: [CBF]\npresets: [{', '.join(presets)}]\nseeds: {seeds}\n"
                    f"overrides:\n{overrides}stages: {stages}\nworkspace: ws\n", encoding="utf-8")
    return path


def _gone(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.slow
def test_a_tiny_sweep_launched_from_the_tab_finishes_and_fills_the_summary(qtbot, window: MainWindow,  # noqa: ANN001
                                                                          tmp_path: Path) -> None:
    view: SweepsView = window.sweeps_view
    assert view.open_spec(_write_spec(tmp_path, ["regular", "barlowtwins-slice"], [0], steps=2))
    view.workers_spin.setValue(2)
    finished: list[str] = []
    view.sweepFinished.connect(finished.append)
    assert view.launch()
    assert view.is_running and view.cancel_button.isEnabled() and not view.launch_button.isEnabled()
    assert view.editor.isReadOnly()
    pid = view.process.pid()
    qtbot.waitUntil(lambda: not view.is_running, timeout=300_000)
    log = view.log.toPlainText()
    assert finished == ["finished"] and view.process.exit_code == 0, log
    assert "--workers 2" in log.splitlines()[0] and _gone(pid)
    qtbot.waitUntil(lambda: view.grid.counts()["finished"] == 2 and view.summary is not None
                    and view.summary.counts.get("finished") == 2, timeout=30_000)
    assert all(view.grid.item_of(n).text() == "✓ finished" for n in view.grid.names())
    assert view.progress_label.text() == "2/2 finished"
    metrics = [view.metric_combo.itemText(i) for i in range(view.metric_combo.count())]
    assert "svm_accuracy" in metrics
    view.metric_combo.setCurrentText("svm_accuracy")
    table = view.summary_table
    assert [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())] == [
        "dataset", "regular", "barlowtwins-slice"]
    assert table.rowCount() == 1 and table.item(0, 0).text() == "CBF"
    assert all("(n=1)" in table.item(0, c).text() for c in (1, 2))
    assert any(table.item(0, c).font().bold() for c in (1, 2))  # the best of the row
    out = view.export_summary(tmp_path / "summary.csv", "csv")
    assert out is not None and out.read_text() == view.summary.csv() and "svm_accuracy,CBF,ours,regular" in out.read_text()
    md = view.export_summary(tmp_path / "summary.md", "md")
    assert md is not None and "## `svm_accuracy`" in md.read_text()
    assert view.launch_button.isEnabled() and not view.cancel_button.isEnabled() and not view.editor.isReadOnly()


def _launch_long_sweep(qtbot, view: SweepsView, tmp_path: Path) -> int:  # noqa: ANN001
    assert view.open_spec(_write_spec(tmp_path, ["regular"], [0], steps=5000, stages="[tokenizer]",
                                      extra=("trainer.checkpoint_every_steps=3",)))
    view.workers_spin.setValue(1)
    assert view.launch()
    name = "cbf-regular-s0"
    qtbot.waitUntil(lambda: view.grid.status_of(name) == "running" and view.states[name].step >= 4, timeout=300_000)
    text = view.grid.item_of(name).text()
    assert text.startswith("▶ running\ntokenizer ") and text.endswith("/5000"), text
    return view.process.pid()


@pytest.mark.slow
def test_cancel_stops_the_running_cells_and_the_process(qtbot, window: MainWindow, tmp_path: Path) -> None:  # noqa: ANN001
    view: SweepsView = window.sweeps_view
    pid = _launch_long_sweep(qtbot, view, tmp_path)
    assert view.open_cell("cbf-regular-s0")  # watched live in the Training tab while the sweep writes it
    training = window.training_view
    assert window.tabs.currentWidget() is training and training.path == tmp_path / "ws" / "cbf-regular-s0.h5"
    qtbot.waitUntil(lambda: training.source.data.status == "running" and training.source.data.step > 0, timeout=30_000)
    first = training.source.data.step
    qtbot.waitUntil(lambda: training.source.data.step > first, timeout=60_000)
    assert view.cancel()
    qtbot.waitUntil(lambda: not view.is_running, timeout=120_000)
    assert view.process.outcome == "cancelled" and view.process.exit_code == 130, view.log.toPlainText()
    assert _gone(pid)
    qtbot.waitUntil(lambda: view.grid.status_of("cbf-regular-s0") == "stopped", timeout=30_000)
    assert "launch it again to resume" in view.message.text()
    from tsstudio.store.runfile import RunFile

    with RunFile.open(tmp_path / "ws" / "cbf-regular-s0.h5") as run:
        assert run.status == "stopped" and run.step >= 3 and run.step < 5000


@pytest.mark.slow
def test_closing_the_window_during_a_sweep_asks_and_then_cancels_it(qtbot, window: MainWindow, tmp_path: Path,  # noqa: ANN001
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    view: SweepsView = window.sweeps_view
    pid = _launch_long_sweep(qtbot, view, tmp_path)
    asked: list[str] = []

    def answer(reply: QMessageBox.StandardButton):  # noqa: ANN202
        def question(parent, title, text, *args):  # noqa: ANN001, ANN002, ANN202
            asked.append(title)
            return reply
        return question

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    assert not window.close()  # kept open, the sweep goes on
    assert asked == ["A sweep is running"] and window.isVisible() and view.is_running
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    assert window.close()
    assert not view.is_running and view.process.exit_code == 130 and _gone(pid)
    assert view.poller._thread is None  # the poll thread has ended
    from tsstudio.sweep.spec import load_spec
    from tsstudio.sweep.status import cell_state

    spec = load_spec(tmp_path / "tiny.yaml")
    assert cell_state(spec.workspace, spec.cells()[0]).status == "stopped"


def test_launch_options_become_the_sweep_command_line(tmp_path: Path) -> None:
    import sys

    from tsstudio.gui.sweep_process import LaunchOptions, sweep_command

    local = sweep_command(tmp_path / "s.yaml", tmp_path / "ws", LaunchOptions("local", workers=3, address="x:1"))
    assert local == [sys.executable, "-m", "tsstudio", "sweep", str(tmp_path / "s.yaml"), "--workspace",
                     str(tmp_path / "ws"), "--executor", "local", "--workers", "3"]
    assert LaunchOptions("local").arguments() == ["--executor", "local"]  # auto: the CLI sizes the pool
    assert LaunchOptions("ray", workers=3, address=" 10.0.0.5:6379 ").arguments() == [
        "--executor", "ray", "--address", "10.0.0.5:6379"]
    assert LaunchOptions("ray").arguments() == ["--executor", "ray"]  # RAY_ADDRESS, else a local cluster


def test_ray_choice_shows_the_address_field_instead_of_workers(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    view: SweepsView = window.sweeps_view
    assert view.workers_spin.isVisible() and not view.address_edit.isVisible()
    view.executor_combo.setCurrentIndex(view.executor_combo.findData("ray"))
    assert view.address_edit.isVisible() and not view.workers_spin.isVisible()


@pytest.mark.slow
def test_a_sweep_started_in_a_terminal_is_followed_live(qtbot, window: MainWindow, tmp_path: Path) -> None:  # noqa: ANN001
    import signal
    import subprocess
    import sys

    view: SweepsView = window.sweeps_view
    spec = _write_spec(tmp_path, ["regular"], [0], steps=5000, stages="[tokenizer]",
                       extra=("trainer.checkpoint_every_steps=3",))
    process = subprocess.Popen([sys.executable, "-m", "tsstudio", "sweep", str(spec), "--workers", "1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert view.open_spec(spec) and not view.is_running
        name = "cbf-regular-s0"
        qtbot.waitUntil(lambda: view.grid.status_of(name) == "running" and view.states[name].step > 0, timeout=120_000)
        first = view.states[name].step
        qtbot.waitUntil(lambda: view.states[name].step > first, timeout=60_000)  # polled again and again
        assert not view.cancel_button.isEnabled()  # not ours to cancel
        process.send_signal(signal.SIGINT)
        assert process.wait(120) == 130
        qtbot.waitUntil(lambda: view.grid.status_of(name) == "stopped", timeout=30_000)
        assert view._timer.interval() == 5000  # nothing runs: polled now and then, in case it is launched again
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


@pytest.mark.slow
def test_a_sweep_launched_on_a_ray_address_finishes(qtbot, window: MainWindow, tmp_path: Path,  # noqa: ANN001
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ray = pytest.importorskip("ray")
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=1, include_dashboard=False, object_store_memory=100 * 1024**2, log_to_driver=False)
    try:
        address = ray.get_runtime_context().gcs_address  # this machine's cluster, reached as a remote one would be
        view: SweepsView = window.sweeps_view
        assert view.open_spec(_write_spec(tmp_path, ["regular"], [0], steps=2, stages="[tokenizer]"))
        view.executor_combo.setCurrentIndex(view.executor_combo.findData("ray"))
        view.address_edit.setText(address)
        assert view.launch()
        qtbot.waitUntil(lambda: not view.is_running, timeout=300_000)
        log = view.log.toPlainText()
        assert view.process.exit_code == 0, log
        assert f"--executor ray --address {address}" in log.splitlines()[0] and "Ray tasks" in log
        qtbot.waitUntil(lambda: view.grid.status_of("cbf-regular-s0") == "finished", timeout=30_000)
    finally:
        ray.shutdown()


def test_a_sweep_that_cannot_start_says_so_and_the_tab_stays_usable(qtbot, window: MainWindow, tmp_path: Path,  # noqa: ANN001
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    view: SweepsView = window.sweeps_view
    assert view.open_spec(_write_spec(tmp_path, ["regular"], [0], steps=2))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    view.launch()
    qtbot.waitUntil(lambda: view.process.exit_code is not None, timeout=10_000)
    assert view.process.outcome == "failed" and not view.is_running
    assert "could not start" in view.log.toPlainText() and str(tmp_path / "no-such-python") in view.log.toPlainText()
    assert view.message.property("error") and "see the Log tab" in view.message.text()
    assert view.launch_button.isEnabled() and not view.cancel_button.isEnabled() and not view.editor.isReadOnly()
