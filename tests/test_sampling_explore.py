"""The sampler's Qt-free computations: decoding schedule, replay frames, nearest real series, PCA."""

from __future__ import annotations

import numpy as np
import pytest
from sampler_runs import train_tiny_prior

from tsstudio.data import load_dataset
from tsstudio.errors import TsstudioError
from tsstudio.eval.sampling_explore import (
    class_id_for,
    decoding_schedule,
    masked_counts,
    nearest_real,
    nearest_real_many,
    pca_real_vs_generated,
    replay_frame,
)
from tsstudio.store.exports import decode_series, load_sampler, sample_loaded, sample_prior


@pytest.fixture(scope="module")
def prior_run(tmp_path_factory):
    return train_tiny_prior(tmp_path_factory.mktemp("sampler"))


def test_schedule_is_the_methods_for_fordA_sized_grids():
    assert decoding_schedule(10, 75).tolist() == [74, 71, 66, 60, 53, 44, 34, 23, 11, 0]
    assert decoding_schedule(3, 2).tolist() == [1, 0, 0]  # at least one token fixed per step, never below 0
    with pytest.raises(TsstudioError, match="at least 1"):
        decoding_schedule(0, 75)


def test_class_labels_are_matched_by_text_and_unknown_ones_refused():
    assert class_id_for("2", (1, 2, 3)) == 1 and class_id_for(3, (1, 2, 3)) == 2 and class_id_for(None, (1,)) == -1
    with pytest.raises(TsstudioError, match=r"class '7': CBF has no such class \(its classes: 1, 2, 3\)"):
        class_id_for(7, (1, 2, 3), "CBF")


def test_recorded_steps_follow_the_schedule_and_replay_their_guesses(prior_run):
    loaded = load_sampler(prior_run)
    gen = sample_loaded(loaded, 6, 1, steps=7, seed=4, record_steps=True, decode_steps=False)
    n_tokens = gen.tokens[0].size
    counts = masked_counts(gen.step_tokens)
    assert counts.shape == (7, 6)
    assert (counts == decoding_schedule(7, n_tokens)[:, None]).all()
    assert gen.step_series is None and gen.step_guesses.shape == (7, 6, *gen.tokens.shape[1:])
    # the undecoded path holds the same tokens as the CLI path, which decodes every step
    cli = sample_prior(prior_run, 6, 1, steps=7, seed=4, record_steps=True)
    assert np.array_equal(cli.tokens, gen.tokens) and np.array_equal(cli.step_tokens, gen.step_tokens)
    decoded = decode_series(loaded.tokenizer, gen.step_guesses[:, 2])
    np.testing.assert_allclose(decoded, cli.step_series[:, 2], atol=1e-5)
    frame = replay_frame(cli.step_tokens, 2, 3, cli.step_series)
    assert frame.masked == frame.scheduled == decoding_schedule(7, n_tokens)[2]
    assert np.array_equal(frame.series, cli.step_series[2, 2])
    last = replay_frame(cli.step_tokens, 2, 7)
    assert last.masked == 0 and np.array_equal(last.tokens, cli.tokens[2]) and last.series is None
    with pytest.raises(TsstudioError, match="step 8: the decoding has steps 1..7"):
        replay_frame(cli.step_tokens, 0, 8)


def test_nearest_real_searches_only_the_class_asked_for():
    x = np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]], dtype=np.float32)
    y = np.array([0, 1, 1])
    near = nearest_real(np.array([0.2, 0.1]), x, y, 1)
    assert near.index == 1 and near.class_id == 1 and near.distance == pytest.approx(np.hypot(0.8, 0.9))
    assert nearest_real(np.array([0.2, 0.1]), x, y, -1).index == 0  # unconditional: every class
    with pytest.raises(TsstudioError, match="class 2: no real series"):
        nearest_real(np.zeros(2), x, y, 2)


def test_nearest_real_is_in_the_scaled_units_generations_use():
    ds = load_dataset("CBF")  # scaled as the method does
    target = ds.x_train[7] + 0.01
    near = nearest_real(target, ds.x_train, ds.y_train, int(ds.y_train[7]))
    assert near.index == 7 and near.distance == pytest.approx(0.01 * np.sqrt(ds.length), rel=1e-3)


def test_pca_places_generations_in_the_real_series_plane():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(200, 10)) * np.array([5.0, 2.0] + [0.1] * 8)
    proj = pca_real_vs_generated(real, real[:3] + 100.0 * np.eye(10)[0])
    assert proj.real.shape == (200, 2) and proj.generated.shape == (3, 2)
    assert proj.explained[0] > proj.explained[1] > 0.1
    assert abs(proj.generated[:, 0] - proj.real[:3, 0]).min() == pytest.approx(100.0, rel=1e-3)
    with pytest.raises(TsstudioError, match="the real ones. length"):
        pca_real_vs_generated(real, np.zeros((2, 3)))


def test_app_sampling_path_equals_cli_path(prior_run):
    loaded = load_sampler(prior_run)
    a = sample_loaded(loaded, 5, 0, seed=9)
    b = sample_prior(prior_run, 5, 0, seed=9)
    assert np.array_equal(a.tokens, b.tokens) and np.allclose(a.series, b.series)
    assert a.settings == b.settings


def test_nearest_for_many_generations_matches_one_at_a_time():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 16)).astype(np.float32)
    y = rng.integers(0, 3, size=50)
    gens = np.vstack([x[3], rng.normal(size=(4, 16))])  # the first copies a real series exactly
    classes = np.array([y[3], 0, 1, 2, -1])
    many = nearest_real_many(gens, x, y, classes)
    for g, c, near in zip(gens, classes, many):
        d = np.sqrt(((x.astype(np.float64) - g) ** 2).sum(1))
        allowed = np.flatnonzero(y == c) if c >= 0 else np.arange(50)
        assert near.index == allowed[np.argmin(d[allowed])] and near.distance == pytest.approx(d[near.index])
    assert many[0].index == 3 and many[0].distance == 0.0
