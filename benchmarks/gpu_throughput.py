"""Training and sampling throughput on a CUDA GPU; one line and exit 0 where there is none.

On the GPU (FordA, batch 128, method defaults), each measured in this one process:

* stage 1: samples/s of tsstudio's training step for the regular, Barlow Twins warp and VIbCReg
  warp presets in float32 (TF32 off), float32 with TF32 matmuls and convolutions, and `auto`
  (bf16 autocast), interleaved round after round (`stage1_throughput.measure`), with the fraction
  of the GPU's fp32 / bf16 matmul peak;
* stage 2: samples/s of the MaskGIT prior's training step (method-default prior on the tokens
  of a FordA-geometry tokenizer), and of iterative decoding (T = 10, guidance 1) to series;
* the app: the regular preset trained through the app's worker thread on the GPU
  (`gui_responsiveness.py --device cuda`, run as its own process), against the CLI path.

Usage: python benchmarks/gpu_throughput.py [--data-dir DIR] [--rounds 3] [--steps 5] [--no-app]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import torch


def no_gpu_line() -> str | None:
    """The one line to print where no CUDA device is usable, else None."""
    if not torch.cuda.is_available():
        return f"no CUDA device (torch {torch.__version__} sees none): GPU benchmark skipped, nothing measured"
    return None


def timed(fn, repeats: int) -> float:
    """Median seconds of `fn()` on the GPU (synchronised), after one warm-up call."""
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def prior_figures(dataset, steps: int) -> dict[str, float]:
    """Prior training samples/s (batch 128, bf16 autocast) and decoding samples/s (256 series, T = 10)."""
    from tsstudio.config import apply_overrides, load_preset
    from tsstudio.models import Tokenizer
    from tsstudio.train.prior_trainer import PriorTrainer

    config = apply_overrides(load_preset("regular"), [f"data.dataset={dataset.name}", "trainer.device=cuda",
                                                       "trainer.max_steps=1000", "probes.at_start=false"])
    torch.manual_seed(0)
    trainer = PriorTrainer(config, Tokenizer(config, dataset.length), dataset, lambda event: None)
    trainer._setup()
    prior = trainer.prior

    def train() -> None:
        for _ in range(steps):
            trainer.train_step(trainer._batch_indices())
            trainer.step += 1

    per_step = timed(train, 3) / steps
    prior.eval()
    labels = torch.zeros(256, dtype=torch.long, device="cuda")
    tok = trainer.tokenizer
    grid = tok.grid

    def sample() -> None:
        with torch.no_grad():
            out = prior.iterative_decoding(256, labels, torch.Generator(device="cuda").manual_seed(0), guidance=1.0)
            tok.decode_tokens(out.tokens.view(-1, grid.height, grid.width))

    return {"prior_train_samples_per_s": 128 / per_step, "sampling_samples_per_s": 256 / timed(sample, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("TSSTUDIO_DATA_DIR"))
    parser.add_argument("--dataset", default="FordA")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--no-app", action="store_true")
    args = parser.parse_args()
    line = no_gpu_line()
    if line:
        print(line)
        return 0

    from hardware import capability, peaks
    from stage1_throughput import measure, print_table

    from tsstudio.data import load_dataset

    device = torch.device("cuda")
    dataset = load_dataset(args.dataset, args.data_dir)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    peak = peaks(device)
    print(f"capability: {capability(device)}; torch {torch.__version__}")
    print("matmul peak (2048³): " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peak.items()))
    options = argparse.Namespace(device="cuda", configs=["fp32", "fp32+tf32", "auto"], rounds=args.rounds,
                                 steps=args.steps, warmup=2, seed=1, no_baseline=True, quality=False)
    rows = [row for preset in ("regular", "barlowtwins-warp", "vibcreg-warp") for row in measure(preset, dataset, options)]
    print_table(rows, quality=False)
    figures = prior_figures(dataset, args.steps)
    print(f"prior training: {figures['prior_train_samples_per_s']:.0f} samples/s (batch 128); "
          f"sampling: {figures['sampling_samples_per_s']:.0f} series/s (256 at a time, T = 10, guidance 1)")
    if not args.no_app:
        script = Path(__file__).with_name("gui_responsiveness.py")
        subprocess.run([sys.executable, str(script), "--device", "cuda", "--dataset", args.dataset], check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
