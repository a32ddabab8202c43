"""EMA quantiser against hand-computed updates, perplexity and codebook statistics."""

import math

import pytest
import torch

from tsstudio.models.quantizer import Quantizer, codebook_statistics, perplexity


def grid(values):
    """A (1, 1, 1, N) latent grid (D = 1) from a list of scalars."""
    return torch.tensor(values, dtype=torch.float32).view(1, 1, 1, -1)


def make(init, decay, eps=1e-5, **kw):
    q = Quantizer(len(init), 1, decay=decay, eps=eps, **kw)
    q.codebook.copy_(torch.tensor(init, dtype=torch.float32).view(-1, 1))
    q.embed_avg.copy_(q.codebook)
    return q


def test_ema_update_matches_hand_computation():
    q = make([0.0, 10.0], decay=0.5, eps=1e-5).train()
    out = q(grid([1.0, 2.0, 9.0]))
    assert out.indices.flatten().tolist() == [0, 0, 1]
    assert out.counts.tolist() == [2, 1]
    # N = 0.5·0 + 0.5·[2, 1] = [1, 0.5];  m = 0.5·[0, 10] + 0.5·[3, 9] = [1.5, 9.5]
    assert torch.allclose(q.cluster_size, torch.tensor([1.0, 0.5]))
    assert torch.allclose(q.embed_avg.flatten(), torch.tensor([1.5, 9.5]))
    total = 1.5
    smoothed = [(n + 1e-5) / (total + 2e-5) * total for n in (1.0, 0.5)]
    expected = [1.5 / smoothed[0], 9.5 / smoothed[1]]
    assert q.codebook.flatten().tolist() == pytest.approx(expected, rel=1e-6)


def test_second_update_accumulates():
    q = make([0.0, 10.0], decay=0.5).train()
    q(grid([1.0, 2.0, 9.0]))
    q(grid([1.0, 1.0, 1.0]))
    # after the first update the codebook is about [1.5, 19]: all three go to code 0
    assert torch.allclose(q.cluster_size, torch.tensor([0.5 * 1.0 + 0.5 * 3, 0.5 * 0.5]))
    assert torch.allclose(q.embed_avg.flatten(), torch.tensor([0.5 * 1.5 + 0.5 * 3, 0.5 * 9.5]))


def test_eval_mode_never_moves_the_codebook():
    q = make([0.0, 10.0], decay=0.5).eval()
    before = q.codebook.clone()
    out = q(grid([1.0, 2.0, 9.0]))
    assert torch.equal(q.codebook, before)
    assert torch.equal(q.cluster_size, torch.zeros(2))
    assert float(out.commit_loss) == 0.0


def test_unchosen_code_explodes_as_in_the_reference():
    # Method §4: with N_k starting at 0 a code not chosen in the first update is divided by ~eps.
    q = make([0.0, 100.0], decay=0.9).train()
    q(grid([1.0, 2.0]))
    assert float(q.codebook[1]) > 1e6


def test_dead_code_restart_pulls_code_back_to_the_data():
    torch.manual_seed(0)
    q = make([0.0, 100.0], decay=0.9, dead_code_threshold=0.05).train()
    q(grid([1.0, 2.0]))
    assert float(q.codebook[1]) in (1.0, 2.0)


def test_commitment_loss_and_straight_through():
    q = make([0.0, 10.0], decay=0.5).train()
    z = grid([1.0, 2.0, 9.0]).requires_grad_(True)
    out = q(z)
    # codes before the update: [0, 0, 10] → MSE = (1 + 4 + 1) / 3
    assert float(out.commit_loss.detach()) == pytest.approx(2.0)
    out.z_q.sum().backward()
    assert torch.equal(z.grad, torch.ones_like(z))


def test_eval_mode_returns_the_code_vectors_themselves():
    """Method §4: straight-through only in training; in eval mode the output is the codes, bit for
    bit (z + (e - z) is e only up to rounding that depends on z, which breaks the ties between
    series with the same tokens in the KNN probe)."""
    torch.manual_seed(0)
    q = Quantizer(32, 64).eval()
    out = q(torch.randn(4, 64, 5, 8) * 3)
    assert torch.equal(out.z_q, q.codebook[out.indices].permute(0, 3, 1, 2))


def test_perplexity_hand_computed():
    assert perplexity(torch.tensor([2, 1])) == pytest.approx(math.exp(-(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))))
    assert perplexity(torch.tensor([5, 5, 5, 5])) == pytest.approx(4.0)
    assert perplexity(torch.tensor([7, 0, 0])) == pytest.approx(1.0)


def test_codebook_statistics_hand_computed():
    cb = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [-1.0, 0.0, 1.0]])
    stats = codebook_statistics(cb)
    # rows 0 and 1 are parallel (corr 1, cos 1); row 2 is opposite to both (corr −1, cos −1)
    assert stats["codebook_mean_abs_corr"] == pytest.approx(1.0)
    assert stats["codebook_mean_abs_cos"] == pytest.approx(1.0)
    orth = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert codebook_statistics(orth)["codebook_mean_abs_cos"] == pytest.approx(0.0)


def test_kmeans_init_places_codes_on_the_clusters():
    torch.manual_seed(0)
    q = Quantizer(2, 1, decay=0.9, kmeans_init=True, kmeans_iters=10).train()
    q(grid([0.0, 0.1, -0.1, 50.0, 50.1, 49.9]))
    codes = sorted(float(c) for c in q.codebook.flatten())
    assert codes[0] == pytest.approx(0.0, abs=0.2) and codes[1] == pytest.approx(50.0, abs=0.2)
