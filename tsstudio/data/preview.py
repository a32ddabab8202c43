"""Augmented views for a preview: only draws that actually change the series.

Some augmentations can leave a series exactly as it was (slice-and-shuffle drawing the identity
order, a flip of a symmetric window, a zero-width noise window), and a preview that shows such
a draw as "augmented" misleads. `changed_views` redraws those with further seeds.
"""

from __future__ import annotations

import numpy as np

from tsstudio.config.schema import AugmentationConfig
from tsstudio.data.augmentations import preview_views

RESEED_STRIDE = 7919  # further seeds are seed + k * stride, so nearby seeds do not share draws


def is_unchanged(view: np.ndarray, series: np.ndarray) -> bool:
    """Whether an augmented view equals the series (to float32 rounding)."""
    return bool(np.allclose(view, series, rtol=0.0, atol=1e-6 * max(1.0, float(np.abs(series).max(initial=0.0)))))


def changed_views(
    series: np.ndarray, config: AugmentationConfig, n_views: int = 4, seed: int = 0, tries: int = 8
) -> tuple[np.ndarray, int]:
    """Up to `n_views` views (n, L) (or (n, C, L) of a (C, L) series) that differ from `series`,
    and how many draws were set aside.

    The first draw is `preview_views(series, config, n_views, seed)`; unchanged views in it are
    replaced, in order, by changed views of up to `tries` further draws. Fewer than `n_views`
    come back only when the configuration rarely changes the series (none, when it never does).
    """
    arr = np.asarray(series, dtype=np.float32)
    kept: list[np.ndarray] = []
    dropped = 0
    for k in range(tries + 1):
        draws = preview_views(arr, config, n_views=n_views, seed=seed + k * RESEED_STRIDE)
        for view in draws:
            if is_unchanged(view, arr):
                if k == 0:
                    dropped += 1
            elif len(kept) < n_views:
                kept.append(view)
        if len(kept) == n_views or not config.methods:
            break
    views = np.stack(kept).astype(np.float32) if kept else np.zeros((0, *arr.shape), np.float32)
    return views, dropped
