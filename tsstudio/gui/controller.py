"""The app's single owner of state: workspace, data folders, selected dataset and run, jobs.

Views never hold their own copy of these: they call the controller and listen to its signals.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal

from tsstudio.config.schema import RunConfig
from tsstudio.config.settings import load_settings, save_settings, user_data_dir
from tsstudio.data import BUILTIN_DATASET, find_dataset_dir
from tsstudio.errors import TsstudioError
from tsstudio.gui.background_jobs import BackgroundJob
from tsstudio.gui.workers import TrainingJob

RECENT_KEY = "workspace/recent"
WORKSPACE_KEY = "workspace/current"
MAX_RECENT = 8


def default_workspace() -> Path:
    """`<user data dir>/workspace`, where runs go until the user opens another folder."""
    return user_data_dir() / "workspace"


def _run_kind(path: Path) -> str:
    """The kind a run file records (`tokenizer` / `prior`); raises RunFileError if it cannot be read."""
    from tsstudio.store import RunFile

    with RunFile.open(path) as run:
        return run.kind


def run_file_name(dataset: str, preset: str, when: _dt.datetime | None = None) -> str:
    """`<dataset>-<preset>-<YYYYmmdd-HHMMSS>.h5`, with characters unsafe in file names replaced."""
    stamp = (when or _dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9_.+-]+", "_", f"{dataset}-{preset or 'custom'}")
    return f"{safe}-{stamp}.h5"


class AppController(QObject):
    """Holds the selection and the training jobs; emits a signal whenever one of them changes."""

    workspaceChanged = Signal(str)
    recentWorkspacesChanged = Signal()
    dataDirsChanged = Signal()
    datasetSelected = Signal(str)
    runSelected = Signal(str)
    runsChanged = Signal()
    jobsChanged = Signal()
    jobStarted = Signal(str)  # run path
    jobFinished = Signal(str, str)  # run path, status
    jobFailed = Signal(str, str)  # run path, message
    backgroundJobsChanged = Signal()  # an evaluation or export job started or ended

    def __init__(self, workspace: str | os.PathLike[str] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        settings = QSettings()
        if workspace is None:
            saved = str(settings.value(WORKSPACE_KEY, "") or "")
            workspace = saved if saved and Path(saved).is_dir() else default_workspace()
        self._workspace = Path(workspace)
        self._workspace.mkdir(parents=True, exist_ok=True)
        self._session_dirs: list[str] = []
        self.dataset_name: str = BUILTIN_DATASET
        self.run_path: Path | None = None
        self.jobs: list[TrainingJob] = []
        self.background_jobs: list[BackgroundJob] = []

    # ------------------------------------------------------------------ workspace
    @property
    def workspace(self) -> Path:
        return self._workspace

    def set_workspace(self, path: str | os.PathLike[str]) -> None:
        """Make `path` the workspace (created if missing) and remember it among the recent ones."""
        folder = Path(path).expanduser().resolve()
        folder.mkdir(parents=True, exist_ok=True)
        settings = QSettings()
        recent = [p for p in self.recent_workspaces() if p != str(folder)]
        settings.setValue(RECENT_KEY, [str(folder), *recent][:MAX_RECENT])
        settings.setValue(WORKSPACE_KEY, str(folder))
        self.recentWorkspacesChanged.emit()
        if folder == self._workspace:
            return
        self._workspace = folder
        self.run_path = None
        self.workspaceChanged.emit(str(folder))
        self.runsChanged.emit()

    def recent_workspaces(self) -> list[str]:
        value = QSettings().value(RECENT_KEY, [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or []) if str(v)]

    # ------------------------------------------------------------------ data folders
    def data_dirs(self) -> list[str]:
        """Dataset folders: `TSSTUDIO_DATA_DIR`, the user settings, then folders added this session."""
        dirs = [d.strip() for d in os.environ.get("TSSTUDIO_DATA_DIR", "").split(os.pathsep) if d.strip()]
        with contextlib.suppress(TsstudioError):
            dirs += load_settings().data_dirs
        dirs += self._session_dirs
        out: list[str] = []
        for d in dirs:
            if d not in out:
                out.append(d)
        return out

    def add_data_dir(self, path: str | os.PathLike[str]) -> None:
        """Add a dataset folder; it is saved in the user settings so the CLI sees it too.

        Raises TsstudioError (nothing saved) when `path` is not an existing folder.
        """
        folder = str(Path(path).expanduser().resolve())
        if not Path(folder).is_dir():
            raise TsstudioError(f"data folder {folder}: no such folder; expected a folder of <Name>/<Name>_TRAIN.tsv")
        if folder in self.data_dirs():
            return
        try:
            settings = load_settings()
            settings.data_dirs.append(folder)
            save_settings(settings)
        except TsstudioError:
            self._session_dirs.append(folder)  # unreadable settings file: keep it for this session
        self.dataDirsChanged.emit()

    def data_dir_for(self, dataset: str) -> str | None:
        """The folder to pass to the loaders for `dataset` (None for the built-in one)."""
        if dataset.lower() == BUILTIN_DATASET.lower():
            return None
        for d in self.data_dirs():
            if not Path(d).is_dir():
                continue
            found = find_dataset_dir(dataset, d)
            if found is not None:
                return str(found.parent)
        return None

    # ------------------------------------------------------------------ selection
    def select_dataset(self, name: str) -> None:
        if name == self.dataset_name:
            return
        self.dataset_name = name
        self.datasetSelected.emit(name)

    def select_run(self, path: str | os.PathLike[str] | None) -> None:
        new = Path(path) if path else None
        if new == self.run_path:
            return
        self.run_path = new
        self.runSelected.emit(str(new) if new else "")

    # ------------------------------------------------------------------ jobs
    def job_for(self, path: str | os.PathLike[str] | None) -> TrainingJob | None:
        """The job of this process writing `path`, if any (running or not yet cleaned up)."""
        if path is None:
            return None
        target = Path(path)
        for job in self.jobs:
            if job.path == target:
                return job
        return None

    def is_training(self, path: str | os.PathLike[str]) -> bool:
        job = self.job_for(path)
        return job is not None and job.is_running

    def running_jobs(self) -> list[TrainingJob]:
        return [job for job in self.jobs if job.is_running]

    def new_run_path(self, config: RunConfig) -> Path:
        """A fresh run file path in the workspace for `config`."""
        name = run_file_name(config.data.dataset, config.preset)
        path = self._workspace / name
        n = 1
        while path.exists() or self.job_for(path) is not None:
            n += 1
            path = self._workspace / name.replace(".h5", f"-{n}.h5")
        return path

    def start_training(self, config: RunConfig, path: str | os.PathLike[str] | None = None) -> TrainingJob:
        """Train `config` into a new run file (in the workspace unless `path` is given)."""
        out = Path(path) if path else self.new_run_path(config)
        out.parent.mkdir(parents=True, exist_ok=True)
        job = TrainingJob(config, out, data_dir=self.data_dir_for(config.data.dataset), parent=self)
        return self._launch(job)

    def resume_run(self, path: str | os.PathLike[str]) -> TrainingJob:
        """Continue a stopped or interrupted run from its latest checkpoint, in place (the core resume policy)."""
        from tsstudio.sweep.resume import plan_resume

        target = Path(path)
        if not self.is_training(target) and _run_kind(target) == "prior":  # resumes on its own tokenizer run
            return self._resume_prior(target)
        if self.is_training(target):
            raise TsstudioError(f"{target.name} is already training")
        plan = plan_resume(target, "tokenizer")
        config = plan.config
        data_dir = plan.data_dir or self.data_dir_for(config.data.dataset)
        self.jobs = [j for j in self.jobs if j.path != target]
        job = TrainingJob(config, target, data_dir=data_dir or None, resume_state=plan.state, parent=self)
        return self._launch(job)

    def start_prior(
        self, config: RunConfig, tokenizer_run: str | os.PathLike[str] | None, path: str | os.PathLike[str] | None = None
    ) -> TrainingJob:
        """Train the prior `config` on a finished tokenizer run into a new run file (as `tsstudio prior`).

        Raises TsstudioError, nothing started, when the tokenizer file is missing or is not a
        finished tokenizer run.
        """
        from tsstudio.gui.prior_job import PriorTrainingJob
        from tsstudio.store.tokenizer_runs import finished_tokenizer

        if not tokenizer_run:
            raise TsstudioError("a prior needs a tokenizer run: pick a finished tokenizer run in the Configure tab")
        tokenizer = finished_tokenizer(tokenizer_run)
        out = Path(path) if path else self.new_run_path(config)
        out.parent.mkdir(parents=True, exist_ok=True)
        job = PriorTrainingJob(config, out, tokenizer_run=tokenizer.path.resolve(),
                               data_dir=self.data_dir_for(config.data.dataset), parent=self)
        return self._launch(job)

    def _resume_prior(self, target: Path) -> TrainingJob:
        """Continue a stopped or interrupted prior run in place, on the tokenizer run it was trained on."""
        from tsstudio.gui.prior_job import PriorTrainingJob
        from tsstudio.store.tokenizer_runs import finished_tokenizer
        from tsstudio.sweep.resume import plan_resume

        if self.is_training(target):
            raise TsstudioError(f"{target.name} is already training")
        plan = plan_resume(target, "prior")  # the one resume policy, as for tokenizers and the CLI
        tokenizer_run = str(plan.attrs.get("tokenizer_run", ""))
        finished_tokenizer(tokenizer_run)  # gone or changed since: say so before anything starts
        data_dir = plan.data_dir or self.data_dir_for(plan.config.data.dataset)
        self.jobs = [j for j in self.jobs if j.path != target]
        job = PriorTrainingJob(plan.config, target, tokenizer_run=tokenizer_run, data_dir=data_dir or None,
                               resume_state=plan.state, parent=self)
        return self._launch(job)

    def _launch(self, job: TrainingJob) -> TrainingJob:
        path = str(job.path)
        job.finished.connect(lambda status, p=path: self._on_job_finished(p, status))
        job.failed.connect(lambda message, p=path: self.jobFailed.emit(p, message))
        self.jobs.append(job)
        job.start()
        self.jobStarted.emit(path)
        self.jobsChanged.emit()
        self.runsChanged.emit()
        return job

    def _on_job_finished(self, path: str, status: str) -> None:
        self.jobFinished.emit(path, status)  # listeners still find the job (and switch to the file)
        self.release_finished_jobs()
        self.jobsChanged.emit()
        self.runsChanged.emit()

    def release_finished_jobs(self) -> None:
        """Drop the jobs whose thread has ended: their state lives on in their run files."""
        done = [job for job in self.jobs if job.has_ended]
        self.jobs = [job for job in self.jobs if job not in done]
        for job in done:
            job.deleteLater()

    # ------------------------------------------------------------------ evaluation and export jobs
    def start_background(self, job: BackgroundJob) -> BackgroundJob:
        """Run an evaluation or export job; refused while the file trains or has another job."""
        if self.is_training(job.path):
            raise TsstudioError(f"{job.path.name} is training; evaluate or export it when it has stopped")
        if self.background_job_for(job.path) is not None:
            raise TsstudioError(f"{job.path.name} already has a job running; wait for it or cancel it")
        job.setParent(self)
        job.finished.connect(lambda _status, _message, j=job: self._on_background_finished(j))
        self.background_jobs.append(job)
        job.start()
        self.backgroundJobsChanged.emit()
        return job

    def background_job_for(self, path: str | os.PathLike[str]) -> BackgroundJob | None:
        """The running evaluation or export job on `path`, if any."""
        target = Path(path)
        return next((j for j in self.background_jobs if j.path == target and j.is_running), None)

    def _on_background_finished(self, job: BackgroundJob) -> None:
        self.background_jobs = [j for j in self.background_jobs if j is not job]
        job.deleteLater()
        self.backgroundJobsChanged.emit()
        self.runsChanged.emit()  # evaluation results land in the run file: the list rereads it

    def stop_all(self, timeout_ms: int = 10000) -> bool:
        """Ask every job to stop and wait up to `timeout_ms` in all; True if all ended."""
        for background in self.background_jobs:
            background.cancel()
        for job in self.jobs:
            job.stop()
        deadline = _dt.datetime.now() + _dt.timedelta(milliseconds=timeout_ms)
        ok = True
        for job in self.jobs:
            left = max(0, int((deadline - _dt.datetime.now()).total_seconds() * 1000))
            ok = job.wait(left) and ok
        for background in self.background_jobs:
            left = max(0, int((deadline - _dt.datetime.now()).total_seconds() * 1000))
            ok = background.wait(left) and ok
        return ok
