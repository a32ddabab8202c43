"""Screenshots of the exploration tabs (Compare, Codebook, Tokens, Results, Curves) on runs made
with the CLI, at 1366 × 768 in the dark and the light theme.

    python -m tsstudio.gui.explore_screenshots WORKSPACE A.h5 B.h5 [TOKENS.h5] [--out OUTDIR]

A and B are two tokenizer runs of the workspace on one dataset (Compare shows A against B, the
Codebook shows A with B's projection beside it); TOKENS is a token export for the Tokens tab.
Files are named `<view>-<theme>.png` (default OUTDIR docs/images). The results index is cached in
WORKSPACE (`.tsstudio-results.json`), as the app does; settings go to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

from tsstudio.gui.screenshots import SIZE, THEMES, ShotWindow, _pump, isolated_app  # noqa: E402

WAIT_S = 900  # whole test splits on a CPU: ECG5000 takes minutes, GunPoint seconds


def take_explore_screenshots(workspace: Path, run_a: Path, run_b: Path, tokens: Path | None, outdir: Path,
                             themes: tuple[str, ...] = THEMES, size: tuple[int, int] = SIZE) -> list[Path]:
    """Open the app on `workspace`, fill each exploration tab and save its PNGs into `outdir`."""
    app, _ = isolated_app()


    shot = ShotWindow(app, workspace, size, themes, outdir, settle=0.5)
    window, shots, save = shot.window, shot.shots, shot.save

    runs = window.runs_view
    runs.refresh()
    _pump(app, lambda: not runs.is_scanning() and len(runs.paths()) > 0, 60)

    compare = window.compare_view
    window.tabs.setCurrentWidget(compare)
    _pump(app, lambda: False, 0.5)
    compare.compare(str(run_a), str(run_b))
    _pump(app, lambda: compare.result is not None or "annot" in compare.message_text(), WAIT_S)
    _pump(app, lambda: False, 1.0)
    save("compare")

    codebook = window.codebook_view
    window.open_in_codebook(str(run_a))
    _pump(app, lambda: codebook.result is not None and "a" in codebook.projections, WAIT_S)
    codebook.set_run_b(str(run_b))
    _pump(app, lambda: "b" in codebook.projections, WAIT_S)
    _pump(app, lambda: False, 1.0)
    save("codebook")

    if tokens is not None:
        runs.open_file(tokens)
        _pump(app, lambda: window.token_browser.export is not None, 60)
        window.token_browser.select("test", 5)
        _pump(app, lambda: False, 0.5)
        save("token-browser")

    results = window.results_view
    window.tabs.setCurrentWidget(results)
    _pump(app, lambda: bool(results.rows), 120)
    _pump(app, lambda: False, 1.0)
    save("results")

    curves = window.curves_view
    tokenizers = [str(r.path) for r in results.rows if r.kind == "tokenizer" and r.error is None]
    window.show_curves(tokenizers)
    _pump(app, lambda: curves.curves is not None and len(curves.checked_paths()) == len(tokenizers), 120)
    curves.set_grouping(True, "minmax")
    _pump(app, lambda: False, 1.0)
    save("curves")
    window.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tsstudio.gui.explore_screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)
    parser.add_argument("tokens", type=Path, nargs="?")
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    for label, path in (("WORKSPACE", args.workspace), ("A", args.run_a), ("B", args.run_b), ("TOKENS", args.tokens)):
        if path is not None and not path.exists():
            print(f"{label} {path}: not found", file=sys.stderr)
            return 2
    for path in take_explore_screenshots(args.workspace, args.run_a, args.run_b, args.tokens, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
