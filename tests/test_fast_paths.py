"""The layout and transfer changes that speed the step up leave its results as they were.

Tolerance: channels-last convolutions sum the same products in another order, so one step's
float32 loss and gradients differ by rounding only: 1e-5 relative on the loss and 1e-4 of each
layer's largest gradient are two to three orders above float32's 1.2e-7 per operation, summed
over a few hundred products per output, and far below any real change. Over many steps Adam
amplifies rounding, so there the check is the seed spread (as between FordA seeds, test MSE
0.376 vs 0.403).
"""

from __future__ import annotations

import pytest
import torch

from tsstudio.config import apply_overrides, load_preset
from tsstudio.models.tokenizer import Tokenizer
from tsstudio.train.loop import fast_adamw
from tsstudio.train.objectives import build_objective

SMALL = ["encoder.dim=16", "decoder.dim=16", "ssl.proj_hidden=64", "ssl.proj_out=64", "ssl.iternorm_groups=8"]


def one_step(preset: str, channels_last: bool) -> tuple[float, dict[str, torch.Tensor]]:
    """Loss and parameter gradients of one forward and backward from a fixed initialisation and batch."""
    config = apply_overrides(load_preset(preset), SMALL)
    torch.manual_seed(0)
    tokenizer = Tokenizer(config, 128)
    tokenizer.channels_last = channels_last
    objective = build_objective(tokenizer, config).train()
    x = torch.randn(32, 128, generator=torch.Generator().manual_seed(1))
    loss, _, _ = objective(x, torch.Generator().manual_seed(2))
    loss.backward()
    return float(loss.detach()), {n: p.grad for n, p in objective.named_parameters()}


def train_loss(preset: str, channels_last: bool, seed: int, steps: int = 15) -> float:
    """Mean loss of the last 5 of `steps` AdamW steps on fixed random batches."""
    config = apply_overrides(load_preset(preset), SMALL)
    torch.manual_seed(seed)
    tokenizer = Tokenizer(config, 128)
    tokenizer.channels_last = channels_last
    objective = build_objective(tokenizer, config).train()
    optimizer = torch.optim.AdamW(objective.parameters(), lr=1e-3, **fast_adamw(torch.device("cpu")))
    t = torch.linspace(0, 6.28, 128)
    g = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        x = torch.sin(t * (1 + torch.rand(32, 1, generator=g))) + 0.1 * torch.randn(32, 128, generator=g)
        loss, _, _ = objective(x, g)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return sum(losses[-5:]) / 5


def test_channels_last_gives_the_same_loss_and_gradients():
    fast_loss, fast = one_step("regular", channels_last=True)
    plain_loss, plain = one_step("regular", channels_last=False)
    assert fast_loss == pytest.approx(plain_loss, rel=1e-5)
    scale = max(float(g.abs().max()) for g in plain.values())  # biases before a batch norm get ~0 gradients
    for name, grad in plain.items():
        torch.testing.assert_close(fast[name] / scale, grad / scale, rtol=0, atol=1e-5, msg=name)


def test_channels_last_gives_the_same_ssl_loss():
    """The SSL gradients are not compared: the max-pool over quantised latents picks among exact
    ties broken by rounding, so any rounding change (thread count, BLAS) moves them."""
    assert one_step("vibcreg-warp", channels_last=True)[0] == pytest.approx(one_step("vibcreg-warp", False)[0], rel=1e-5)


@pytest.mark.parametrize("preset", ["regular", "vibcreg-warp"])
def test_channels_last_training_is_within_seed_spread(preset):
    """Adam turns rounding-level gradient differences into lr-sized steps, so weights part after a
    few steps; what must hold is that training ends where it would have, well inside seed spread."""
    seeds = (3, 4, 5, 6)
    fast = [train_loss(preset, channels_last=True, seed=s) for s in seeds]
    plain = [train_loss(preset, channels_last=False, seed=s) for s in seeds]
    spread = max(plain) - min(plain)
    assert abs(sum(fast) / len(fast) - sum(plain) / len(plain)) < 0.5 * spread, (fast, plain)


def test_convolutions_see_channels_last_activations():
    config = load_preset("regular")
    tokenizer = Tokenizer(config, 128)
    seen = []
    tokenizer.encoder.stem[0].register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    _, z = tokenizer.encode(torch.randn(4, 128))
    assert seen[0].is_contiguous(memory_format=torch.channels_last)
    assert z.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("iternorm", [False, True])
def test_projector_pair_is_two_projector_calls(iternorm):
    """Stacking the views for the linear layers only: outputs, gradients and the running
    statistics of every batch norm / IterNorm match two separate calls to float32 rounding."""
    from tsstudio.models.ssl import Projector

    torch.manual_seed(0)
    a = Projector(16, 64, 64, iternorm=iternorm, iternorm_groups=8).train()
    b = Projector(16, 64, 64, iternorm=iternorm, iternorm_groups=8).train()
    b.load_state_dict(a.state_dict())
    x1, x2 = torch.randn(32, 16), torch.randn(32, 16) * 2 + 1
    p1, p2 = a.pair(x1, x2)
    q1, q2 = b(x1), b(x2)
    torch.testing.assert_close(p1, q1, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(p2, q2, rtol=1e-5, atol=1e-5)
    (p1.square().sum() + (p1 * p2).sum()).backward()
    (q1.square().sum() + (q1 * q2).sum()).backward()
    scale = max(float(p.grad.abs().max()) for p in b.parameters())  # biases before a batch norm get ~0
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(pa.grad / scale, pb.grad / scale, rtol=0, atol=1e-5, msg=name)
    for (name, ba), bb in zip(a.named_buffers(), b.buffers()):
        torch.testing.assert_close(ba, bb, rtol=1e-5, atol=1e-6, msg=name)
