"""Stage-1 training throughput: samples per second of the training loop, and quality at equal steps.

Trains the method's regular VQ-VAE on FordA (batch 128, method defaults, 2 torch threads) twice
from the same seed through tsstudio's own training loop:

* baseline — full float32, the straightforward configuration;
* tsstudio — `precision=auto` (bf16 autocast where the CPU runs bf16 natively).

Both are timed over the same steps in this one process, and both are evaluated on the whole
FordA test set afterwards, so the speed-up is reported with the reconstruction error it costs
(or saves). The published reference code runs this configuration at 189 samples/s on a 2-core
machine like this one (678 ms per step); that figure is printed for context, not re-measured.

Usage: python benchmarks/stage1_throughput.py [--data-dir DIR] [--steps N] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from tsstudio.config import RunConfig, apply_overrides
from tsstudio.data import load_dataset
from tsstudio.train import EvalMetrics, RunStarted, StepMetrics, TokenizerTrainer

REFERENCE_SAMPLES_PER_S = 189.0


def timed_run(dataset, precision: str, steps: int, warmup: int, seed: int) -> dict:
    """Train `steps` steps; return samples/s over the steps after warm-up and the final test metrics."""
    config = apply_overrides(
        RunConfig(),
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
    }


def mean_of(results: list[dict]) -> dict:
    """Per-key mean of several runs' figures (the precision label is taken from the first)."""
    out = {k: sum(r[k] for r in results) / len(results) for k in results[0] if k != "precision"}
    return {"precision": results[0]["precision"], **out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("TSSTUDIO_DATA_DIR"))
    parser.add_argument("--dataset", default="FordA")
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    dataset = load_dataset(args.dataset, args.data_dir)
    print(f"{args.dataset}: {dataset.n_train} train, {dataset.n_test} test, length {dataset.length}; "
          f"batch 128, {args.steps} steps ({args.warmup} warm-up), {torch.get_num_threads()} threads")
    runs = {p: [timed_run(dataset, p, args.steps, args.warmup, s) for s in args.seeds] for p in ("fp32", "auto")}
    base, fast = (mean_of(runs[p]) for p in ("fp32", "auto"))
    print(f"\nmeans over seeds {args.seeds}; speed per run (samples/s): "
          f"fp32 {[round(r['samples_per_s']) for r in runs['fp32']]}, auto {[round(r['samples_per_s']) for r in runs['auto']]}; "
          f"test MSE time per run: fp32 {[round(r['test_mse_time'], 4) for r in runs['fp32']]}, "
          f"auto {[round(r['test_mse_time'], 4) for r in runs['auto']]}")
    print(
        "| configuration | precision | ms/step | samples/s | × fp32 baseline | × published reference (189/s) "
        "| test MSE time | test MSE STFT |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, r in (("baseline (fp32)", base), ("tsstudio (auto)", fast)):
        print(
            f"| {name} | {r['precision']} | {r['ms_per_step']:.0f} | {r['samples_per_s']:.0f} | "
            f"{r['samples_per_s'] / base['samples_per_s']:.2f} | {r['samples_per_s'] / REFERENCE_SAMPLES_PER_S:.2f} | "
            f"{r['test_mse_time']:.4f} | {r['test_mse_stft']:.4f} |"
        )


if __name__ == "__main__":
    main()
