"""Screenshots of a prior run in the app at 1366 × 768, dark and light: Configure with the prior
run kind, and Training on the finished prior, taken offscreen on small runs trained for the occasion.

    python -m tsstudio.gui.prior_screenshots [OUTDIR]      (default docs/images)

Files: `prior-configure.png`, `prior-training.png` (dark) and their `-light` variants.
Settings and run files go to a temporary folder, so the user's own state is not touched.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

from tsstudio.gui.screenshots import SIZE, _pump  # noqa: E402

TOKENIZER = ["data.dataset=CBF", "trainer.max_steps=300", "trainer.batch_size=32", "trainer.device=cpu",
             "probes.at_start=false", "probes.every_epochs=0", "trainer.val_every_epochs=50"]
PRIOR = {"trainer.max_steps": 400, "trainer.batch_size": 32, "trainer.device": "cpu", "trainer.val_every_epochs": 10,
         "trainer.snapshot_every_steps": 40, "trainer.checkpoint_every_steps": 200}


def take_prior_screenshots(outdir: Path, size: tuple[int, int] = SIZE) -> list[Path]:
    """Train a small tokenizer, then a prior on it from the app; save the Configure and Training shots."""
    tmp = Path(tempfile.mkdtemp(prefix="tsstudio-prior-shots-"))
    for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        os.environ[var] = str(tmp / var.lower())
    from PySide6.QtCore import QSettings  # noqa: I001

    from tsstudio.gui.app import create_app

    app = create_app(["tsstudio-screenshots"])
    app.setApplicationName("tsstudio-screenshots")  # type: ignore[attr-defined]
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp / "qsettings"))

    from tsstudio.config import apply_overrides, load_preset
    from tsstudio.gui.controller import AppController
    from tsstudio.gui.main_window import MainWindow
    from tsstudio.gui.theme import ThemeManager
    from tsstudio.sweep.runner import train_run

    workspace = tmp / "workspace"
    workspace.mkdir(parents=True)
    tokenizer = workspace / "CBF-regular-tokenizer.h5"
    if train_run(apply_overrides(load_preset("regular"), TOKENIZER), tokenizer).status != "finished":
        raise RuntimeError("the tokenizer run did not finish")
    theme = ThemeManager()
    theme.apply("dark")
    window = MainWindow(controller=AppController(workspace), theme=theme)
    window.resize(*size)
    window.show()
    outdir.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []

    def save(name: str) -> None:
        for theme_name, suffix in (("dark", ""), ("light", "-light")):
            theme.apply(theme_name)
            _pump(app, lambda: False, 0.4)
            path = outdir / f"{name}{suffix}.png"
            window.grab().save(str(path))
            shots.append(path)
        theme.apply("dark")

    form = window.config_form
    window.tabs.setCurrentIndex(2)
    form.set_run_kind("prior")
    _pump(app, lambda: not form.is_busy(), 30)
    form.set_tokenizer_run(tokenizer)
    for key, value in PRIOR.items():
        form.set_value(key, value)
    _pump(app, lambda: not form.is_busy() and "counting" not in form.facts_text(), 30)
    _pump(app, lambda: False, 0.5)
    save("prior-configure")

    job = window.start_training()
    if job is None:
        raise RuntimeError("the prior did not start")
    _pump(app, lambda: not job.is_running and job.status != "starting", 900)
    _pump(app, lambda: False, 1.0)
    window.training_view.show_run(job.path)
    _pump(app, lambda: window.training_view.prior_panels.sample_count() > 0, 30)
    _pump(app, lambda: False, 1.0)
    save("prior-training")
    window.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    for path in take_prior_screenshots(Path(args[0]) if args else Path("docs/images")):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
