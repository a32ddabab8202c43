"""How responsive is the app while it trains, and how much training speed does the app cost?

Starts the app offscreen, trains a tokenizer in it (FordA from $TSSTUDIO_DATA_DIR if present, else
the built-in CBF) with the Training tab showing the live run, and measures:

- event-loop latency: a 10 ms QTimer probe; delay = actual interval − 10 ms (p50/p95/p99/max);
- training throughput in the app (samples/s from the step timestamps);
- then the same training through the CLI path (`train_run` on the main thread, no Qt), and the ratio.

Targets: p99 ≤ 50 ms; app throughput ≥ 80 % of the CLI's.

    python benchmarks/gui_responsiveness.py [--steps 40] [--batch 128] [--dataset FordA] [--device cuda]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")


def pick_dataset(requested: str | None) -> tuple[str, str | None]:
    if requested:
        return requested, os.environ.get("TSSTUDIO_DATA_DIR") or None
    data_dir = os.environ.get("TSSTUDIO_DATA_DIR", "").split(os.pathsep)[0]
    if data_dir and (Path(data_dir) / "FordA").is_dir():
        return "FordA", data_dir
    return "CBF", None


def percentiles(values: list[float]) -> dict[str, float]:
    import numpy as np

    a = np.asarray(values) * 1000.0
    return {
        "p50": float(np.percentile(a, 50)),
        "p95": float(np.percentile(a, 95)),
        "p99": float(np.percentile(a, 99)),
        "max": float(a.max()),
    }


def samples_per_s(times: list[float], batch: int, skip: int = 1) -> float:
    """Throughput from step timestamps, skipping the first `skip` steps (warm-up)."""
    t = times[skip:]
    if len(t) < 2:
        return float("nan")
    return (len(t) - 1) * batch / (t[-1] - t[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--dataset", default=None)
    parser.add_argument("--probe-ms", type=int, default=10)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="device both runs train on")
    parser.add_argument(
        "--also-default-threads",
        action="store_true",
        help="also time the CLI path with torch's default thread count (on a busy machine it oversubscribes)",
    )
    args = parser.parse_args(argv)

    from PySide6.QtCore import QTimer  # noqa: I001  (PySide6 before pyqtgraph)
    from tsstudio.gui.app import create_app

    app = create_app(["gui-bench"])
    app.setApplicationName("tsstudio-bench")  # keep the user's window settings out of it

    import torch

    from tsstudio.config import apply_overrides, load_preset
    from tsstudio.gui.controller import AppController
    from tsstudio.gui.main_window import MainWindow
    from tsstudio.gui.theme import ThemeManager
    from tsstudio.sweep.runner import train_run
    from tsstudio.train.events import StepMetrics

    dataset, data_dir = pick_dataset(args.dataset)
    overrides = [
        f"data.dataset={dataset}",
        f"trainer.max_steps={args.steps}",
        f"trainer.batch_size={args.batch}",
        f"trainer.device={args.device}",
        "probes.at_start=false",
        "trainer.snapshot_every_steps=10",
    ]
    config = apply_overrides(load_preset("regular"), overrides)
    cli_threads = torch.get_num_threads()
    work = Path(tempfile.mkdtemp(prefix="tsstudio-gui-bench-"))
    if data_dir:
        os.environ["TSSTUDIO_DATA_DIR"] = data_dir

    theme = ThemeManager()
    theme.apply()
    window = MainWindow(controller=AppController(work / "app"), theme=theme)
    window.resize(1400, 860)
    window.show()

    # ---------------------------------------------------------------- app run
    ticks: list[float] = []
    probe = QTimer()
    probe.setInterval(args.probe_ms)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    job = window.start_training(config)
    if job is None:
        print("could not start training in the app", file=sys.stderr)
        return 1
    job.finished.connect(lambda _status: app.quit())
    probe.start()
    t0 = time.perf_counter()
    if job.is_running:
        app.exec()  # the ordinary event loop, with the Training tab redrawing the live run
    probe.stop()
    app_wall = time.perf_counter() - t0
    state = job.read(0)
    if state.status != "finished":
        print(f"app run ended {state.status}: {state.message}", file=sys.stderr)
        return 1
    gui_rate = samples_per_s(list(state.times), args.batch)
    delays = [max(0.0, (b - a) - args.probe_ms / 1000.0) for a, b in zip(ticks, ticks[1:])]
    lat = percentiles(delays)
    window.close()

    # ---------------------------------------------------------------- CLI path
    def cli_rate(threads: int, name: str) -> tuple[float, str]:
        times: list[float] = []

        def on_event(event: object) -> None:
            if isinstance(event, StepMetrics):
                times.append(time.perf_counter())

        torch.set_num_threads(threads)
        trainer = train_run(config, work / name, data_dir=data_dir, listeners=[on_event])
        return samples_per_s(times, args.batch), str(trainer.status)

    same_rate, status = cli_rate(job.threads, "cli-same-threads.h5")
    print(f"dataset {dataset}, {args.steps} steps of batch {args.batch}, preset regular, {args.device}, {os.cpu_count()} cores")
    print(f"app run: {app_wall:.1f} s wall; torch threads in the app's job: {job.threads}")
    print(
        f"event-loop latency over the app run ({len(delays)} probes of {args.probe_ms} ms): "
        f"p50 {lat['p50']:.1f} ms  p95 {lat['p95']:.1f} ms  p99 {lat['p99']:.1f} ms  max {lat['max']:.1f} ms"
        f"   [target p99 ≤ 50 ms: {'met' if lat['p99'] <= 50 else 'NOT met'}]"
    )
    ratio = gui_rate / same_rate if same_rate else float("nan")
    print(
        f"throughput: app {gui_rate:.1f} samples/s; "
        f"CLI path with the same {job.threads} thread(s) {same_rate:.1f} samples/s ({status})"
    )
    print(f"ratio app/CLI: {ratio:.2f}   [target ≥ 0.80: {'met' if ratio >= 0.8 else 'NOT met'}]")
    if args.also_default_threads and cli_threads != job.threads:
        default_rate, status = cli_rate(cli_threads, "cli-default-threads.h5")
        print(f"CLI path with torch's default {cli_threads} threads: {default_rate:.1f} samples/s ({status}); "
              f"ratio app/CLI {gui_rate / default_rate:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
