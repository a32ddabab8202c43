"""SVM and KNN probes on mean-pooled quantised latents (method §8, computed correctly).

Features come from the model in eval mode with no gradient and no codebook update, so the
probe neither depends on batch composition nor leaks test data into the codebook. The reference
code's train-mode protocol (method §11.A.1) is available as `protocol="train-mode"` so its figures
can be set beside ours for the same runs; it is never the default and never stored as a run's result.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import MinMaxScaler
from sklearn.svm import SVC
from torch import nn

from tsstudio.eval.features import pooled_latents, train_mode_pooled_latents

PROTOCOLS = ("eval", "train-mode")
"""How probe features are computed: ours (eval mode), or the reference's (train mode, for comparison)."""


def probe_accuracies(
    train_features: np.ndarray,
    y_train: np.ndarray,
    test_features: np.ndarray,
    y_test: np.ndarray,
    knn_neighbors: int = 5,
    svm_c: float = 1.0,
    svm_max_iter: int = 200_000,
) -> dict[str, float]:
    """Fit a linear SVM and a KNN on MinMax(-1, 1)-scaled train features; accuracy on test.

    The SVM solver is capped at `svm_max_iter` iterations: on the features of an untrained model
    (the probe before the first step) libsvm can otherwise run for minutes.
    """
    scaler = MinMaxScaler(feature_range=(-1, 1)).fit(train_features)
    tr, te = scaler.transform(train_features), scaler.transform(test_features)
    knn = KNeighborsClassifier(n_neighbors=min(knn_neighbors, len(tr))).fit(tr, y_train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        svm = SVC(kernel="linear", C=svm_c, max_iter=svm_max_iter).fit(tr, y_train)
    return {
        "svm_accuracy": float((svm.predict(te) == y_test).mean()),
        "knn_accuracy": float((knn.predict(te) == y_test).mean()),
    }


def run_probes(
    tokenizer: nn.Module,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    device: torch.device,
    batch_size: int = 256,
    knn_neighbors: int = 5,
    svm_c: float = 1.0,
    svm_max_iter: int = 200_000,
    protocol: str = "eval",
    latent: str = "z_q",
    seed: int = 0,
) -> dict[str, float]:
    """Probe accuracies of a tokenizer's representation on a train/test split.

    `protocol` "train-mode" computes the features as the reference code does (batches of
    `batch_size`, train shuffled by `seed`, then test); `latent` "z" probes the encoder output
    before quantisation instead of z_q.
    """
    if protocol == "eval":
        f_train = pooled_latents(tokenizer, x_train, batch_size, device, latent)
        f_test = pooled_latents(tokenizer, x_test, batch_size, device, latent)
    elif protocol == "train-mode":
        f_train, f_test = train_mode_pooled_latents(tokenizer, x_train, x_test, batch_size, device, seed, latent)
    else:
        raise ValueError(f"protocol: expected one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    return probe_accuracies(f_train, y_train, f_test, y_test, knn_neighbors, svm_c, svm_max_iter)
