"""Screenshots of the Sweeps tab at 1366 × 768, in the dark and light theme: a small CBF sweep
(2 presets × 2 seeds) launched from the tab, once while it runs and once finished with its summary.

    python -m tsstudio.gui.sweep_screenshots [OUTDIR]      (default docs/images)

Files are `sweeps-running-<theme>.png` and `sweeps-finished-<theme>.png`. Settings, the spec and
the run files go to a temporary folder, so the user's own state is not touched.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

from tsstudio.gui.screenshots import SIZE, THEMES, ShotWindow, _pump, isolated_app  # noqa: E402

SHOT_SPEC = """\
# Two tokenizer presets on CBF, two seeds each, with a small budget.
name: cbf-demo
datasets: [CBF]
presets: [regular, barlowtwins-slice]
seeds: [1, 2]
overrides:
  - trainer.max_steps={steps}
  - trainer.batch_size=32
  - trainer.device=cpu
  - trainer.checkpoint_every_steps=10
  - trainer.snapshot_every_steps=10
  - encoder.dim=32
  - decoder.dim=32
  - probes.at_start=false
stages: [tokenizer, eval]
workspace: workspace
"""


def take_sweep_screenshots(outdir: Path, themes: tuple[str, ...] = THEMES, size: tuple[int, int] = SIZE,
                           steps: int = 120) -> list[Path]:
    """Launch a small sweep in the Sweeps tab; save `sweeps-running-*` and `sweeps-finished-*` PNGs."""
    app, tmp = isolated_app()


    workspace = tmp / "workspace"
    workspace.mkdir()
    spec = tmp / "cbf-demo.yaml"
    spec.write_text(SHOT_SPEC.format(steps=steps), encoding="utf-8")
    shot = ShotWindow(app, workspace, size, themes, outdir, settle=0.4)  # the runs list shows the sweep's runs
    window, shots, save = shot.window, shot.shots, shot.save

    view = window.sweeps_view
    window.tabs.setCurrentWidget(view)
    if not view.open_spec(spec):
        raise RuntimeError(f"the screenshot spec does not load: {view.message.text()}")
    view.workers_spin.setValue(2)
    if not view.launch():
        raise RuntimeError(f"the sweep did not start: {view.message.text()}")
    def mid_run() -> bool:
        running = [s for s in view.states.values() if s.status == "running" and s.step >= 20]
        return bool(running) and view.grid.counts()["finished"] >= 1

    _pump(app, lambda: mid_run() or not view.is_running, 600)
    save("sweeps-running")
    _pump(app, lambda: not view.is_running, 900)
    _pump(app, lambda: not view.poller.busy and view.summary is not None, 60)
    window.runs_view.refresh()
    view.bottom_tabs.setCurrentIndex(0)  # the summary
    if view.metric_combo.findText("svm_accuracy") >= 0:
        view.metric_combo.setCurrentText("svm_accuracy")
    _pump(app, lambda: False, 1.5)
    save("sweeps-finished")
    window.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    outdir = Path(args[0]) if args else Path("docs/images")
    for path in take_sweep_screenshots(outdir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
