"""A plot under a one-line caption: a QLabel follows the palette (dark/light) and never widens the plot."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget


def captioned(widget: QWidget, caption: str | QLabel) -> QWidget:
    """`widget` under `caption` (text or a label the caller keeps to update it)."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(1)
    label = caption if isinstance(caption, QLabel) else QLabel(caption)
    label.setToolTip(label.text())
    label.setMinimumWidth(40)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    layout.addWidget(label)
    layout.addWidget(widget, 1)
    return box


def set_caption(label: QLabel, text: str) -> None:
    """Change a caption and its tooltip (the tooltip shows all of it when the label is cut)."""
    label.setText(text)
    label.setToolTip(text)
