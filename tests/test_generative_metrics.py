"""Generative metrics: FCN shapes, FID/IS against hand-computed values, CAS counts and EMA, classifier cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tsstudio.data.dataset import make_dataset
from tsstudio.eval import generative
from tsstudio.eval.generative import (
    GenerativeMetrics,
    cached_fcn,
    cas,
    cas_counts,
    ema_of_batch_accuracies,
    fcn_accuracy,
    fcn_features,
    fcn_probs,
    first_validated_epoch,
    frechet_distance,
    generative_metrics,
    inception_score,
    train_fcn,
)
from tsstudio.models.fcn import FCN, same_padding

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _few_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the CPU is shared; one thread is fastest for these tiny nets
    yield
    torch.set_num_threads(before)


def _toy(n: int, length: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two trivially separable classes: sine (class 0) and negative sine (class 1), with noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = np.linspace(0, np.pi, length)  # half a period: a bump up vs. a bump down
    amp = rng.uniform(0.8, 1.2, size=(n, 1))
    x = np.where(y[:, None] == 0, 1.0, -1.0) * amp * np.sin(t)[None, :] + 0.1 * rng.standard_normal((n, length))
    return x.astype(np.float32), y.astype(np.int64)


# --------------------------------------------------------------------------- FCN


def test_same_padding_is_tf_style():
    assert same_padding(8) == (3, 4)
    assert same_padding(5) == (2, 2)
    assert same_padding(3) == (1, 1)


@pytest.mark.parametrize("length", [7, 16])
def test_fcn_keeps_length_and_outputs_logits(length):
    model = FCN(n_classes=3).eval()
    x = torch.randn(4, length)
    assert model.feature_maps(x).shape == (4, 128, length)
    assert model.features(x).shape == (4, 128)
    assert model(x).shape == (4, 3)
    assert torch.allclose(model(x), model(x.unsqueeze(1)))
    with pytest.raises(ValueError):
        model(torch.randn(2, 2, length))


# --------------------------------------------------------------------------- FID


def test_fid_identical_sets_is_zero():
    a = np.random.default_rng(0).standard_normal((200, 3))
    assert abs(frechet_distance(a, a)) < 1e-6


def test_fid_mean_shift_is_squared_norm():
    a = np.random.default_rng(1).standard_normal((300, 2))
    d = np.array([1.5, -2.0])
    assert frechet_distance(a, a + d) == pytest.approx(float(d @ d), abs=1e-6)


def test_fid_diagonal_closed_form():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((500, 2)) * [1.0, 2.0] + [0.0, 1.0]
    b = rng.standard_normal((500, 2)) * [3.0, 0.5] + [1.0, -1.0]
    # Decorrelate the sample covariances exactly so the closed form applies to the estimates.
    a, b = _whiten_offdiag(a), _whiten_offdiag(b)
    sa, sb = np.sqrt(np.diag(np.cov(a, rowvar=False))), np.sqrt(np.diag(np.cov(b, rowvar=False)))
    dmu = a.mean(0) - b.mean(0)
    expected = float(((sa - sb) ** 2).sum() + dmu @ dmu)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)


def _whiten_offdiag(x: np.ndarray) -> np.ndarray:
    """Remove the sample correlation between the two columns, keeping each column's variance scale."""
    c = x - x.mean(0)
    l_inv = np.linalg.inv(np.linalg.cholesky(np.cov(c, rowvar=False)))
    return (c @ l_inv.T) * x.std(0, ddof=1) + x.mean(0)


def test_fid_one_dimensional_and_singular_covariances():
    a = np.array([0.0, 1.0, 2.0, 3.0])
    b = a * 2 + 1
    # 1-D: (μa − μb)² + (σa − σb)² with unbiased σ.
    expected = (a.mean() - b.mean()) ** 2 + (a.std(ddof=1) - b.std(ddof=1)) ** 2
    assert frechet_distance(a, b) == pytest.approx(expected)
    # Fewer samples than dimensions: singular covariances must still give a finite value.
    rng = np.random.default_rng(3)
    assert np.isfinite(frechet_distance(rng.standard_normal((5, 16)), rng.standard_normal((5, 16))))


# --------------------------------------------------------------------------- IS


def test_is_confident_balanced_predictions_equal_class_count():
    c, n = 4, 40
    probs = np.eye(c)[np.arange(n) % c]
    mean, std = inception_score(probs, n_splits=1)
    assert mean == pytest.approx(c)
    assert std == pytest.approx(0.0)


def test_is_uniform_predictions_is_one():
    mean, std = inception_score(np.full((50, 5), 0.2), n_splits=5)
    assert mean == pytest.approx(1.0)
    assert std == pytest.approx(0.0)


def test_is_bounded_and_drops_remainder():
    rng = np.random.default_rng(4)
    probs = rng.dirichlet(np.full(6, 0.3), size=103)
    mean, std = inception_score(probs, n_splits=10, seed=1)
    assert 1.0 <= mean <= 6.0 and std >= 0.0
    assert inception_score(probs, n_splits=10, seed=1) == (mean, std)
    with pytest.raises(ValueError):
        inception_score(probs[:5], n_splits=10)


# --------------------------------------------------------------------------- CAS helpers


def test_cas_counts_scaling():
    y = np.array([0] * 10 + [1] * 30)
    assert cas_counts(y, 2).tolist() == [250, 750]
    y = np.array([0] * 600 + [1] * 900)
    assert cas_counts(y, 2).tolist() == [600, 900]
    assert cas_counts(np.array([0, 0, 2]), 3, minimum_total=30).tolist() == [20, 0, 10]


def test_ema_of_batch_accuracies_by_hand():
    assert ema_of_batch_accuracies([]) == 0.0
    assert ema_of_batch_accuracies([1.0]) == pytest.approx(0.01)
    assert ema_of_batch_accuracies([1.0, 0.5]) == pytest.approx(0.99 * 0.01 + 0.01 * 0.5)
    assert ema_of_batch_accuracies([0.5], rate=0.5, start=1.0) == pytest.approx(0.75)


# --------------------------------------------------------------------------- training, metrics, cache


def test_train_fcn_learns_toy_problem_and_tracks_ema():
    x, y = _toy(64)
    xv, yv = _toy(200, seed=1)  # 200 validation series → 13 batches of the training batch size 16
    seen = []
    model, hist = train_fcn(
        x, y, 2, epochs=3, batch_size=16, device=CPU, x_val=xv, y_val=yv, callback=lambda e, m: seen.append(e)
    )
    assert not model.training
    assert fcn_accuracy(model, xv, yv, CPU) > 0.9
    assert seen == [0, 1, 2] and hist["val_epochs"] == [0, 1, 2] and hist["steps"] == 12
    assert hist["val_accuracy"][-1] == pytest.approx(fcn_accuracy(model, xv, yv, CPU))
    # 39 validation batches over the run, each weighted 0.01: the EMA is at most 1 − 0.99³⁹.
    assert 0.0 < hist["val_acc_ema"] <= 1 - 0.99**39 + 1e-12
    assert fcn_features(model, xv[:5], CPU).shape == (5, 128)
    probs = fcn_probs(model, xv[:5], CPU)
    assert probs.shape == (5, 2) and np.allclose(probs.sum(1), 1.0, atol=1e-5)


def test_first_validated_epoch_by_hand():
    # CAS on ECG5000: 4500 test series in batches of 256 → 18 batches an epoch. Earlier batches
    # weigh 0.99^(18·E) together; 0.99^(18·76) ≈ 1.0e-6 > 1e-6 ≥ 0.99^(18·77), so 77 epochs matter.
    assert first_validated_epoch(1000, 18, rate=0.01, tolerance=1e-6) == 1000 - 77
    assert first_validated_epoch(50, 18, rate=0.01, tolerance=1e-6) == 0
    assert first_validated_epoch(1000, 18, rate=0.01, tolerance=0.0) == 0
    # log(0.5) / (13 · log 0.99) = 5.3 → the last 6 epochs.
    assert first_validated_epoch(10, 13, rate=0.01, tolerance=0.5) == 4


def test_skipped_validation_moves_the_ema_by_at_most_the_tolerance():
    x, y = _toy(64)
    xv, yv = _toy(200, seed=1)
    full_model, full = train_fcn(x, y, 2, epochs=10, batch_size=16, device=CPU, x_val=xv, y_val=yv, ema_tolerance=0.0)
    part_model, part = train_fcn(x, y, 2, epochs=10, batch_size=16, device=CPU, x_val=xv, y_val=yv, ema_tolerance=0.5)
    assert full["val_epochs"] == list(range(10)) and part["val_epochs"] == [4, 5, 6, 7, 8, 9]
    assert part["val_accuracy"] == full["val_accuracy"][4:]  # validation never changes training
    assert np.array_equal(fcn_probs(full_model, xv, CPU), fcn_probs(part_model, xv, CPU))
    bound = 0.99 ** (13 * 6)  # weight of everything before the validated epochs
    assert 0.0 < full["val_acc_ema"] - part["val_acc_ema"] <= bound


def test_train_fcn_should_stop_and_cas_cancel():
    x, y = _toy(32)
    _, hist = train_fcn(x, y, 2, epochs=5, batch_size=16, device=CPU, should_stop=lambda: True)
    assert hist["stopped"] and hist["steps"] == 0 and hist["epochs_completed"] == 0
    out = cas(x, y, x, y, 2, epochs=1, device=CPU, batch_size=16, should_stop=lambda: True)
    assert out == {"cas_accuracy": None, "cas_val_acc_ema": None}


def test_cas_and_generative_metrics_shapes():
    x, y = _toy(32)
    out = cas(x, y, x[:8], y[:8], 2, epochs=1, device=CPU, batch_size=16)
    assert 0.0 <= out["cas_accuracy"] <= 1.0 and 0.0 <= out["cas_val_acc_ema"] <= 0.01
    mixed = cas(x, y, x[:8], y[:8], 2, epochs=1, device=CPU, batch_size=16, precision="bf16")
    assert 0.0 <= mixed["cas_accuracy"] <= 1.0 and 0.0 <= mixed["cas_val_acc_ema"] <= 0.01
    model = FCN(2).eval()
    gm = generative_metrics(model, x[:16], x[16:], CPU, x_real_train=x[:16])
    assert gm["real_fid_floor"] == pytest.approx(0.0, abs=1e-3) and gm["n_generated"] == 16
    assert gm["fid"] >= 0.0 and 1.0 <= gm["is_mean"] <= 2.0
    full = GenerativeMetrics(**gm, fcn_test_accuracy=0.5, **out)
    assert full.to_dict()["cas_accuracy"] == out["cas_accuracy"]


def test_cached_fcn_trains_once(tmp_path, monkeypatch):
    x, y = _toy(32)
    ds = make_dataset("Toy set", x, y, x[:8], y[:8], source="built-in", scaling=False)
    calls = []
    real_train = generative.train_fcn

    def counting_train(*args, **kwargs):
        calls.append(1)
        return real_train(*args, **kwargs)

    monkeypatch.setattr(generative, "train_fcn", counting_train)
    model, acc = cached_fcn(ds, tmp_path, epochs=1, device=CPU)
    files = list(tmp_path.glob("fcn-*.pt"))
    assert len(calls) == 1 and len(files) == 1 and files[0].name.startswith("fcn-Toy_set-")
    assert not list(tmp_path.glob("*.tmp"))

    model2, acc2 = cached_fcn(ds, tmp_path, epochs=1, device=CPU)
    assert len(calls) == 1 and acc2 == acc and not model2.training
    xt = torch.from_numpy(x[:4])
    assert torch.allclose(model(xt), model2(xt))

    # Different epochs → a different cache entry; a corrupt file is retrained, not trusted.
    cached_fcn(ds, tmp_path, epochs=2, device=CPU)
    assert len(calls) == 2 and len(list(tmp_path.glob("fcn-*.pt"))) == 2
    files[0].write_bytes(b"garbage")
    cached_fcn(ds, tmp_path, epochs=1, device=CPU)
    assert len(calls) == 3
