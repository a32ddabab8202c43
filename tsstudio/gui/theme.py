"""Dark and light themes: Fusion style with an explicit palette, pyqtgraph colours switched with it.

An explicit QPalette is used because `QStyleHints.setColorScheme` has no effect on every platform
(offscreen included). The choice is kept in QSettings under `ui/theme`.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QSettings, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleOption, QWidget

THEMES = ("dark", "light")
SETTINGS_KEY = "ui/theme"

# Plot colours per theme: background, foreground (axes, text), and a qualitative curve cycle.
PLOT_COLORS = {
    "dark": {"background": "#1e1f22", "foreground": "#d4d4d4"},
    "light": {"background": "#ffffff", "foreground": "#202020"},
}
# run status colours with ≥ 4.5:1 on each theme's table background
STATUS_COLORS = {
    "dark": {"running": "#6ea7ff", "paused": "#c99bd6", "finished": "#6cc46a", "stopped": "#edc948",
             "interrupted": "#f2a14b", "failed": "#ff7b72"},
    "light": {"running": "#1a5fb4", "paused": "#7b4d96", "finished": "#2a7526", "stopped": "#7a5d00",
              "interrupted": "#a04a00", "failed": "#b3261e"},
}
THEME_TEXT = {"dark": "#dfe1e5", "light": "#1f1f1f"}  # the palettes' WindowText, for style sheets
CURVE_COLORS = ("#4c9be8", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#edc948", "#76b7b2", "#ff9da7")


def _dark_palette() -> QPalette:
    pal = QPalette()
    window, base, alt, text = QColor("#2b2d30"), QColor("#1e1f22"), QColor("#313338"), QColor("#dfe1e5")
    highlight = QColor("#3574f0")
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: alt,
        QPalette.ColorRole.ToolTipBase: QColor("#3c3f41"),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: QColor("#8c8f94"),
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor("#3c3f41"),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor("#ff6b68"),
        QPalette.ColorRole.Link: QColor("#6ea7ff"),
        QPalette.ColorRole.Highlight: highlight,
        QPalette.ColorRole.HighlightedText: QColor("#ffffff"),
        QPalette.ColorRole.Light: QColor("#4a4d52"),
        QPalette.ColorRole.Midlight: QColor("#3f4246"),
        QPalette.ColorRole.Mid: QColor("#35373b"),
        QPalette.ColorRole.Dark: QColor("#1b1c1f"),
        QPalette.ColorRole.Shadow: QColor("#000000"),
    }
    for role, color in roles.items():
        pal.setColor(role, color)
    disabled = QColor("#989ba1")  # quieter, still ≥ 4.5:1 on the window colour
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return pal


def _light_palette() -> QPalette:
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: QColor("#f3f3f3"),
        QPalette.ColorRole.WindowText: QColor("#1f1f1f"),
        QPalette.ColorRole.Base: QColor("#ffffff"),
        QPalette.ColorRole.AlternateBase: QColor("#f0f2f5"),
        QPalette.ColorRole.ToolTipBase: QColor("#ffffdc"),
        QPalette.ColorRole.ToolTipText: QColor("#1f1f1f"),
        QPalette.ColorRole.PlaceholderText: QColor("#8a8a8a"),
        QPalette.ColorRole.Text: QColor("#1f1f1f"),
        QPalette.ColorRole.Button: QColor("#e8e8e8"),
        QPalette.ColorRole.ButtonText: QColor("#1f1f1f"),
        QPalette.ColorRole.BrightText: QColor("#c00000"),
        QPalette.ColorRole.Link: QColor("#1a5fb4"),
        QPalette.ColorRole.Highlight: QColor("#3574f0"),
        QPalette.ColorRole.HighlightedText: QColor("#ffffff"),
    }
    for role, color in roles.items():
        pal.setColor(role, color)
    disabled = QColor("#6b6b6b")  # quieter, still ≥ 4.5:1 on the window colour
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return pal


# Fusion outlines indicators in a shade darker than the window, which vanishes on a dark palette.
INDICATOR_OUTLINE_DARK = QColor("#767a80")


class IndicatorStyle(QProxyStyle):
    """Fusion whose check box and radio button indicators keep a visible outline on dark palettes."""

    def __init__(self) -> None:
        super().__init__("Fusion")

    def drawPrimitive(
        self,
        element: QStyle.PrimitiveElement,
        option: QStyleOption,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        super().drawPrimitive(element, option, painter, widget)
        radio = element == QStyle.PrimitiveElement.PE_IndicatorRadioButton
        if not (radio or element == QStyle.PrimitiveElement.PE_IndicatorCheckBox):
            return
        if option.palette.color(QPalette.ColorRole.Window).lightness() >= 128:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(INDICATOR_OUTLINE_DARK, 1.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        rect = QRectF(option.rect).adjusted(0.5, 0.5, -1.5, -1.5)
        if radio:
            painter.drawEllipse(rect)
        else:
            painter.drawRoundedRect(rect, 2.0, 2.0)
        painter.restore()


class ThemeManager(QObject):
    """Applies and remembers the theme; plot views listen to `changed` to recolour their items."""

    changed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        saved = str(QSettings().value(SETTINGS_KEY, "dark"))
        self._name = saved if saved in THEMES else "dark"

    @property
    def name(self) -> str:
        return self._name

    def apply(self, name: str | None = None) -> None:
        """Apply `name` (or the current theme) to the application and to pyqtgraph's defaults."""
        if name is not None:
            if name not in THEMES:
                raise ValueError(f"unknown theme {name!r}; expected one of {THEMES}")
            self._name = name
            QSettings().setValue(SETTINGS_KEY, name)
        apply_theme(self._name)
        self.changed.emit(self._name)

    def toggle(self) -> str:
        """Switch between dark and light; returns the new theme name."""
        self.apply("light" if self._name == "dark" else "dark")
        return self._name


def apply_theme(name: str) -> None:
    """Fusion style + palette for `name`, and pyqtgraph background/foreground to match."""
    app = QApplication.instance()
    if isinstance(app, QApplication):
        if not isinstance(app.style(), IndicatorStyle):
            app.setStyle(IndicatorStyle())
        app.setPalette(_dark_palette() if name == "dark" else _light_palette())
    colors = PLOT_COLORS.get(name, PLOT_COLORS["dark"])
    pg.setConfigOptions(background=colors["background"], foreground=colors["foreground"], antialias=False)


def repolish(root: QWidget) -> None:
    """Polish again the widgets under `root` that carry a style sheet.

    They keep the palette they were polished with (superqt's slider value labels, for one,
    stayed light grey on the light theme) until their style sheet is set again.
    """
    for widget in (root, *root.findChildren(QWidget)):
        sheet = widget.styleSheet()
        if sheet:
            widget.setStyleSheet(sheet)


def status_color(status: str) -> QColor | None:
    """The colour a run status is written in, for the application's current palette."""
    app = QApplication.instance()
    light = isinstance(app, QApplication) and app.palette().color(QPalette.ColorRole.Base).lightness() >= 128
    color = STATUS_COLORS["light" if light else "dark"].get(status)
    return QColor(color) if color else None


def relative_luminance(color: QColor) -> float:
    """WCAG 2 relative luminance of an opaque colour (0 black … 1 white)."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF()) + 0.0722 * channel(color.blueF())


def contrast_ratio(fg: QColor, bg: QColor) -> float:
    """WCAG 2 contrast ratio of two colours, 1 … 21 (4.5 is the minimum for body text)."""
    a, b = relative_luminance(fg), relative_luminance(bg)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def legend_brush(name: str) -> QColor:
    """A legend's background: the plot background, slightly see-through, so curves under it stay visible."""
    color = QColor(PLOT_COLORS.get(name, PLOT_COLORS["dark"])["background"])
    color.setAlpha(210)
    return color


def style_plot(widget: pg.PlotWidget | pg.GraphicsLayoutWidget, name: str) -> None:
    """Recolour an existing plot widget for theme `name`.

    pyqtgraph's config options only affect items created later, so every axis (colour bars'
    included), title and legend already in the widget's scene is recoloured here.
    """
    colors = PLOT_COLORS.get(name, PLOT_COLORS["dark"])
    widget.setBackground(colors["background"])
    fg = pg.mkColor(colors["foreground"])
    for item in widget.scene().items():
        if isinstance(item, pg.AxisItem):
            item.setPen(fg)
            item.setTextPen(fg)
        elif isinstance(item, pg.LegendItem):
            item.setLabelTextColor(fg)
            item.setBrush(legend_brush(name))
            item.setPen(pg.mkPen(fg, width=1))
        elif isinstance(item, pg.LabelItem):
            item.setText(item.text, color=fg)
