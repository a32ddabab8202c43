"""Bad input end to end: each case gets one clear line (or a one-line warning), never a traceback,
a silent substitution or a half-written file."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

from tsstudio.cli.main import main
from tsstudio.config import RunConfig, apply_overrides, from_dict, to_dict
from tsstudio.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--set", "trainer.batch_size=4", "--set", "trainer.device=cpu", "--set", "trainer.num_threads=1",
         "--set", "trainer.val_every_epochs=0", "--set", "probes.every_epochs=0", "--set", "probes.at_start=false",
         "--quiet"]


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------- core validate agrees with the form


@pytest.mark.parametrize("value", ["nan", ".inf", "-.inf"])
def test_validate_rejects_non_finite_floats(value):
    with pytest.raises(ConfigError, match=r"trainer\.lr: .* not a finite number"):
        apply_overrides(RunConfig(), [f"trainer.lr={value}"])
    data = to_dict(RunConfig())
    data["quantizer"]["decay"] = float("nan")
    with pytest.raises(ConfigError, match=r"quantizer\.decay: nan is not a finite number"):
        from_dict(data)


def test_validate_rejects_encoder_and_decoder_of_different_widths():
    with pytest.raises(ConfigError, match=r"decoder\.dim: 32 must equal encoder\.dim 64"):
        apply_overrides(RunConfig(), ["decoder.dim=32"])
    assert apply_overrides(RunConfig(), ["decoder.dim=32", "encoder.dim=32"]).decoder.dim == 32
