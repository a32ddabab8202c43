"""Stage-1 training objectives: the regular VQ-VAE loss and the two-branch SSL loss (method §5).

An objective owns everything that has trainable parameters besides the tokenizer (the SSL
projector) and turns one batch into a loss and its per-term metrics, so the training loop is
the same for every configuration.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from tsstudio.config.schema import RunConfig
from tsstudio.data.augmentations import Augmenter
from tsstudio.models.ssl import SSLHead
from tsstudio.models.tokenizer import Tokenizer

REGULAR_TERMS = ("loss", "recon_time", "recon_stft", "commit_loss", "perplexity", "lr")


class RegularObjective(nn.Module):
    """MSE(x, x̂) + MSE(u, û) + commitment: the regular VQ-VAE (method §5.1)."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        super().__init__()
        self.tokenizer = tokenizer

    @property
    def metric_names(self) -> tuple[str, ...]:
        return REGULAR_TERMS

    def forward(self, x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
        """Loss, per-term metrics (detached 0-d tensors, read by the caller in one host transfer) and
        the batch's code counts."""
        out = self.tokenizer(x)
        recon_time, recon_stft = self.tokenizer.reconstruction_losses(x, out)
        loss = recon_time + recon_stft + out.commit_loss
        metrics = {"recon_time": recon_time.detach(), "recon_stft": recon_stft.detach(), "commit_loss": out.commit_loss.detach()}
        return loss, metrics, out.counts

    def extra_state(self) -> dict:
        """State beyond the tokenizer's weights that a checkpoint must hold."""
        return {}

    def load_extra_state(self, state: dict) -> None:
        """Inverse of `extra_state`."""


class TwoBranchObjective(RegularObjective):
    """Original branch quantised and decoded; augmented branch continuous and decoded; SSL between them.

    L = MSE(x,x̂) + MSE(u,û) + commit + aug_recon_rate·[MSE(x',x̂') + MSE(u',û')] + weight·L_ssl(p, p')
    with p = g(pool(z_q)) and p' = g(pool(z')); the augmented branch is never quantised.
    """

    def __init__(self, tokenizer: Tokenizer, config: RunConfig) -> None:
        super().__init__(tokenizer)
        self.ssl = config.ssl
        self.augmenter = Augmenter(config.augmentations)
        self.head = SSLHead(config.ssl, tokenizer.quantizer.dim)

    @property
    def metric_names(self) -> tuple[str, ...]:
        terms = ("aug_recon_time", "aug_recon_stft", "ssl_loss", *SSLHead.term_names(self.ssl.method))
        return (*REGULAR_TERMS[:4], *terms, *REGULAR_TERMS[4:])

    def forward(self, x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
        tok = self.tokenizer
        with torch.no_grad():
            x_aug = self.augmenter(x, generator)
        out = tok(x)
        recon_time, recon_stft = tok.reconstruction_losses(x, out)
        u_aug, z_aug = tok.encode(x_aug)
        u_hat_aug = tok.decode_latent(z_aug)
        x_hat_aug = tok.to_series(u_hat_aug)
        aug_time = F.mse_loss(tok.as_data(x_hat_aug), x_aug)
        aug_stft = F.mse_loss(u_hat_aug, u_aug)
        with tok._autocast(x.device):
            ssl_loss, terms = self.head.loss_terms(out.z_q, z_aug)
        loss = (
            recon_time
            + recon_stft
            + out.commit_loss
            + self.ssl.aug_recon_rate * (aug_time + aug_stft)
            + self.ssl.weight * ssl_loss.float()
        )
        metrics = {
            "recon_time": recon_time.detach(),
            "recon_stft": recon_stft.detach(),
            "commit_loss": out.commit_loss.detach(),
            "aug_recon_time": aug_time.detach(),
            "aug_recon_stft": aug_stft.detach(),
            "ssl_loss": ssl_loss.detach(),
            **terms,
        }
        return loss, metrics, out.counts

    def extra_state(self) -> dict:
        return {"ssl_head": self.head.state_dict()}

    def load_extra_state(self, state: dict) -> None:
        self.head.load_state_dict(state["ssl_head"])


def build_objective(tokenizer: Tokenizer, config: RunConfig) -> RegularObjective:
    """The objective a configuration asks for."""
    if config.ssl.method == "none":
        return RegularObjective(tokenizer)
    return TwoBranchObjective(tokenizer, config)
