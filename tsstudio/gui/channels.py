"""Drawing multichannel series: channels stacked as offset traces, labelled on the value axis, and a
channel chooser for the spectrogram.

A (C, L) series is drawn as C traces, channel 1 on top, each shifted down by one `spacing` (the
largest peak-to-peak range of any channel shown, plus a margin), so channels never overlap and keep
their own scale; the value axis names each trace ("ch 1", "ch 2", ...) at its offset. A univariate
(L,) series is drawn as it always was: no offset, the plain value axis, no chooser.
"""

from __future__ import annotations

import numpy as np

# PySide6 first so pyqtgraph binds to it.
# isort: off
from PySide6.QtWidgets import QComboBox, QWidget
import pyqtgraph as pg
# isort: on

MARGIN = 1.15  # spacing = margin × the largest channel range, so stacked traces keep a gap


def n_channels(x: np.ndarray, series_ndim: int = 1) -> int:
    """Channels of an array of series whose single series has `series_ndim` + 1 dims when multichannel:
    (L,) or (n, L) give 1; (C, L) (series_ndim 1) or (n, C, L) (series_ndim 2) give C."""
    x = np.asarray(x)
    return int(x.shape[-2]) if x.ndim == series_ndim + 1 else 1


def channel_spacing(x: np.ndarray) -> float:
    """Vertical distance between stacked channels of (..., C, L) series: MARGIN × the largest range."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return 1.0
    flat = x.reshape(-1, x.shape[-2], x.shape[-1])
    ranges = np.nanmax(flat, axis=(0, 2)) - np.nanmin(flat, axis=(0, 2))
    widest = float(np.nanmax(ranges)) if ranges.size else 0.0
    return MARGIN * widest if np.isfinite(widest) and widest > 0 else 1.0


def channel_centres(x: np.ndarray) -> np.ndarray:
    """Per-channel middle of the value range (C,) of (..., C, L) series, so each trace is centred on its tick."""
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(-1, x.shape[-2], x.shape[-1])
    return 0.5 * (np.nanmax(flat, axis=(0, 2)) + np.nanmin(flat, axis=(0, 2)))


def stacked(x: np.ndarray, spacing: float, centres: np.ndarray) -> np.ndarray:
    """(..., C, L) series with channel c centred at −c·spacing (channel 1 on top)."""
    x = np.asarray(x, dtype=np.float32)
    offsets = -np.arange(x.shape[-2], dtype=np.float32) * np.float32(spacing) - centres.astype(np.float32)
    return x + offsets[:, None]


def one_trace(series: np.ndarray, spacing: float, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A stacked (C, L) series as one (x, y) pair with a NaN gap between channels (draw with
    connect="finite"), so a single curve item shows every channel."""
    ys = stacked(series, spacing, centres)
    c, length = ys.shape
    xs = np.tile(np.append(np.arange(length, dtype=np.float32), np.nan), c)
    y = np.concatenate([ys, np.full((c, 1), np.nan, np.float32)], axis=1).reshape(-1)
    return xs, y


def label_channels(axis: pg.AxisItem, count: int, spacing: float) -> None:
    """Name the stacked traces on a value axis ("ch 1" at 0, "ch 2" at −spacing, ...); with one
    channel the axis gets its ordinary numeric ticks back."""
    if count <= 1:
        axis.setTicks(None)
        return
    axis.setTicks([[(-c * spacing, f"ch {c + 1}") for c in range(count)], []])


class ChannelChooser(QComboBox):
    """Which channel a spectrogram shows; hidden for univariate data."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("Channel shown in the spectrogram")
        self.set_count(1)

    def set_count(self, count: int) -> None:
        """Offer channels 1..count (keeping the choice when it still exists); hide when count is 1."""
        if count == self.count() and count > 1:
            return
        keep = max(self.currentIndex(), 0)
        self.blockSignals(True)
        self.clear()
        for c in range(count):
            self.addItem(f"|STFT| of ch {c + 1}", c)
        self.setCurrentIndex(min(keep, count - 1))
        self.blockSignals(False)
        self.setVisible(count > 1)

    def channel(self) -> int:
        """The chosen channel index (0 for univariate data)."""
        return max(self.currentIndex(), 0)


def stacked_traces(series: np.ndarray, others: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(n, C, L) series (and optionally a second (n, C, L) set drawn on the same offsets) as one NaN-separated
    trace each: (x (C·(L+1),), traces (n, C·(L+1)), other traces or None)."""
    stack = (channel_spacing(series), channel_centres(series))
    xs = one_trace(series[0], *stack)[0]
    traces = np.stack([one_trace(s, *stack)[1] for s in series])
    other = None if others is None else np.stack([one_trace(s, *stack)[1] for s in others])
    return xs, traces, other


def first_channel(series: np.ndarray) -> np.ndarray:
    """One series' first channel (L,): what a spectrogram without a channel chooser shows."""
    series = np.asarray(series)
    return series[0] if series.ndim == 2 else series


def side_by_side(series: np.ndarray) -> np.ndarray:
    """(n, C, L) series as (n, C·(L+1)) rows, channels one after another with a NaN gap, for small
    multiples that draw each row in one cell; (n, L) series are returned as they are."""
    series = np.asarray(series)
    if series.ndim != 3:
        return series
    gap = np.full((*series.shape[:2], 1), np.nan, dtype=np.float64)
    return np.concatenate([series.astype(np.float64), gap], axis=2).reshape(len(series), -1)


def plot_form(*series: np.ndarray | None) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """Single series drawn in one plot: (x, ys). Univariate (L,) series come back as they are with
    x = 0..L−1; multichannel (C, L) ones as stacked traces on shared offsets (None stays None)."""
    given = [np.asarray(s) for s in series if s is not None]
    if not given or given[0].ndim != 2:
        length = given[0].shape[-1] if given else 0
        return np.arange(length), [None if s is None else np.asarray(s) for s in series]
    stack = (channel_spacing(np.stack(given)), channel_centres(np.stack(given)))
    xs = one_trace(given[0], *stack)[0]
    return xs, [None if s is None else one_trace(np.asarray(s), *stack)[1] for s in series]


def label_stacked(axis: pg.AxisItem, series: np.ndarray, channels: int) -> None:
    """Channel names on the value axis of a plot whose traces `stacked_traces` / `plot_form` stacked
    from `series` ((..., C, L)); with one channel the axis keeps its numeric ticks."""
    label_channels(axis, channels, channel_spacing(series) if channels > 1 else 1.0)
