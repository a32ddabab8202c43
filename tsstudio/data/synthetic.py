"""Cylinder-Bell-Funnel (Saito, 1994): the built-in dataset, generated in code so
that tsstudio works out of the box without any downloaded files."""

from __future__ import annotations

import numpy as np

CBF_NAME = "CBF"
CBF_LENGTH = 128
CBF_TRAIN_PER_CLASS = 30
CBF_TEST_PER_CLASS = 300
CBF_TRAIN_SEED = 0
CBF_TEST_SEED = 1
CBF_CLASS_NAMES = ("cylinder", "bell", "funnel")


def cylinder_bell_funnel(n_per_class: int, length: int = 128, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generate `n_per_class` series of each class; returns X float64 (3n, L) and y int64 (0, 1, 2).

    Per series: a ~ U[16, 32], b - a ~ U[32, 96], eta ~ N(0, 1), eps(t) ~ N(0, 1) and
    cylinder (6+eta)·1[a,b](t), bell (6+eta)·1[a,b](t)·(t-a)/(b-a), funnel (6+eta)·1[a,b](t)·(b-t)/(b-a),
    plus eps(t). For lengths other than 128 the onset and duration ranges scale with the length.
    Rows are grouped by class (all cylinders, then bells, then funnels); the same seed gives the same data.
    """
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be at least 1, got {n_per_class}")
    if length < 8:
        raise ValueError(f"length must be at least 8, got {length}")
    rng = np.random.default_rng(seed)
    scale = length / 128.0
    n = 3 * n_per_class
    y = np.repeat(np.arange(3, dtype=np.int64), n_per_class)
    a = rng.uniform(16.0, 32.0, size=n) * scale
    b = a + rng.uniform(32.0, 96.0, size=n) * scale
    eta = rng.standard_normal(n)
    eps = rng.standard_normal((n, length))
    t = np.arange(length, dtype=np.float64)[None, :]
    a_, b_ = a[:, None], b[:, None]
    inside = ((t >= a_) & (t <= b_)).astype(np.float64)
    ramp_up = (t - a_) / (b_ - a_)
    shape = np.where((y == 0)[:, None], 1.0, np.where((y == 1)[:, None], ramp_up, 1.0 - ramp_up))
    x = (6.0 + eta)[:, None] * inside * shape + eps
    return x, y
