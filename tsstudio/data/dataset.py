"""In-memory dataset and the method's preprocessing (label mapping, global scaling).

Univariate series are (N, L) arrays, exactly as before multichannel data was read; a dataset of
C > 1 channels holds (N, C, L) arrays and is scaled per channel (`mean` and `std` are then tuples
of C values), so every univariate code path and number is unchanged.

Unlabelled data is explicit: `Dataset.labelled` is False, `class_labels` is empty (so
`n_classes` is 0) and `y_train` / `y_test` hold -1 for every series (`UNLABELLED`), so array
shapes stay those of a labelled dataset while no consumer can mistake them for a class id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tsstudio.errors import DataError


@dataclass(frozen=True)
class Dataset:
    """A train/test pair ready for training: float32 series (scaled if scaling was on), int64 class ids.

    Without labels (`labelled` False) the ids are all `UNLABELLED` (-1) and there are no classes.
    """

    name: str
    x_train: np.ndarray  # float32 (N_train, L), or (N_train, C, L) with C > 1 channels
    y_train: np.ndarray  # int64 (N_train,), values 0..n_classes-1
    x_test: np.ndarray  # float32 (N_test, L) or (N_test, C, L)
    y_test: np.ndarray  # int64 (N_test,)
    class_labels: tuple  # original label of class id i at index i
    mean: float | tuple[float, ...]  # train mean used for scaling (0.0 if off); one per channel when C > 1
    std: float | tuple[float, ...]  # train std (1.0 if off); one per channel when C > 1
    source: str  # folder path, or "built-in"
    labelled: bool = True  # False: y_* are all UNLABELLED and class_labels is ()
    format: str = "ucr"  # the file format it was read from (see data.formats)

    @property
    def length(self) -> int:
        """Series length L."""
        return int(self.x_train.shape[-1])

    @property
    def n_channels(self) -> int:
        """Number of channels: 1 for (N, L) arrays, C for (N, C, L)."""
        return int(self.x_train.shape[1]) if self.x_train.ndim == 3 else 1

    @property
    def channel_mean(self) -> tuple[float, ...]:
        """The scaling mean of every channel (one value for univariate data)."""
        return tuple(self.mean) if isinstance(self.mean, tuple) else (float(self.mean),)

    @property
    def channel_std(self) -> tuple[float, ...]:
        """The scaling std of every channel (one value for univariate data)."""
        return tuple(self.std) if isinstance(self.std, tuple) else (float(self.std),)

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.class_labels)

    @property
    def n_train(self) -> int:
        """Number of training series."""
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test series."""
        return int(self.x_test.shape[0])


@dataclass(frozen=True)
class DatasetInfo:
    """Summary of a dataset for listings; `error` is non-empty when its files cannot be used."""

    name: str
    n_train: int
    n_test: int
    length: int
    n_classes: int
    source: str
    error: str = ""
    format: str = "ucr"
    channels: int = 1


UNLABELLED = -1  # the class id of every series of an unlabelled dataset


def _plain(label: object) -> object:
    """A label as a plain Python value: integral floats become int, numpy scalars unwrap."""
    if isinstance(label, np.generic):
        label = label.item()
    if isinstance(label, float) and label.is_integer():
        return int(label)
    return label


def _fmt(label: object) -> str:
    return str(_plain(label))


def _one_channel_flat(x: np.ndarray) -> np.ndarray:
    """(N, 1, L) series as (N, L): one channel is always held in the univariate layout."""
    return x[:, 0, :] if x.ndim == 3 and x.shape[1] == 1 else x


def channel_scaling(x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel train mean and population std (C,) of (N, C, L) series; a zero std becomes 1."""
    means = x_train.mean(axis=(0, 2))
    stds = x_train.std(axis=(0, 2))
    stds = np.where(np.isfinite(stds) & (stds != 0.0), stds, 1.0)
    return means, stds


def make_dataset(
    name: str,
    x_train: np.ndarray,
    labels_train: np.ndarray | None,
    x_test: np.ndarray,
    labels_test: np.ndarray | None,
    source: str,
    scaling: bool = True,
    train_name: str | None = None,
    test_name: str | None = None,
    format: str = "ucr",
) -> Dataset:
    """Build a Dataset: map labels to 0..n_classes-1 and optionally scale with the train mean/std.

    Class ids follow the sorted unique train labels. Scaling of (N, L) series uses a single
    scalar mean and population std over the whole training matrix, applied to both splits (a
    zero std is replaced by 1); (N, C, L) series are scaled the same way channel by channel.
    `train_name`/`test_name` name the files in error messages.
    Both label arrays None gives an unlabelled dataset; only one of them None is refused.
    """
    train_name = train_name or f"{name} train split"
    test_name = test_name or f"{name} test split"
    x_train = _one_channel_flat(np.asarray(x_train, dtype=np.float64))
    x_test = _one_channel_flat(np.asarray(x_test, dtype=np.float64))
    labelled = labels_train is not None
    if (labels_test is not None) != labelled:
        has, lacks = (train_name, test_name) if labelled else (test_name, train_name)
        raise DataError(f"{lacks}: has no class labels but {has} has; give both splits labels or neither")
    if not labelled:
        labels_train = np.full(x_train.shape[:1], UNLABELLED, dtype=np.int64)
        labels_test = np.full(x_test.shape[:1], UNLABELLED, dtype=np.int64)
    labels_train = np.asarray(labels_train)
    labels_test = np.asarray(labels_test)
    for what, x, labels in ((train_name, x_train, labels_train), (test_name, x_test, labels_test)):
        if x.ndim not in (2, 3) or 0 in x.shape:
            raise DataError(
                f"{what}: expected a non-empty (series, length) or (series, channels, length) array, got shape {x.shape}"
            )
        if labels.shape != (x.shape[0],):
            raise DataError(f"{what}: {labels.size} labels for {x.shape[0]} series")
    limit = float(np.finfo(np.float32).max)
    for what, x in ((train_name, x_train), (test_name, x_test)):
        beyond = ~(np.abs(x) <= limit)  # also catches inf and NaN
        if beyond.any():
            first = tuple(int(i) for i in np.argwhere(beyond)[0])
            channel = f"channel {first[1] + 1}, " if x.ndim == 3 else ""
            raise DataError(
                f"{what}:{first[0] + 1}: value {x[first]:g} ({channel}sample {first[-1] + 1}) is beyond the float32 "
                f"range (±{limit:.3g}) the model computes in"
            )
    c_train, c_test = (x.shape[1] if x.ndim == 3 else 1 for x in (x_train, x_test))
    if c_train != c_test:
        raise DataError(f"{test_name}: {c_test} channels, but {train_name} has {c_train} (mismatched channel counts)")
    if x_train.shape[-1] != x_test.shape[-1]:
        raise DataError(
            f"{train_name} has series of length {x_train.shape[-1]} but {test_name} has length {x_test.shape[-1]}"
        )
    mean: float | tuple[float, ...] = 0.0
    std: float | tuple[float, ...] = 1.0
    if x_train.ndim == 3:
        mean, std = (0.0,) * c_train, (1.0,) * c_train
    if scaling and x_train.ndim == 2:
        mean = float(x_train.mean())
        std = float(x_train.std())
        if not np.isfinite(std) or std == 0.0:
            std = 1.0
        x_train = (x_train - mean) / std
        x_test = (x_test - mean) / std
    elif scaling:
        means, stds = channel_scaling(x_train)
        x_train = (x_train - means[:, None]) / stds[:, None]
        x_test = (x_test - means[:, None]) / stds[:, None]
        mean, std = tuple(float(v) for v in means), tuple(float(v) for v in stds)
    if not labelled:
        return Dataset(
            name=name,
            x_train=np.ascontiguousarray(x_train, dtype=np.float32),
            y_train=labels_train.astype(np.int64),
            x_test=np.ascontiguousarray(x_test, dtype=np.float32),
            y_test=labels_test.astype(np.int64),
            class_labels=(),
            mean=mean,
            std=std,
            source=source,
            labelled=False,
            format=format,
        )
    classes = np.unique(labels_train)
    if classes.size < 2:
        raise DataError(
            f"{train_name}: found 1 class (label {_fmt(classes[0])}); a classification dataset needs at least two"
        )
    if labels_test.dtype.kind != labels_train.dtype.kind and not (
        labels_test.dtype.kind in "iuf" and labels_train.dtype.kind in "iuf"
    ):
        raise DataError(f"{test_name}: label {_fmt(labels_test[0])} does not occur in {train_name}")
    y_train = np.searchsorted(classes, labels_train).astype(np.int64)
    pos = np.searchsorted(classes, labels_test)
    pos_clipped = np.minimum(pos, classes.size - 1)
    unseen = classes[pos_clipped] != labels_test
    if unseen.any():
        bad = labels_test[int(np.argmax(unseen))]
        raise DataError(f"{test_name}: label {_fmt(bad)} does not occur in {train_name}")
    y_test = pos_clipped.astype(np.int64)
    return Dataset(
        name=name,
        x_train=np.ascontiguousarray(x_train, dtype=np.float32),
        y_train=y_train,
        x_test=np.ascontiguousarray(x_test, dtype=np.float32),
        y_test=y_test,
        class_labels=tuple(_plain(c) for c in classes),
        mean=mean,
        std=std,
        source=source,
        format=format,
    )
