"""How responsive is the app while a prior trains in it, against the same app idle?

Trains (once, into --workdir, through the CLI path) a small tokenizer on the built-in CBF (or
--dataset from $TSSTUDIO_DATA_DIR), then, in one process with the app offscreen:

- idle baseline: the main window showing the Training tab, nothing running; a 10 ms QTimer
  probe, delay = actual interval − 10 ms (p50/p99/max) over --idle-s seconds;
- prior training: a MaskGIT prior (the `maskgit` preset, its default model size) trained on that
  tokenizer in the app's worker, the Training tab drawing its live panels, the same probe;
- the same prior trained through the CLI path (`train_prior_run` on the main thread, no Qt) with
  the app job's thread count, for the app/CLI throughput ratio.

Figures are printed as measured and as ratios against the idle baseline of the same run, since the
machine's other load moves both alike. Target: p99 < 50 ms while the prior trains. Run with the
environment the app sets (OMP_WAIT_POLICY=PASSIVE; the job uses every core but one).

    python benchmarks/prior_responsiveness.py [--steps 60] [--idle-s 3] [--dataset CBF] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the app sets it (tsstudio.gui.app.quiet_openmp)


def percentiles_ms(values: list[float]) -> dict[str, float]:
    import numpy as np

    a = np.asarray(values or [0.0]) * 1000.0
    return {"p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99)), "max": float(a.max())}


def samples_per_s(times: list[float], batch: int, skip: int = 1) -> float:
    """Throughput from step timestamps, skipping the first `skip` steps (warm-up)."""
    t = times[skip:]
    if len(t) < 2:
        return float("nan")
    return (len(t) - 1) * batch / (t[-1] - t[0])


def make_tokenizer(workdir: Path, dataset: str, data_dir: str | None, steps: int) -> Path:
    """A small finished tokenizer run (the `regular` preset, `steps` steps), reused when present."""
    from tsstudio.cli.main import main

    path = workdir / f"tok-{dataset}.h5"
    if not path.exists():
        args = ["train", "--dataset", dataset, "--out", str(path), "--max-steps", str(steps), "--quiet",
                "--set", "trainer.device=cpu", "--set", "probes.at_start=false", "--set", "trainer.batch_size=32"]
        if data_dir:
            args += ["--data-dir", data_dir]
        assert main(args) == 0
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="prior training steps")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--tokenizer-steps", type=int, default=20)
    parser.add_argument("--dataset", default="CBF")
    parser.add_argument("--idle-s", type=float, default=3.0)
    parser.add_argument("--probe-ms", type=int, default=10)
    parser.add_argument("--workdir", default=None, help="keep the tokenizer run here between invocations")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QTimer  # noqa: I001  (PySide6 before pyqtgraph)
    from tsstudio.gui.app import create_app

    app = create_app(["prior-bench"])
    app.setApplicationName("tsstudio-bench")  # keep the user's window settings out of it

    import torch

    from tsstudio.config import apply_overrides, load_preset
    from tsstudio.gui.controller import AppController
    from tsstudio.gui.main_window import MainWindow
    from tsstudio.gui.theme import ThemeManager
    from tsstudio.sweep.runner import train_prior_run
    from tsstudio.train.events import StepMetrics

    data_dir = (os.environ.get("TSSTUDIO_DATA_DIR", "").split(os.pathsep)[0] or None) if args.dataset != "CBF" else None
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="prior-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    tokenizer = make_tokenizer(workdir, args.dataset, data_dir, args.tokenizer_steps)
    config = apply_overrides(load_preset("maskgit", kind="prior"), [
        f"trainer.max_steps={args.steps}", f"trainer.batch_size={args.batch}", "trainer.device=cpu",
        "trainer.snapshot_every_steps=10",
    ])
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"capability {torch.backends.cpu.get_cpu_capability()}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, load average {os.getloadavg()[0]:.1f}")

    theme = ThemeManager()
    theme.apply()
    window = MainWindow(controller=AppController(workdir / "app"), theme=theme)
    window.resize(1366, 768)
    window.show()
    window.tabs.setCurrentWidget(window.training_view)

    delays: list[float] = []
    stamps: list[float] = []  # when each delay ended
    last = [time.perf_counter()]

    def on_probe() -> None:
        now = time.perf_counter()
        delays.append(max(0.0, now - last[0] - args.probe_ms / 1000.0))
        stamps.append(now)
        last[0] = now

    probe = QTimer()
    probe.setInterval(args.probe_ms)
    probe.timeout.connect(on_probe)

    # ---------------------------------------------------------------- idle baseline
    last[0] = time.perf_counter()
    probe.start()
    QTimer.singleShot(int(args.idle_s * 1000), app.quit)
    app.exec()
    probe.stop()
    idle = percentiles_ms(delays[1:])
    n_idle = len(delays) - 1

    # ---------------------------------------------------------------- prior in the app's worker
    delays.clear()
    stamps.clear()
    t0 = last[0] = time.perf_counter()  # Start's own work on the UI thread counts in the first probe
    probe.start()
    job = window.controller.start_prior(config, tokenizer)
    window.open_run(str(job.path))  # the Training tab follows the job with the prior's panels
    job.finished.connect(lambda _status: app.quit())
    if job.is_running:
        app.exec()
    probe.stop()
    app_wall = time.perf_counter() - t0
    state = job.read(0)
    if state.status != "finished":
        print(f"app run ended {state.status}: {state.message}", file=sys.stderr)
        return 1
    busy = percentiles_ms(delays[1:])
    n_busy = len(delays) - 1
    worst = max(range(1, len(delays)), key=delays.__getitem__) if len(delays) > 1 else 0
    worst_at = stamps[worst] - t0 if stamps else 0.0
    app_rate = samples_per_s(list(state.times), args.batch)
    shown = window.training_view.shows_prior_panels()
    window.close()

    # ---------------------------------------------------------------- CLI path, same threads
    times: list[float] = []

    def on_event(event: object) -> None:
        if isinstance(event, StepMetrics):
            times.append(time.perf_counter())

    torch.set_num_threads(job.threads)
    trainer = train_prior_run(tokenizer, config, workdir / "cli-prior.h5", data_dir=data_dir, listeners=[on_event])
    cli_rate = samples_per_s(times, args.batch)

    print(f"prior: maskgit preset on {args.dataset} ({tokenizer.name}), {args.steps} steps of batch {args.batch}, "
          f"{job.threads} torch thread(s) in the app's job; app run {app_wall:.1f} s, prior panels shown: {shown}")
    print("| event-loop delay (ms) | probes | p50 | p99 | max |")
    print("|---|---|---|---|---|")
    print(f"| app idle (baseline) | {n_idle} | {idle['p50']:.1f} | {idle['p99']:.1f} | {idle['max']:.1f} |")
    print(f"| app training a prior | {n_busy} | {busy['p50']:.1f} | {busy['p99']:.1f} | {busy['max']:.1f} |")

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}" if b > 0 else "n/a (idle 0 ms)"

    print(f"| ratio training / idle | | {ratio(busy['p50'], idle['p50'])} | {ratio(busy['p99'], idle['p99'])} | "
          f"{ratio(busy['max'], idle['max'])} |")
    print(f"longest stall {busy['max']:.0f} ms, ending {worst_at:.1f} s after Start")
    print(f"target p99 < 50 ms while a prior trains: {'met' if busy['p99'] < 50 else 'NOT met'}")
    print(f"throughput: app {app_rate:.1f} samples/s, CLI path {cli_rate:.1f} samples/s ({trainer.status}); "
          f"ratio app/CLI {app_rate / cli_rate:.2f}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (other processes share these cores; compare ratios)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
