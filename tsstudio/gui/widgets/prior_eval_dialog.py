"""The options of a prior's evaluation (FID, IS, CAS), asked before it starts: the FCN's and CAS's
epochs, and whether to compute CAS at all (it trains a second classifier on the generations)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox, QWidget

from tsstudio.gui.background_jobs import PRIOR_EVAL_DEFAULTS

MAX_EPOCHS = 100_000


class PriorEvalDialog(QDialog):
    """FCN epochs, CAS epochs and CAS on/off for evaluating `n_priors` prior runs (as `tsstudio eval`)."""

    def __init__(self, n_priors: int = 1, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Evaluate prior" if n_priors == 1 else f"Evaluate {n_priors} priors")
        self.setMinimumWidth(380)  # the note reads in three lines, not six
        form = QFormLayout(self)
        note = QLabel("The FCN classifier is trained once per dataset and cached; FID and IS use its features, "
                      "CAS trains a classifier on generations and tests it on the real test set.")
        note.setWordWrap(True)
        form.addRow(note)
        self.fcn_epochs = self._epochs(int(PRIOR_EVAL_DEFAULTS["fcn_epochs"]), "Epochs of the FCN (when not cached)")
        self.cas_epochs = self._epochs(int(PRIOR_EVAL_DEFAULTS["cas_epochs"]), "Epochs of the CAS classifier")
        self.with_cas = QCheckBox("Compute CAS")
        self.with_cas.setChecked(bool(PRIOR_EVAL_DEFAULTS["with_cas"]))
        self.with_cas.toggled.connect(self.cas_epochs.setEnabled)
        form.addRow("FCN epochs", self.fcn_epochs)
        form.addRow("", self.with_cas)
        form.addRow("CAS epochs", self.cas_epochs)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Evaluate")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    @staticmethod
    def _epochs(value: int, tip: str) -> QSpinBox:
        box = QSpinBox()
        box.setRange(1, MAX_EPOCHS)
        box.setValue(value)
        box.setToolTip(tip)
        return box

    def options(self) -> dict[str, Any]:
        """The chosen options, as `evaluate_prior_run` takes them."""
        return {"fcn_epochs": self.fcn_epochs.value(), "cas_epochs": self.cas_epochs.value(),
                "with_cas": self.with_cas.isChecked()}
