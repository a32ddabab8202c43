"""Self-supervised heads of the two-branch VQ-VAE (method §5.2, §13).

The pooled latents of the original (quantised) and augmented (continuous) branches go through one
shared projector (Siamese) and a redundancy-reduction loss: Barlow Twins, VIbCReg (projector ending
in IterNorm whitening) or VICReg.

Precision: every loss and the IterNorm whitening run in float32 (float64 inputs stay float64) with
autocast disabled, so bf16 projectors under autocast do not break the Newton-Schulz iterations or
the large feature-by-feature sums.

Memory: F = 4096 in real use. The squared Frobenius norms of F x F cross-products are computed from
the B x B Gram matrices when B < F (||AᵀB||_F² = <AAᵀ, BBᵀ>), so no F x F matrix is materialised by
any loss; the diagonals come from column-wise sums.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from tsstudio.config.schema import SSLConfig

__all__ = [
    "IterNorm",
    "Projector",
    "SSLHead",
    "barlow_twins_loss",
    "pool_latent",
    "vibcreg_loss",
    "vicreg_loss",
]

_VAR_EPS = 1e-4  # VIbCReg / VICReg: std = sqrt(var + 1e-4)
_BT_STD_EPS = 1e-8  # Barlow Twins standardisation


def pool_latent(z: Tensor) -> Tensor:
    """Concat(global average pool, global max pool) over (H, W): (B, D, H, W) -> (B, 2D)."""
    if z.dim() != 4:
        raise ValueError(f"pool_latent expects (B, D, H, W), got shape {tuple(z.shape)}")
    return torch.cat([z.mean(dim=(2, 3)), z.amax(dim=(2, 3))], dim=1)


def _compute_dtype(x: Tensor) -> torch.dtype:
    """float32 for reduced-precision inputs; float32/float64 stay as they are."""
    return x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32


def _no_autocast(x: Tensor) -> torch.autocast:
    """A context that turns autocast off for x's device (so float32 matmuls stay float32)."""
    return torch.autocast(device_type=x.device.type, enabled=False)


def _check_pair(p1: Tensor, p2: Tensor) -> None:
    if p1.dim() != 2 or p1.shape != p2.shape:
        raise ValueError(f"projections must both be (B, F) with equal shapes, got {tuple(p1.shape)} and {tuple(p2.shape)}")
    if p1.shape[0] < 2:
        raise ValueError("SSL losses need a batch of at least 2 samples (batch statistics)")


def _cross_frobenius_sq(a: Tensor, b: Tensor) -> Tensor:
    """||aᵀ b||_F² for a, b of shape (B, F), via whichever of the F x F or B x B products is smaller."""
    n, f = a.shape
    if n < f:
        ga = a @ a.T
        gb = ga if b is a else b @ b.T
        return (ga * gb).sum()
    return (a.T @ b).square().sum()


def _variance_term(p: Tensor) -> Tensor:
    """mean_j relu(1 - sqrt(Var_batch(p_j) + 1e-4)), unbiased variance."""
    return F.relu(1.0 - torch.sqrt(p.var(dim=0) + _VAR_EPS)).mean()


def _terms(**values: Tensor) -> dict[str, float]:
    """Detached float values of the named terms (one host transfer for all of them)."""
    floats = torch.stack([v.detach() for v in values.values()]).tolist()
    return dict(zip(values.keys(), floats))


def _barlow_twins(p1: Tensor, p2: Tensor, lambd: float) -> tuple[Tensor, dict[str, Tensor]]:
    """Barlow Twins as in the thesis: [Σ_i (1 - C_ii)² + λ Σ_{i≠j} C_ij²] / F.

    C = p̃1ᵀ p̃2 / B with p̃ standardised per feature, (p - mean) / (std + 1e-8), unbiased std (so
    identical views give C_ii = (B - 1) / B, not 1, exactly as the thesis code). Returns the loss and
    the unweighted terms: on_diag = Σ_i (1 - C_ii)² / F and off_diag = Σ_{i≠j} C_ij² / F, so that
    loss = on_diag + λ · off_diag.
    """
    _check_pair(p1, p2)
    with _no_autocast(p1):
        dtype = _compute_dtype(p1)
        z1, z2 = p1.to(dtype), p2.to(dtype)
        z1 = (z1 - z1.mean(dim=0)) / (z1.std(dim=0) + _BT_STD_EPS)
        z2 = (z2 - z2.mean(dim=0)) / (z2.std(dim=0) + _BT_STD_EPS)
        n, f = z1.shape
        diag = (z1 * z2).sum(dim=0) / n  # C_ii
        on_diag = (1.0 - diag).square().sum() / f
        off_diag = (_cross_frobenius_sq(z1, z2) / (n * n) - diag.square().sum()) / f
        loss = on_diag + lambd * off_diag
    return loss, {"on_diag": on_diag.detach(), "off_diag": off_diag.detach()}


def _correlation_term(p: Tensor) -> Tensor:
    """VIbCReg decorrelation: mean over all F² entries of the squared off-diagonal of P̂ᵀP̂.

    P̂ = p centred per feature and L2-normalised per feature column (a constant column stays 0).
    """
    f = p.shape[1]
    ph = F.normalize(p - p.mean(dim=0), p=2.0, dim=0)
    diag_sq = ph.square().sum(dim=0).square().sum()  # Σ_i (P̂ᵀP̂)_ii²
    return (_cross_frobenius_sq(ph, ph) - diag_sq) / (f * f)


def _covariance_term(p: Tensor) -> Tensor:
    """Classic VICReg covariance: Σ_{i≠j} C_ij² / F, C the unbiased covariance matrix."""
    n, f = p.shape
    pc = p - p.mean(dim=0)
    var = pc.square().sum(dim=0) / (n - 1)
    return (_cross_frobenius_sq(pc, pc) / ((n - 1) ** 2) - var.square().sum()) / f


def _vibcreg(p1: Tensor, p2: Tensor, lambd: float, mu: float, nu: float) -> tuple[Tensor, dict[str, Tensor]]:
    """VIbCReg: λ·MSE(p1, p2) + μ·(v(p1) + v(p2)) + ν·(c(p1) + c(p2)); the global weight is the caller's.

    Returns the loss and the unweighted terms invariance = MSE, variance = v1 + v2 and
    covariance = c1 + c2 (c = correlation-based decorrelation term).
    """
    _check_pair(p1, p2)
    with _no_autocast(p1):
        dtype = _compute_dtype(p1)
        a, b = p1.to(dtype), p2.to(dtype)
        inv = F.mse_loss(a, b)
        var = _variance_term(a) + _variance_term(b)
        cov = _correlation_term(a) + _correlation_term(b)
        loss = lambd * inv + mu * var + nu * cov
    return loss, {"invariance": inv.detach(), "variance": var.detach(), "covariance": cov.detach()}


def _vicreg(p1: Tensor, p2: Tensor, lambd: float, mu: float, nu: float) -> tuple[Tensor, dict[str, Tensor]]:
    """VICReg: λ·MSE(p1, p2) + μ·(v(p1) + v(p2)) + ν·(cov(p1) + cov(p2)), classic covariance term.

    Returns the loss and the unweighted terms invariance, variance = v1 + v2, covariance = cov1 + cov2.
    """
    _check_pair(p1, p2)
    with _no_autocast(p1):
        dtype = _compute_dtype(p1)
        a, b = p1.to(dtype), p2.to(dtype)
        inv = F.mse_loss(a, b)
        var = _variance_term(a) + _variance_term(b)
        cov = _covariance_term(a) + _covariance_term(b)
        loss = lambd * inv + mu * var + nu * cov
    return loss, {"invariance": inv.detach(), "variance": var.detach(), "covariance": cov.detach()}


def barlow_twins_loss(p1: Tensor, p2: Tensor, lambd: float) -> tuple[Tensor, dict[str, float]]:
    """Barlow Twins loss and its terms as floats (see `_barlow_twins`)."""
    loss, terms = _barlow_twins(p1, p2, lambd)
    return loss, _terms(**terms)


def vibcreg_loss(p1: Tensor, p2: Tensor, lambd: float, mu: float, nu: float) -> tuple[Tensor, dict[str, float]]:
    """VIbCReg loss and its terms as floats (see `_vibcreg`)."""
    loss, terms = _vibcreg(p1, p2, lambd, mu, nu)
    return loss, _terms(**terms)


def vicreg_loss(p1: Tensor, p2: Tensor, lambd: float, mu: float, nu: float) -> tuple[Tensor, dict[str, float]]:
    """VICReg loss and its terms as floats (see `_vicreg`)."""
    loss, terms = _vicreg(p1, p2, lambd, mu, nu)
    return loss, _terms(**terms)


class IterNorm(nn.Module):
    """Group-wise decorrelated batch normalisation by Newton-Schulz iterations (Huang et al. 2019).

    Input (B, F); F is split into `groups` groups of F / groups channels that are whitened
    independently (batched over groups). Training mode uses batch statistics and updates the running
    mean and whitening matrix (momentum 0.1); eval mode uses the running ones. The whitening runs in
    float32 with autocast disabled (Newton-Schulz is unstable in bf16); the output is float32 for
    reduced-precision inputs (float64 inputs stay float64) and is not cast back.
    """

    running_mean: Tensor
    running_wm: Tensor

    def __init__(self, num_features: int, groups: int = 64, iters: int = 5, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        if num_features % groups != 0:
            raise ValueError(f"IterNorm: num_features {num_features} is not divisible by groups {groups}")
        if iters < 1:
            raise ValueError("IterNorm: iters must be >= 1")
        self.num_features = num_features
        self.groups = groups
        self.iters = iters
        self.eps = eps
        self.momentum = momentum
        d = num_features // groups
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(groups, d, 1))
        self.register_buffer("running_wm", torch.eye(d).expand(groups, d, d).clone())

    def extra_repr(self) -> str:
        return f"{self.num_features}, groups={self.groups}, iters={self.iters}, eps={self.eps}, momentum={self.momentum}"

    def _whitening(self, xc: Tensor) -> Tensor:
        """Newton-Schulz whitening matrices (G, d, d) of centred group data xc (G, d, B)."""
        g, d, n = xc.shape
        eye = torch.eye(d, dtype=xc.dtype, device=xc.device).expand(g, d, d)
        sigma = torch.baddbmm(eye, xc, xc.transpose(1, 2), beta=self.eps, alpha=1.0 / n)
        trace = sigma.diagonal(dim1=1, dim2=2).sum(dim=1).view(g, 1, 1)
        sigma_n = sigma / trace
        p = eye
        for _ in range(self.iters):
            p3 = torch.bmm(torch.bmm(p, p), p)
            p = torch.baddbmm(p, p3, sigma_n, beta=1.5, alpha=-0.5)
        return p / trace.sqrt()

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"IterNorm expects (B, {self.num_features}), got shape {tuple(x.shape)}")
        with _no_autocast(x):
            dtype = _compute_dtype(x)
            n = x.shape[0]
            xg = x.to(dtype).T.reshape(self.groups, -1, n)  # (G, d, B)
            if self.training:
                mean = xg.mean(dim=2, keepdim=True)
                xc = xg - mean
                wm = self._whitening(xc)
                with torch.no_grad():
                    self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), self.momentum)
                    self.running_wm.lerp_(wm.detach().to(self.running_wm.dtype), self.momentum)
            else:
                xc = xg - self.running_mean.to(dtype)
                wm = self.running_wm.to(dtype)
            # W is symmetric (a polynomial in Σ), so W x_c per sample = (X_c W)ᵀ.
            out = torch.bmm(wm, xc).reshape(self.num_features, n).T
            return out * self.weight.to(dtype) + self.bias.to(dtype)


class Projector(nn.Module):
    """Linear → BN → ReLU → Linear → BN → ReLU → Linear [→ IterNorm] (method §5.2)."""

    def __init__(
        self,
        in_features: int,
        hidden: int,
        out_features: int,
        iternorm: bool = False,
        iternorm_groups: int = 64,
        iternorm_iters: int = 5,
    ):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, out_features),
        )
        self.iternorm = IterNorm(out_features, iternorm_groups, iternorm_iters) if iternorm else None

    def forward(self, x: Tensor) -> Tensor:
        out = self.net(x)
        return self.iternorm(out) if self.iternorm is not None else out

    def pair(self, x1: Tensor, x2: Tensor) -> tuple[Tensor, Tensor]:
        """`(self(x1), self(x2))` with each linear layer applied once to both views stacked.

        Batch norm and IterNorm still see each view alone (their own batch statistics, running
        statistics updated view 1 then view 2 as by two calls), so the results are those of two
        calls up to float rounding; but every 4096×4096 weight is read once per pass instead of
        twice and its gradient is one matrix product, not two products and a 16 M-element sum.
        """
        if x1.shape != x2.shape:
            raise ValueError(f"Projector.pair: views differ in shape: {tuple(x1.shape)} vs {tuple(x2.shape)}")
        n = x1.shape[0]
        h = torch.cat([x1, x2])
        for layer in self.net:
            if isinstance(layer, nn.BatchNorm1d):
                h = torch.cat([layer(h[:n]), layer(h[n:])])
            else:
                h = layer(h)
        p1, p2 = h[:n], h[n:]
        if self.iternorm is not None:
            p1, p2 = self.iternorm(p1), self.iternorm(p2)
        return p1, p2


_TERM_NAMES: dict[str, tuple[str, ...]] = {
    "barlowtwins": ("ssl_on_diag", "ssl_off_diag"),
    "vibcreg": ("ssl_invariance", "ssl_variance", "ssl_covariance"),
    "vicreg": ("ssl_invariance", "ssl_variance", "ssl_covariance"),
}


class SSLHead(nn.Module):
    """Shared projector plus SSL loss between the pooled latents of the two branches.

    `forward` returns the **unweighted** loss: the trainer multiplies it by `self.loss_weight`
    (= config.weight, e.g. 0.01 for VIbCReg) when adding it to the total loss.
    """

    def __init__(self, config: SSLConfig, latent_dim: int):
        super().__init__()
        if config.method not in _TERM_NAMES:
            raise ValueError(f"SSLHead: unsupported method {config.method!r} (expected one of {tuple(_TERM_NAMES)})")
        self.method = config.method
        self.loss_weight = float(config.weight)
        self.projector = Projector(
            2 * latent_dim,
            config.proj_hidden,
            config.proj_out,
            iternorm=config.method == "vibcreg",
            iternorm_groups=config.iternorm_groups,
            iternorm_iters=config.iternorm_iters,
        )
        self.stack_views = True  # Projector.pair (False: two projector calls, the plain path)
        self.bt_lambda = float(config.bt_lambda)
        self.vib_params = (float(config.vib_lambda), float(config.vib_mu), float(config.vib_nu))

    @staticmethod
    def term_names(method: str) -> tuple[str, ...]:
        """Names of the logged loss terms of `method` (empty for "none")."""
        if method == "none":
            return ()
        if method not in _TERM_NAMES:
            raise ValueError(f"unknown SSL method {method!r}")
        return _TERM_NAMES[method]

    def forward(self, z_q: Tensor, z_aug: Tensor) -> tuple[Tensor, dict[str, float]]:
        """Pool, project both branches with the same projector (z_q is view 1), return (loss, terms)."""
        loss, terms = self.loss_terms(z_q, z_aug)
        return loss, _terms(**terms)

    def loss_terms(self, z_q: Tensor, z_aug: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """As `forward`, with the terms left as detached 0-d tensors (no host transfer: training reads
        every metric of a step in one transfer)."""
        if z_q.shape != z_aug.shape:
            raise ValueError(f"SSLHead: branch latents differ in shape: {tuple(z_q.shape)} vs {tuple(z_aug.shape)}")
        # Each view keeps its own batch-norm statistics; the linear layers see both at once.
        if self.stack_views:
            p1, p2 = self.projector.pair(pool_latent(z_q), pool_latent(z_aug))
        else:
            p1, p2 = self.projector(pool_latent(z_q)), self.projector(pool_latent(z_aug))
        if self.method == "barlowtwins":
            loss, terms = _barlow_twins(p1, p2, self.bt_lambda)
        elif self.method == "vibcreg":
            loss, terms = _vibcreg(p1, p2, *self.vib_params)
        else:
            loss, terms = _vicreg(p1, p2, *self.vib_params)
        return loss, {f"ssl_{k}": v for k, v in terms.items()}
