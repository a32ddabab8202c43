"""MaskGIT prior over a tokenizer's (frequency × time) token grid (method §9), in three variants.

One masking convention serves every variant — the original MaskGIT one: per sample, a masked
fraction γ(t) = cos(πt/2) with t ~ U(0, 1), at least one masked token, and the loss on masked
positions only — so the variants differ only in what the transformer consumes:

* ``regular``: learned token-id embeddings, initialised from the tokenizer's codebook;
* ``token-context``: the tokenizer's (frozen) code vectors themselves, plus a learned mask vector;
* ``learnable-codebook``: as token-context, with the code vectors fine-tuned with the prior
  (decoding still uses the tokenizer's own codebook).

Class conditioning uses a null class (index ``n_classes``) that replaces labels with probability
``p_unconditional`` in training only; classifier-free guidance mixes conditional and null logits
in one batched pass, and a guidance scale of 1 costs a single conditional pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from tsstudio.config.schema import PriorConfig


def masked_fraction(t: torch.Tensor) -> torch.Tensor:
    """The cosine schedule γ(t) = cos(πt/2): the fraction of tokens masked at time t ∈ [0, 1]."""
    return torch.cos(math.pi / 2 * t)


def random_mask(batch: int, n_tokens: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Training mask (B, N): per sample ⌊γ(t)·N⌋ positions (at least one), t ~ U(0, 1)."""
    t = torch.rand(batch, generator=generator, device=device)
    counts = torch.floor(masked_fraction(t) * n_tokens).long().clamp(1, n_tokens)
    noise = torch.rand(batch, n_tokens, generator=generator, device=device)
    ranks = noise.argsort(dim=1).argsort(dim=1)
    return ranks < counts[:, None]


def remaining_after_step(step: int, total_steps: int, n_tokens: int) -> int:
    """Tokens still masked after decoding step `step` (1-based) of `total_steps`: ⌊N·cos(πk/2T)⌋."""
    return int(math.floor(n_tokens * math.cos(math.pi * step / (2 * total_steps)) + 1e-9))


def sanitize_codebook(codebook: torch.Tensor, factor: float = 10.0) -> torch.Tensor:
    """Copy of a codebook whose exploded rows (dead codes, method §4) are replaced by small random ones.

    A reference-configured quantiser leaves never-chosen codes with norms around 1e5–1e6; used as
    embeddings they would dominate a weight-tied head or a code-vector input.
    """
    cb = codebook.detach().float().clone()
    norms = cb.norm(dim=1)
    typical = norms.median().clamp(min=1e-6)
    bad = norms > factor * typical
    if bad.any():
        fresh = torch.randn(int(bad.sum()), cb.shape[1], device=cb.device)
        cb[bad] = F.normalize(fresh, dim=1) * typical
    return cb


class RMSNorm(nn.Module):
    """Root-mean-square normalisation that works in the input's dtype (bf16 under autocast too)."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == self.weight.dtype:  # weights cast for inference: stay in this dtype
            return x * torch.rsqrt(x.square().mean(-1, keepdim=True) + self.eps) * self.weight
        scale = torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + self.eps)
        return (x.float() * scale).to(x.dtype) * self.weight.to(x.dtype)


class Block(nn.Module):
    """Pre-norm transformer block: RMSNorm, bidirectional self-attention, RMSNorm, GELU MLP."""

    def __init__(self, dim: int, heads: int, dim_head: int, ff_mult: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.dim_head = heads, dim_head
        inner = heads * dim_head
        self.norm1 = RMSNorm(dim)
        self.qkv = nn.Linear(dim, 3 * inner)
        self.out = nn.Linear(inner, dim)
        self.norm2 = RMSNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, dim * ff_mult), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim * ff_mult, dim)
        )
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, self.dim_head).permute(2, 0, 3, 1, 4)
        if self.training or n > 256:
            attn = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        else:  # short sequences: plain batched matmuls beat the flash kernel on CPU
            weights = (q @ k.transpose(-2, -1)) * (q.shape[-1] ** -0.5)
            attn = weights.softmax(-1) @ v
        x = x + self.out(attn.transpose(1, 2).reshape(b, n, self.heads * self.dim_head))
        return x + self.mlp(self.norm2(x))


class BidirectionalTransformer(nn.Module):
    """Logits over the K codes at every grid position, given partly masked tokens and a class."""

    def __init__(self, n_tokens: int, n_classes: int, codebook: torch.Tensor, config: PriorConfig) -> None:
        super().__init__()
        k, d = codebook.shape
        self.n_tokens, self.n_classes, self.codebook_size, self.variant = n_tokens, n_classes, k, config.variant
        init = sanitize_codebook(codebook)
        if config.variant == "regular":
            self.token_emb = nn.Embedding(k + 1, d)
            with torch.no_grad():
                self.token_emb.weight[:k] = init
            self.head_bias = nn.Parameter(torch.zeros(n_tokens, k))
        else:
            if config.variant == "learnable-codebook":
                self.codewords = nn.Parameter(init)
            else:
                self.register_buffer("codewords", init)
            self.mask_emb = nn.Parameter(torch.randn(d) * init.norm(dim=1).median() / math.sqrt(d))
            self.head = nn.Linear(d, k)
        self.class_emb = nn.Embedding(n_classes + 1, d)
        self.pos_emb = nn.Parameter(torch.randn(n_tokens + 1, d) * 0.02)
        self.norm_in = nn.LayerNorm(d)
        self.proj_in = nn.Linear(d, config.hidden_dim)
        self.blocks = nn.ModuleList(
            Block(config.hidden_dim, config.heads, config.dim_head, config.ff_mult, config.dropout)
            for _ in range(config.n_layers)
        )
        self.norm_out = RMSNorm(config.hidden_dim)
        self.proj_out = nn.Sequential(nn.Linear(config.hidden_dim, d), nn.GELU(), nn.LayerNorm(d))

    @property
    def mask_id(self) -> int:
        return self.codebook_size

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, N) token ids with `mask_id` at masked positions → (B, N, D)."""
        if self.variant == "regular":
            return self.token_emb(tokens)
        masked = tokens == self.mask_id
        vectors = self.codewords[tokens.clamp(max=self.codebook_size - 1)]
        return torch.where(masked[..., None], self.mask_emb.expand_as(vectors), vectors)

    def forward(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """(B, N) tokens and (B,) labels in 0..C (C = null) → (B, N, K) logits."""
        x = torch.cat([self.class_emb(labels)[:, None], self.embed(tokens)], dim=1) + self.pos_emb
        h = self.proj_in(self.norm_in(x))
        for block in self.blocks:
            h = block(h)
        h = self.proj_out(self.norm_out(h))[:, 1:]
        if self.variant == "regular":
            return h @ self.token_emb.weight[: self.codebook_size].T + self.head_bias
        return self.head(h)


@dataclass
class Decoding:
    """Result of iterative decoding."""

    tokens: torch.Tensor  # (B, N) final token ids
    step_tokens: torch.Tensor | None  # (T, B, N) tokens after each step, -1 where still masked
    step_guesses: torch.Tensor | None  # (T, B, N) the full sampled grid at each step (masked ones filled)


class MaskGITPrior(nn.Module):
    """The stage-2 prior: a bidirectional transformer trained by masked token prediction."""

    def __init__(self, n_tokens: int, n_classes: int, codebook: torch.Tensor, config: PriorConfig) -> None:
        super().__init__()
        self.config = config
        self.n_classes = n_classes
        self.transformer = BidirectionalTransformer(n_tokens, n_classes, codebook, config)
        self.autocast_dtype: torch.dtype | None = None  # e.g. bfloat16 where the hardware runs it natively

    def for_inference(self, dtype: torch.dtype | None) -> MaskGITPrior:
        """Eval mode, and weights cast once to `dtype` (no per-call casts under autocast) when given."""
        self.eval()
        if dtype is not None:
            self.to(dtype)
            self.autocast_dtype = None
        return self

    def _logits(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Transformer logits in float32, the matrix work under autocast when a dtype is set."""
        enabled = self.autocast_dtype is not None
        with torch.autocast(tokens.device.type, dtype=self.autocast_dtype or torch.bfloat16, enabled=enabled):
            return self.transformer(tokens, labels).float()

    @property
    def null_class(self) -> int:
        return self.n_classes

    def loss(self, tokens: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, dict]:
        """Masked-token cross-entropy on a batch of (B, N) tokens; null-class dropout in training only.

        The metrics are detached 0-d tensors (the caller reads a step's metrics in one host transfer).
        """
        b, n = tokens.shape
        mask = random_mask(b, n, generator, tokens.device)
        inputs = torch.where(mask, torch.full_like(tokens, self.transformer.mask_id), tokens)
        if self.training and self.config.p_unconditional > 0:
            drop = torch.rand(b, generator=generator, device=tokens.device) < self.config.p_unconditional
            labels = torch.where(drop, torch.full_like(labels, self.null_class), labels)
        logits = self._logits(inputs, labels)
        # Means over the masked positions as weighted sums, not boolean indexing: indexing by a mask
        # waits for the device to know how many positions it selects.
        weight = mask.float()
        n_masked = weight.sum().clamp(min=1)
        loss = (F.cross_entropy(logits.transpose(1, 2), tokens, reduction="none") * weight).sum() / n_masked
        with torch.no_grad():
            accuracy = ((logits.argmax(-1) == tokens).float() * weight).sum() / n_masked
        return loss, {"masked_accuracy": accuracy, "mask_fraction": weight.mean()}

    def guided_logits(self, tokens: torch.Tensor, labels: torch.Tensor | None, guidance: float) -> torch.Tensor:
        """Logits with classifier-free guidance ℓ_null + w·(ℓ_cond − ℓ_null); one pass when w = 1 or unconditional."""
        b = tokens.shape[0]
        null = torch.full((b,), self.null_class, dtype=torch.long, device=tokens.device)
        if labels is None:
            return self._logits(tokens, null)
        if guidance == 1.0:
            return self._logits(tokens, labels)
        both = self._logits(torch.cat([tokens, tokens]), torch.cat([labels, null]))
        cond, uncond = both[:b], both[b:]
        return uncond + guidance * (cond - uncond)

    @torch.no_grad()
    def iterative_decoding(
        self,
        n: int,
        labels: torch.Tensor | None,
        generator: torch.Generator,
        steps: int | None = None,
        choice_temperature: float | None = None,
        sampling_temperature: float | None = None,
        guidance: float | None = None,
        record: bool = False,
    ) -> Decoding:
        """Sample n token grids from all-masked in T steps (method §9.4), keeping the most confident tokens."""
        cfg = self.config
        steps = cfg.decoding_steps if steps is None else steps
        tau0 = cfg.choice_temperature if choice_temperature is None else choice_temperature
        temp = cfg.sampling_temperature if sampling_temperature is None else sampling_temperature
        w = cfg.guidance_scale if guidance is None else guidance
        n_tokens, mask_id = self.transformer.n_tokens, self.transformer.mask_id
        device = next(self.parameters()).device
        tokens = torch.full((n, n_tokens), mask_id, dtype=torch.long, device=device)
        history, guesses = [], []
        for k in range(1, steps + 1):
            masked = tokens == mask_id
            logits = self.guided_logits(tokens, labels, w).float() / temp
            probs = logits.softmax(-1)
            sampled = torch.multinomial(probs.view(-1, probs.shape[-1]), 1, generator=generator).view(n, n_tokens)
            sampled = torch.where(masked, sampled, tokens)
            chosen_p = probs.gather(-1, sampled[..., None])[..., 0]
            u = torch.rand(n, n_tokens, generator=generator, device=device).clamp(1e-20, 1 - 1e-7)
            gumbel = -torch.log(-torch.log(u))
            confidence = torch.log(chosen_p + 1e-5) + tau0 * (1 - k / steps) * gumbel
            confidence = torch.where(masked, confidence, torch.full_like(confidence, math.inf))
            still = min(remaining_after_step(k, steps, n_tokens), int(masked.sum(1).min()) - 1)
            tokens = sampled
            if still > 0:
                lowest = confidence.topk(still, dim=1, largest=False).indices
                tokens = tokens.scatter(1, lowest, mask_id)
            if record:
                history.append(torch.where(tokens == mask_id, torch.full_like(tokens, -1), tokens))
                guesses.append(sampled)
        return Decoding(
            tokens=tokens,
            step_tokens=torch.stack(history) if record else None,
            step_guesses=torch.stack(guesses) if record else None,
        )
