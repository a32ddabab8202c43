"""MaskGIT prior: masking schedule, decoding schedule, guidance, frozen tokenizer, variants."""

from __future__ import annotations

import math

import pytest
import torch
from support import QUICK

from tsstudio.config import RunConfig, apply_overrides
from tsstudio.config.schema import PriorConfig
from tsstudio.data import load_dataset
from tsstudio.models import Tokenizer
from tsstudio.models.maskgit import (
    MaskGITPrior,
    masked_fraction,
    random_mask,
    remaining_after_step,
    sanitize_codebook,
)
from tsstudio.train import StepMetrics
from tsstudio.train.prior_trainer import PriorTrainer


def test_masked_fraction_is_the_cosine_schedule():
    t = torch.tensor([0.0, 1 / 3, 0.5, 1.0])
    expected = torch.tensor([1.0, math.cos(math.pi / 6), math.cos(math.pi / 4), 0.0])
    assert torch.allclose(masked_fraction(t), expected, atol=1e-6)


def test_random_mask_counts_follow_the_schedule_with_at_least_one():
    g = torch.Generator().manual_seed(0)
    mask = random_mask(4000, 75, g, torch.device("cpu"))
    counts = mask.sum(1)
    assert int(counts.min()) >= 1 and int(counts.max()) <= 75
    # E[floor(cos(pi t / 2) * N)] for t ~ U(0,1) is about N * 2/pi - 1/2
    assert float(counts.float().mean()) == pytest.approx(75 * 2 / math.pi - 0.5, abs=1.0)
    g2 = torch.Generator().manual_seed(0)
    assert torch.equal(mask, random_mask(4000, 75, g2, torch.device("cpu")))


def test_decoding_schedule_for_75_tokens_and_10_steps():
    assert [remaining_after_step(k, 10, 75) for k in range(1, 11)] == [74, 71, 66, 60, 53, 44, 34, 23, 11, 0]


@pytest.mark.parametrize("variant", ["regular", "token-context", "learnable-codebook"])
def test_iterative_decoding_unmasks_on_schedule(variant):
    torch.manual_seed(0)
    prior = MaskGITPrior(75, 3, torch.randn(32, 64), PriorConfig(variant=variant)).eval()
    out = prior.iterative_decoding(5, torch.tensor([0, 1, 2, 0, 1]), torch.Generator().manual_seed(1), record=True)
    still_masked = (out.step_tokens == -1).sum(-1)
    assert still_masked.tolist() == [[n] * 5 for n in (74, 71, 66, 60, 53, 44, 34, 23, 11, 0)]
    assert out.tokens.shape == (5, 75) and int(out.tokens.max()) < 32 and int(out.tokens.min()) >= 0
    # a token, once fixed, never changes
    for k in range(9):
        fixed = out.step_tokens[k] >= 0
        assert torch.equal(out.step_tokens[k + 1][fixed], out.step_tokens[k][fixed])


def test_guidance_mixes_conditional_and_null_logits_and_scale_one_is_one_pass():
    torch.manual_seed(0)
    prior = MaskGITPrior(10, 2, torch.randn(8, 16), PriorConfig(hidden_dim=32, n_layers=1)).eval()
    calls = []
    forward = prior.transformer.forward

    def counting(tokens, labels):
        calls.append(len(tokens))
        return forward(tokens, labels)

    prior.transformer.forward = counting
    tokens = torch.full((3, 10), 8)
    labels = torch.tensor([0, 1, 1])
    with torch.no_grad():
        cond = forward(tokens, labels)
        null = forward(tokens, torch.full((3,), 2))
        mixed = prior.guided_logits(tokens, labels, 3.0)
        assert calls == [6]  # one batched pass for both
        assert torch.allclose(mixed, null + 3.0 * (cond - null), atol=1e-5)
        calls.clear()
        assert torch.allclose(prior.guided_logits(tokens, labels, 1.0), cond, atol=1e-6)
        assert calls == [3]  # guidance 1: a single conditional pass


def test_null_class_dropout_only_in_training():
    torch.manual_seed(0)
    prior = MaskGITPrior(10, 2, torch.randn(8, 16), PriorConfig(hidden_dim=32, n_layers=1, p_unconditional=1.0))
    seen = []
    forward = prior.transformer.forward
    prior.transformer.forward = lambda t, lab: (seen.append(lab.clone()), forward(t, lab))[1]
    tokens, labels = torch.randint(0, 8, (4, 10)), torch.tensor([0, 1, 0, 1])
    prior.train().loss(tokens, labels, torch.Generator().manual_seed(0))
    prior.eval().loss(tokens, labels, torch.Generator().manual_seed(0))
    assert seen[0].tolist() == [2, 2, 2, 2] and seen[1].tolist() == [0, 1, 0, 1]


def test_loss_is_on_masked_positions_only():
    torch.manual_seed(0)
    prior = MaskGITPrior(10, 2, torch.randn(8, 16), PriorConfig(hidden_dim=32, n_layers=1, p_unconditional=0.0))
    tokens, labels = torch.randint(0, 8, (4, 10)), torch.tensor([0, 1, 0, 1])
    g = torch.Generator().manual_seed(3)
    loss, _ = prior.loss(tokens, labels, g)
    g = torch.Generator().manual_seed(3)
    mask = random_mask(4, 10, g, torch.device("cpu"))
    logits = prior.transformer(torch.where(mask, 8, tokens), labels)
    expected = torch.nn.functional.cross_entropy(logits[mask], tokens[mask])
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-5)


def test_sanitize_codebook_replaces_exploded_codes():
    cb = torch.randn(6, 4)
    cb[2] *= 1e6
    clean = sanitize_codebook(cb)
    assert clean[2].norm() < 10 * cb[[0, 1, 3, 4, 5]].norm(dim=1).median()
    assert torch.equal(clean[[0, 1, 3, 4, 5]], cb[[0, 1, 3, 4, 5]])


@pytest.mark.parametrize("variant", ["regular", "learnable-codebook"])
def test_prior_training_never_updates_the_tokenizer(variant):
    ds = load_dataset("CBF")
    config = apply_overrides(RunConfig(), [*QUICK, "trainer.max_steps=4", f"prior.variant={variant}",
                                           "prior.hidden_dim=32", "prior.n_layers=1", "trainer.snapshot_every_steps=2"])
    tokenizer = Tokenizer(config, ds.length)
    tokenizer.train()
    tokenizer(torch.as_tensor(ds.x_train[:32]))  # a non-trivial codebook and BN statistics
    before = {k: v.clone() for k, v in tokenizer.state_dict().items()}
    events = []
    assert PriorTrainer(config, tokenizer, ds, events.append).run() == "finished"
    after = tokenizer.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not tokenizer.training
    assert [e.step for e in events if isinstance(e, StepMetrics)] == [1, 2, 3, 4]
