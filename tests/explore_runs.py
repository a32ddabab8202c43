"""Tiny tokenizer runs on the built-in CBF for the compare and codebook views' tests (trained through the CLI)."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
from sampler_runs import FAST, TINY_TOKENIZER

from tsstudio.cli.main import main


def train_tiny_tokenizers(folder: Path) -> tuple[Path, Path]:
    """Run A (regular, seed 1, 32 codes) and run B (vibcreg-slice, seed 2, 16 codes), 4 steps each, in `folder`."""
    a, b = folder / "cbf-regular-s1.h5", folder / "cbf-vibcreg-s2.h5"
    assert main(["train", "--dataset", "CBF", "--max-steps", "4", "--seed", "1", "--out", str(a), *FAST,
                 *TINY_TOKENIZER]) == 0
    assert main(["train", "--dataset", "CBF", "--max-steps", "4", "--seed", "2", "--preset", "vibcreg-slice",
                 "--out", str(b), *FAST, *TINY_TOKENIZER, "--set", "quantizer.codebook_size=16"]) == 0
    return a, b


def claim_other_dataset(run: Path, out: Path, dataset: str = "GunPoint", length: int = 150) -> Path:
    """A copy of `run` whose file says it was trained on another dataset and series length."""
    shutil.copy(run, out)
    with h5py.File(out, "r+") as f:
        f.attrs["dataset"], f.attrs["length"] = dataset, length
    return out
