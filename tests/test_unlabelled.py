"""Datasets without class labels end to end, and labelled data unchanged by the new readers.

Unlabelled: a tokenizer trains (probes skipped and said so), an unconditional prior trains on the
null class only, samples, and its evaluation gives FID/IS but no CAS, each with a note.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tsstudio.cli.main import main
from tsstudio.config import apply_overrides, load_preset
from tsstudio.data import load_dataset, make_dataset
from tsstudio.data.synthetic import CBF_LENGTH, cylinder_bell_funnel
from tsstudio.store import RunFile
from tsstudio.store.exports import read_generations
from tsstudio.store.models_io import load_prior

TINY = ["trainer.device=cpu", "trainer.precision=fp32", "trainer.batch_size=16", "trainer.num_threads=1",
        "encoder.dim=8", "decoder.dim=8", "encoder.n_resnet_blocks=1", "decoder.n_resnet_blocks=1",
        "quantizer.codebook_size=8", "trainer.snapshot_every_steps=2", "trainer.checkpoint_every_steps=2"]
TINY_FLAGS = [flag for s in TINY for flag in ("--set", s)]
SMALL_PRIOR = [flag for s in ("prior.hidden_dim=16", "prior.n_layers=1", "prior.heads=2") for flag in ("--set", s)]


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TSSTUDIO_DATA_DIR", raising=False)


def write_unlabelled(root: Path) -> None:
    x_train, _ = cylinder_bell_funnel(8, CBF_LENGTH, seed=0)
    x_test, _ = cylinder_bell_funnel(4, CBF_LENGTH, seed=1)
    np.savez(root / "Free.npz", x_train=x_train, x_test=x_test)


def test_make_dataset_without_labels() -> None:
    x = np.arange(12, dtype=float).reshape(3, 4)
    ds = make_dataset("F", x, None, x[:2], None, "here")
    assert not ds.labelled and ds.n_classes == 0 and ds.class_labels == ()
    assert ds.y_train.tolist() == [-1, -1, -1] and ds.y_test.tolist() == [-1, -1]
    assert ds.mean == pytest.approx(5.5)  # scaled as labelled data is


@pytest.mark.slow
def test_unlabelled_tokenizer_prior_sampling_and_evaluation(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    write_unlabelled(tmp_path)
    data = ["--data-dir", str(tmp_path)]
    tok, prior = tmp_path / "tok.h5", tmp_path / "prior.h5"
    assert main(["train", "--dataset", "Free", *data, "--max-steps", "4", "--out", str(tok), *TINY_FLAGS,
                 "--set", "probes.every_epochs=1", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning: dataset Free: the dataset has no class labels: the SVM and KNN probes do not apply" in err

    assert main(["eval", str(tok)]) == 0
    out, err = capsys.readouterr()
    results = json.loads(out)
    assert results["svm_accuracy"] is None and results["knn_accuracy"] is None
    assert results["test_mse_time"] >= 0.0
    assert "note: the dataset has no class labels: the SVM and KNN probes do not apply" in err
    with RunFile.open(tok) as run:
        assert run.attrs["n_classes"] == 0
        assert run.evaluation()["probes_note"] == results["probes_note"]
        assert "svm_accuracy" not in run.evaluation()

    assert main(["prior", "--tokenizer", str(tok), "--max-steps", "3", "--out", str(prior), *TINY_FLAGS,
                 *SMALL_PRIOR, "--quiet"]) == 0
    assert "the prior is unconditional (the null class only)" in capsys.readouterr().err
    with RunFile.open(prior) as run:
        model, _, _, _ = load_prior(run)
        assert run.attrs["n_classes"] == 0 and model.null_class == 0
        assert model.transformer.class_emb.num_embeddings == 1  # the null class is the only class input

    gen = tmp_path / "gen.h5"
    assert main(["sample", str(prior), "--n", "3", "--out", str(gen), "--guidance", "2.0"]) == 0
    assert ("warning: --guidance 2: guidance does not apply: the prior was trained without class labels "
            "and samples unconditionally") in capsys.readouterr().err
    assert read_generations(gen).series.shape == (3, CBF_LENGTH)
    assert main(["sample", str(prior), "--n", "3", "--out", str(tmp_path / "g2.h5"), "--class", "0"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.endswith("--class 0: the prior was trained on a dataset without class labels; it samples "
                        "unconditionally only (leave out --class)") and "\n" not in err

    assert main(["eval", str(prior), "--fcn-epochs", "2", "--cas-epochs", "2"]) == 0
    out, err = capsys.readouterr()
    results = json.loads(out)
    assert results["fid"] >= 0.0 and results["is_mean"] >= 1.0 and results["cas_accuracy"] is None
    assert "CAS" in results["cas_note"] and "k-means clusters (k=8)" in results["fcn_note"]
    assert "note: the dataset has no class labels: CAS" in err and "CAS classifier" not in err
    with RunFile.open(prior) as run:
        assert run.evaluation()["fid"] == pytest.approx(results["fid"]) and "cas_accuracy" not in run.evaluation()


def _write_cbf_as_files(root: Path) -> None:
    """The built-in CBF arrays, written as an .npz and as .ts files."""
    from tsstudio.data.synthetic import CBF_TEST_PER_CLASS, CBF_TEST_SEED, CBF_TRAIN_PER_CLASS, CBF_TRAIN_SEED

    x_train, y_train = cylinder_bell_funnel(CBF_TRAIN_PER_CLASS, CBF_LENGTH, seed=CBF_TRAIN_SEED)
    x_test, y_test = cylinder_bell_funnel(CBF_TEST_PER_CLASS, CBF_LENGTH, seed=CBF_TEST_SEED)
    np.savez(root / "CBFnpz.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    folder = root / "CBFts"
    folder.mkdir()
    for split, x, y in (("TRAIN", x_train, y_train), ("TEST", x_test, y_test)):
        lines = ["@problemName CBFts", "@univariate true", "@classLabel true 0 1 2", "@data"]
        lines += [",".join(repr(float(v)) for v in row) + f":{int(c)}" for row, c in zip(x, y)]
        (folder / f"CBFts_{split}.ts").write_text("\n".join(lines) + "\n")


@pytest.mark.slow
def test_labelled_data_read_from_files_trains_exactly_as_the_built_in_dataset(tmp_path: Path) -> None:
    """The same CBF arrays through the new readers (.npz, .ts) and through make_dataset directly (the
    built-in path) give the same dataset and, for the same seed, the same training and evaluation numbers."""
    from tsstudio.store.run_eval import evaluate_run
    from tsstudio.sweep.runner import train_run

    _write_cbf_as_files(tmp_path)
    builtin = load_dataset("CBF")
    for name in ("CBFnpz", "CBFts"):
        read = load_dataset(name, tmp_path)
        for key in ("x_train", "y_train", "x_test", "y_test"):
            np.testing.assert_array_equal(getattr(read, key), getattr(builtin, key))
        assert (read.class_labels, read.mean, read.std, read.labelled) == (builtin.class_labels, builtin.mean, builtin.std, True)
    results = {}
    for name in ("CBF", "CBFnpz", "CBFts"):
        config = apply_overrides(load_preset("regular"), [*TINY, "trainer.max_steps=4", "probes.every_epochs=0",
                                                          "probes.at_start=false", f"data.dataset={name}"])
        path = tmp_path / f"{name}.h5"
        assert train_run(config, path, data_dir=str(tmp_path)).status == "finished"
        evaluation = evaluate_run(path, data_dir=str(tmp_path))
        with RunFile.open(path) as run:
            losses = {m: run.metric(m)[2].tolist() for m in run.metric_names()}
        results[name] = (losses, {k: v for k, v in evaluation.items() if k != "step"})
    assert results["CBFnpz"] == results["CBF"]
    assert results["CBFts"] == results["CBF"]
    assert results["CBF"][1]["svm_accuracy"] is not None
