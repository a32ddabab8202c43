"""EMA vector quantiser (method §4) with its codebook statistics.

The EMA update runs only in training mode, so probes and evaluation in eval mode never move
the codebook (the reference updated it on test data, method §11.A.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class Quantized:
    """Output of the quantiser for a latent grid."""

    z_q: torch.Tensor  # (B, D, H, W) code vectors (straight-through in training mode)
    indices: torch.Tensor  # (B, H, W) int64 token ids
    commit_loss: torch.Tensor  # scalar
    counts: torch.Tensor  # (K,) int64 tokens per code in this batch


def perplexity(counts: torch.Tensor) -> float:
    """exp(entropy) of the code usage distribution given by `counts`; in [1, K] (0 without counts)."""
    return float(perplexity_tensor(counts))


def perplexity_tensor(counts: torch.Tensor) -> torch.Tensor:
    """`perplexity` as a float64 0-d tensor on the counts' device, computed without a host sync."""
    total = counts.sum()
    p = counts.double() / total.clamp(min=1)
    value = torch.exp(-(p * torch.log(p + 1e-10)).sum())
    return torch.where(total > 0, value, torch.zeros_like(value))


def off_diagonal_mean_abs(matrix: torch.Tensor) -> float:
    """Mean of |M_ij| over i ≠ j."""
    k = matrix.shape[0]
    mask = ~torch.eye(k, dtype=torch.bool, device=matrix.device)
    return float(matrix[mask].abs().mean())


def codebook_statistics(codebook: torch.Tensor) -> dict[str, float]:
    """Mean absolute off-diagonal Pearson correlation and cosine similarity between codes."""
    cb = codebook.double()
    corr = torch.corrcoef(cb)
    normed = F.normalize(cb, dim=1)
    cos = normed @ normed.T
    return {
        "codebook_mean_abs_corr": off_diagonal_mean_abs(corr),
        "codebook_mean_abs_cos": off_diagonal_mean_abs(cos),
    }


def kmeans(x: torch.Tensor, k: int, iters: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Lloyd's k-means on rows of x (N, D); empty clusters keep their previous centre."""
    n = x.shape[0]
    idx = torch.randperm(n, generator=generator, device="cpu")[:k].to(x.device)
    if n < k:
        extra = torch.randint(0, n, (k - n,), generator=generator, device="cpu").to(x.device)
        idx = torch.cat([idx, extra])
    centres = x[idx].clone()
    for _ in range(iters):
        assign = torch.cdist(x, centres).argmin(dim=1)
        sums = torch.zeros_like(centres).index_add_(0, assign, x)
        counts = torch.bincount(assign, minlength=k).to(x.dtype)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
    return centres


class Quantizer(nn.Module):
    """Nearest-code quantiser whose codebook follows an exponential moving average of its assignments."""

    def __init__(
        self,
        codebook_size: int,
        dim: int,
        decay: float = 0.9,
        commitment_weight: float = 1.0,
        eps: float = 1e-5,
        kmeans_init: bool = False,
        kmeans_iters: int = 10,
        dead_code_threshold: float = 0.0,
    ) -> None:
        super().__init__()
        self.codebook_size = codebook_size
        self.dim = dim
        self.decay = decay
        self.commitment_weight = commitment_weight
        self.eps = eps
        self.kmeans_iters = kmeans_iters
        self.dead_code_threshold = dead_code_threshold
        init = torch.randn(codebook_size, dim)
        self.register_buffer("codebook", init)
        self.register_buffer("embed_avg", init.clone())
        self.register_buffer("cluster_size", torch.zeros(codebook_size))
        self.register_buffer("initted", torch.tensor(not kmeans_init))
        self._initted_known = not kmeans_init  # host copy of `initted`: no device sync per step once set

    def assign(self, flat: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code (squared Euclidean distance) for each row of (N, D)."""
        cb = self.codebook
        dist = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ cb.T + cb.pow(2).sum(1)[None, :]
        return dist.argmin(dim=1)

    def forward(self, z: torch.Tensor) -> Quantized:
        b, d, h, w = z.shape
        z = z.float()
        flat = z.permute(0, 2, 3, 1).reshape(-1, d)
        if self.training and not self._initted_known:
            if not bool(self.initted):
                self._kmeans_init(flat.detach())
            self._initted_known = True
        indices = self.assign(flat.detach())
        counts = torch.bincount(indices, minlength=self.codebook_size)
        codes = F.embedding(indices, self.codebook).view(b, h, w, d).permute(0, 3, 1, 2)
        if self.training:  # codes were looked up before the update, as in the method
            self._ema_update(flat.detach(), indices, counts)
        commit = self.commitment_weight * F.mse_loss(z, codes.detach()) if self.training else z.new_zeros(())
        # Straight-through in training only; eval mode returns the codes themselves (method §4), so
        # equal tokens give bit-equal latents (z + (e - z) carries rounding that depends on z).
        z_q = z + (codes - z).detach() if self.training else codes
        return Quantized(z_q=z_q, indices=indices.view(b, h, w), commit_loss=commit, counts=counts)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:  # noqa: ANN001 - torch's hook
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._initted_known = False  # read `initted` again at the next training step

    @torch.no_grad()
    def _kmeans_init(self, flat: torch.Tensor) -> None:
        centres = kmeans(flat, self.codebook_size, self.kmeans_iters)
        counts = torch.bincount(torch.cdist(flat, centres).argmin(1), minlength=self.codebook_size).float()
        self.codebook.copy_(centres)
        self.embed_avg.copy_(centres * counts[:, None])
        self.cluster_size.copy_(counts)
        self.initted.fill_(True)

    @torch.no_grad()
    def _ema_update(self, flat: torch.Tensor, indices: torch.Tensor, counts: torch.Tensor) -> None:
        sums = torch.zeros_like(self.embed_avg).index_add_(0, indices, flat)
        self.cluster_size.mul_(self.decay).add_(counts.float(), alpha=1 - self.decay)
        self.embed_avg.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        total = self.cluster_size.sum()
        smoothed = (self.cluster_size + self.eps) / (total + self.codebook_size * self.eps) * total
        self.codebook.copy_(self.embed_avg / smoothed[:, None])
        if self.dead_code_threshold > 0:
            self._restart_dead_codes(flat)

    @torch.no_grad()
    def _restart_dead_codes(self, flat: torch.Tensor) -> None:
        dead = self.cluster_size < self.dead_code_threshold
        n_dead = int(dead.sum())
        if n_dead == 0:
            return
        pick = torch.randint(0, flat.shape[0], (n_dead,), device=flat.device)
        self.codebook[dead] = flat[pick]
        self.embed_avg[dead] = flat[pick]
        self.cluster_size[dead] = 1.0
