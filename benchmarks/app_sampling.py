"""Sampling from the app: the Sampler view's worker path against the CLI path, and UI responsiveness.

Trains (once, into --workdir) a FordA tokenizer and a prior with the method's default model sizes
for a single step each — speed does not depend on how trained they are — then, in one process:

- app path: the Sampler view (offscreen) generates N series (class 0, T = 10, guidance 1); timed
  from pressing Generate to the generations being drawn (sampling, nearest real series, PCA
  projection and drawing included), median of --repeats after a warm-up;
- CLI path: `sample_prior` (what `tsstudio sample` runs: load the run file, sample, decode), and
  the part of it that samples an already loaded prior (`sample_loaded`), same N and settings,
  interleaved with the app path repeat by repeat so load from elsewhere hits all three alike;
- the UI thread's event-loop delay while the app samples: a 10 ms QTimer probe, delay = actual
  interval − 10 ms (p50/p99/max over all app-path repeats).

Targets: 16 series < 0.3 s and 64 < 1 s from the app on 2 threads; event-loop delay p99 < 50 ms.
Falls back to the built-in CBF when FordA is not in $TSSTUDIO_DATA_DIR.

    python benchmarks/app_sampling.py [--threads 2] [--repeats 5] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the app sets it (tsstudio.gui.app.quiet_openmp)


def pick_dataset() -> tuple[str, str | None]:
    data_dir = os.environ.get("TSSTUDIO_DATA_DIR", "").split(os.pathsep)[0]
    if data_dir and (Path(data_dir) / "FordA").is_dir():
        return "FordA", data_dir
    return "CBF", None


def make_prior(workdir: Path, dataset: str, data_dir: str | None) -> Path:
    """A one-step tokenizer and prior with the default (method) model sizes, reused when present."""
    from tsstudio.cli.main import main

    tokenizer, prior = workdir / f"tok-{dataset}.h5", workdir / f"prior-{dataset}.h5"
    common = ["--max-steps", "1", "--quiet", "--set", "trainer.device=cpu", "--set", "probes.at_start=false",
              "--set", "trainer.batch_size=32"]
    if data_dir:
        common += ["--data-dir", data_dir]
    if not tokenizer.exists():
        assert main(["train", "--dataset", dataset, "--out", str(tokenizer), *common]) == 0
    if not prior.exists():
        assert main(["prior", "--tokenizer", str(tokenizer), "--out", str(prior), *common]) == 0
    return prior


def percentiles_ms(values: list[float]) -> dict[str, float]:
    import numpy as np

    a = np.asarray(values or [0.0]) * 1000.0
    return {"p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99)), "max": float(a.max())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", default="16,64")
    parser.add_argument("--workdir", default=None, help="keep the trained runs here between invocations")
    parser.add_argument("--probe-ms", type=int, default=10)
    args = parser.parse_args(argv)

    from PySide6.QtCore import QEventLoop, QTimer  # noqa: I001  (PySide6 before pyqtgraph)
    from tsstudio.gui.app import create_app

    app = create_app(["app-sampling-bench"])
    app.setApplicationName("tsstudio-bench")  # keep the user's window settings out of it

    import torch

    from tsstudio.gui.sampling_worker import SamplerService
    from tsstudio.gui.views.sampler_view import SamplerView
    from tsstudio.store.exports import load_sampler, sample_loaded, sample_prior
    from tsstudio.train.runtime import cpu_has_native_bf16, resolve_precision

    torch.set_num_threads(args.threads)
    dataset, data_dir = pick_dataset()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="app-sampling-"))
    workdir.mkdir(parents=True, exist_ok=True)
    prior_path = make_prior(workdir, dataset, data_dir)
    loaded = load_sampler(prior_path)
    grid = loaded.tokenizer.grid
    precision = resolve_precision(loaded.config.trainer.precision, torch.device("cpu"))
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"capability {torch.backends.cpu.get_cpu_capability()}, native bf16: {cpu_has_native_bf16()}, "
          f"prior weights: {precision or torch.float32}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, "
          f"load average {os.getloadavg()[0]:.1f}")

    view = SamplerView(service=SamplerService(threads=args.threads))
    view.resize(1366, 768)
    view.show()
    delays: list[float] = []
    probe = QTimer()
    probe.setInterval(args.probe_ms)
    last = [time.perf_counter()]
    recording = [False]

    def on_probe() -> None:
        now = time.perf_counter()
        if recording[0]:
            delays.append(max(0.0, now - last[0] - args.probe_ms / 1000.0))
        last[0] = now

    probe.timeout.connect(on_probe)
    probe.start()

    def pump_until(predicate, timeout_s: float = 600.0) -> None:  # noqa: ANN001
        """Run the event loop (idle between events, as in the app) until `predicate()` holds."""
        loop = QEventLoop()
        check = QTimer()
        check.setInterval(1)
        check.timeout.connect(lambda: loop.quit() if predicate() else None)
        for signal in (view.shown, view.service.busyChanged):
            signal.connect(loop.quit)
        end = time.perf_counter() + timeout_s
        check.start()
        try:
            while not predicate():
                if time.perf_counter() > end:
                    raise TimeoutError("the sampler did not answer in time")
                loop.exec()
        finally:
            check.stop()
            for signal in (view.shown, view.service.busyChanged):
                signal.disconnect(loop.quit)

    view.load_prior(prior_path)
    pump_until(lambda: view.info is not None and not view.service.busy)
    if not view.info:
        print(view.message_text(), file=sys.stderr)
        return 1
    print(f"{dataset}: series of length {view.info.length}, {grid.n_tokens} tokens ({grid.height}x{grid.width}), "
          f"T = 10, guidance 1, class {view.info.class_labels[0]} (id 0), {args.threads} torch threads, "
          f"median of {args.repeats} after a warm-up")
    shown = [0]
    view.shown.connect(lambda: shown.__setitem__(0, shown[0] + 1))

    def app_once(n: int, seed: int) -> float:
        before = shown[0]
        last[0] = time.perf_counter()
        recording[0] = True
        start = time.perf_counter()
        assert view.generate(view.info.class_labels[0], n=n, steps=10, guidance=1.0, seed=seed)
        pump_until(lambda: shown[0] > before)
        elapsed = time.perf_counter() - start
        recording[0] = False
        pump_until(lambda: not view.service.busy)
        return elapsed

    def cli_once(n: int, seed: int) -> float:
        start = time.perf_counter()
        sample_prior(prior_path, n, 0, guidance=1.0, steps=10, seed=seed)
        return time.perf_counter() - start

    def loaded_once(n: int, seed: int) -> float:
        start = time.perf_counter()
        sample_loaded(loaded, n, 0, guidance=1.0, steps=10, seed=seed)
        return time.perf_counter() - start

    paths = {"app": app_once, "cli": cli_once, "loaded": loaded_once}
    print("| N | app: Generate → drawn (s) | CLI `sample_prior` incl. loading (s) | CLI, loaded prior (s) | app / CLI loaded |")
    print("|---|---|---|---|---|")
    for n in (int(s) for s in args.sizes.split(",")):
        times: dict[str, list[float]] = {name: [] for name in paths}
        for fn in paths.values():  # warm-up
            fn(n, -1)
        for r in range(args.repeats):  # interleaved, so load from elsewhere on the machine hits all three alike
            for name, fn in paths.items():
                times[name].append(fn(n, r))
        med = {name: statistics.median(t) for name, t in times.items()}
        print(f"| {n} | {med['app']:.3f} | {med['cli']:.3f} | {med['loaded']:.3f} | {med['app'] / med['loaded']:.2f} |")
    stats = percentiles_ms(delays)
    print(f"event-loop delay while the app sampled ({len(delays)} probes of {args.probe_ms} ms): "
          f"p50 {stats['p50']:.1f} ms, p99 {stats['p99']:.1f} ms, max {stats['max']:.1f} ms")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (other processes share these cores; compare ratios)")
    probe.stop()
    view.shutdown()
    view.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
