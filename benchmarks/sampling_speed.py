"""Interactive sampling speed: 64 FordA-sized samples (75 tokens, T = 10) decoded to series.

Compares tsstudio's iterative decoding (one conditional pass per step at guidance 1; one batched
pass for conditional and null logits otherwise; bf16 weights where the CPU runs bf16 natively, as
`tsstudio sample` uses them) with a straightforward implementation that runs the conditional and
the null pass separately at every step, as the reference does even at guidance 1. Both use the
same prior (method defaults: hidden 256, 4 layers, 2 heads) and the same tokenizer (FordA
geometry), measured in this one process; the target is under 1 s on 2 threads.

Usage: python benchmarks/sampling_speed.py [--threads 2] [--n 64] [--repeats 5]
"""

from __future__ import annotations

import argparse
import copy
import math

import torch
from timing import median_time

from tsstudio.config import RunConfig
from tsstudio.models import Tokenizer
from tsstudio.models.maskgit import MaskGITPrior, remaining_after_step
from tsstudio.models.runtime import cpu_has_native_bf16


@torch.no_grad()
def straightforward_decoding(prior: MaskGITPrior, n: int, labels: torch.Tensor, guidance: float,
                             generator: torch.Generator) -> torch.Tensor:
    """Iterative decoding with separate conditional and null passes at every step."""
    cfg, tr = prior.config, prior.transformer
    steps, n_tokens, mask_id = cfg.decoding_steps, tr.n_tokens, tr.mask_id
    tokens = torch.full((n, n_tokens), mask_id, dtype=torch.long)
    null = torch.full((n,), prior.null_class, dtype=torch.long)
    for k in range(1, steps + 1):
        masked = tokens == mask_id
        cond = tr(tokens, labels)
        uncond = tr(tokens, null)
        probs = (uncond + guidance * (cond - uncond)).softmax(-1)
        sampled = torch.multinomial(probs.view(-1, probs.shape[-1]), 1, generator=generator).view(n, n_tokens)
        sampled = torch.where(masked, sampled, tokens)
        chosen = probs.gather(-1, sampled[..., None])[..., 0]
        gumbel = -torch.log(-torch.log(torch.rand(n, n_tokens, generator=generator).clamp(1e-20, 1 - 1e-7)))
        confidence = torch.log(chosen + 1e-5) + cfg.choice_temperature * (1 - k / steps) * gumbel
        confidence = torch.where(masked, confidence, torch.full_like(confidence, math.inf))
        still = min(remaining_after_step(k, steps, n_tokens), int(masked.sum(1).min()) - 1)
        tokens = sampled
        if still > 0:
            tokens = tokens.scatter(1, confidence.topk(still, dim=1, largest=False).indices, mask_id)
    return tokens



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = RunConfig()
    tokenizer = Tokenizer(config, 500).eval()
    grid = tokenizer.grid
    prior = MaskGITPrior(grid.n_tokens, 2, tokenizer.quantizer.codebook, config.prior).eval()
    prior_bf16 = copy.deepcopy(prior).for_inference(torch.bfloat16)
    labels = torch.zeros(args.n, dtype=torch.long)

    def ours(guidance: float) -> None:
        out = prior.iterative_decoding(args.n, labels, torch.Generator().manual_seed(0), guidance=guidance)
        tokenizer.decode_tokens(out.tokens.view(-1, grid.height, grid.width))

    def ours_bf16(guidance: float) -> None:
        out = prior_bf16.iterative_decoding(args.n, labels, torch.Generator().manual_seed(0), guidance=guidance)
        tokenizer.decode_tokens(out.tokens.view(-1, grid.height, grid.width))

    def baseline(guidance: float) -> None:
        tokens = straightforward_decoding(prior, args.n, labels, guidance, torch.Generator().manual_seed(0))
        tokenizer.decode_tokens(tokens.view(-1, grid.height, grid.width))

    print(f"{args.n} samples, {grid.n_tokens} tokens ({grid.height}x{grid.width}), T={config.prior.decoding_steps}, "
          f"{torch.get_num_threads()} threads, median of {args.repeats}")
    bf16 = cpu_has_native_bf16()
    print("| guidance | straightforward fp32 (s) | tsstudio fp32 (s) | speed-up | tsstudio bf16 (s) | speed-up |")
    print("|---|---|---|---|---|---|")
    for guidance in (1.0, 2.0):
        base = median_time(lambda g=guidance: baseline(g), args.repeats)
        fast = median_time(lambda g=guidance: ours(g), args.repeats)
        half = median_time(lambda g=guidance: ours_bf16(g), args.repeats) if bf16 else math.nan
        print(f"| {guidance:g} | {base:.3f} | {fast:.3f} | {base / fast:.2f}× | {half:.3f} | {base / half:.2f}× |")


if __name__ == "__main__":
    main()
