"""Cancellable evaluation and export in the core, and the workspace's listing of non-run files."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from sampler_runs import train_tiny_prior

from tsstudio.errors import Cancelled
from tsstudio.store.exports import export_tokens, read_token_export, sample_prior, write_generations
from tsstudio.store.run_eval import evaluate_prior_run, evaluate_run
from tsstudio.store.runfile import RunFile
from tsstudio.store.workspace import list_runs, summarize


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny tokenizer (tok.h5) and prior (prior.h5) on CBF, trained once for this module."""
    folder = tmp_path_factory.mktemp("runs")
    train_tiny_prior(folder)
    return folder


def test_cancelled_tokenizer_evaluation_leaves_the_run_file_byte_identical(runs: Path, tmp_path: Path) -> None:
    run = shutil.copy(runs / "tok.h5", tmp_path / "tok.h5")
    before = digest(run)
    stages: list[str] = []

    def stop_at_probes() -> bool:
        return "probes" in stages

    with pytest.raises(Cancelled, match="cancelled during"):
        evaluate_run(Path(run), device="cpu", progress=lambda stage, _d, _t: stages.append(stage), should_stop=stop_at_probes)
    assert stages == ["loading", "reconstruction", "probes"]
    assert digest(run) == before
    with RunFile.open(run) as rf:
        assert rf.evaluation() == {}


def test_tokenizer_evaluation_reports_every_stage(runs: Path, tmp_path: Path) -> None:
    run = Path(shutil.copy(runs / "tok.h5", tmp_path / "tok.h5"))
    seen: list[tuple[str, int, int]] = []
    results = evaluate_run(run, device="cpu", progress=lambda *a: seen.append(a))
    assert [s for s, _, _ in seen] == ["loading", "reconstruction", "probes", "codebook statistics", "done", "writing"]
    with RunFile.open(run) as rf:
        assert rf.evaluation()["svm_accuracy"] == pytest.approx(results["svm_accuracy"])


def test_cancelled_prior_evaluation_writes_nothing_and_caches_no_classifier(runs: Path, tmp_path: Path) -> None:
    run = Path(shutil.copy(runs / "prior.h5", tmp_path / "prior.h5"))
    before = digest(run)
    seen: list[tuple[str, int, int]] = []
    with pytest.raises(Cancelled):
        evaluate_prior_run(run, device="cpu", fcn_epochs=50, cas_epochs=1, progress=lambda *a: seen.append(a),
                           should_stop=lambda: len(seen) >= 2, fcn_cache=tmp_path / "cache")
    assert seen[0][0].startswith("FCN classifier") and seen[0][1:] == (1, 50)
    assert digest(run) == before
    cache = tmp_path / "cache"
    assert not cache.exists() or not any(cache.iterdir())


def test_cancelled_token_export_leaves_no_file_and_keeps_an_existing_one(runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "tokens.h5"
    calls: list[tuple[str, int, int]] = []
    with pytest.raises(Cancelled):
        export_tokens(runs / "tok.h5", out, progress=lambda *a: calls.append(a), should_stop=lambda: len(calls) >= 2,
                      batch_size=16)
    assert calls[0] == ("train", 0, calls[0][2]) and calls[1][1] == 16
    assert list(tmp_path.iterdir()) == []
    out.write_bytes(b"previous")
    with pytest.raises(Cancelled):
        export_tokens(runs / "tok.h5", out, should_stop=lambda: True)
    assert out.read_bytes() == b"previous" and sorted(p.name for p in tmp_path.iterdir()) == ["tokens.h5"]


def test_batched_token_export_matches_one_batch(runs: Path, tmp_path: Path) -> None:
    small = read_token_export(export_tokens(runs / "tok.h5", tmp_path / "a.h5", batch_size=7))
    whole = read_token_export(export_tokens(runs / "tok.h5", tmp_path / "b.h5"))
    for split in ("train", "test"):
        np.testing.assert_array_equal(small.tokens[split], whole.tokens[split])


def test_generation_and_token_export_files_get_their_own_kind_and_facts(runs: Path, tmp_path: Path) -> None:
    shutil.copy(runs / "tok.h5", tmp_path / "tok.h5")
    export_tokens(runs / "tok.h5", tmp_path / "tokens.h5", split="test")
    gen = sample_prior(runs / "prior.h5", 5, class_id=1, seed=3)
    write_generations(tmp_path / "gen.h5", gen, 512)
    by_name = {s.name: s for s in list_runs(tmp_path)}
    assert by_name["tok"].is_run and by_name["tok"].kind == "tokenizer"
    tokens, generated = by_name["tokens"], by_name["gen"]
    assert (tokens.kind, tokens.is_run, tokens.error) == ("export", False, None)
    assert tokens.facts["tokenizer"] == "tok" and tokens.facts["splits"] == "test"
    assert tokens.facts["N"] == f"test {len(read_token_export(tmp_path / 'tokens.h5').labels['test'])}"
    assert tokens.dataset == "CBF"
    assert (generated.kind, generated.is_run, generated.error) == ("generation", False, None)
    assert generated.facts["prior"] == "prior" and generated.facts["class"] == "1" and generated.facts["N"] == "5"
    assert "seed 3" in generated.facts["settings"]
    assert generated.dataset == "CBF"  # from the prior run it came from
    assert summarize(tmp_path / "gen.h5").facts == generated.facts


def test_a_generation_file_names_its_class_by_the_dataset_s_label(runs: Path, tmp_path: Path) -> None:
    import h5py

    prior = shutil.copy(runs / "prior.h5", tmp_path / "prior.h5")
    with h5py.File(prior, "r+") as f:  # a dataset whose labels are not the class ids (ECG5000: 1..5)
        f.attrs["class_labels"] = '["1", "2", "3"]'
    gen = sample_prior(Path(prior), 3, class_id=1, seed=0)
    write_generations(tmp_path / "gen.h5", gen, 512)
    assert summarize(tmp_path / "gen.h5").facts["class"] == "2"
    with h5py.File(prior, "r+") as f:  # a prior written before runs recorded their labels: said as an id
        del f.attrs["class_labels"]
    assert summarize(tmp_path / "gen.h5").facts["class"] == "id 1"
