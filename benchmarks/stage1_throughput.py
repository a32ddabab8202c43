"""Stage-1 training throughput against the machine's peak and a baseline timed in the same run.

For each preset (default: the regular VQ-VAE, Barlow Twins warp, VIbCReg warp) on FordA (batch
128, method defaults, 2 torch threads), these training steps are timed interleaved in this one
process, round after round, so load from other work hits them all alike:

* baseline — the straightforward step of `stage1_baseline.py` (NumPy augmentation per series,
  full-width projector losses, plain AdamW, float32);
* fp32 — tsstudio's training step in float32;
* auto — tsstudio's default (`precision=auto`: bf16 autocast where the CPU or GPU runs it
  natively, float32 elsewhere).

Printed: the kernel capability, the matmul peak (fp32 2048³, and bf16 where native) at the same
thread count, each step's floating-point work (FlopCounterMode over one forward and backward),
samples/s, the fraction of the fp32 peak reached and the ratio to the baseline. Times are the
best round of each configuration and the peak the best of its per-round re-measurements: on a
shared machine the least-disturbed round is the one that tells what the code does (the median
of the per-round ratios is printed too). A configuration `fp32+before` runs tsstudio's step as it was before the float32 work
(NCHW convolutions, the two views through the SSL projector in two calls), for a before/after
in the same run. `--quality` adds the
test-set reconstruction error of each tsstudio configuration after the same steps. To measure a CPU as an AVX2 machine, run with
`ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2`.

Usage: python benchmarks/stage1_throughput.py [--data-dir DIR] [--presets regular ...] [--rounds N] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from hardware import capability, matmul_peak, peaks, step_flops
from stage1_baseline import BaselineStep

from tsstudio.config import apply_overrides, load_preset
from tsstudio.data import load_dataset
from tsstudio.eval.reconstruction import reconstruction_metrics
from tsstudio.train import TokenizerTrainer


class TsstudioStep:
    """tsstudio's own training step (the loop's schedule, batching and metrics) for one configuration."""

    def __init__(self, config, dataset, before: bool = False, tf32: bool = False) -> None:
        self.trainer = TokenizerTrainer(config, dataset, lambda event: None)
        self.trainer._setup()
        self.trainer.model.channels_last = not before
        head = getattr(self.trainer.objective, "head", None)
        if head is not None:
            head.stack_views = not before
        self.dataset = dataset
        self.tf32 = tf32

    def step(self) -> dict[str, float]:
        t = self.trainer
        if t.device.type == "cuda":  # process-wide flags: set for whichever configuration runs now
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = self.tf32
        for group in t.optimizer.param_groups:
            group["lr"] = t.config.trainer.lr
        metrics = t.train_step(t._batch_indices())
        t.step += 1
        return metrics

    def flops(self) -> float:
        """Work of one forward and backward of the objective (the optimiser step is not counted)."""
        t = self.trainer
        x = t.x_train[: t.config.trainer.batch_size]
        generator = torch.Generator(device=t.device).manual_seed(0)
        return step_flops(lambda: t.objective(x, generator)[0].backward())

    def test_mse(self) -> float:
        t = self.trainer
        return reconstruction_metrics(t.model, self.dataset.x_test, 256, t.device)["test_mse_time"]


def configuration(preset: str, dataset, precision: str, device: str, seed: int, extra: list[str]):
    return apply_overrides(
        load_preset(preset),
        [f"data.dataset={dataset.name}", "trainer.max_steps=1000", f"trainer.precision={precision}",
         f"trainer.seed={seed}", f"trainer.device={device}", "probes.at_start=false", *extra],
    )


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def measure(preset: str, dataset, args) -> list[dict]:
    """Interleaved timing of every configuration of one preset; one summary row per configuration."""
    steps = {}
    if args.device == "cpu" and not args.no_baseline:
        steps["baseline"] = BaselineStep(configuration(preset, dataset, "fp32", "cpu", args.seed, []), dataset)
    for name in args.configs:
        precision, *extra = name.split("+")
        overrides = [f"trainer.{e}" for e in extra if e not in ("before", "tf32")]
        config = configuration(preset, dataset, precision, args.device, args.seed, overrides)
        steps[name] = TsstudioStep(config, dataset, before="before" in extra, tf32="tf32" in extra)
    flops = {name: s.flops() for name, s in steps.items() if isinstance(s, TsstudioStep)}
    for s in steps.values():  # warm-up (first-touch allocations, kernel selection)
        for _ in range(args.warmup):
            s.step()
    sync(args.device)
    times: dict[str, list[float]] = {name: [] for name in steps}
    round_peaks = []
    for _ in range(args.rounds):
        round_peaks.append(matmul_peak(torch.device(args.device), repeats=2))  # the peak under this round's load
        for name, s in steps.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                s.step()
            sync(args.device)
            times[name].append((time.perf_counter() - start) / args.steps)
    batch = 128
    print(f"  {preset}: fp32 peak per round {[round(p) for p in round_peaks]} GFLOP/s", flush=True)
    rows = []
    for name, s in steps.items():
        per_step = min(times[name])  # the least-disturbed round (the machine may be shared)
        row = {"preset": preset, "config": name, "ms_per_step": 1000 * per_step, "samples_per_s": batch / per_step}
        if name in flops:
            row["gflop"] = flops[name] / 1e9
            row["fraction_of_peak"] = flops[name] / per_step / 1e9 / max(round_peaks)
            row["precision"] = s.trainer.config.trainer.precision
            row["resolved"] = "bf16" if s.trainer.dtype == torch.bfloat16 else "fp32"
            if args.quality:
                row["test_mse_time"] = s.test_mse()
        if "baseline" in times:
            row["vs_baseline"] = min(times["baseline"]) / per_step
            row["vs_baseline_median"] = statistics.median(b / t for b, t in zip(times["baseline"], times[name]))
        rows.append(row)
        print(f"  {preset} {name}: {[round(batch / t) for t in times[name]]} samples/s per round", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("TSSTUDIO_DATA_DIR"))
    parser.add_argument("--dataset", default="FordA")
    parser.add_argument("--presets", nargs="+", default=["regular", "barlowtwins-warp", "vibcreg-warp"])
    parser.add_argument("--configs", nargs="+", default=["fp32+before", "fp32", "auto"],
                        help="tsstudio configurations: a precision, optionally +trainer overrides (fp32+compile=true)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2, help="steps per configuration per round")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--quality", action="store_true", help="test-set reconstruction error after the timed steps")
    args = parser.parse_args()

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run with --device cpu, or benchmarks/gpu_throughput.py on a GPU machine")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dataset = load_dataset(args.dataset, args.data_dir)
    peak = peaks(device)
    print(f"capability: {capability(device)}; {torch.get_num_threads()} threads; torch {torch.__version__}")
    print("matmul peak (2048³): " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peak.items()))
    print(f"{args.dataset}: {dataset.n_train} train, length {dataset.length}; batch 128; {args.rounds} rounds × "
          f"{args.steps} steps per configuration, interleaved", flush=True)
    rows = [row for preset in args.presets for row in measure(preset, dataset, args)]
    print_table(rows, args.quality)


def print_table(rows: list[dict], quality: bool) -> None:
    """The summary rows as a Markdown table."""
    print()
    print("| preset | configuration | ms/step | samples/s | GFLOP/step | % of fp32 peak | × baseline (same run, best; median) |"
          + (" test MSE time |" if quality else ""))
    print("|---|---|---|---|---|---|---|" + ("---|" if quality else ""))
    for r in rows:
        label = r["config"] if "resolved" not in r else f"{r['config']} ({r['resolved']})"
        gflop = f"{r['gflop']:.1f}" if "gflop" in r else "-"
        frac = f"{100 * r['fraction_of_peak']:.0f}%" if "fraction_of_peak" in r else "-"
        ratio = f"{r['vs_baseline']:.2f} (median {r['vs_baseline_median']:.2f})" if "vs_baseline" in r else "-"
        extra = f" {r['test_mse_time']:.4f} |" if "test_mse_time" in r else (" - |" if quality else "")
        print(f"| {r['preset']} | {label} | {r['ms_per_step']:.0f} | {r['samples_per_s']:.0f} | {gflop} | {frac} | {ratio} |"
              + extra)

if __name__ == "__main__":
    main()
