"""A straightforward stage-1 training step, timed beside tsstudio's in the same process (imports as `stage1_baseline`).

The same networks (tsstudio's tokenizer and projector modules, the same initialisation from the
same seed) trained the way a direct port of the published code does it: each batch gathered from
a NumPy array and copied in, the second view augmented series by series in NumPy (np.interp
window warp, per-series scales and noise), the SSL losses built from the full F×F
cross-correlation or correlation matrices (F = 4096), plain per-parameter AdamW, float32
throughout, and every logged term read with `.item()`. It lives here, not in the package: it is
the yardstick, so a speed-up is measured on the machine it is claimed for.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from tsstudio.config.schema import RunConfig
from tsstudio.data.dataset import Dataset
from tsstudio.models.runtime import seed_everything
from tsstudio.models.ssl import SSLHead, pool_latent
from tsstudio.models.tokenizer import Tokenizer
from tsstudio.train.loop import cosine_lr


def window_warp(x: np.ndarray, rng: np.random.Generator, ratio: float, lo: float, hi: float) -> np.ndarray:
    """The reference's window warp of one series: resample a window by s ~ U(lo, hi), splice, resample to L."""
    length = len(x)
    w = min(max(int(round(ratio * length)), 1), length)
    start = int(rng.integers(0, length - w + 1))
    m = max(int(w * rng.uniform(lo, hi)), 1)
    window = np.interp(np.linspace(0, w - 1, m), np.arange(w), x[start : start + w])
    spliced = np.concatenate([x[:start], window, x[start + w :]])
    return np.interp(np.linspace(0, len(spliced) - 1, length), np.arange(len(spliced)), spliced)


def slice_and_shuffle(x: np.ndarray, rng: np.random.Generator, n_segments: int) -> np.ndarray:
    """Cut one series at n − 1 random points and concatenate the pieces in a random order."""
    cuts = np.sort(rng.integers(0, len(x), n_segments - 1))
    pieces = np.split(x, cuts)
    return np.concatenate([pieces[i] for i in rng.permutation(len(pieces))])


def augment_series(x: np.ndarray, rng: np.random.Generator, config: RunConfig) -> np.ndarray:
    """The configured augmentations applied to one series, in NumPy."""
    a = config.augmentations
    for name in a.methods:
        if name == "window_warp":
            x = window_warp(x, rng, a.window_warp_ratio, a.window_warp_min, a.window_warp_max)
        elif name == "amplitude_resize":
            x = x * (1.0 + a.amplitude_resize_sigma * rng.standard_normal())
        elif name == "gaussian_noise":
            x = x + a.gaussian_noise_std * rng.standard_normal(len(x))
        elif name == "slice_and_shuffle":
            x = slice_and_shuffle(x, rng, a.slice_segments)
        else:
            raise SystemExit(f"the baseline step does not implement the augmentation {name!r}")
    return x


def barlow_twins_full(p1: torch.Tensor, p2: torch.Tensor, lambd: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Barlow Twins from the full F×F cross-correlation matrix."""
    n, f = p1.shape
    z1 = (p1 - p1.mean(0)) / (p1.std(0) + 1e-8)
    z2 = (p2 - p2.mean(0)) / (p2.std(0) + 1e-8)
    c = z1.T @ z2 / n
    diag = torch.diagonal(c)
    on = (1 - diag).pow(2).sum() / f
    off = (c.pow(2).sum() - diag.pow(2).sum()) / f
    return on + lambd * off, on, off


def vibcreg_full(p1: torch.Tensor, p2: torch.Tensor, lambd: float, mu: float, nu: float) -> tuple[torch.Tensor, ...]:
    """VIbCReg from the full F×F correlation matrices of both views."""
    f = p1.shape[1]
    inv = F.mse_loss(p1, p2)
    var = sum(F.relu(1 - torch.sqrt(p.var(0) + 1e-4)).mean() for p in (p1, p2))
    cov = 0.0
    for p in (p1, p2):
        ph = F.normalize(p - p.mean(0), p=2.0, dim=0)
        corr = ph.T @ ph
        off = corr - torch.diag(torch.diagonal(corr))
        cov = cov + off.pow(2).mean()
    del f
    return lambd * inv + mu * var + nu * cov, inv, var, cov


class BaselineStep:
    """One straightforward float32 training step of a preset's configuration per call of `step()`."""

    def __init__(self, config: RunConfig, dataset: Dataset) -> None:
        cfg = config.trainer
        seed_everything(cfg.seed)
        self.config = config
        self.model = Tokenizer(config, dataset.length)
        self.model.channels_last = False  # the default NCHW layout of a direct port
        self.head = SSLHead(config.ssl, self.model.quantizer.dim) if config.ssl.method != "none" else None
        params = list(self.model.parameters()) + (list(self.head.parameters()) if self.head else [])
        self.optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=False)
        self.x_train = np.asarray(dataset.x_train, dtype=np.float32)
        self.rng = np.random.default_rng(cfg.seed + 1)
        self.order = np.random.default_rng(cfg.seed)
        self.batch_size = cfg.batch_size
        self.total_steps = cfg.max_steps or 1000
        self.n_step = 0
        self.model.train()

    def step(self) -> dict[str, float]:
        """One optimiser step on a random batch; returns the logged terms."""
        for group in self.optimizer.param_groups:
            group["lr"] = cosine_lr(self.config.trainer.lr, self.n_step, self.total_steps)
        idx = self.order.choice(len(self.x_train), self.batch_size, replace=False)
        batch = self.x_train[idx]
        x = torch.from_numpy(batch)[:, None, :]
        out = self.model(x)
        recon_time, recon_stft = self.model.reconstruction_losses(x, out)
        loss = recon_time + recon_stft + out.commit_loss
        logged = {"recon_time": recon_time.item(), "recon_stft": recon_stft.item(), "commit": out.commit_loss.item()}
        if self.head is not None:
            ssl = self.config.ssl
            views = np.stack([augment_series(s.astype(np.float64), self.rng, self.config) for s in batch]).astype(np.float32)
            x_aug = torch.from_numpy(views)[:, None, :]
            u_aug, z_aug = self.model.encode(x_aug)
            u_hat_aug = self.model.decode_latent(z_aug)
            x_hat_aug = self.model.to_series(u_hat_aug)
            aug = F.mse_loss(x_hat_aug, x_aug) + F.mse_loss(u_hat_aug, u_aug)
            p1 = self.head.projector(pool_latent(out.z_q))
            p2 = self.head.projector(pool_latent(z_aug))
            if ssl.method == "barlowtwins":
                ssl_loss, *terms = barlow_twins_full(p1, p2, ssl.bt_lambda)
            else:
                ssl_loss, *terms = vibcreg_full(p1, p2, ssl.vib_lambda, ssl.vib_mu, ssl.vib_nu)
            loss = loss + ssl.aug_recon_rate * aug + ssl.weight * ssl_loss
            logged.update({"aug": aug.item(), "ssl": ssl_loss.item(), **{f"t{i}": t.item() for i, t in enumerate(terms)}})
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        counts = out.counts.cpu().double()
        p = counts / counts.sum()
        logged["perplexity"] = math.exp(-(p * torch.log(p + 1e-10)).sum().item())
        logged["loss"] = loss.item()
        self.n_step += 1
        return logged
