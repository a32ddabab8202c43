"""Codebook explorer figures: usage per split, dead codes, perplexity, where a code occurs, projections."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tsstudio.cli.main import main
from tsstudio.data import load_dataset
from tsstudio.eval.codebook_usage import code_cells, cosine_similarity_matrix, pca_2d, series_using_code, usage_counts
from tsstudio.store import RunFile
from tsstudio.store.models_io import load_tokenizer
from tsstudio.store.run_codebook import run_codebook_report, run_test_projection

FAST = ["--set", "trainer.batch_size=32", "--set", "trainer.device=cpu", "--set", "trainer.snapshot_every_steps=3",
        "--set", "trainer.checkpoint_every_steps=3", "--set", "trainer.num_threads=1", "--quiet"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("codebook") / "tok.h5"
    assert main(["train", "--dataset", "CBF", "--max-steps", "6", "--out", str(path), *FAST]) == 0
    return path


@pytest.fixture(scope="module")
def report(run):
    return run_codebook_report(run, device="cpu")


def test_token_grids_are_the_best_weights_tokens_of_each_whole_split(run, report):
    rep, y_train, y_test = report
    dataset = load_dataset("CBF")
    with RunFile.open(run) as r:
        model, _ = load_tokenizer(run=r, weights="best")
    with torch.no_grad():
        expected = model.tokens(torch.as_tensor(dataset.x_test, dtype=torch.float32)).numpy()
    np.testing.assert_array_equal(rep.test_tokens, expected)
    assert rep.train_tokens.shape == (90, 5, 8) and rep.test_tokens.shape == (900, 5, 8)
    np.testing.assert_array_equal(y_test, dataset.y_test)
    assert len(y_train) == 90


def test_usage_counts_sum_to_n_h_w_and_give_dead_codes_and_perplexity(report):
    rep, _, _ = report
    for usage, tokens in ((rep.train, rep.train_tokens), (rep.test, rep.test_tokens)):
        n, h, w = tokens.shape
        assert usage.counts.shape == (32,) and int(usage.counts.sum()) == n * h * w
        for code in range(32):
            assert usage.counts[code] == int((tokens == code).sum())
        assert usage.dead_codes.tolist() == [c for c in range(32) if not (tokens == c).any()]
        p = usage.counts[usage.counts > 0] / usage.counts.sum()
        assert usage.perplexity == pytest.approx(math.exp(-(p * np.log(p)).sum()), rel=1e-6)
    both = set(rep.train.dead_codes.tolist()) & set(rep.test.dead_codes.tolist())
    assert rep.dead_codes.tolist() == sorted(both)
    with pytest.raises(ValueError, match="outside 0..3"):
        usage_counts(np.array([0, 4]), 4)


def test_the_cells_reported_for_a_code_are_exactly_where_it_occurs(report):
    rep, _, _ = report
    tokens = rep.test_tokens
    for code in np.flatnonzero(rep.test.counts)[:3].tolist() + [int(rep.test.dead_codes[0])] * bool(rep.test.n_dead):
        cells = code_cells(tokens, code)
        expected = [(i, h, w) for i in range(tokens.shape[0]) for h in range(tokens.shape[1])
                    for w in range(tokens.shape[2]) if tokens[i, h, w] == code]
        assert [tuple(c) for c in cells.tolist()] == expected
        ids, counts = series_using_code(tokens, code)
        per_series = {i: sum(1 for c in expected if c[0] == i) for i in {c[0] for c in expected}}
        assert dict(zip(ids.tolist(), counts.tolist())) == per_series
        assert np.all(np.diff(counts) <= 0)
        top_ids, _ = series_using_code(tokens, code, top=2)
        assert top_ids.tolist() == ids[:2].tolist()


def test_codebook_similarity_and_pca(report):
    rep, _, _ = report
    cb = rep.codebook
    sim = rep.similarity
    assert sim.shape == (32, 32) and np.allclose(sim, sim.T)
    assert sim[0, 1] == pytest.approx(cb[0] @ cb[1] / (np.linalg.norm(cb[0]) * np.linalg.norm(cb[1])))
    assert np.allclose(np.diag(sim), 1.0)
    assert cosine_similarity_matrix(np.zeros((2, 3)))[0, 1] == 0.0
    assert rep.codewords_2d.shape == (32, 2)
    # Points on a line in 3-D: the first component carries all the spread, the second none.
    t = np.linspace(-1, 1, 11)
    line = np.stack([t, 2 * t, -t], axis=1) + 5.0
    proj = pca_2d(line)
    assert np.allclose(np.abs(proj[:, 0]), np.abs(t) * math.sqrt(6)) and np.allclose(proj[:, 1], 0.0)
    np.testing.assert_array_equal(pca_2d(line), proj)


def test_test_set_projection_of_the_probe_features(run):
    points, labels = run_test_projection(run, device="cpu")
    assert points.shape == (900, 2) and labels.shape == (900,)
    assert np.isfinite(points).all() and points[:, 0].var() >= points[:, 1].var()


def test_tsne_projection_is_seeded():
    from tsstudio.eval.codebook_usage import tsne_2d

    points = np.random.default_rng(0).normal(size=(30, 4))
    first = tsne_2d(points, seed=3)
    assert first.shape == (30, 2) and np.isfinite(first).all()
    np.testing.assert_allclose(tsne_2d(points, seed=3), first)


def test_probe_features_are_what_the_probes_and_the_projection_use(run):
    from tsstudio.store.run_codebook import run_probe_features
    from tsstudio.store.run_compare import compare_runs

    features = run_probe_features(run, device="cpu")
    assert features.train.shape[0] == 90 and features.test.shape[0] == 900
    np.testing.assert_array_equal(features.y_test, load_dataset("CBF").y_test)
    points, _ = run_test_projection(run, device="cpu")
    np.testing.assert_allclose(pca_2d(features.test), points, atol=1e-9)
    assert features.probes == pytest.approx(compare_runs(run, run, device="cpu").a.probes)
