"""A compact list of the running evaluation and export jobs: title, stage, progress bar, Cancel."""

from __future__ import annotations

import contextlib
import os

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QGridLayout, QProgressBar, QPushButton, QWidget

os.environ.setdefault("QT_API", "pyside6")  # superqt goes through qtpy
from superqt import QElidingLabel  # noqa: E402

from tsstudio.gui.background_jobs import BackgroundJob  # noqa: E402


class JobRow(QObject):
    """The widgets of one job in the panel (a QObject, so progress from the job's thread is queued here)."""

    def __init__(self, job: BackgroundJob, parent: QWidget) -> None:
        super().__init__(parent)
        self.job = job
        self.title = QElidingLabel(job.title, parent)
        self.title.setElideMode(Qt.TextElideMode.ElideMiddle)
        self.title.setToolTip(str(job.path))
        self.bar = QProgressBar(parent)
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(True)
        self.bar.setMaximumHeight(18)
        self.cancel = QPushButton("Cancel", parent)
        self.cancel.setToolTip("Stop at the next stage or batch; nothing is written")
        self.cancel.clicked.connect(job.cancel)
        job.progressed.connect(self.update)
        self.update()

    def update(self) -> None:
        state = self.job.state()
        count = f" {state.done}/{state.total}" if state.total > 3 else ""
        self.bar.setRange(0, 1000)
        self.bar.setValue(int(1000 * state.fraction))
        self.bar.setFormat(f"{state.stage}{count} — {100 * state.fraction:.0f}%")
        self.bar.setToolTip(self.bar.format())
        self.cancel.setEnabled(state.status == "running" and not self.job.cancel_requested)

    def widgets(self) -> list[QWidget]:
        return [self.title, self.bar, self.cancel]


class JobsPanel(QWidget):
    """Shows `jobs` (set with `set_jobs`); hidden while there are none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[JobRow] = []
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 4, 0, 0)
        self._grid.setVerticalSpacing(2)
        self.setVisible(False)

    def set_jobs(self, jobs: list[BackgroundJob]) -> None:
        """Show two rows (title and Cancel; progress with the stage) per running job."""
        if [r.job for r in self.rows] == list(jobs):
            return
        for row in self.rows:
            for w in row.widgets():
                self._grid.removeWidget(w)
                w.deleteLater()
            with contextlib.suppress(RuntimeError, TypeError):
                row.job.progressed.disconnect(row.update)
            row.deleteLater()
        self.rows = [JobRow(job, self) for job in jobs]
        for i, row in enumerate(self.rows):
            self._grid.addWidget(row.title, 2 * i, 0)
            self._grid.addWidget(row.cancel, 2 * i, 1)
            self._grid.addWidget(row.bar, 2 * i + 1, 0, 1, 2)
        self._grid.setColumnStretch(0, 1)
        self.setVisible(bool(self.rows))

    def row_for(self, job: BackgroundJob) -> JobRow | None:
        return next((r for r in self.rows if r.job is job), None)
