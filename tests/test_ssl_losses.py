"""Self-supervised heads: losses against hand-computed values, IterNorm whitening, projector, SSLHead.

Barlow Twins follows the thesis: unbiased std in the standardisation and C = p̃1ᵀp̃2 / B, so for
identical views C_ii = (B - 1) / B (3/4 for B = 4), not 1. The hand values below account for that.
"""

from __future__ import annotations

import math

import pytest
import torch

from tsstudio.config.schema import SSLConfig
from tsstudio.models.ssl import (
    IterNorm,
    Projector,
    SSLHead,
    barlow_twins_loss,
    pool_latent,
    vibcreg_loss,
    vicreg_loss,
)

D64 = torch.float64
# Two ±1 columns, zero mean and orthogonal over a batch of 4.
A = torch.tensor([1.0, 1.0, -1.0, -1.0], dtype=D64)
B = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=D64)
# Two generic columns: u - 3 = [-2, -1, 0, 3] (Σ² = 14, var 14/3), v - 1 = [-1, -1, 0, 2] (Σ² = 6, var 2),
# Σ (u - 3)(v - 1) = 2 + 1 + 0 + 6 = 9.
U = torch.tensor([1.0, 2.0, 3.0, 6.0], dtype=D64)
V = torch.tensor([0.0, 0.0, 1.0, 3.0], dtype=D64)


def cols(*columns: torch.Tensor) -> torch.Tensor:
    return torch.stack(columns, dim=1)


# ---------------------------------------------------------------- Barlow Twins


def test_barlow_twins_identical_decorrelated_views():
    # Standardised ±1 column: value ±sqrt(3/4), Σ z² = 3, so C_ii = 3/4, C_12 = 0 (orthogonal columns).
    # on_diag = 2 · (1 - 3/4)² / 2 = 1/16; off_diag = 0. Scale and shift do not matter.
    p = cols(2 * A + 5, -3 * B + 1)
    loss, terms = barlow_twins_loss(p, p.clone(), lambd=0.5)
    assert loss.item() == pytest.approx(1 / 16, abs=1e-7)
    assert terms["on_diag"] == pytest.approx(1 / 16, abs=1e-7)
    assert terms["off_diag"] == pytest.approx(0.0, abs=1e-12)


def test_barlow_twins_hand_case():
    # View 1 = (u, v), view 2 = (v, u). Standardised columns: z = centred / sqrt(var).
    # c := C(u, v) = 9 / (4 · sqrt(14/3) · sqrt(2)) = 9 / (4 sqrt(28/3)) ≈ 0.73648; C(u, u) = C(v, v) = 3/4.
    # C = [[c, 3/4], [3/4, c]]  ->  on_diag = 2 (1 - c)² / 2 = (1 - c)², off_diag = 2 · (3/4)² / 2 = 9/16.
    lambd = 0.5
    c = 9 / (4 * math.sqrt(28 / 3))
    loss, terms = barlow_twins_loss(cols(U, V), cols(V, U), lambd=lambd)
    assert terms["on_diag"] == pytest.approx((1 - c) ** 2, rel=1e-7)
    assert terms["off_diag"] == pytest.approx(9 / 16, rel=1e-7)
    assert loss.item() == pytest.approx((1 - c) ** 2 + lambd * 9 / 16, rel=1e-7)


def test_barlow_twins_collapsed_views():
    # Constant features: (p - mean) = 0 and 0 / (0 + 1e-8) = 0, so C = 0: each on-diag term is 1 -> loss F/F = 1.
    p1 = torch.tensor([[3.0, -0.5, 2.0]]).repeat(4, 1)
    p2 = torch.tensor([[1.0, 4.0, -8.0]]).repeat(4, 1)
    loss, terms = barlow_twins_loss(p1, p2, lambd=0.005)
    assert loss.item() == pytest.approx(1.0, abs=1e-7)
    assert terms == pytest.approx({"on_diag": 1.0, "off_diag": 0.0}, abs=1e-7)


def test_barlow_twins_anticorrelated_views():
    # p2 = -p1: C_ii = -3/4 -> (1 - (-3/4))² = 49/16 per feature (-> 4 as B grows); off-diagonal 0.
    p = cols(A, B)
    loss, terms = barlow_twins_loss(p, -p, lambd=0.005)
    assert terms["on_diag"] == pytest.approx(49 / 16, rel=1e-7)
    assert loss.item() == pytest.approx(49 / 16, rel=1e-7)
    # Large batch: C_ii = -(B - 1)/B -> on-diag term close to 4.
    big = torch.tensor([1.0, -1.0], dtype=D64).repeat(500)[:, None]
    assert barlow_twins_loss(big, -big, 0.005)[1]["on_diag"] == pytest.approx(4.0, abs=1e-2)


def _dense_barlow(p1: torch.Tensor, p2: torch.Tensor, lambd: float) -> torch.Tensor:
    z1 = (p1 - p1.mean(0)) / (p1.std(0) + 1e-8)
    z2 = (p2 - p2.mean(0)) / (p2.std(0) + 1e-8)
    c = z1.T @ z2 / p1.shape[0]
    eye = torch.eye(c.shape[0], dtype=c.dtype)
    return (((1 - c) ** 2) * eye + lambd * c**2 * (1 - eye)).sum() / c.shape[0]


def _dense_correlation(p: torch.Tensor) -> torch.Tensor:
    ph = p - p.mean(0)
    ph = ph / ph.norm(dim=0)
    r = ph.T @ ph
    return (r * (1 - torch.eye(r.shape[0], dtype=r.dtype))).square().mean()


def _dense_covariance(p: torch.Tensor) -> torch.Tensor:
    c = torch.cov(p.T)
    return (c * (1 - torch.eye(c.shape[0], dtype=c.dtype))).square().sum() / c.shape[0]


@pytest.mark.parametrize("n,f", [(3, 12), (20, 6)])  # Gram path (B < F) and F x F path (B >= F)
def test_losses_match_dense_definitions(n, f):
    g = torch.Generator().manual_seed(n)
    p1 = torch.randn(n, f, generator=g, dtype=D64)
    p2 = p1 + 0.5 * torch.randn(n, f, generator=g, dtype=D64)
    assert barlow_twins_loss(p1, p2, 0.3)[0].item() == pytest.approx(_dense_barlow(p1, p2, 0.3).item(), rel=1e-9)
    _, vib = vibcreg_loss(p1, p2, 25, 25, 100)
    assert vib["covariance"] == pytest.approx((_dense_correlation(p1) + _dense_correlation(p2)).item(), rel=1e-9)
    _, vic = vicreg_loss(p1, p2, 25, 25, 1)
    assert vic["covariance"] == pytest.approx((_dense_covariance(p1) + _dense_covariance(p2)).item(), rel=1e-9)


# ---------------------------------------------------------------- VIbCReg / VICReg


def test_vibcreg_identical_decorrelated_unit_variance():
    # Columns ±sqrt(3/4): unbiased var = 4 · (3/4) / 3 = 1 -> sqrt(1 + 1e-4) > 1 -> relu(...) = 0 exactly.
    p = cols(A, B) * math.sqrt(0.75)
    loss, terms = vibcreg_loss(p, p.clone(), 25, 25, 100)
    assert terms["invariance"] == 0.0
    assert terms["variance"] == 0.0
    assert terms["covariance"] == pytest.approx(0.0, abs=1e-12)
    assert loss.item() == pytest.approx(0.0, abs=1e-10)


def test_vibcreg_collapsed_views():
    # All rows equal: var 0 -> v = 1 - sqrt(1e-4) = 0.99 per feature, mean 0.99, v1 + v2 = 1.98.
    # Centred columns are 0 and stay 0 after normalisation -> correlation term 0.
    # MSE between rows [1, 2] and [3, 2]: (4 + 0) / 2 = 2.  Loss = 25 · 2 + 25 · 1.98 = 99.5.
    p1 = torch.tensor([[1.0, 2.0]], dtype=D64).repeat(4, 1)
    p2 = torch.tensor([[3.0, 2.0]], dtype=D64).repeat(4, 1)
    loss, terms = vibcreg_loss(p1, p2, 25, 25, 100)
    assert terms["variance"] == pytest.approx(2 * (1 - math.sqrt(1e-4)), rel=1e-12)
    assert terms["variance"] == pytest.approx(1.98, rel=1e-12)
    assert terms["invariance"] == pytest.approx(2.0, rel=1e-12)
    assert terms["covariance"] == 0.0
    assert loss.item() == pytest.approx(99.5, rel=1e-12)


def test_vibcreg_correlation_term_hand_cases():
    # F = 2, features a and 2a + 1: correlation matrix [[1, 1], [1, 1]]; zeroed diagonal leaves two 1s
    # -> c = 2 / F² = 2/4 = 0.5 per view, 1.0 for the two (identical) views.
    p = cols(A, 2 * A + 1)
    assert vibcreg_loss(p, p, 25, 25, 100)[1]["covariance"] == pytest.approx(1.0, rel=1e-12)
    # F = 3, features (a, -a, b): only R_01 = R_10 = -1 off the diagonal -> c = 2/9 per view.
    # var(a) = 4/3 -> std > 1 -> variance 0; loss = 100 · 4/9.
    p = cols(A, -A, B)
    loss, terms = vibcreg_loss(p, p, 25, 25, 100)
    assert terms["covariance"] == pytest.approx(4 / 9, rel=1e-12)
    assert terms["variance"] == 0.0
    assert loss.item() == pytest.approx(100 * 4 / 9, rel=1e-12)


def test_vicreg_covariance_hand_case():
    # Unbiased covariance of (u, v): [[14/3, 3], [3, 2]] (cov = 9 / 3). Off-diagonal: 2 · 3² = 18, / F = 9
    # per view. Variances 14/3 and 2 exceed 1 -> variance term 0. p2 = p1 + 1 (shift) -> MSE 1.
    p1 = cols(U, V)
    loss, terms = vicreg_loss(p1, p1 + 1, 2.0, 25.0, 0.5)
    assert terms["covariance"] == pytest.approx(18.0, rel=1e-12)
    assert terms["variance"] == 0.0
    assert terms["invariance"] == pytest.approx(1.0, rel=1e-12)
    assert loss.item() == pytest.approx(2.0 * 1 + 0.5 * 18, rel=1e-12)


@pytest.mark.parametrize("fn", [barlow_twins_loss, vibcreg_loss, vicreg_loss])
def test_losses_bf16_inputs_computed_in_float32(fn):
    g = torch.Generator().manual_seed(0)
    p1 = torch.randn(8, 6, generator=g).bfloat16().requires_grad_()
    p2 = torch.randn(8, 6, generator=g).bfloat16()
    args = (0.005,) if fn is barlow_twins_loss else (25.0, 25.0, 100.0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, _ = fn(p1, p2, *args)
    ref, _ = fn(p1.detach().double(), p2.double(), *args)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    loss.backward()
    assert p1.grad is not None and p1.grad.dtype == torch.bfloat16


def test_losses_reject_bad_shapes():
    with pytest.raises(ValueError):
        vibcreg_loss(torch.zeros(1, 4), torch.zeros(1, 4), 1, 1, 1)
    with pytest.raises(ValueError):
        barlow_twins_loss(torch.zeros(4, 3), torch.zeros(4, 2), 0.1)


# ---------------------------------------------------------------- IterNorm


def _correlated(n: int, f: int, seed: int, dtype: torch.dtype = D64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    mix = torch.eye(f) + 0.1 * torch.randn(f, f, generator=g)
    return ((torch.randn(n, f, generator=g) @ mix) * 3 + 2).to(dtype)


def _group_cov(y: torch.Tensor, groups: int) -> list[torch.Tensor]:
    yc = y - y.mean(0)
    c = yc.T @ yc / y.shape[0]
    d = y.shape[1] // groups
    return [c[i * d : (i + 1) * d, i * d : (i + 1) * d] for i in range(groups)]


def test_iternorm_whitens_each_group():
    x = _correlated(256, 16, seed=0)
    y = IterNorm(16, groups=4, iters=5).double()(x).detach()
    for c in _group_cov(y, 4):
        torch.testing.assert_close(c, torch.eye(4, dtype=D64), atol=1e-2, rtol=0)
    # Many iterations converge to ZCA whitening X_c Σ^{-1/2} (Σ with + eps·I), group by group.
    y = IterNorm(16, groups=2, iters=15).double()(x).detach()
    xc = x - x.mean(0)
    for i in range(2):
        xg = xc[:, i * 8 : (i + 1) * 8]
        evals, evecs = torch.linalg.eigh(xg.T @ xg / 256 + 1e-5 * torch.eye(8, dtype=D64))
        zca = xg @ evecs @ torch.diag(evals.rsqrt()) @ evecs.T
        torch.testing.assert_close(y[:, i * 8 : (i + 1) * 8], zca, atol=1e-5, rtol=0)


def test_iternorm_running_stats_and_eval():
    m = IterNorm(16, groups=4, iters=5).double()
    x1, x2 = _correlated(64, 16, seed=1), _correlated(64, 16, seed=2)
    m(x1)
    # From mean 0 and W = I: one update with momentum 0.1.
    torch.testing.assert_close(m.running_mean.reshape(16), 0.1 * x1.mean(0))
    assert not torch.allclose(m.running_wm, torch.eye(4, dtype=D64).expand(4, 4, 4))
    for _ in range(5):
        m(x1)
    train_out = m(x2).detach()
    rm, rw = m.running_mean.clone(), m.running_wm.clone()
    m.eval()
    e1, e2 = m(x2).detach(), m(x2).detach()
    torch.testing.assert_close(e1, e2, rtol=0, atol=0)  # deterministic, stats frozen
    torch.testing.assert_close(m.running_mean, rm, rtol=0, atol=0)
    assert not torch.allclose(e1, train_out, atol=1e-3)
    # Eval output = (x - running mean) W_running per group (W symmetric).
    xc = x2 - rm.reshape(16)
    manual = torch.cat([xc[:, i * 4 : (i + 1) * 4] @ rw[i] for i in range(4)], dim=1)
    torch.testing.assert_close(e1, manual)


def test_iternorm_gradients_flow():
    m = IterNorm(8, groups=2, iters=5)
    x = _correlated(32, 8, seed=3, dtype=torch.float32).requires_grad_()
    target = torch.randn(32, 8, generator=torch.Generator().manual_seed(0))
    (m(x) * target).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert m.weight.grad is not None and m.bias.grad is not None


def test_iternorm_bf16_input_returns_float32():
    x = _correlated(128, 16, seed=4, dtype=torch.float32).bfloat16()
    m = IterNorm(16, groups=4, iters=5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = m(x)
    assert y.dtype == torch.float32  # documented: whitened output stays float32
    ref = IterNorm(16, groups=4, iters=5)(x.float())
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=1e-5)
    for c in _group_cov(y.detach().double(), 4):
        torch.testing.assert_close(c, torch.eye(4, dtype=D64), atol=2e-2, rtol=0)


def test_iternorm_rejects_indivisible_groups():
    with pytest.raises(ValueError):
        IterNorm(10, groups=4)


# ---------------------------------------------------------------- pooling, projector, head


def test_pool_latent_hand_case():
    z = torch.arange(12.0).reshape(1, 2, 2, 3)  # channel 0: 0..5, channel 1: 6..11
    z = torch.cat([z, -z])
    expected = torch.tensor([[2.5, 8.5, 5.0, 11.0], [-2.5, -8.5, 0.0, -6.0]])
    torch.testing.assert_close(pool_latent(z), expected)


@pytest.mark.parametrize("iternorm", [False, True])
def test_projector_shapes(iternorm):
    proj = Projector(8, 16, 12, iternorm=iternorm, iternorm_groups=3, iternorm_iters=5)
    assert proj(torch.randn(5, 8)).shape == (5, 12)
    assert (proj.iternorm is not None) == iternorm


@pytest.mark.parametrize("method", ["barlowtwins", "vibcreg", "vicreg"])
@pytest.mark.parametrize("bf16", [False, True])
def test_ssl_head_forward_backward(method, bf16):
    torch.manual_seed(0)
    cfg = SSLConfig(method=method, proj_hidden=16, proj_out=16, iternorm_groups=2, iternorm_iters=5)
    head = SSLHead(cfg, latent_dim=4)
    assert (head.projector.iternorm is not None) == (method == "vibcreg")
    z_q = torch.randn(6, 4, 2, 3, requires_grad=True)
    z_aug = torch.randn(6, 4, 2, 3, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss, terms = head(z_q, z_aug)
    assert loss.dim() == 0 and loss.dtype == torch.float32 and torch.isfinite(loss)
    assert tuple(terms) == SSLHead.term_names(method)
    assert all(isinstance(v, float) for v in terms.values())
    loss.backward()
    for t in (z_q, z_aug):
        assert t.grad is not None and torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0


def test_ssl_head_loss_is_unweighted_and_names():
    cfg = SSLConfig(method="barlowtwins", weight=0.25, proj_hidden=8, proj_out=8)
    head = SSLHead(cfg, latent_dim=2)
    assert head.loss_weight == 0.25
    z = torch.randn(4, 2, 1, 3)
    head.eval()
    loss, terms = head(z, z)
    assert loss.item() == pytest.approx(terms["ssl_on_diag"] + 0.005 * terms["ssl_off_diag"], rel=1e-5)
    assert SSLHead.term_names("none") == ()
    assert SSLHead.term_names("vicreg") == ("ssl_invariance", "ssl_variance", "ssl_covariance")
    with pytest.raises(ValueError):
        SSLHead(SSLConfig(method="none"), latent_dim=2)
