"""A tiny tokenizer and prior on the built-in CBF, trained through the CLI for the sampler's tests."""

from __future__ import annotations

from pathlib import Path

from tsstudio.cli.main import main

FAST = ["--set", "trainer.batch_size=32", "--set", "trainer.device=cpu", "--set", "trainer.precision=fp32",
        "--set", "trainer.snapshot_every_steps=3", "--set", "trainer.checkpoint_every_steps=3", "--quiet"]
TINY_TOKENIZER = ["--set", "encoder.dim=16", "--set", "decoder.dim=16", "--set", "encoder.n_resnet_blocks=1",
                  "--set", "decoder.n_resnet_blocks=1", "--set", "probes.at_start=false"]
TINY_PRIOR = ["--set", "prior.hidden_dim=32", "--set", "prior.n_layers=1", "--set", "prior.heads=2"]


def train_tiny_prior(folder: Path) -> Path:
    """Train a tokenizer for 4 steps and a prior on it for 3 steps in `folder`; returns the prior run."""
    tokenizer, prior = folder / "tok.h5", folder / "prior.h5"
    assert main(["train", "--dataset", "CBF", "--max-steps", "4", "--out", str(tokenizer), *FAST, *TINY_TOKENIZER]) == 0
    assert main(["prior", "--tokenizer", str(tokenizer), "--max-steps", "3", "--out", str(prior), *FAST, *TINY_PRIOR]) == 0
    return prior
