"""The Python API's behaviour beyond the walk-through: light import, inputs, refusals in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import tsstudio
from tsstudio.errors import ConfigError, DataError, TsstudioError

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"encoder.dim": 8, "decoder.dim": 8, "encoder.n_resnet_blocks": 1, "decoder.n_resnet_blocks": 1,
         "quantizer.codebook_size": 8, "trainer.batch_size": 16, "probes.at_start": False, "probes.every_epochs": 0}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tsstudio.Run:
    out = tmp_path_factory.mktemp("api") / "cbf.h5"
    return tsstudio.train("regular", "CBF", out=out, max_steps=2, device="cpu", **SMALL)


def test_import_is_light_and_train_stays_the_function() -> None:
    probe = ("import json, sys, tsstudio; light = [m for m in ('torch', 'numpy') if m in sys.modules]; "
             "import tsstudio.train.loop; from tsstudio.train import TokenizerTrainer; "
             "print(json.dumps([light, callable(tsstudio.train), tsstudio.train.TokenizerTrainer is TokenizerTrainer]))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout) == [[], True, True]


def test_tokenizer_run_object(run: tsstudio.Run) -> None:
    assert run.kind == "tokenizer" and run.prior is None and run.dataset_name == "CBF"
    assert run.metric_steps["loss"].tolist() == [1, 2] and run.metrics["loss"].shape == (2,)
    assert tsstudio.open_run(run.path).config == run.config
    assert run.dataset().n_train == 90


def test_metrics_frame_or_its_one_line_refusal(run: tsstudio.Run) -> None:
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(TsstudioError, match=r"^metrics_frame\(\) needs pandas \(pip install pandas\)"):
            run.metrics_frame()
        return
    frame = run.metrics_frame()
    assert frame.index.name == "step" and frame["loss"].tolist() == run.metrics["loss"].tolist()


def test_tokenizer_inputs(run: tsstudio.Run) -> None:
    tok = run.tokenizer
    x = run.dataset().x_test[:5]
    tokens = tok.encode(x)
    assert isinstance(tokens, np.ndarray) and tokens.shape == (5, *tok.grid)
    assert np.array_equal(tok.encode(x[:, None, :]), tokens)
    flat = tok.decode(tokens.reshape(5, -1))
    assert np.allclose(flat, tok.decode(tokens)) and flat.shape == (5, 128)
    assert isinstance(tok.reconstruct(torch.as_tensor(x)), torch.Tensor)
    with pytest.raises(DataError, match=r"^input of shape \(2, 3, 128\): expected \(N, 128\) or \(N, 1, 128\) series$"):
        tok.encode(np.zeros((2, 3, 128)))
    with pytest.raises(DataError, match=r"^input of shape \(2, 100\): expected \(N, 128\) or \(N, 1, 128\) series$"):
        tok.encode(np.zeros((2, 100)))
    with pytest.raises(DataError, match=r"^tokens: ids must be in 0\.\.7 \(the codebook size\)$"):
        tok.decode(np.full((1, *tok.grid), 8))
    with pytest.raises(DataError, match=r"^tokens of shape \(1, 3\): expected \(N, 5, 8\) token grids$"):
        tok.decode(np.zeros((1, 3)))


def test_train_refusals(run: tsstudio.Run, tmp_path: Path) -> None:
    with pytest.raises(TsstudioError, match=r"exists; pass overwrite=True to replace it"):
        tsstudio.train("regular", "CBF", out=run.path, max_steps=1)
    with pytest.raises(ConfigError, match=r"^override batch_size=: it is a key of trainer, probes; write it as section\.key"):
        tsstudio.train("regular", "CBF", out=tmp_path / "x.h5", batch_size=8)
    with pytest.raises(ConfigError, match=r"^override nope=: no section has it"):
        tsstudio.train("regular", "CBF", out=tmp_path / "x.h5", nope=1)
    with pytest.raises(ConfigError, match=r"^preset 'maskgit' configures a prior: pass the tokenizer run"):
        tsstudio.train("maskgit", "CBF", out=tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()


def test_open_run_of_a_file_that_is_not_a_run(tmp_path: Path) -> None:
    bogus = tmp_path / "data.h5"
    bogus.write_bytes(b"not hdf5")
    with pytest.raises(TsstudioError) as exc:
        tsstudio.open_run(bogus)
    assert str(bogus) in str(exc.value) and "\n" not in str(exc.value)


def test_load_dataset_by_name_or_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TSSTUDIO_DATA_DIR", raising=False)
    np.savez(tmp_path / "Mine.npz", x_train=np.random.default_rng(0).normal(size=(4, 16)),
             x_test=np.random.default_rng(1).normal(size=(2, 16)))
    assert tsstudio.load_dataset(tmp_path / "Mine.npz").n_train == 4
    assert tsstudio.load_dataset("Mine", tmp_path).n_test == 2
    assert tsstudio.load_dataset("cbf").name == "CBF"
    with pytest.raises(DataError, match=r"nowhere.npz: no such file or folder$"):
        tsstudio.load_dataset(tmp_path / "nowhere.npz")
