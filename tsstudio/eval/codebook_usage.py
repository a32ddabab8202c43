"""What the codebook explorer shows: code usage per split, code similarity, projections, where a code occurs.

Token grids are (N, H, W) integer arrays (frequency × time), as in the run file's token exports.
Projections are plain PCA computed here with numpy (deterministic signs); t-SNE is optional and
uses scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from tsstudio.eval.features import pooled_latents
from tsstudio.models.quantizer import perplexity
from tsstudio.models.tokens import extract_tokens


@dataclass
class SplitUsage:
    """How often each code occurs in one split's token grids."""

    counts: np.ndarray  # (K,) int64, sums to N·H·W
    perplexity: float
    dead_codes: np.ndarray  # code ids never used in this split

    @property
    def n_dead(self) -> int:
        return int(len(self.dead_codes))


def usage_counts(tokens: np.ndarray, codebook_size: int) -> np.ndarray:
    """Occurrences of each code id 0..K−1 in token grids of any shape."""
    flat = np.asarray(tokens, dtype=np.int64).ravel()
    if flat.size and (flat.min() < 0 or flat.max() >= codebook_size):
        raise ValueError(f"token ids outside 0..{codebook_size - 1}")
    return np.bincount(flat, minlength=codebook_size).astype(np.int64)


def split_usage(tokens: np.ndarray, codebook_size: int) -> SplitUsage:
    """Usage counts, perplexity and dead codes of one split's token grids."""
    counts = usage_counts(tokens, codebook_size)
    return SplitUsage(counts, perplexity(torch.from_numpy(counts)), np.flatnonzero(counts == 0))


def token_grids(tokenizer: nn.Module, x: np.ndarray, device: torch.device, batch_size: int = 512) -> np.ndarray:
    """Token grids (N, H, W) of a split, nearest codes, model in eval mode."""
    flat = extract_tokens(tokenizer, x, device, batch_size)
    return flat.cpu().numpy().astype(np.int64).reshape(len(x), tokenizer.grid.height, tokenizer.grid.width)


def cosine_similarity_matrix(codebook: np.ndarray | torch.Tensor) -> np.ndarray:
    """(K, K) cosine similarity between codewords (a zero codeword has similarity 0 to all)."""
    cb = np.asarray(codebook.detach().cpu() if isinstance(codebook, torch.Tensor) else codebook, dtype=np.float64)
    norms = np.linalg.norm(cb, axis=1, keepdims=True)
    unit = np.divide(cb, norms, out=np.zeros_like(cb), where=norms > 0)
    return unit @ unit.T


def pca_2d(x: np.ndarray) -> np.ndarray:
    """(n, D) → (n, 2) projection on the first two principal components.

    Signs are fixed so that the largest-magnitude loading of each component is positive, so the
    picture does not flip between calls. Fewer than two components pad with zeros.
    """
    data = np.asarray(x, dtype=np.float64)
    if data.ndim != 2 or len(data) == 0:
        return np.zeros((len(data), 2))
    centred = data - data.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    comps = vt[:2]
    signs = np.sign(comps[np.arange(len(comps)), np.abs(comps).argmax(axis=1)])
    comps = comps * np.where(signs == 0, 1.0, signs)[:, None]
    out = np.zeros((len(data), 2))
    out[:, : len(comps)] = centred @ comps.T
    return out


def tsne_2d(x: np.ndarray, seed: int = 0, perplexity_value: float = 30.0) -> np.ndarray:
    """(n, D) → (n, 2) t-SNE embedding (scikit-learn), perplexity capped below n."""
    from sklearn.manifold import TSNE

    data = np.asarray(x, dtype=np.float64)
    perp = min(perplexity_value, max(1.0, (len(data) - 1) / 3))
    return TSNE(n_components=2, perplexity=perp, init="pca", random_state=seed).fit_transform(data)


def code_cells(tokens: np.ndarray, code: int) -> np.ndarray:
    """(M, 3) array of (series, h, w) for every cell of (N, H, W) grids holding `code`, row-major order."""
    grids = np.asarray(tokens)
    if grids.ndim != 3:
        raise ValueError(f"expected token grids of shape (N, H, W), got {grids.shape}")
    return np.argwhere(grids == code)


def series_using_code(tokens: np.ndarray, code: int, top: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(series ids, counts) of the series that use `code`, most uses first (ties: lower id first)."""
    grids = np.asarray(tokens)
    per_series = (grids.reshape(len(grids), -1) == code).sum(axis=1)
    order = np.argsort(-per_series, kind="stable")
    order = order[per_series[order] > 0]
    if top is not None:
        order = order[:top]
    return order, per_series[order]


@dataclass
class CodebookReport:
    """Everything the codebook explorer needs about one tokenizer on one dataset."""

    codebook: np.ndarray  # (K, D)
    train_tokens: np.ndarray  # (N_train, H, W)
    test_tokens: np.ndarray  # (N_test, H, W)
    train: SplitUsage
    test: SplitUsage
    similarity: np.ndarray  # (K, K) cosine
    codewords_2d: np.ndarray  # (K, 2) PCA of the codewords

    @property
    def dead_codes(self) -> np.ndarray:
        """Codes used in neither split."""
        return np.flatnonzero((self.train.counts + self.test.counts) == 0)


def codebook_report(
    tokenizer: nn.Module, x_train: np.ndarray, x_test: np.ndarray, device: torch.device, batch_size: int = 512
) -> CodebookReport:
    """Usage on the whole train and test splits, similarity and PCA of the codewords of a tokenizer."""
    tokenizer.to(device)
    k = int(tokenizer.quantizer.codebook_size)
    train = token_grids(tokenizer, x_train, device, batch_size)
    test = token_grids(tokenizer, x_test, device, batch_size)
    codebook = tokenizer.quantizer.codebook.detach().cpu().double().numpy()
    return CodebookReport(
        codebook=codebook,
        train_tokens=train,
        test_tokens=test,
        train=split_usage(train, k),
        test=split_usage(test, k),
        similarity=cosine_similarity_matrix(codebook),
        codewords_2d=pca_2d(codebook),
    )


def pooled_projection(
    tokenizer: nn.Module, x: np.ndarray, device: torch.device, batch_size: int = 256, method: str = "pca", seed: int = 0
) -> np.ndarray:
    """The probes' features of a split (mean-pooled quantised latents) projected to (N, 2) by PCA or t-SNE."""
    features = pooled_latents(tokenizer, x, batch_size, device)
    if method == "pca":
        return pca_2d(features)
    if method == "tsne":
        return tsne_2d(features, seed=seed)
    raise ValueError(f"unknown projection {method!r}; expected pca or tsne")
