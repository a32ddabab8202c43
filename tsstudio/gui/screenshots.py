"""Screenshots of every view at 1366 × 768, in the dark and the light theme, taken offscreen on a
small run trained for the occasion.

    python -m tsstudio.gui.screenshots [OUTDIR]      (default docs/images)

Files are named `<view>-<theme>.png`.
Settings and run files go to a temporary folder, so the user's own state is not touched.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

SHOT_CONFIG = [
    "data.dataset=CBF",
    "trainer.max_steps=150",
    "trainer.batch_size=32",
    "trainer.device=cpu",
    "trainer.val_every_epochs=10",
    "trainer.snapshot_every_steps=10",
    "probes.every_epochs=30",
    "probes.at_start=true",
]


def isolated_app(prefix: str = "tsstudio-shots-") -> tuple[object, Path]:
    """The app with its settings, caches and data in a new temporary folder; and that folder.

    Screenshot scripts run on the user's machine and must neither read nor change their settings.
    """
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        os.environ[var] = str(tmp / var.lower())
    from PySide6.QtCore import QSettings  # noqa: I001

    from tsstudio.gui.app import create_app

    app = create_app(["tsstudio-screenshots"])
    app.setApplicationName("tsstudio-screenshots")  # type: ignore[attr-defined]
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp / "qsettings"))
    return app, tmp


def _pump(app: object, predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Run the event loop until `predicate()` holds or `timeout_s` passes."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        app.processEvents()  # type: ignore[attr-defined]
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


SIZE = (1366, 768)  # the smallest common laptop screen the window must fit and stay usable on
THEMES = ("dark", "light")


class ShotWindow:
    """A main window on `workspace` at `size`, and `save(name)`, which grabs it once per theme.

    The screenshot scripts share it so every image is taken the same way: the theme applied, the
    event loop given `settle` seconds to repaint, then `<name>-<theme>.png` in `outdir`.
    """

    def __init__(self, app: object, workspace: Path, size: tuple[int, int], themes: tuple[str, ...],
                 outdir: Path, settle: float = 0.4) -> None:
        from tsstudio.gui.controller import AppController
        from tsstudio.gui.main_window import MainWindow
        from tsstudio.gui.theme import ThemeManager

        self.app, self.themes, self.outdir, self.settle = app, themes, outdir, settle
        self.theme = ThemeManager()
        self.theme.apply(themes[0])
        self.window = MainWindow(controller=AppController(workspace), theme=self.theme)
        self.window.resize(*size)
        self.window.show()
        outdir.mkdir(parents=True, exist_ok=True)
        self.shots: list[Path] = []

    def save(self, name: str) -> None:
        """Grab the window in every theme, then return to the first one."""
        for theme_name in self.themes:
            self.theme.apply(theme_name)
            _pump(self.app, lambda: False, self.settle)
            path = self.outdir / f"{name}-{theme_name}.png"
            self.window.grab().save(str(path))
            self.shots.append(path)
        self.theme.apply(self.themes[0])


def take_screenshots(outdir: Path, themes: tuple[str, ...] = THEMES, size: tuple[int, int] = SIZE) -> list[Path]:
    """Train a small run in the app, then save PNGs of every view, in each theme, into `outdir`.

    One window is used throughout; for each shot the theme is switched live and the window
    grabbed, so the dark and light images show the same moment.
    """
    app, tmp = isolated_app()

    from tsstudio.config import apply_overrides, load_preset
    from tsstudio.gui.controller import AppController
    from tsstudio.gui.main_window import MainWindow
    from tsstudio.gui.theme import ThemeManager

    theme = ThemeManager()
    theme.apply(themes[0])
    window = MainWindow(controller=AppController(tmp / "workspace"), theme=theme)
    window.resize(*size)
    window.show()
    outdir.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []

    def save(widget: object, name: str) -> None:
        for theme_name in themes:
            theme.apply(theme_name)
            _pump(app, lambda: False, 0.3)
            path = outdir / f"{name}-{theme_name}.png"
            widget.grab().save(str(path))  # type: ignore[attr-defined]
            shots.append(path)
        theme.apply(themes[0])

    # Data tab on first launch (CBF, with the next-step hint; the runs list is still empty)
    view = window.datasets_view
    if hasattr(view, "current_dataset"):
        _pump(app, lambda: view.current_dataset() is not None, 30)
    _pump(app, lambda: False, 0.5)
    save(window, "data-tab")

    window.tabs.setCurrentIndex(1)
    if hasattr(window.augment_view, "set_config"):
        from tsstudio.config.schema import AugmentationConfig

        window.augment_view.set_config(AugmentationConfig(methods=("slice_and_shuffle", "gaussian_noise")))
    _pump(app, lambda: False, 1.5)
    save(window, "augmentations-tab")

    config = apply_overrides(load_preset("regular"), SHOT_CONFIG)
    if hasattr(window.config_form, "set_config"):
        window.config_form.set_config(config)
    window.tabs.setCurrentIndex(2)
    _pump(app, lambda: False, 1.0)
    save(window, "configure-tab")

    job = window.start_training(config)
    if job is None:
        raise RuntimeError("training did not start")
    # a shot while it trains, then the finished run
    _pump(app, lambda: job.read(10**9).step >= 60 or not job.is_running, 300)
    job.pause()  # hold still while both themes are shot
    _pump(app, lambda: False, 0.5)
    save(window, "training-live")
    job.resume()
    _pump(app, lambda: not job.is_running and job.status != "starting", 600)
    _pump(app, lambda: False, 1.5)
    window.training_view.show_run(job.path)
    _pump(app, lambda: False, 1.5)
    save(window, "training-finished")

    # a second, stopped run so the runs list shows more than one status
    second = window.start_training(apply_overrides(config, ["trainer.max_steps=400", "trainer.seed=2"]))
    if second is not None:
        _pump(app, lambda: second.read(10**9).step >= 5, 120)
        second.stop()
        _pump(app, lambda: not second.is_running, 120)
    window.runs_view.refresh()
    _pump(app, lambda: False, 1.0)
    window.runs_view.select_path(job.path)
    window.open_run(str(job.path))
    _pump(app, lambda: False, 1.5)
    save(window.runs_dock, "runs-list")
    window.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    outdir = Path(args[0]) if args else Path("docs/images")
    for path in take_screenshots(outdir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
