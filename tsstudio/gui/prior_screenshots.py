"""Screenshots of a prior run in the app at 1366 × 768, dark and light: Configure with the prior
run kind, and Training on the finished prior, taken offscreen on small runs trained for the occasion;
or, given a prior run made elsewhere (the CLI), its Training view and the Sampler on it with the
decoding replay half-way.

    python -m tsstudio.gui.prior_screenshots [OUTDIR]      (default docs/images)
    python -m tsstudio.gui.prior_screenshots OUTDIR --prior RUN.h5 --name TAG

Files: `prior-configure.png`, `prior-training.png` (dark) and their `-light` variants; with
`--prior`, `prior-training-TAG-dark.png`, `sampler-TAG-dark.png` and their `-light` variants.
Settings go to a temporary folder and the prior run is copied there (with its tokenizer run, when
that lies beside it), so neither the user's state nor the given files are touched.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

from tsstudio.gui.screenshots import SIZE, _pump, isolated_app  # noqa: E402

TOKENIZER = ["data.dataset=CBF", "trainer.max_steps=300", "trainer.batch_size=32", "trainer.device=cpu",
             "probes.at_start=false", "probes.every_epochs=0", "trainer.val_every_epochs=50"]
PRIOR = {"trainer.max_steps": 400, "trainer.batch_size": 32, "trainer.device": "cpu", "trainer.val_every_epochs": 10,
         "trainer.snapshot_every_steps": 40, "trainer.checkpoint_every_steps": 200}


def take_prior_screenshots(outdir: Path, size: tuple[int, int] = SIZE) -> list[Path]:
    """Train a small tokenizer, then a prior on it from the app; save the Configure and Training shots."""
    app, tmp = isolated_app("tsstudio-prior-shots-")
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


def take_run_screenshots(prior: Path, outdir: Path, tag: str, size: tuple[int, int] = SIZE,
                         n_samples: int = 12) -> list[Path]:
    """The Training view of an existing prior run and the Sampler on it (replay at half the steps)."""
    import shutil

    app, tmp = isolated_app("tsstudio-prior-shots-")
    from tsstudio.gui.controller import AppController
    from tsstudio.gui.main_window import MainWindow
    from tsstudio.gui.theme import ThemeManager
    from tsstudio.store import RunFile

    workspace = tmp / "workspace"
    workspace.mkdir(parents=True)
    with RunFile.open(prior) as run:
        tokenizer = Path(str(run.attrs.get("tokenizer_run", "")))
    copy = Path(shutil.copy(prior, workspace / prior.name))
    if tokenizer.is_file():
        shutil.copy(tokenizer, workspace / tokenizer.name)
    theme = ThemeManager()
    theme.apply("dark")
    window = MainWindow(controller=AppController(workspace), theme=theme)
    window.resize(*size)
    window.show()
    from PySide6.QtCore import Qt

    window.resizeDocks([window.runs_dock], [330], Qt.Orientation.Horizontal)  # the views get the room
    outdir.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []

    def save(name: str) -> None:
        for theme_name in ("dark", "light"):
            theme.apply(theme_name)
            _pump(app, lambda: False, 0.6)
            path = outdir / f"{name}-{tag}-{theme_name}.png"
            window.grab().save(str(path))
            shots.append(path)
        theme.apply("dark")

    window.runs_view.refresh()
    window.runs_view.select_path(copy)
    window.open_run(str(copy))
    panels = window.training_view.prior_panels
    _pump(app, lambda: panels.sample_count() > 0, 60)
    _pump(app, lambda: False, 1.0)
    save("prior-training")

    sampler = window.sampler_view
    if not window.open_in_sampler(str(copy)):
        raise RuntimeError(sampler.message_text())
    _pump(app, lambda: sampler.info is not None and not sampler.service.busy, 120)
    if sampler.info is None:
        raise RuntimeError(sampler.message_text())
    shown = [0]
    sampler.shown.connect(lambda: shown.__setitem__(0, shown[0] + 1))
    if not sampler.generate(sampler.info.class_labels[0], n=n_samples, seed=1):
        raise RuntimeError(sampler.message_text())
    _pump(app, lambda: shown[0] > 0 and not sampler.service.busy, 300)
    sampler.select(1)
    sampler.set_step(max(1, sampler.total_steps() // 2))
    _pump(app, lambda: not sampler.service.busy, 60)
    _pump(app, lambda: False, 1.0)
    save("sampler")
    sampler.shutdown()
    window.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", nargs="?", default="docs/images")
    parser.add_argument("--prior", type=Path, help="an existing prior run: shoot its Training view and the Sampler")
    parser.add_argument("--name", default="", help="the tag in the file names of --prior's shots (e.g. gunpoint)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.prior is not None:
        paths = take_run_screenshots(args.prior, Path(args.outdir), args.name or args.prior.stem.lower())
    else:
        paths = take_prior_screenshots(Path(args.outdir))
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
