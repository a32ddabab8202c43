"""What the sampler shows about generations, computed without Qt.

The decoding schedule and masked-token counts of an iterative-decoding replay, the replay frame
at one step, a generation's nearest real training series of the same class, and a 2-D PCA that
puts real test series and generations in one picture. Series are compared in the units the prior
was trained in (the dataset after the method's scaling), which is also how generations are stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tsstudio.errors import TsstudioError
from tsstudio.models.maskgit import remaining_after_step

UNCONDITIONAL = -1


def class_id_for(label: object, class_labels: Sequence[object], dataset: str = "the dataset") -> int:
    """The class id of `label` (an original class label, or None for unconditional → -1).

    Labels are matched by their text, so "2" finds the class whose label is the integer 2. A label
    the dataset does not have is refused with one line naming the dataset's classes.
    """
    if label is None:
        return UNCONDITIONAL
    names = [str(c) for c in class_labels]
    text = str(label)
    if text not in names:
        raise TsstudioError(f"class {text!r}: {dataset} has no such class (its classes: {', '.join(names)})")
    return names.index(text)


def decoding_schedule(steps: int, n_tokens: int) -> np.ndarray:
    """Tokens still masked after each of the `steps` decoding steps, as iterative decoding fixes them.

    ⌊N·cos(πk/2T)⌋ after step k, but at least one more token is fixed every step (method §9.4).
    """
    if steps < 1 or n_tokens < 1:
        raise TsstudioError(f"decoding steps {steps} and tokens {n_tokens}: expected at least 1 of each")
    counts, masked = [], n_tokens
    for k in range(1, steps + 1):
        masked = max(0, min(remaining_after_step(k, steps, n_tokens), masked - 1))
        counts.append(masked)
    return np.asarray(counts, dtype=np.int64)


def masked_counts(step_tokens: np.ndarray) -> np.ndarray:
    """(T, N) masked tokens per step and generation, from recorded steps (T, N, H, W), -1 = masked."""
    t, n = step_tokens.shape[:2]
    return (np.asarray(step_tokens).reshape(t, n, -1) < 0).sum(axis=2).astype(np.int64)


@dataclass(frozen=True)
class ReplayFrame:
    """One step of one generation's decoding: its token grid (-1 = still masked) and decoded guess."""

    step: int  # 1..T
    tokens: np.ndarray  # (H, W) int, -1 where masked
    series: np.ndarray | None  # (L,) the series decoded from the step's full guess, when known
    masked: int
    scheduled: int


def replay_frame(
    step_tokens: np.ndarray, index: int, step: int, step_series: np.ndarray | None = None
) -> ReplayFrame:
    """The frame after decoding step `step` (1-based) of generation `index`."""
    total = step_tokens.shape[0]
    if not 1 <= step <= total:
        raise TsstudioError(f"step {step}: the decoding has steps 1..{total}")
    if not 0 <= index < step_tokens.shape[1]:
        raise TsstudioError(f"generation {index}: there are {step_tokens.shape[1]} generations")
    tokens = np.array(step_tokens[step - 1, index], dtype=np.int64)
    series = None if step_series is None else np.array(step_series[step - 1, index], dtype=np.float32)
    n_tokens = int(tokens.size)
    return ReplayFrame(step, tokens, series, int((tokens < 0).sum()), int(decoding_schedule(total, n_tokens)[step - 1]))


@dataclass(frozen=True)
class Nearest:
    """The nearest real series to a generation: its index in the searched split, class and distance."""

    index: int
    class_id: int
    distance: float
    series: np.ndarray


def nearest_real(series: np.ndarray, x_real: np.ndarray, y_real: np.ndarray, class_id: int) -> Nearest:
    """Nearest real series (Euclidean) of class `class_id` (any class when unconditional, -1)."""
    return nearest_real_many(np.asarray(series)[None], x_real, y_real, np.asarray([class_id]))[0]


def nearest_real_many(
    series: np.ndarray, x_real: np.ndarray, y_real: np.ndarray, class_ids: np.ndarray
) -> list[Nearest]:
    """`nearest_real` for every row of `series` (G, L) with its own class, in one matrix product.

    Candidates are ranked by ‖a‖² + ‖b‖² − 2a·b; the winner's distance is then computed directly,
    so it is exact even for a generation that copies a real series.
    """
    x_real = np.asarray(x_real)
    y_real = np.asarray(y_real)
    series = np.asarray(series, dtype=np.float64)
    if x_real.ndim == 3:  # multichannel: the distance runs over every channel
        if series.ndim == 2 and series.shape == x_real.shape[1:]:
            series = series[None]
        if series.shape[1:] != x_real.shape[1:]:
            raise TsstudioError(f"series of shape {series.shape[1:]}: the real series have shape {x_real.shape[1:]}")
        flat_real = x_real.reshape(len(x_real), -1)
        found = nearest_real_many(series.reshape(len(series), -1), flat_real, y_real, class_ids)
        return [Nearest(n.index, n.class_id, n.distance, np.asarray(x_real[n.index], dtype=np.float32)) for n in found]
    series = np.atleast_2d(series)
    class_ids = np.asarray(class_ids, dtype=np.int64)
    if series.shape[1] != x_real.shape[1]:
        raise TsstudioError(f"series of length {series.shape[1]}: the real series have length {x_real.shape[1]}")
    for c in np.unique(class_ids):
        if c != UNCONDITIONAL and not (y_real == c).any():
            raise TsstudioError(f"class {int(c)}: no real series of this class to compare with")
    real = x_real.astype(np.float64, copy=False)
    d2 = (series**2).sum(1)[:, None] + (real**2).sum(1)[None, :] - 2.0 * series @ real.T
    other = (class_ids[:, None] != UNCONDITIONAL) & (y_real[None, :] != class_ids[:, None])
    d2[other] = np.inf
    best = d2.argmin(axis=1)
    out = []
    for g, i in enumerate(best):
        i = int(i)
        distance = float(np.sqrt(((real[i] - series[g]) ** 2).sum()))
        out.append(Nearest(i, int(y_real[i]), distance, np.asarray(x_real[i], dtype=np.float32)))
    return out


@dataclass(frozen=True)
class PcaPlane:
    """The plane of a set of real series' first two principal components, fitted once per dataset."""

    mean: np.ndarray  # (L,)
    axes: np.ndarray  # (2, L)
    explained: tuple[float, float]  # fraction of the real series' variance on each axis

    @classmethod
    def fit(cls, real: np.ndarray) -> PcaPlane:
        """Fit on real series (N, L); multichannel (N, C, L) series are fitted with their channels end to end."""
        real = np.asarray(real, dtype=np.float64)
        if real.ndim == 3:
            real = real.reshape(len(real), -1)
        if real.ndim != 2 or not len(real):
            raise TsstudioError(f"real series {real.shape}: expected a non-empty (N, L) array")
        mean = real.mean(axis=0)
        _, s, vt = np.linalg.svd(real - mean, full_matrices=False)
        axes = np.zeros((2, real.shape[1]))
        axes[: min(2, len(vt))] = vt[:2]
        var = np.zeros(2)
        var[: min(2, len(s))] = s[:2] ** 2
        total = float((s**2).sum()) or 1.0
        return cls(mean, axes, (float(var[0] / total), float(var[1] / total)))

    def project(self, series: np.ndarray) -> np.ndarray:
        """(N, L) series (or (N, C, L), channels end to end) → (N, 2) coordinates in the plane."""
        series = np.asarray(series, dtype=np.float64)
        if series.ndim == 3:
            series = series.reshape(len(series), -1)
        if series.ndim != 2 or series.shape[1] != self.mean.shape[0]:
            raise TsstudioError(f"series {series.shape}: expected (N, {self.mean.shape[0]}) series, the real ones' length")
        return ((series - self.mean) @ self.axes.T).astype(np.float32)


@dataclass(frozen=True)
class Projection:
    """Real and generated series in the plane of the real series' first two principal components."""

    real: np.ndarray  # (R, 2)
    generated: np.ndarray  # (G, 2)
    explained: tuple[float, float]


def pca_real_vs_generated(real: np.ndarray, generated: np.ndarray) -> Projection:
    """Fit a 2-D PCA on the real series and place both real series and generations in it."""
    plane = PcaPlane.fit(real)
    return Projection(plane.project(real), plane.project(generated), plane.explained)
