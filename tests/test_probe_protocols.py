"""Probe protocols: ours (eval mode) and the reference code's train-mode features, on z_q or on z."""

from __future__ import annotations

import copy
import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from sampler_runs import FAST, TINY_TOKENIZER

from tsstudio.cli.main import main
from tsstudio.config import RunConfig
from tsstudio.data import load_dataset
from tsstudio.eval import run_probes
from tsstudio.eval.features import pooled_latents, train_mode_pooled_latents
from tsstudio.models import Tokenizer
from tsstudio.store import RunFile
from tsstudio.store.run_eval import probe_run
from tsstudio.sweep.spec import load_spec
from tsstudio.sweep.summary import build_summary, probe_variant_results

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def cbf():
    return load_dataset("CBF")


@pytest.fixture
def model(cbf):
    torch.manual_seed(0)
    m = Tokenizer(RunConfig(), cbf.length)
    m.train()
    m(torch.as_tensor(cbf.x_train[:16]))  # one EMA update so the codebook is not at its init
    return m.eval()


def _manual_pool(model, x):
    _, z = model.encode(torch.as_tensor(x))
    return model.quantizer(z).z_q.double().mean(dim=(2, 3)).numpy()


def test_train_mode_features_are_the_reference_protocol_and_leave_the_model_untouched(cbf, model) -> None:
    before = {k: v.clone() for k, v in model.state_dict().items()}
    n = len(cbf.x_train)
    f_train, f_test = train_mode_pooled_latents(model, cbf.x_train, cbf.x_test[:40], batch_size=n, device=CPU)
    # one train batch holding every series: batch norm's statistics are those of the whole train split
    # (order does not matter), and the codebook is the one before that batch's EMA update
    manual = copy.deepcopy(model).train()
    with torch.no_grad():
        expected_train = _manual_pool(manual, cbf.x_train)
        # the test series then see the codebook moved by the train batch, in batches of n, in file order
        test = cbf.x_test[:40]
        expected_test = np.concatenate([_manual_pool(manual, test[i:i + n]) for i in range(0, 40, n)])
    assert np.allclose(f_train, expected_train, atol=1e-5)
    assert np.allclose(f_test, expected_test, atol=1e-5)
    # and they are not the eval-mode features
    assert not np.allclose(f_test, pooled_latents(model, cbf.x_test[:40], 64, CPU), atol=1e-3)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # codebook and BN statistics unchanged
    assert not model.training


def test_train_mode_features_depend_on_batch_composition(cbf, model) -> None:
    a, _ = train_mode_pooled_latents(model, cbf.x_train, cbf.x_test[:8], batch_size=8, device=CPU, seed=0)
    b, _ = train_mode_pooled_latents(model, cbf.x_train, cbf.x_test[:8], batch_size=8, device=CPU, seed=0)
    c, _ = train_mode_pooled_latents(model, cbf.x_train, cbf.x_test[:8], batch_size=8, device=CPU, seed=1)
    assert np.array_equal(a, b)  # the shuffle is seeded
    assert not np.allclose(a, c, atol=1e-4)  # another order, other batches, other features


def test_latent_z_pools_the_encoder_output(cbf, model) -> None:
    x = cbf.x_test[:20]
    with torch.no_grad():
        _, z = model.encode(torch.as_tensor(x))
    assert np.allclose(pooled_latents(model, x, 7, CPU, latent="z"), z.mean(dim=(2, 3)).double().numpy(), atol=1e-6)
    assert not np.allclose(pooled_latents(model, x, 7, CPU, latent="z"), pooled_latents(model, x, 7, CPU), atol=1e-4)


def test_unknown_protocol_or_latent_is_refused(cbf, model) -> None:
    args = (model, cbf.x_train, cbf.y_train, cbf.x_test, cbf.y_test, CPU)
    with pytest.raises(ValueError, match="protocol: expected one of eval, train-mode, got 'leaky'"):
        run_probes(*args, protocol="leaky")
    with pytest.raises(ValueError, match="latent: expected one of z_q, z, got 'h'"):
        run_probes(*args, latent="h")


@pytest.fixture
def tiny_run(tmp_path: Path) -> Path:
    run = tmp_path / "cbf-s1.h5"
    assert main(["train", "--dataset", "CBF", "--max-steps", "4", "--out", str(run), *FAST, *TINY_TOKENIZER]) == 0
    return run


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_probe_command_reads_the_run_only_and_matches_its_evaluation(tiny_run: Path, tmp_path: Path, capsys) -> None:
    assert main(["eval", str(tiny_run)]) == 0
    with RunFile.open(tiny_run) as run:
        stored = run.evaluation_scalars()
    digest = _digest(tiny_run)
    out = tmp_path / "probes.csv"
    capsys.readouterr()
    assert main(["probe", str(tiny_run), "--protocol", "both", "--latent", "both", "--csv", str(out)]) == 0
    printed = capsys.readouterr()
    assert "train-mode features leak test data" in printed.err
    assert _digest(tiny_run) == digest  # nothing written to the run
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["protocol"], r["latent"]) for r in rows] == [("eval", "z_q"), ("eval", "z"), ("train-mode", "z_q"),
                                                           ("train-mode", "z")]
    assert float(rows[0]["svm_accuracy"]) == stored["svm_accuracy"]  # our protocol is the evaluation's probe
    assert float(rows[0]["knn_accuracy"]) == stored["knn_accuracy"]
    assert all(0.0 <= float(r["svm_accuracy"]) <= 1.0 for r in rows)


def test_probe_command_errors_name_the_file(tmp_path: Path, capsys) -> None:
    assert main(["probe", str(tmp_path / "missing.h5")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"tsstudio probe: error: {tmp_path / 'missing.h5'}: run file not found"]


def test_summary_sets_the_train_mode_probe_beside_the_published_figures(tiny_run: Path, tmp_path: Path) -> None:
    variants = probe_variant_results(tiny_run)
    assert set(variants) == {"svm_accuracy_train_mode", "knn_accuracy_train_mode", "svm_accuracy_z", "knn_accuracy_z"}
    assert variants["svm_accuracy_train_mode"] == probe_run(tiny_run, "train-mode")["svm_accuracy"]
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text("datasets: [ECG5000]\npresets: [regular]\nseeds: [1, 2]\n", encoding="utf-8")
    spec = load_spec(spec_file)
    values = [{"svm_accuracy": 0.90, "svm_accuracy_train_mode": 0.80}, {"svm_accuracy": 0.92, "svm_accuracy_train_mode": 0.84}]
    summary = build_summary(spec, list(zip(spec.cells(), values)),
                            published={"ECG5000": {"regular": {"svm_accuracy": [0.8284, 0.0189]}}})
    assert list(summary.tables) == ["svm_accuracy", "svm_accuracy_train_mode"]
    _, rows = summary.table("svm_accuracy_train_mode")
    assert rows == [["ECG5000", "0.8200 ± 0.0283 (n=2) *"], ["ECG5000 (published)", "0.8284 ± 0.0189 (n=4) *"]]
    assert "## `svm_accuracy_train_mode` (higher is better) — the reference code's protocol" in summary.markdown()
