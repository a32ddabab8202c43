"""The window fits a 1366 × 768 screen with a run shown, and text stays readable in both themes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QAbstractSpinBox

from tsstudio.gui.controller import AppController
from tsstudio.gui.main_window import MainWindow
from tsstudio.gui.theme import STATUS_COLORS, THEMES, ThemeManager, contrast_ratio, status_color

SCREEN = (1366, 768)


@pytest.fixture
def window(qtbot, workspace: Path) -> MainWindow:  # noqa: ANN001
    win = MainWindow(controller=AppController(workspace), theme=ThemeManager())
    qtbot.addWidget(win)
    win.resize(*SCREEN)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_window_fits_1366_by_768_after_showing_a_finished_run(qtbot, window: MainWindow, finished_run: Path) -> None:  # noqa: ANN001
    # a long name, as the app writes them, and a long workspace path
    path = window.controller.workspace / "GunPoint-barlowtwins-slice-and-shuffle-20261201-203000.h5"
    shutil.copy(finished_run, path)
    window.open_run(str(path))
    view = window.training_view
    qtbot.waitUntil(lambda: view.source is not None and view.source.data.status == "finished", timeout=10_000)
    qtbot.wait(50)
    hint = window.minimumSizeHint()
    assert hint.width() <= SCREEN[0] and hint.height() <= SCREEN[1]
    window.resize(*SCREEN)
    qtbot.wait(50)
    assert (window.width(), window.height()) == SCREEN
    for button in (view.start_button, view.pause_button, view.resume_button, view.stop_button):  # all on screen
        right = button.mapTo(window, QPoint(button.width(), button.height()))
        assert 0 < right.x() <= SCREEN[0] and 0 < right.y() <= SCREEN[1], button.text()
    last_column = view.probe_plot.mapTo(window, QPoint(view.probe_plot.width(), 0))
    assert last_column.x() <= SCREEN[0]


def _legends(widget: pg.PlotWidget | pg.GraphicsLayoutWidget) -> list[pg.LegendItem]:
    return [item for item in widget.scene().items() if isinstance(item, pg.LegendItem)]


def test_legend_and_header_text_contrast_in_both_themes(qtbot, window: MainWindow, finished_run: Path) -> None:  # noqa: ANN001
    window.open_run(str(finished_run))
    qtbot.waitUntil(lambda: window.training_view.source.data.status == "finished", timeout=10_000)
    qtbot.waitUntil(lambda: window.datasets_view.current_dataset() is not None, timeout=30_000)
    qtbot.waitUntil(lambda: window.augment_view.views() is not None, timeout=30_000)
    views = (window.datasets_view, window.augment_view, window.training_view)
    for name in (*THEMES, THEMES[0]):  # and back again
        window.theme.apply(name)
        qtbot.wait(10)
        checked = 0
        for view in views:
            for widget in view.plot_widgets():
                background = widget.backgroundBrush().color()
                for legend in _legends(widget):
                    for _sample, label in legend.items:
                        color = pg.mkColor(label.opts["color"])
                        assert contrast_ratio(color, background) >= 4.5, (name, type(view).__name__, label.text)
                        checked += 1
                for item in widget.scene().items():  # titles and axis labels too
                    if isinstance(item, pg.AxisItem):
                        assert contrast_ratio(item.textPen().color(), background) >= 4.5, (name, type(view).__name__)
        assert checked >= 8, "legends of the Data, Augmentations and Training plots"
        window_color = window.palette().color(QPalette.ColorRole.Window)
        for section, button in window.config_form.section_headers().items():
            text = QColor(button.palette().color(QPalette.ColorRole.WindowText))
            assert contrast_ratio(text, window_color) >= 4.5, (name, section)
            assert f"color: {text.name()}" in button.styleSheet()
        hint = QColor(window.hint.styleSheet().split("color: ")[1].split(";")[0])
        assert contrast_ratio(hint, window_color) >= 4.5, name
        quiet = window.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
        assert contrast_ratio(quiet, window_color) >= 4.5, name  # the form's section notes use it
        base = window.palette().color(QPalette.ColorRole.Base)
        for status in STATUS_COLORS[name]:  # the runs list's status column
            assert contrast_ratio(status_color(status), base) >= 4.5, (name, status)
        for key in ("gaussian_noise_std", "slice_segments"):  # superqt's slider value labels
            for label in window.augment_view.param_editor(key).findChildren(QAbstractSpinBox):
                assert contrast_ratio(label.palette().color(QPalette.ColorRole.Text), window_color) >= 4.5, (name, key)
        # the Data and Augmentations plots follow the theme as the Training plots do
        expected = QColor("#ffffff" if name == "light" else "#1e1f22")
        for view in views:
            for widget in view.plot_widgets():
                assert widget.backgroundBrush().color() == expected, (name, type(view).__name__)
