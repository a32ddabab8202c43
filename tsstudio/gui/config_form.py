"""Run-configuration form, built by walking the configuration schema (no hand-written fields).

Every edit rebuilds and validates the whole configuration with `from_dict` (microseconds), shows the
first error in red and marks its field, and emits `validityChanged` when validity flips. Derived
facts for the selected dataset (token grid, downsample rate, device/precision) are computed
inline; the parameter count builds the modules on torch's meta device on a worker, debounced.

The run kind picks what Start trains. A tokenizer edits every section with the tokenizer presets;
a prior picks a finished tokenizer run (of the workspace, or a file), takes that run's
configuration with a prior preset (as `tsstudio prior --tokenizer RUN --preset P`), and edits only
the `prior` and `trainer` sections; its facts are the tokenizer's token grid, the transformer's
sequence length and the prior's parameter count.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Any

# PySide6 first; QT_API before superqt (qtpy).
# isort: off
from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

os.environ.setdefault("QT_API", "pyside6")
from superqt import QCollapsible, QElidingLabel  # noqa: E402

# isort: on
from tsstudio.config.io import allowed, from_dict, load_yaml, save_yaml, to_dict  # noqa: E402
from tsstudio.config.presets import list_presets, load_preset, preset_overrides  # noqa: E402
from tsstudio.config.schema import RunConfig  # noqa: E402
from tsstudio.data import BUILTIN_DATASET, DatasetInfo  # noqa: E402
from tsstudio.errors import ConfigError, TsstudioError  # noqa: E402
from tsstudio.gui.augment_view import OrderedCheckList  # noqa: E402
from tsstudio.gui.datasets_view import ERROR_COLOR, controller_dirs, run_in_thread, scan_datasets  # noqa: E402
from tsstudio.store.tokenizer_runs import TokenizerRun, finished_tokenizer, finished_tokenizers  # noqa: E402

__all__ = ["RUN_KINDS", "ConfigForm", "count_parameters", "count_prior_parameters"]

RUN_KINDS = ("tokenizer", "prior")
PRIOR_SECTIONS = ("prior", "trainer")  # what a prior run sets itself; the rest comes from its tokenizer
NO_TOKENIZER = "Pick the tokenizer run to train the prior on (a finished run of the workspace, or File…)"

_EXPANDED = ("data", "stft", "encoder", "quantizer", "ssl", "trainer")
_LAST_DIR_KEY = "config_form/last_dir"
_KEY_RE = re.compile(r"\b([a-z_]+)\.([a-z_0-9]+)\b")


def count_parameters(config: RunConfig, length: int, channels: int = 1) -> tuple[int, int]:
    """(tokenizer, SSL head) parameter counts for series of `channels` channels, built on the meta
    device (no memory, no init cost)."""
    import torch

    from tsstudio.models.ssl import SSLHead
    from tsstudio.models.tokenizer import Tokenizer

    with torch.device("meta"):
        tokenizer = sum(p.numel() for p in Tokenizer(config, length, channels=channels).parameters())
        head = 0
        if config.ssl.method != "none":
            head = sum(p.numel() for p in SSLHead(config.ssl, config.encoder.dim).parameters())
    return int(tokenizer), int(head)


def count_prior_parameters(config: RunConfig, n_tokens: int, n_classes: int) -> int:
    """Trainable parameters of the prior `config.prior` on a tokenizer with `config`'s codebook."""
    import torch

    from tsstudio.models.maskgit import MaskGITPrior

    codebook = torch.randn(config.quantizer.codebook_size, config.encoder.dim)
    prior = MaskGITPrior(n_tokens, n_classes, codebook, config.prior)
    return int(sum(p.numel() for p in prior.parameters() if p.requires_grad))


def _fmt_float(value: float) -> str:
    """Shortest text that reads back to the same float (1e-05, 0.001, 25)."""
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


def _fmt_count(n: int) -> str:
    return f"{n / 1e6:.2f} M" if n >= 100_000 else f"{n:,}"


def _sections() -> list[tuple[str, type, str]]:
    """(name, dataclass type, first docstring line) of each configuration section, in schema order."""
    default = RunConfig()
    out = []
    for f in dataclasses.fields(RunConfig):
        value = getattr(default, f.name)
        if dataclasses.is_dataclass(value):
            doc = (type(value).__doc__ or "").strip().splitlines()[0] if type(value).__doc__ else ""
            out.append((f.name, type(value), doc))
    return out


class _Field:
    """One editor bound to a `section.name` key: how to read it, write it and mark it."""

    def __init__(self, key: str, f: dataclasses.Field, editor: QWidget, label: QLabel) -> None:
        self.key = key
        self.field = f
        self.editor = editor
        self.label = label
        self.kind = self._kind()

    def _kind(self) -> str:
        if isinstance(self.editor, OrderedCheckList):
            return "list"
        if isinstance(self.editor, QCheckBox):
            return "bool"
        if isinstance(self.editor, QComboBox):
            return "text" if self.editor.isEditable() else "choice"
        if isinstance(self.editor, QSpinBox):
            return "int"
        return "float" if isinstance(self.field.default, float) else "str"

    def get(self) -> Any:
        e = self.editor
        if self.kind == "list":
            return list(e.checked())
        if self.kind == "bool":
            return e.isChecked()
        if self.kind == "choice":
            return e.currentData()
        if self.kind == "text":
            return e.currentText().strip()
        if self.kind == "int":
            return e.value()
        return e.text().strip()

    def set(self, value: Any) -> None:
        e = self.editor
        e.blockSignals(True)
        try:
            if self.kind == "list":
                e.set_checked(tuple(value))
            elif self.kind == "bool":
                e.setChecked(bool(value))
            elif self.kind == "choice":
                index = e.findData(value)
                e.setCurrentIndex(index if index >= 0 else 0)
            elif self.kind == "text":
                e.setCurrentText(str(value))
            elif self.kind == "int":
                e.setValue(int(value))
            elif self.kind == "float":
                e.setText(_fmt_float(float(value)))
            else:
                e.setText(str(value))
        finally:
            e.blockSignals(False)

    def mark(self, bad: bool) -> None:
        self.label.setStyleSheet(f"color: {ERROR_COLOR}; font-weight: bold;" if bad else "")
        target = self.editor.list if self.kind == "list" else self.editor
        if self.kind != "bool":
            target.setStyleSheet(f"border: 1px solid {ERROR_COLOR};" if bad else "")


class ConfigForm(QWidget):
    """Schema-driven editor of a RunConfig with presets, YAML load/save, live validation and facts."""

    validityChanged = Signal(bool)
    configChanged = Signal()
    runKindChanged = Signal(str)

    def __init__(self, controller: QObject, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._fields: dict[str, _Field] = {}
        self._sections: dict[str, QCollapsible] = {}
        self._preset = "custom"
        self._config: RunConfig | None = None
        self._error = ""
        self._valid: bool | None = None
        self._infos: dict[str, DatasetInfo] = {}
        self._listed = False
        self._list_token = 0
        self._count_token = 0
        self._counts: dict[str, tuple[int, int] | str] = {}
        self._pending = 0
        self._devices: dict[tuple[str, str], str] = {}
        self._facts_plain = ""
        self._bad_key: str | None = None
        self._kind = "tokenizer"
        self._kind_configs: dict[str, RunConfig] = {}
        self._tokenizer: TokenizerRun | None = None
        self._tokenizer_error = ""
        self._tokenizer_token = 0
        self._count_timer = QTimer(self, singleShot=True, interval=250)  # debounce: one count per pause in typing
        self._count_timer.timeout.connect(self._start_count)
        self._build()
        if hasattr(controller, "datasetSelected"):
            controller.datasetSelected.connect(self._on_controller_selected)
        if hasattr(controller, "dataDirsChanged"):
            controller.dataDirsChanged.connect(self.refresh_datasets)
        start = load_preset("regular")
        start.data.dataset = getattr(controller, "dataset_name", "") or BUILTIN_DATASET
        self.set_config(start)
        self.refresh_datasets()
        for name in ("runsChanged", "workspaceChanged"):
            if hasattr(controller, name):
                getattr(controller, name).connect(self.refresh_tokenizers)

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        self.kind_combo = QComboBox(toolTip="What Start trains: a tokenizer (stage 1), or a prior on a finished tokenizer")
        for kind in RUN_KINDS:
            self.kind_combo.addItem(kind, kind)
        self.kind_combo.activated.connect(lambda index: self.set_run_kind(self.kind_combo.itemData(index)))
        self.preset_combo = QComboBox(toolTip="Fill the form with a preset (the method's published configurations first)")
        self._fill_presets("tokenizer")
        self.preset_combo.activated.connect(self._on_preset_chosen)
        self.load_button = QPushButton("Load YAML…")
        self.load_button.clicked.connect(self._choose_load)
        self.save_button = QPushButton("Save YAML…")
        self.save_button.clicked.connect(self._choose_save)
        top = QHBoxLayout()
        self.preset_combo.setMinimumWidth(180)
        self.preset_note = QElidingLabel()
        self.preset_note.setEnabled(False)
        top.addWidget(QLabel("Run"))
        top.addWidget(self.kind_combo)
        top.addSpacing(8)
        top.addWidget(QLabel("Preset"))
        top.addWidget(self.preset_combo)
        top.addWidget(self.preset_note, 1)
        top.addWidget(self.load_button)
        top.addWidget(self.save_button)

        body = QWidget()
        columns = QHBoxLayout(body)
        columns.setContentsMargins(0, 0, 0, 0)
        self._column_widgets = [QWidget(), QWidget()]
        self._column_layouts = [QVBoxLayout(w) for w in self._column_widgets]
        for widget, layout in zip(self._column_widgets, self._column_layouts):
            layout.setContentsMargins(0, 0, 0, 0)
            columns.addWidget(widget, 1)
        self._columns = 0
        labels: list[QLabel] = []
        for name, cls, doc in _sections():
            box = QCollapsible(name, expandedIcon="▼", collapsedIcon="▶")
            content = QWidget()
            form = QFormLayout(content)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
            if doc:
                note = QLabel(doc, wordWrap=True)
                note.setEnabled(False)  # the palette's disabled text: readable, quieter
                form.addRow(note)
            for f in dataclasses.fields(cls):
                key = f"{name}.{f.name}"
                editor = self._make_editor(key, f)
                label = QLabel(f.name)
                tip = f"<b>{key}</b><br>{f.metadata.get('help', '')}<br>Allowed: {allowed(f)}"
                label.setToolTip(tip)
                editor.setToolTip(tip)
                if not isinstance(editor, (QCheckBox, OrderedCheckList)):
                    editor.setMinimumWidth(170)
                form.addRow(label, editor)
                labels.append(label)
                self._fields[key] = _Field(key, f, editor, label)
            box.addWidget(content)
            if name in _EXPANDED:
                box.expand(animate=False)
            else:
                box.collapse(animate=False)
            self._sections[name] = box
        width = max(label.sizeHint().width() for label in labels)
        for label in labels:  # one label column width: editors line up across sections
            label.setMinimumWidth(width)
        self._arrange(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll = scroll

        self.message = QLabel(wordWrap=True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts = QLabel(wordWrap=True)
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        self.facts.setFrameShape(QFrame.Shape.StyledPanel)
        self.facts.setMargin(6)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self._build_tokenizer_row())
        layout.addWidget(scroll, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.facts)

    def _build_tokenizer_row(self) -> QWidget:
        """The prior's tokenizer run: a finished run of the workspace, or a file (prior kind only)."""
        row = QWidget()
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        self.tokenizer_combo = QComboBox(toolTip="The finished tokenizer run whose tokens the prior learns")
        self.tokenizer_combo.setMinimumWidth(420)
        self.tokenizer_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.tokenizer_combo.activated.connect(self._on_tokenizer_chosen)
        self.tokenizer_file_button = QPushButton("File…")
        self.tokenizer_file_button.setToolTip("Train the prior on a tokenizer run file outside the workspace")
        self.tokenizer_file_button.clicked.connect(self._choose_tokenizer_file)
        self.tokenizer_note = QElidingLabel()
        self.tokenizer_note.setEnabled(False)
        box.addWidget(QLabel("Tokenizer run"))
        box.addWidget(self.tokenizer_combo)
        box.addWidget(self.tokenizer_file_button)
        box.addWidget(self.tokenizer_note, 1)
        row.setVisible(False)
        self.tokenizer_row = row
        return row

    def _arrange(self, columns: int) -> None:
        """Sections in `columns` independent columns, split where the field count is balanced."""
        if columns == self._columns:
            return
        self._columns = columns
        for box in self._sections.values():  # removeWidget, not takeAt: a taken box never grows when expanded
            for layout in self._column_layouts:
                layout.removeWidget(box)
        for layout in self._column_layouts:
            while layout.count():
                layout.takeAt(0)
        sizes = [len(dataclasses.fields(cls)) + 2 if self._shows(name) else 0 for name, cls, _doc in _sections()]
        total, running, column = sum(sizes), 0, 0
        for box, size in zip(self._sections.values(), sizes):
            if columns > 1 and column == 0 and running >= total / 2:
                column = 1
            self._column_layouts[column].addWidget(box)
            running += size
        for layout in self._column_layouts:
            layout.addStretch(1)
        self._column_widgets[1].setVisible(columns > 1)

    def _shows(self, section: str) -> bool:
        """Whether the run kind edits `section` (a prior takes the rest from its tokenizer)."""
        return self._kind == "tokenizer" or section in PRIOR_SECTIONS

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        """Two columns of sections when there is room for them."""
        self._arrange(2 if event.size().width() >= 900 else 1)
        super().resizeEvent(event)

    def _make_editor(self, key: str, f: dataclasses.Field) -> QWidget:
        meta = f.metadata
        default = f.default
        choices = meta.get("choices")
        if isinstance(default, tuple):
            editor = OrderedCheckList(choices or ())
            editor.changed.connect(self._on_edit)
            return editor
        if isinstance(default, bool):
            editor = QCheckBox()
            editor.toggled.connect(self._on_edit)
            return editor
        if choices:
            editor = QComboBox()
            for choice in choices:
                editor.addItem(str(choice), choice)
            editor.currentIndexChanged.connect(self._on_edit)
            return editor
        if key == "data.dataset":
            editor = QComboBox(editable=True)
            editor.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
            editor.currentTextChanged.connect(self._on_edit)
            editor.activated.connect(self._on_dataset_committed)
            editor.lineEdit().editingFinished.connect(self._on_dataset_committed)
            return editor
        if isinstance(default, int):
            editor = QSpinBox()
            low, high = meta.get("low"), meta.get("high")
            low = 0 if low is None else int(low) + (1 if meta.get("low_open") else 0)
            high = 2**31 - 1 if high is None else min(int(high), 2**31 - 1)
            editor.setRange(low, high)
            editor.setAccelerated(True)
            editor.valueChanged.connect(self._on_edit)
            return editor
        editor = QLineEdit()
        if isinstance(default, float):
            editor.setPlaceholderText("a number, e.g. 1e-3")
        editor.textChanged.connect(self._on_edit)
        return editor

    def set_theme(self, name: str) -> None:
        """Section headers in the palette's text colour (their arrows are drawn once per colour)."""
        from tsstudio.gui.theme import THEME_TEXT

        color = THEME_TEXT.get(name, THEME_TEXT["dark"])
        for box in self._sections.values():
            button = box.toggleButton()
            button.setStyleSheet(
                f"text-align: left; border: none; outline: none; font-weight: bold; color: {color}; background: transparent;"
            )
            palette = button.palette()
            palette.setColor(QPalette.ColorRole.WindowText, QColor(color))
            button.setPalette(palette)
            box.setExpandedIcon("▼")  # re-rendered in the new text colour
            box.setCollapsedIcon("▶")

    def section_headers(self) -> dict[str, QPushButton]:
        """The clickable header button of each section, by section name."""
        return {name: box.toggleButton() for name, box in self._sections.items()}

    # ------------------------------------------------------------------ public

    def config(self) -> RunConfig | None:
        """The configuration shown, or None while it is invalid."""
        return None if self._config is None else from_dict(to_dict(self._config))

    def set_config(self, config: RunConfig) -> None:
        """Fill the form with `config`; selects its dataset in the app when it is a known one."""
        values = to_dict(config)
        self._preset = config.preset
        for key, field in self._fields.items():
            section, name = key.split(".")
            field.set(values[section][name])
        self._sync_preset_combo()
        self._validate()
        self._commit_dataset(config.data.dataset)

    def set_value(self, key: str, value: Any) -> None:
        """Set one `section.name` field as if the user had edited it."""
        self._fields[key].set(value)
        self._on_edit()

    def field_editor(self, key: str) -> QWidget:
        """The editor widget of `section.name`."""
        return self._fields[key].editor

    def keys(self) -> list[str]:
        """Every `section.name` key of the form, in schema order."""
        return list(self._fields)

    def is_valid(self) -> bool:
        """Whether the configuration shown is valid (Start may be enabled)."""
        return bool(self._valid)

    def error(self) -> str:
        """The current validation message ('' when valid)."""
        return self._error

    def invalid_key(self) -> str | None:
        """The `section.name` key marked as offending, if any."""
        return self._bad_key

    def facts_text(self) -> str:
        """The derived facts as plain text (token grid, parameters, device)."""
        return self._facts_plain

    def is_busy(self) -> bool:
        """Whether a dataset listing or a parameter count is in progress."""
        return self._pending > 0 or self._count_timer.isActive()

    def load_yaml_file(self, path: str | os.PathLike[str]) -> bool:
        """Fill the form from a YAML file; errors go to the message area. Returns success."""
        try:
            config = load_yaml(path)
        except TsstudioError as exc:
            self._show_message(str(exc), error=True)
            return False
        self.set_config(config)
        if self._valid:
            self._show_message(f"Loaded {path}")
        return True

    def save_yaml_file(self, path: str | os.PathLike[str]) -> bool:
        """Write the configuration to a YAML file; errors go to the message area. Returns success."""
        config = self.config()
        if config is None:
            self._show_message(f"Not saved: {self._error}", error=True)
            return False
        try:
            save_yaml(config, path)
        except OSError as exc:
            self._show_message(f"{path}: cannot write ({exc.strerror or exc})", error=True)
            return False
        self._show_message(f"Saved {path}")
        return True

    # ------------------------------------------------------------------ run kind and tokenizer run

    def run_kind(self) -> str:
        """What Start trains: `tokenizer` or `prior`."""
        return self._kind

    def set_run_kind(self, kind: str) -> None:
        """Switch between a tokenizer and a prior run; each kind keeps its own last configuration."""
        if kind not in RUN_KINDS:
            raise ValueError(f"run kind {kind!r}: expected one of {', '.join(RUN_KINDS)}")
        if kind == self._kind:
            return
        if self._config is not None:
            self._kind_configs[self._kind] = self._config
        self._kind = kind
        self.kind_combo.setCurrentIndex(self.kind_combo.findData(kind))
        self._fill_presets(kind)
        self.tokenizer_row.setVisible(kind == "prior")
        for name, box in self._sections.items():
            box.setVisible(self._shows(name))
        if kind == "prior":
            self._sections["prior"].expand(animate=False)
            self.refresh_tokenizers()
        columns, self._columns = self._columns, 0
        self._arrange(columns or 1)
        saved = self._kind_configs.get(kind)
        if saved is not None:
            self.set_config(saved)
        else:
            self.apply_preset(self.preset_names()[0])
        self.runKindChanged.emit(kind)

    def preset_names(self) -> list[str]:
        """The presets offered for the current run kind (without `custom`)."""
        names = [self.preset_combo.itemData(i) for i in range(self.preset_combo.count())]
        return [n for n in names if n != "custom"]

    def _fill_presets(self, kind: str) -> None:
        """Only the presets of `kind`: a tokenizer preset means nothing to a prior, and back."""
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        for info in list_presets():
            if info.kind == kind:
                self.preset_combo.addItem(info.name, info.name)
                self.preset_combo.setItemData(self.preset_combo.count() - 1, info.description, Qt.ItemDataRole.ToolTipRole)
        self.preset_combo.addItem("custom", "custom")
        self.preset_combo.blockSignals(False)

    def tokenizer_run(self) -> Path | None:
        """The accepted tokenizer run of a prior (None until a finished one is picked)."""
        return self._tokenizer.path if self._tokenizer is not None else None

    def tokenizer_choices(self) -> list[str]:
        """Paths the tokenizer box offers (the workspace's finished tokenizer runs, then picked files)."""
        return [str(self.tokenizer_combo.itemData(i)) for i in range(self.tokenizer_combo.count())
                if self.tokenizer_combo.itemData(i)]

    def set_tokenizer_run(self, path: str | os.PathLike[str]) -> bool:
        """Train the prior on the tokenizer run at `path`: the form takes the tokenizer's configuration
        with the chosen prior preset (what `tsstudio prior --tokenizer` trains). A missing file or one
        that is not a finished tokenizer run is refused with its one-line reason. Returns success."""
        try:
            run = finished_tokenizer(path)
        except TsstudioError as exc:
            self._tokenizer, self._tokenizer_error = None, str(exc)
            self.tokenizer_note.setText("")
            self._validate()
            return False
        self._tokenizer, self._tokenizer_error = run, ""
        self._add_tokenizer_item(run)
        note = f"{run.dataset} · token grid {run.token_grid[0]} × {run.token_grid[1]} · K {run.codebook_size}"
        self.tokenizer_note.setText(note)
        self.tokenizer_note.setToolTip(str(run.path))
        preset = self._preset if self._preset in self.preset_names() else self.preset_names()[0]
        self.apply_preset(preset)
        return True

    def refresh_tokenizers(self, *_args: Any) -> None:
        """Re-list the workspace's finished tokenizer runs (off the UI thread)."""
        if self._kind != "prior":
            return
        workspace = getattr(self.controller, "workspace", None)
        if workspace is None:
            return
        self._tokenizer_token += 1
        self._pending += 1
        run_in_thread(lambda: finished_tokenizers(workspace), self._tokenizer_token, self._on_tokenizers_listed)

    def _on_tokenizers_listed(self, answer: tuple[int, Any, str]) -> None:
        token, runs, error = answer
        self._pending -= 1
        if token != self._tokenizer_token or error:
            return
        picked = [self.tokenizer_combo.itemData(i) for i in range(self.tokenizer_combo.count())]
        keep = [p for p in picked if p and p not in {str(r.path) for r in runs}]  # files picked outside the workspace
        self.tokenizer_combo.blockSignals(True)
        self.tokenizer_combo.clear()
        self.tokenizer_combo.addItem("— pick a finished tokenizer run —", "")
        for run in runs:
            self.tokenizer_combo.addItem(run.label, str(run.path))
        for path in keep:
            self.tokenizer_combo.addItem(Path(path).name, path)
        self.tokenizer_combo.blockSignals(False)
        self._select_tokenizer_item()

    def _add_tokenizer_item(self, run: TokenizerRun) -> None:
        if self.tokenizer_combo.findData(str(run.path)) < 0:
            if self.tokenizer_combo.count() == 0:
                self.tokenizer_combo.addItem("— pick a finished tokenizer run —", "")
            self.tokenizer_combo.addItem(run.label, str(run.path))
        self._select_tokenizer_item()

    def _select_tokenizer_item(self) -> None:
        index = self.tokenizer_combo.findData(str(self._tokenizer.path)) if self._tokenizer is not None else 0
        self.tokenizer_combo.blockSignals(True)
        self.tokenizer_combo.setCurrentIndex(max(index, 0))
        self.tokenizer_combo.blockSignals(False)

    def _on_tokenizer_chosen(self, index: int) -> None:
        path = self.tokenizer_combo.itemData(index)
        if path:
            self.set_tokenizer_run(path)
        else:
            self._tokenizer, self._tokenizer_error = None, ""
            self.tokenizer_note.setText("")
            self._validate()

    def _choose_tokenizer_file(self) -> None:
        start = str(getattr(self.controller, "workspace", "") or self._last_dir())
        path, _ = QFileDialog.getOpenFileName(self, "Tokenizer run", start, "Run files (*.h5);;All files (*)")
        if path:
            self.set_tokenizer_run(path)

    def dataset_length(self) -> int | None:
        """Series length of the configured dataset from the listing (None while unknown)."""
        return self._length(self._fields["data.dataset"].get())

    def refresh_datasets(self) -> None:
        """Re-list the datasets (names for the dataset box, lengths for the derived facts)."""
        self._list_token += 1
        self._pending += 1
        dirs = controller_dirs(self.controller)
        run_in_thread(lambda: scan_datasets(dirs), self._list_token, self._on_listed)

    # ------------------------------------------------------------------ presets and files

    def _sync_preset_combo(self) -> None:
        index = self.preset_combo.findData(self._preset)
        self.preset_combo.blockSignals(True)
        self.preset_combo.setCurrentIndex(index if index >= 0 else self.preset_combo.findData("custom"))
        self.preset_combo.blockSignals(False)
        note = self.preset_combo.currentData(Qt.ItemDataRole.ToolTipRole) or "edited or loaded configuration"
        self.preset_note.setText(note)
        self.preset_note.setToolTip(note)

    def _on_preset_chosen(self, index: int) -> None:
        name = self.preset_combo.itemData(index)
        if name == "custom":
            self._preset = "custom"
            self._on_edit()
            return
        self.apply_preset(name)

    def apply_preset(self, name: str) -> None:
        """Fill the form with preset `name`, keeping the selected dataset."""
        try:
            if self._kind == "prior":
                from tsstudio.sweep.runner import prior_config

                preset_overrides(name, kind="prior")  # a tokenizer preset is refused here, not half applied
                config = prior_config(self._tokenizer.config if self._tokenizer else to_dict(RunConfig()), name)
            else:
                config = load_preset(name, kind="tokenizer")
                config.data.dataset = self._fields["data.dataset"].get() or config.data.dataset
        except TsstudioError as exc:
            self._show_message(str(exc), error=True)
            return
        self.set_config(config)
        if self._valid:
            self._show_message(f"Preset {name} applied")

    def _last_dir(self) -> str:
        return str(QSettings().value(_LAST_DIR_KEY, str(Path.home())))

    def _choose_load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load configuration", self._last_dir(), "YAML (*.yaml *.yml);;All files (*)")
        if path:
            QSettings().setValue(_LAST_DIR_KEY, str(Path(path).parent))
            self.load_yaml_file(path)

    def _choose_save(self) -> None:
        if self.config() is None:
            self._show_message(f"Not saved: {self._error}", error=True)
            return
        suggestion = str(Path(self._last_dir()) / f"{self._preset}-{self._fields['data.dataset'].get()}.yaml")
        path, _ = QFileDialog.getSaveFileName(self, "Save configuration", suggestion, "YAML (*.yaml *.yml)")
        if path:
            QSettings().setValue(_LAST_DIR_KEY, str(Path(path).parent))
            self.save_yaml_file(path)

    # ------------------------------------------------------------------ dataset

    def _on_controller_selected(self, name: str) -> None:
        field = self._fields["data.dataset"]
        if name and field.get() != name:
            field.set(name)
            self._on_edit()

    def _on_dataset_committed(self, *_args: Any) -> None:
        self._commit_dataset(self._fields["data.dataset"].get())

    def _commit_dataset(self, name: str) -> None:
        """Tell the controller when the form names another known dataset than the app's."""
        if name and name in self._infos and getattr(self.controller, "dataset_name", None) != name:
            self.controller.select_dataset(name)

    def _on_listed(self, answer: tuple[int, Any, str]) -> None:
        token, infos, error = answer
        self._pending -= 1
        if token != self._list_token:
            return
        if error:
            self._show_message(error, error=True)
            return
        self._infos = {info.name: info for info in infos}
        self._listed = True
        combo: QComboBox = self._fields["data.dataset"].editor
        current = combo.currentText()
        combo.blockSignals(True)
        combo.clear()
        for info in infos:
            if not info.error:
                combo.addItem(info.name)
                tip = f"length {info.length}, {info.n_classes} classes"
                combo.setItemData(combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        combo.setCurrentText(current)
        combo.blockSignals(False)
        self._update_facts()

    # ------------------------------------------------------------------ validation

    def _on_edit(self, *_args: Any) -> None:
        self._validate()

    def _raw_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {"preset": self._preset}
        for key, field in self._fields.items():
            section, name = key.split(".")
            values.setdefault(section, {})[name] = field.get()
        return values

    def _check(self) -> RunConfig:
        """Build and validate the configuration; raise ConfigError naming the key."""
        config = from_dict(self._raw_values())  # the core's validate: the CLI and the form agree
        self._runs_on(config)  # an absent device is an error here, not at Start
        if self._kind == "prior" and self._tokenizer is None:
            raise ConfigError(self._tokenizer_error or NO_TOKENIZER)
        return config

    def _runs_on(self, config: RunConfig) -> str:
        key = (config.trainer.device, config.trainer.precision)
        if key not in self._devices:
            from tsstudio.models.runtime import precision_name, resolve_device, resolve_precision

            device = resolve_device(config.trainer.device)  # ConfigError names trainer.device
            self._devices[key] = f"{device.type}, {precision_name(resolve_precision(config.trainer.precision, device))}"
        return self._devices[key]

    def _validate(self) -> None:
        try:
            config = self._check()
        except ConfigError as exc:
            config, error = None, str(exc)
        self._config = config
        self._error = "" if config is not None else error
        self._mark(self._error)
        if config is None:
            self._show_message(self._error, error=True)
        elif self.message.property("error"):
            self._show_message("")
        self._update_facts()
        valid = config is not None
        if valid != self._valid:
            self._valid = valid
            self.validityChanged.emit(valid)
        self.configChanged.emit()

    def _mark(self, error: str) -> None:
        bad = next((m.group(0) for m in _KEY_RE.finditer(error) if m.group(0) in self._fields), None)
        for key, field in self._fields.items():
            field.mark(key == bad)
        if bad is not None and bad != self._bad_key:
            self._sections[bad.split(".")[0]].expand(animate=False)
            self.scroll.ensureWidgetVisible(self._fields[bad].editor)
        self._bad_key = bad

    def _show_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setProperty("error", error)
        self.message.setStyleSheet(f"color: {ERROR_COLOR};" if error else "")

    # ------------------------------------------------------------------ derived facts

    def _length(self, name: str) -> int | None:
        info = self._infos.get(name) or next((i for i in self._infos.values() if i.name.lower() == name.lower()), None)
        return info.length if info is not None and not info.error else None

    def _channels(self, name: str) -> int:
        info = self._infos.get(name)
        return info.channels if info is not None and not info.error else 1

    def _count_key(self, config: RunConfig, length: int) -> str:
        d = to_dict(config)
        return json.dumps([length, self._channels(config.data.dataset), d["stft"], d["encoder"], d["decoder"], d["quantizer"],
                           d["ssl"]], sort_keys=True)

    def _update_facts(self) -> None:
        config = self._config
        if self._kind == "prior":
            self._update_prior_facts(config)
            return
        if config is None:
            self._set_facts(["Fix the configuration to see its token grid and size."])
            return
        name = config.data.dataset
        lines = []
        length = self._length(name)
        if length is None:
            if not self._listed:
                lines.append(f"<b>{name}</b>: listing datasets…")
            else:
                lines.append(f"<b>{name}</b>: not found in the data folders (length unknown)")
        else:
            try:
                from tsstudio.models.tokenizer import token_grid

                grid = token_grid(config, length)
            except ValueError as exc:
                self._set_facts([f"<span style='color:{ERROR_COLOR}'>encoder.downsampled_width: {exc}</span>"])
                return
            lines.append(
                f"<b>{name}</b> (length {length}): token grid <b>{grid.height} × {grid.width}</b> "
                f"= {grid.n_tokens} tokens · STFT {grid.stft_size[0]} × {grid.stft_size[1]} · "
                f"downsample rate {2 ** grid.blocks} ({grid.blocks} stride-2 blocks)"
            )
            key = self._count_key(config, length)
            counted = self._counts.get(key)
            if counted is None:
                lines.append("parameters: counting…")
                self._count_timer.start()
            elif isinstance(counted, str):
                lines.append(f"<span style='color:{ERROR_COLOR}'>parameters: {counted}</span>")
            else:
                tokenizer, head = counted
                text = f"parameters: <b>{_fmt_count(tokenizer + head)}</b> (tokenizer {_fmt_count(tokenizer)}"
                text += f" + SSL head {_fmt_count(head)})" if head else ")"
                lines.append(text)
        lines.append(f"runs on: {self._runs_on(config)}")
        self._set_facts(lines)

    def _prior_count_key(self, config: RunConfig, run: TokenizerRun) -> str:
        d = to_dict(config)
        return json.dumps(["prior", run.token_grid, run.n_classes, d["quantizer"]["codebook_size"], d["encoder"]["dim"],
                           d["prior"]], sort_keys=True)

    def _update_prior_facts(self, config: RunConfig | None) -> None:
        """A prior's facts: its tokenizer's token grid, the transformer's sequence length and size."""
        run = self._tokenizer
        if config is None or run is None:
            self._set_facts(["Pick a finished tokenizer run and fix the configuration to see the prior's size."])
            return
        h, w = run.token_grid
        lines = [
            f"<b>{run.dataset}</b> (length {run.length}, {run.n_classes} classes) via <b>{run.path.stem}</b>: "
            f"token grid <b>{h} × {w}</b> = {h * w} tokens, codebook K = {run.codebook_size}",
            f"sequence length <b>{h * w + 1}</b> ({h * w} tokens + class token) · variant {config.prior.variant} · "
            f"{config.prior.decoding_steps} decoding steps",
        ]
        counted = self._counts.get(self._prior_count_key(config, run))
        if counted is None:
            lines.append("parameters: counting…")
            self._count_timer.start()
        elif isinstance(counted, str):
            lines.append(f"<span style='color:{ERROR_COLOR}'>parameters: {counted}</span>")
        else:
            lines.append(f"parameters: <b>{_fmt_count(counted[0])}</b> (prior; the tokenizer stays frozen)")
        lines.append(f"runs on: {self._runs_on(config)}")
        self._set_facts(lines)

    def _set_facts(self, lines: list[str]) -> None:
        self.facts.setText("<br>".join(lines))
        self._facts_plain = "\n".join(re.sub(r"<[^>]+>", "", line) for line in lines)

    def _start_count(self) -> None:
        if self._kind == "prior":
            self._start_prior_count()
            return
        config = self._config
        length = self._length(config.data.dataset) if config is not None else None
        if config is None or length is None:
            return
        channels = self._channels(config.data.dataset)
        key = self._count_key(config, length)
        if key in self._counts:
            return
        self._count_token += 1
        self._pending += 1
        snapshot = from_dict(to_dict(config))
        run_in_thread(lambda: (key, count_parameters(snapshot, length, channels)), self._count_token, self._on_counted)

    def _start_prior_count(self) -> None:
        config, run = self._config, self._tokenizer
        if config is None or run is None:
            return
        key = self._prior_count_key(config, run)
        if key in self._counts:
            return
        self._count_token += 1
        self._pending += 1
        snapshot = from_dict(to_dict(config))
        n_tokens, n_classes = run.token_grid[0] * run.token_grid[1], run.n_classes

        def count() -> tuple[str, tuple[int, int]]:
            return key, (count_prior_parameters(snapshot, n_tokens, n_classes), 0)

        run_in_thread(count, self._count_token, self._on_prior_counted)

    def _on_prior_counted(self, answer: tuple[int, Any, str]) -> None:
        token, result, error = answer
        self._pending -= 1
        if error:
            if token == self._count_token and self._config is not None and self._tokenizer is not None:
                self._counts[self._prior_count_key(self._config, self._tokenizer)] = error
                self._update_facts()
            return
        key, counts = result
        self._counts[key] = counts
        self._update_facts()

    def _on_counted(self, answer: tuple[int, Any, str]) -> None:
        token, result, error = answer
        self._pending -= 1
        if error:
            if token == self._count_token and self._config is not None:
                length = self._length(self._config.data.dataset)
                if length is not None:
                    self._counts[self._count_key(self._config, length)] = error
                    self._update_facts()
            return
        key, counts = result
        self._counts[key] = counts  # a late answer is still right for its key: keep it
        self._update_facts()
