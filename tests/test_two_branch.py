"""The two-branch SSL objective: both branches train the encoder; only the original is quantised."""

from __future__ import annotations

import pytest
import torch

from tsstudio.config import apply_overrides, load_preset
from tsstudio.models import Tokenizer
from tsstudio.train.objectives import RegularObjective, TwoBranchObjective, build_objective

SMALL = ["ssl.proj_hidden=64", "ssl.proj_out=64", "ssl.iternorm_groups=8"]


def make(preset: str, *extra: str) -> TwoBranchObjective:
    torch.manual_seed(0)
    config = apply_overrides(load_preset(preset), [*SMALL, *extra])
    return build_objective(Tokenizer(config, 96), config).train()


def encoder_grad(objective, x, seed=0) -> torch.Tensor:
    objective.zero_grad(set_to_none=True)
    loss, _, _ = objective(x, torch.Generator().manual_seed(seed))
    loss.backward()
    return objective.tokenizer.encoder.stem[0].weight.grad.clone()


def test_build_objective_follows_the_config():
    assert type(build_objective(Tokenizer(load_preset("regular"), 96), load_preset("regular"))) is RegularObjective
    assert isinstance(make("barlowtwins-slice"), TwoBranchObjective)


@pytest.mark.parametrize("preset", ["barlowtwins-warp", "vibcreg-slice"])
def test_ssl_and_augmented_reconstruction_both_reach_the_encoder(preset):
    x = torch.randn(16, 96)
    base = encoder_grad(make(preset, "ssl.weight=0", "ssl.aug_recon_rate=0"), x)
    with_ssl = encoder_grad(make(preset, "ssl.weight=1", "ssl.aug_recon_rate=0"), x)
    with_aug = encoder_grad(make(preset, "ssl.weight=0", "ssl.aug_recon_rate=1"), x)
    assert not torch.allclose(base, with_ssl)
    assert not torch.allclose(base, with_aug)


def test_ssl_gradient_flows_through_both_views():
    objective = make("barlowtwins-slice")
    tok, head = objective.tokenizer, objective.head
    x = torch.randn(16, 96)
    x_aug = objective.augmenter(x, torch.Generator().manual_seed(0))
    out = tok(x)
    _, z_aug = tok.encode(x_aug)
    loss, _ = head(out.z_q, z_aug)
    g_orig, g_aug = torch.autograd.grad(loss, [out.z, z_aug])
    assert g_orig.abs().sum() > 0  # through the straight-through estimator of the quantised view
    assert g_aug.abs().sum() > 0


def test_augmented_branch_is_never_quantised():
    objective = make("vibcreg-warp")
    tok = objective.tokenizer
    seen = []
    original = tok.quantizer.forward

    def spy(z):
        seen.append(z.detach().clone())
        return original(z)

    tok.quantizer.forward = spy
    x = torch.randn(16, 96)
    objective(x, torch.Generator().manual_seed(0))
    assert len(seen) == 1
    _, z_original = tok.encode(x)  # same batch in train mode → same batch-norm statistics
    assert torch.allclose(seen[0], z_original, atol=1e-5)


def test_per_term_metrics_are_reported_separately():
    objective = make("vibcreg-slice")
    _, metrics, counts = objective(torch.randn(16, 96), torch.Generator().manual_seed(0))
    names = set(objective.metric_names) - {"loss", "perplexity", "lr"}
    assert names == set(metrics)
    assert int(counts.sum()) == 16 * tok_tokens(objective)


def tok_tokens(objective) -> int:
    return objective.tokenizer.grid.n_tokens
