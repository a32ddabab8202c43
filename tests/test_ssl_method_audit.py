"""The published SSL presets against the method written out independently (method §5.2, §13).

Each check recomputes, from the method's description alone, something the training step computes
through the optimised code paths (the stacked-view projector, Gram-matrix losses, batched IterNorm),
with the published numbers written here as literals, so a change to a preset file, a default or
a fast path that alters what is trained is caught.
"""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from tsstudio.config import apply_overrides, load_preset
from tsstudio.data import load_dataset
from tsstudio.models.ssl import SSLHead
from tsstudio.models.tokenizer import Tokenizer
from tsstudio.train.objectives import build_objective
from tsstudio.train.tokenizer_trainer import TokenizerTrainer


def _projector_by_hand(head, x: torch.Tensor) -> torch.Tensor:
    """Linear → BN (this view's batch statistics) → ReLU → Linear → BN → ReLU → Linear [→ IterNorm]."""
    lin1, bn1, _, lin2, bn2, _, lin3 = head.projector.net
    h = F.relu(F.batch_norm(F.linear(x, lin1.weight, lin1.bias), None, None, bn1.weight, bn1.bias, training=True))
    h = F.relu(F.batch_norm(F.linear(h, lin2.weight, lin2.bias), None, None, bn2.weight, bn2.bias, training=True))
    p = F.linear(h, lin3.weight, lin3.bias)
    it = head.projector.iternorm
    if it is None:
        return p
    # IterNorm: 64 groups of 64 features, Σ = X_c X_cᵀ/B + 1e-5 I, P ← 1.5 P − 0.5 P³ Σ/tr Σ five
    # times from I, W = P / sqrt(tr Σ); then the affine weight and bias.
    out = []
    for g in range(64):
        xg = p[:, g * 64 : (g + 1) * 64]
        xc = xg - xg.mean(0)
        sigma = xc.T @ xc / p.shape[0] + 1e-5 * torch.eye(64, dtype=p.dtype)
        tr = torch.trace(sigma)
        w = torch.eye(64, dtype=p.dtype)
        for _ in range(5):
            w = 1.5 * w - 0.5 * torch.linalg.matrix_power(w, 3) @ (sigma / tr)
        out.append(xc @ (w / tr.sqrt()).T)
    return torch.cat(out, dim=1) * it.weight + it.bias


def _barlow_twins(p1: torch.Tensor, p2: torch.Tensor) -> torch.Tensor:
    b, d = p1.shape
    z1 = (p1 - p1.mean(0)) / (p1.std(0) + 1e-8)
    z2 = (p2 - p2.mean(0)) / (p2.std(0) + 1e-8)
    c = z1.T @ z2 / b
    on = (1 - c.diagonal()).square().sum()
    off = c.square().sum() - c.diagonal().square().sum()
    return (on + 0.005 * off) / d


def _vibcreg(p1: torch.Tensor, p2: torch.Tensor) -> torch.Tensor:
    def variance(p):
        return torch.relu(1 - torch.sqrt(p.var(0) + 1e-4)).mean()

    def correlation(p):
        ph = p - p.mean(0)
        ph = ph / ph.norm(dim=0)
        r = ph.T @ ph
        return (r - torch.diag(r.diagonal())).square().mean()

    return 25 * F.mse_loss(p1, p2) + 25 * (variance(p1) + variance(p2)) + 100 * (correlation(p1) + correlation(p2))


@pytest.mark.parametrize("preset,weight", [("barlowtwins-slice", 1.0), ("vibcreg-warp", 0.01)])
def test_published_ssl_head_matches_the_method_written_out(preset, weight):
    """Float32 both ways (float64 at F = 4096 takes seconds); the two agree to ~1e-7, a changed
    term, weight, width or per-view statistic moves the loss by far more than 1e-5."""
    config = load_preset(preset)
    torch.manual_seed(0)
    head = SSLHead(config.ssl, latent_dim=config.encoder.dim).train()
    assert head.loss_weight == weight
    assert head.projector.net[0].in_features == 128 and head.projector.net[-1].out_features == 4096
    g = torch.Generator().manual_seed(1)
    z_q = torch.randn(16, 64, 5, 8, generator=g)
    z_aug = 3 * torch.randn(16, 64, 5, 8, generator=g) + 1  # another distribution: per-view BN matters
    with torch.no_grad():
        loss, _ = head.loss_terms(z_q, z_aug)

        def pool(z):
            return torch.cat([z.mean(dim=(2, 3)), z.amax(dim=(2, 3))], dim=1)

        p1, p2 = _projector_by_hand(head, pool(z_q)), _projector_by_hand(head, pool(z_aug))
        expected = _barlow_twins(p1, p2) if preset.startswith("barlowtwins") else _vibcreg(p1, p2)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_two_branch_loss_is_the_method_sum():
    config = apply_overrides(load_preset("vibcreg-warp"), ["ssl.proj_hidden=64", "ssl.proj_out=64", "ssl.iternorm_groups=8",
                                                           "ssl.aug_recon_rate=0.3", "ssl.weight=0.7"])
    torch.manual_seed(0)
    objective = build_objective(Tokenizer(config, 96), config).train()
    loss, m, _ = objective(torch.randn(16, 96, generator=torch.Generator().manual_seed(0)), torch.Generator().manual_seed(1))
    total = (m["recon_time"] + m["recon_stft"] + m["commit_loss"] + 0.3 * (m["aug_recon_time"] + m["aug_recon_stft"])
             + 0.7 * m["ssl_loss"])
    assert loss.item() == pytest.approx(total.item(), rel=1e-6)


def test_one_adamw_trains_encoder_decoder_and_projector():
    config = apply_overrides(load_preset("vibcreg-warp"), ["ssl.proj_hidden=64", "ssl.proj_out=64", "ssl.iternorm_groups=8",
                                                           "trainer.batch_size=16", "trainer.device=cpu"])
    trainer = TokenizerTrainer(config, load_dataset("CBF"), lambda event: None)
    trainer._setup()
    trainer.train_step(torch.arange(16))
    (group,) = trainer.optimizer.param_groups
    assert isinstance(trainer.optimizer, torch.optim.AdamW)
    assert group["lr"] == 1e-3 and group["weight_decay"] == 1e-3
    tok, head = trainer.model, trainer.objective.head
    assert list(tok.quantizer.parameters()) == []  # EMA codebook: buffers only
    expected = {id(p) for m in (tok.encoder, tok.decoder, head.projector) for p in m.parameters()}
    assert {id(p) for p in group["params"]} == expected
    assert all(p in trainer.optimizer.state for p in head.projector.parameters())  # stepped, not just listed
