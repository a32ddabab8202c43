"""Stage-1 training throughput: samples per second of the training loop, and quality at equal steps.

Trains each preset (default: the regular VQ-VAE, Barlow Twins warp, VIbCReg warp) on FordA
(batch 128, method defaults, 2 torch threads) twice per seed through tsstudio's own training loop:

* baseline — full float32, the straightforward configuration;
* tsstudio — `precision=auto` (bf16 autocast where the CPU runs bf16 natively).

Both are timed over the same steps in this one process, and both are evaluated on the whole
FordA test set afterwards, so the speed-up is reported with the reconstruction error it costs
(or saves). The published reference code's throughput on a 2-core machine like this one (189,
45 and 34 samples/s) is printed for context, not re-measured.

Usage: python benchmarks/stage1_throughput.py [--data-dir DIR] [--presets regular ...] [--steps N]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from tsstudio.config import apply_overrides, load_preset
from tsstudio.data import load_dataset
from tsstudio.train import EvalMetrics, RunStarted, StepMetrics, TokenizerTrainer

REFERENCE_SAMPLES_PER_S = {"regular": 189.0, "barlowtwins-warp": 45.0, "vibcreg-warp": 34.0}


def timed_run(dataset, preset: str, precision: str, steps: int, warmup: int, seed: int) -> dict:
    """Train `steps` steps; return samples/s over the steps after warm-up and the final test metrics."""
    config = apply_overrides(
        load_preset(preset),
        [
            f"data.dataset={dataset.name}",
            f"trainer.max_steps={steps}",
            f"trainer.precision={precision}",
            f"trainer.seed={seed}",
            "trainer.device=cpu",
            "trainer.val_every_epochs=0",
            "trainer.snapshot_every_steps=1000000",
            "trainer.checkpoint_every_steps=10000000",
            "probes.at_start=false",
            "probes.every_epochs=0",
        ],
    )
    stamps: dict[int, float] = {}
    final: dict[str, float] = {}

    resolved = {}

    def on_event(event) -> None:
        if isinstance(event, RunStarted):
            resolved["precision"] = event.precision
        elif isinstance(event, StepMetrics):
            stamps[event.step] = time.perf_counter()
        elif isinstance(event, EvalMetrics):
            final.update(event.metrics)

    trainer = TokenizerTrainer(config, dataset, on_event)
    status = trainer.run()
    if status != "finished":
        raise SystemExit(f"benchmark run {precision} ended {status}")
    elapsed = stamps[steps] - stamps[warmup]
    per_step = elapsed / (steps - warmup)
    return {
        "precision": resolved["precision"],
        "ms_per_step": 1000 * per_step,
        "samples_per_s": config.trainer.batch_size / per_step,
        "test_mse_time": final["test_mse_time"],
        "test_mse_stft": final["test_mse_stft"],
        "val_loss": final["val_loss"],
        "svm_accuracy": final["svm_accuracy"],
        "knn_accuracy": final["knn_accuracy"],
    }


def mean_of(results: list[dict]) -> dict:
    """Per-key mean of several runs' figures (the precision label is taken from the first)."""
    out = {k: sum(r[k] for r in results) / len(results) for k in results[0] if k != "precision"}
    return {"precision": results[0]["precision"], **out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("TSSTUDIO_DATA_DIR"))
    parser.add_argument("--dataset", default="FordA")
    parser.add_argument("--presets", nargs="+", default=["regular", "barlowtwins-warp", "vibcreg-warp"])
    parser.add_argument("--steps", type=int, nargs="+", default=[120, 60, 60], help="steps per preset")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    dataset = load_dataset(args.dataset, args.data_dir)
    print(f"{args.dataset}: {dataset.n_train} train, {dataset.n_test} test, length {dataset.length}; batch 128, "
          f"{torch.get_num_threads()} threads, seeds {args.seeds}")
    table = []
    for preset, steps in zip(args.presets, args.steps + args.steps[-1:] * len(args.presets)):
        runs = {p: [timed_run(dataset, preset, p, steps, args.warmup, s) for s in args.seeds] for p in ("fp32", "auto")}
        for p, results in runs.items():
            print(f"{preset} {p}: samples/s {[round(r['samples_per_s']) for r in results]}, "
                  f"test MSE time {[round(r['test_mse_time'], 4) for r in results]}, "
                  f"SVM {[round(r['svm_accuracy'], 3) for r in results]}", flush=True)
        table.append((preset, steps, mean_of(runs["fp32"]), mean_of(runs["auto"])))
    print()
    print("| preset | steps | precision | ms/step | samples/s | × fp32 (this run) | × published reference "
          "| test MSE time | test MSE STFT | SVM | KNN |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for preset, steps, base, fast in table:
        ref = REFERENCE_SAMPLES_PER_S.get(preset)
        for r in (base, fast):
            vs_ref = f"{r['samples_per_s'] / ref:.2f} (of {ref:.0f}/s)" if ref else "-"
            print(
                f"| {preset} | {steps} | {r['precision']} | {r['ms_per_step']:.0f} | {r['samples_per_s']:.0f} | "
                f"{r['samples_per_s'] / base['samples_per_s']:.2f} | {vs_ref} | {r['test_mse_time']:.4f} | "
                f"{r['test_mse_stft']:.4f} | {r['svm_accuracy']:.3f} | {r['knn_accuracy']:.3f} |"
            )


if __name__ == "__main__":
    main()
