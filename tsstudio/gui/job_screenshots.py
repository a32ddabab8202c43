"""Screenshots of the runs list with its other-files section, the token browser and an evaluation
in progress, at 1366 × 768 in the dark and light theme, on small runs trained for the occasion.

    python -m tsstudio.gui.job_screenshots [OUTDIR]      (default docs/images)

Settings and files go to a temporary folder, so the user's own state is not touched.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

from tsstudio.gui.screenshots import SIZE, THEMES, ShotWindow, _pump, isolated_app  # noqa: E402

FAST = ["--set", "trainer.batch_size=32", "--set", "trainer.device=cpu", "--set", "trainer.precision=fp32", "--quiet"]
TOKENIZER = ["--set", "encoder.dim=32", "--set", "decoder.dim=32", "--set", "probes.at_start=false"]
PRIOR = ["--set", "prior.hidden_dim=64", "--set", "prior.n_layers=2", "--set", "prior.heads=2"]


def _train(folder: Path) -> tuple[Path, Path]:
    from tsstudio.cli.main import main

    tok, prior = folder / "CBF-regular-tokenizer.h5", folder / "CBF-maskgit-prior.h5"
    assert main(["train", "--dataset", "CBF", "--max-steps", "60", "--out", str(tok), *FAST, *TOKENIZER]) == 0
    assert main(["prior", "--tokenizer", str(tok), "--max-steps", "40", "--out", str(prior), *FAST, *PRIOR]) == 0
    assert main(["sample", str(prior), "--n", "16", "--class", "1", "--out", str(folder / "CBF-class1-x16.h5")]) == 0
    assert main(["export-tokens", str(tok), "--split", "all", "--out", str(folder / "CBF-tokens.h5")]) == 0
    return tok, prior


def take_job_screenshots(outdir: Path, themes: tuple[str, ...] = THEMES, size: tuple[int, int] = SIZE) -> list[Path]:
    """Save `runs-files-*`, `token-browser-*` and `evaluation-running-*` PNGs into `outdir`."""
    app, tmp = isolated_app()
    workspace = tmp / "workspace"
    workspace.mkdir()
    tok, prior = _train(workspace)


    shot = ShotWindow(app, workspace, size, themes, outdir, settle=0.4)
    window, shots, save = shot.window, shot.shots, shot.save

    runs = window.runs_view
    runs.refresh()
    _pump(app, lambda: len(runs.file_paths()) == 2 and not runs.is_scanning(), 30)
    runs.select_path(tok)
    window.open_run(str(tok))
    _pump(app, lambda: False, 1.5)
    save("runs-files")

    runs.open_file(workspace / "CBF-tokens.h5")
    _pump(app, lambda: window.token_browser.export is not None, 30)
    window.token_browser.select("test", 5)
    _pump(app, lambda: False, 0.5)
    save("token-browser")

    window.tabs.setCurrentWidget(window.training_view)
    runs.select_path(prior)
    window.open_run(str(prior))
    [job] = runs.evaluate([prior], fcn_epochs=2000, cas_epochs=50)
    _pump(app, lambda: job.state().done >= 40 or not job.is_running, 300)
    save("evaluation-running")
    job.cancel()
    _pump(app, lambda: not job.is_running, 120)
    window.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    outdir = Path(args[0]) if args else Path("docs/images")
    for path in take_job_screenshots(outdir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
