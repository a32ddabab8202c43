"""GUI test fixtures: offscreen Qt, isolated settings and folders, no leaked threads."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_API", "pyside6")

import contextlib  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QSettings, QThread, QThreadPool  # noqa: E402

# Small, fast tokenizer settings for GUI tests (a step takes tens of ms on one CPU core).
TINY = [
    "data.dataset=CBF",
    "trainer.batch_size=32",
    "trainer.device=cpu",
    "trainer.precision=fp32",
    "encoder.dim=16",
    "decoder.dim=16",
    "encoder.n_resnet_blocks=1",
    "decoder.n_resnet_blocks=1",
    "quantizer.codebook_size=16",
    "probes.at_start=false",
    "trainer.snapshot_every_steps=2",
    "trainer.checkpoint_every_steps=5",
]


def tiny_config(*overrides: str):  # noqa: ANN201 (RunConfig; imported lazily)
    from tsstudio.config import apply_overrides, load_preset

    return apply_overrides(load_preset("regular"), [*TINY, *overrides])


@pytest.fixture
def tiny():  # noqa: ANN201
    """The `tiny_config` factory, for tests."""
    return tiny_config


@pytest.fixture(scope="session")
def qapp_args() -> list[str]:
    return ["tsstudio-tests"]


@pytest.fixture(autouse=True)
def _isolated_qt_settings(qapp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:  # noqa: ANN001
    """QSettings and the XDG folders point into the test's temporary folder."""
    home = tmp_path / "home"
    for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.delenv("TSSTUDIO_DATA_DIR", raising=False)
    qapp.setOrganizationName("tsstudio-tests")
    qapp.setApplicationName("tsstudio-tests")
    settings_dir = str(tmp_path / "qsettings")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, settings_dir)
    QSettings().clear()
    from tsstudio.gui.theme import apply_theme

    apply_theme("dark")
    yield


@pytest.fixture(autouse=True)
def no_leaked_threads(qapp, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[QThread]]:  # noqa: ANN001
    """Fail the test if a QThread it started is still running at teardown."""
    started: list[QThread] = []
    original = QThread.start

    def recording_start(self: QThread, *args: object) -> None:
        started.append(self)
        original(self, *args)

    monkeypatch.setattr(QThread, "start", recording_start)
    yield started
    QThreadPool.globalInstance().waitForDone(10000)  # short helper tasks of the views
    alive = []
    for thread in started:
        try:
            if thread.isRunning():
                alive.append(type(thread).__name__)
        except RuntimeError:  # the C++ object is gone: the thread ended
            continue
    for thread in started:  # do not leave them behind for the next test either
        with contextlib.suppress(RuntimeError):
            thread.wait(30000)
    assert not alive, f"threads still running at teardown: {alive}"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "workspace"
    folder.mkdir()
    return folder


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small finished run file, trained once per session without Qt (the CLI path)."""
    from tsstudio.sweep.runner import train_run

    folder = tmp_path_factory.mktemp("finished")
    path = folder / "cbf-finished.h5"
    trainer = train_run(tiny_config("trainer.max_steps=8"), path)
    assert trainer.status == "finished"
    return path
