"""Tiny real tokenizer runs on the built-in CBF for the results and curves views: 2 configurations × 2 seeds."""

from __future__ import annotations

from pathlib import Path

from tsstudio.cli.main import main

FAST = ["--set", "trainer.batch_size=8", "--set", "trainer.device=cpu", "--set", "trainer.precision=fp32",
        "--set", "trainer.num_threads=1", "--set", "trainer.snapshot_every_steps=3",
        "--set", "trainer.checkpoint_every_steps=3", "--set", "encoder.dim=8", "--set", "decoder.dim=8",
        "--set", "encoder.n_resnet_blocks=1", "--set", "decoder.n_resnet_blocks=1", "--set", "probes.at_start=false",
        "--quiet"]
CODEBOOK_SIZES = (8, 16)
SEEDS = (1, 2)
STEPS = 6


def run_name(codebook_size: int, seed: int) -> str:
    return f"k{codebook_size}-s{seed}"


def train_seed_grid(folder: Path) -> Path:
    """Train k8-s1, k8-s2 (in `folder`) and k16-s1, k16-s2 (in `folder/k16`) for a few steps; returns `folder`."""
    for size in CODEBOOK_SIZES:
        sub = folder if size == CODEBOOK_SIZES[0] else folder / f"k{size}"
        sub.mkdir(parents=True, exist_ok=True)
        for seed in SEEDS:
            out = sub / f"{run_name(size, seed)}.h5"
            args = ["train", "--dataset", "CBF", "--max-steps", str(STEPS), "--seed", str(seed), "--out", str(out),
                    "--set", f"quantizer.codebook_size={size}", *FAST]
            assert main(args) == 0
    return folder
