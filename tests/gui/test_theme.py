"""Themes: indicators stay visible on the dark palette, and switching themes keeps the style."""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QCheckBox, QRadioButton, QStyle, QStyleOptionButton, QWidget

from tsstudio.gui.theme import IndicatorStyle, ThemeManager


def _indicator_contrast(widget: QCheckBox | QRadioButton, element: QStyle.SubElement) -> int:
    """Largest lightness difference between the indicator's pixels and the window colour."""
    image = widget.grab().toImage()
    option = QStyleOptionButton()
    widget.initStyleOption(option)
    rect = widget.style().subElementRect(element, option, widget)
    window = widget.palette().color(widget.backgroundRole()).lightness()
    return max(
        abs(QColor(image.pixel(x, y)).lightness() - window)
        for x in range(rect.left(), rect.right() + 1)
        for y in range(rect.top(), rect.bottom() + 1)
    )


def test_unchecked_indicators_are_visible_in_both_themes(qtbot) -> None:  # noqa: ANN001
    theme = ThemeManager()
    for name in ("dark", "light"):
        theme.apply(name)
        assert isinstance(QApplication.instance().style(), IndicatorStyle)
        host = QWidget()
        qtbot.addWidget(host)
        box, radio = QCheckBox("unchecked", host), QRadioButton("radio", host)
        radio.move(0, 30)
        host.resize(160, 60)
        host.show()
        qtbot.waitExposed(host)
        assert _indicator_contrast(box, QStyle.SubElement.SE_CheckBoxIndicator) >= 40, name
        assert _indicator_contrast(radio, QStyle.SubElement.SE_RadioButtonIndicator) >= 40, name
    theme.apply("dark")
