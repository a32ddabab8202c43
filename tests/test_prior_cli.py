"""Stage 2 end to end on the built-in dataset: prior training, sampling, generation files, token export."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tsstudio.cli.main import main
from tsstudio.store import RunFile
from tsstudio.store.exports import read_generations, read_token_export
from tsstudio.store.models_io import load_tokenizer

FAST = ["--set", "trainer.batch_size=32", "--set", "trainer.device=cpu", "--set", "trainer.snapshot_every_steps=3",
        "--set", "trainer.checkpoint_every_steps=3", "--quiet"]
SMALL_PRIOR = ["--set", "prior.hidden_dim=32", "--set", "prior.n_layers=1", "--set", "prior.heads=2"]


@pytest.fixture(scope="module")
def tokenizer_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("stage2") / "tok.h5"
    assert main(["train", "--dataset", "CBF", "--max-steps", "6", "--out", str(path), *FAST]) == 0
    return path


@pytest.mark.parametrize("variant", ["regular", "token-context", "learnable-codebook"])
def test_each_variant_trains_and_samples(capsys, tmp_path, tokenizer_run, variant):
    prior = tmp_path / f"{variant}.h5"
    code = main(["prior", "--tokenizer", str(tokenizer_run), "--variant", variant, "--max-steps", "4",
                 "--out", str(prior), *FAST, *SMALL_PRIOR])
    assert code == 0, capsys.readouterr().err
    with RunFile.open(prior) as run:
        assert run.kind == "prior" and run.status == "finished"
        assert run.attrs["tokenizer_run"] == str(tokenizer_run.resolve())
        assert run.config["prior"]["variant"] == variant
        assert len(run.metric("loss")[0]) == 4 and len(run.metric("val_prior_loss")[0]) >= 1
        assert run.snapshots()["recon"].shape[1:] == (6, 128)  # generated series for the snapshot classes
    for extra in ([], ["--class", "2", "--guidance", "2.0"]):
        gen_path = tmp_path / f"gen{len(extra)}.h5"
        assert main(["sample", str(prior), "--n", "5", "--seed", "3", "--out", str(gen_path), *extra]) == 0
        gen = read_generations(gen_path)
        assert gen.series.shape == (5, 128) and gen.tokens.shape == (5, 5, 8)
        assert gen.classes.tolist() == ([-1] * 5 if not extra else [2] * 5)


def test_sampling_is_seeded_and_records_steps(tmp_path, tokenizer_run):
    prior = tmp_path / "p.h5"
    assert main(["prior", "--tokenizer", str(tokenizer_run), "--max-steps", "3", "--out", str(prior), *FAST,
                 *SMALL_PRIOR, "--variant", "token-context"]) == 0
    a, b, c = (tmp_path / f"{n}.h5" for n in "abc")
    for path, seed in ((a, 1), (b, 1), (c, 2)):
        assert main(["sample", str(prior), "--n", "4", "--class", "0", "--steps", "5", "--seed", str(seed),
                     "--record-steps", "--out", str(path)]) == 0
    ga, gb, gc = (read_generations(p) for p in (a, b, c))
    assert np.array_equal(ga.tokens, gb.tokens) and not np.array_equal(ga.tokens, gc.tokens)
    assert ga.step_tokens.shape == (5, 4, 5, 8) and ga.step_series.shape == (5, 4, 128)
    assert (ga.step_tokens[-1] >= 0).all() and (ga.step_tokens[0] == -1).sum() > 0
    assert np.array_equal(ga.step_tokens[-1], ga.tokens)
    assert ga.settings["decoding_steps"] == 5 and ga.settings["class"] == 0 and ga.settings["seed"] == 1


def test_export_round_trip(tmp_path, tokenizer_run):
    out = tmp_path / "tokens.h5"
    assert main(["export-tokens", str(tokenizer_run), "--out", str(out)]) == 0
    export = read_token_export(out)
    assert export.tokens["train"].shape == (90, 5, 8) and export.tokens["test"].shape == (900, 5, 8)
    assert export.tokens["train"].dtype == np.uint8
    assert export.labels["train"].tolist() == sorted(export.labels["train"].tolist()) or len(export.labels["train"]) == 90
    assert export.codebook.shape == (32, 64)
    assert export.attrs["tokenizer_run"] == str(tokenizer_run.resolve())
    with RunFile.open(tokenizer_run) as run:
        tokenizer, _ = load_tokenizer(run)
    from tsstudio.data import load_dataset

    ds = load_dataset("CBF")
    with torch.no_grad():
        direct = tokenizer.tokens(torch.as_tensor(ds.x_test)).numpy()
    assert np.array_equal(export.tokens["test"], direct)
    assert np.array_equal(export.labels["test"], ds.y_test)
    assert np.allclose(export.codebook, tokenizer.quantizer.codebook.numpy())
    assert json.loads(json.dumps(export.config))["quantizer"]["codebook_size"] == 32
    # only the test split
    only = tmp_path / "test-only.h5"
    assert main(["export-tokens", str(tokenizer_run), "--split", "test", "--out", str(only)]) == 0
    assert set(read_token_export(only).tokens) == {"test"}


def test_prior_errors_are_one_line(capsys, tmp_path, tokenizer_run):
    code = main(["prior", "--tokenizer", str(tokenizer_run), "--preset", "regular", "--out", str(tmp_path / "x.h5")])
    err = capsys.readouterr().err
    assert code == 1 and "configures a tokenizer run" in err and len(err.strip().splitlines()) == 1
    code = main(["sample", str(tokenizer_run), "--out", str(tmp_path / "g.h5")])
    err = capsys.readouterr().err
    assert code == 1 and "not a prior run" in err


@pytest.mark.slow
def test_eval_of_a_prior_run_reports_fid_is_cas_and_stores_them(capsys, tmp_path, tokenizer_run):
    prior = tmp_path / "p.h5"
    assert main(["prior", "--tokenizer", str(tokenizer_run), "--max-steps", "3", "--out", str(prior), *FAST,
                 *SMALL_PRIOR]) == 0
    capsys.readouterr()
    assert main(["report-priors", str(prior)]) == 1
    assert "no generative evaluation yet" in capsys.readouterr().err
    assert main(["eval", str(prior), "--fcn-epochs", "2", "--cas-epochs", "2", "--cas-precision", "fp32"]) == 0
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    assert all(stage in captured.err for stage in ("FCN classifier", "sampling", "CAS classifier"))  # progress
    assert printed["fid"] >= 0.0 and printed["real_fid_floor"] >= 0.0 and 1.0 <= printed["is_mean"] <= 3.0
    assert 0.0 <= printed["cas_accuracy"] <= 1.0 and 0.0 < printed["cas_val_acc_ema"] <= 1.0
    assert printed["cas_epochs"] == 2 and printed["cas_precision"] == "fp32" and printed["fcn_epochs"] == 2
    assert len(list((tmp_path / "fcn-cache").glob("fcn-CBF-*.pt"))) == 1  # cached in the run's workspace
    with RunFile.open(prior) as run:
        stored = run.evaluation()
    assert stored["fid"] == pytest.approx(printed["fid"]) and stored["cas_precision"] == "fp32"
    report = tmp_path / "report.md"
    assert main(["report-priors", str(prior), "--out", str(report)]) == 0
    text = report.read_text()
    fid_row = f"| regular | regular (maskgit, seed 1) | FID (FCN features, generated vs real test) | {printed['fid']:.4f} | - |"
    assert fid_row in text
    assert f"| p.h5 | CBF | {printed['real_fid_floor']:.4f} |" in text
    assert main(["report-priors", str(tokenizer_run)]) == 1
    assert "not a prior run" in capsys.readouterr().err
