"""Generative-model metrics of the method (§10): FCN classifier, FID, IS and CAS.

* The FCN (tsstudio.models.fcn) is trained supervised on a dataset's real train split and
  cached on disk, so every evaluation of that dataset uses the same classifier.
* FID compares the FCN's 128-d pooled features of a generated set with those of the real
  test set; `real_fid_floor` (real train vs real test) shows what "as good as real" means.
* IS uses the FCN's softmax on the generated set (bounded by the number of classes).
* CAS trains a fresh FCN on class-conditional synthetic data and tests it on real test data.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import re
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.linalg
import torch
import torch.nn.functional as F

from tsstudio.data.dataset import Dataset
from tsstudio.models.fcn import FCN
from tsstudio.models.runtime import resolve_device, resolve_precision, seed_everything

EMA_RATE = 0.01
# Validation epochs whose batches weigh less than this, together, in the final `val_acc_ema`
# are skipped: the reported EMA then moves by at most this much (accuracies lie in [0, 1]).
EMA_TOLERANCE = 1e-6
CACHE_FORMAT = 1

Callback = Callable[[int, dict[str, Any]], None]


def _device(device: torch.device | str) -> torch.device:
    return device if isinstance(device, torch.device) else resolve_device(device)


def _as_float32(x: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3 and x.shape[1] == 1:
        x = x[:, 0, :]
    if x.ndim not in (2, 3):
        raise ValueError(f"expected series of shape (N, L) or (N, C, L), got {x.shape}")
    return x


# --------------------------------------------------------------------------- training


def ema_of_batch_accuracies(accs: Sequence[float], rate: float = EMA_RATE, start: float = 0.0) -> float:
    """EMA `e ← (1 − rate)·e + rate·acc` over per-batch accuracies, from `start` (0 in the method).

    This is the method's CAS `val_acc_ema`: every validation batch counts equally, whatever its
    size, and with rate 0.01 and zero start the value is biased low on short runs (as reported).
    """
    ema = float(start)
    for acc in accs:
        ema = (1.0 - rate) * ema + rate * float(acc)
    return ema


def _autocast(device: torch.device, dtype: torch.dtype | None) -> torch.autocast:
    return torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None)


def first_validated_epoch(epochs: int, val_batches: int, rate: float = EMA_RATE, tolerance: float = EMA_TOLERANCE) -> int:
    """The first epoch whose validation still matters to the final EMA of per-batch accuracies.

    Every batch before the last `K` has, all together, weight `(1 − rate)^K` in the final EMA, so
    validating only the last `⌈log(tolerance) / (val_batches · log(1 − rate))⌉` epochs changes the
    reported value by at most `tolerance`. With tolerance 0 every epoch is validated.
    """
    if tolerance <= 0 or val_batches < 1 or not 0 < rate < 1:
        return 0
    needed = math.ceil(math.log(tolerance) / (val_batches * math.log1p(-rate)))
    return max(0, epochs - needed)


def _batch_accuracies(
    model: FCN, x: torch.Tensor, y: torch.Tensor, device: torch.device, batch_size: int,
    autocast_dtype: torch.dtype | None = None,
) -> tuple[list[float], int]:
    """Per-batch accuracies and the total number correct, model in eval mode, no gradient."""
    accs: list[float] = []
    correct = 0
    was_training = model.training
    model.eval()
    with torch.no_grad(), _autocast(device, autocast_dtype):
        for start in range(0, x.shape[0], batch_size):
            xb = x[start : start + batch_size].to(device)
            yb = y[start : start + batch_size].to(device)
            hits = int((model(xb).argmax(dim=1) == yb).sum())
            correct += hits
            accs.append(hits / int(yb.shape[0]))
    model.train(was_training)
    return accs, correct


def train_fcn(
    x_train: np.ndarray,
    y_train: np.ndarray,
    n_classes: int,
    *,
    epochs: int,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 1e-5,
    seed: int = 0,
    device: torch.device | str,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    callback: Callback | None = None,
    should_stop: Callable[[], bool] | None = None,
    ema_tolerance: float = EMA_TOLERANCE,
    autocast_dtype: torch.dtype | None = None,
) -> tuple[FCN, dict[str, Any]]:
    """Train an FCN from scratch with the method's classifier schedule (§7); returns (model in eval mode, history).

    AdamW, cross-entropy, shuffled mini-batches from in-memory tensors, cosine annealing stepped
    every batch from `lr` to 0 over `epochs · ⌈N/batch_size⌉` steps. When a validation set is
    given it is evaluated after each epoch in batches of `batch_size` (the method's CAS uses the
    same batch for both): every batch's accuracy feeds `val_acc_ema` (see
    `ema_of_batch_accuracies`). Epochs too early to move the final EMA by more than
    `ema_tolerance` are not validated (`first_validated_epoch`); 0 validates every epoch.
    `autocast_dtype` (e.g. bfloat16) runs forward passes under autocast; None is full float32.
    Seeds the global RNGs with `seed` (model init) and shuffles with its own generator.
    `should_stop()` is checked before every step; when it returns true training ends early and
    the history says `stopped: True`.

    History keys: `train_loss` (mean loss of the last epoch), `train_loss_per_epoch`,
    `val_accuracy` and `val_epochs` (accuracy per validated epoch, and which epochs those were;
    empty without validation), `val_acc_ema` (None without validation), `epochs_completed`,
    `steps`, `stopped`.
    """
    dev = _device(device)
    x = torch.from_numpy(_as_float32(x_train))
    y = torch.as_tensor(np.asarray(y_train), dtype=torch.long)
    if x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError(f"train_fcn: {x.shape[0]} series for {y.shape[0]} labels")
    if epochs < 0 or batch_size < 1:
        raise ValueError("train_fcn: epochs must be >= 0 and batch_size >= 1")
    has_val = x_val is not None and y_val is not None
    if has_val:
        xv = torch.from_numpy(_as_float32(x_val))
        yv = torch.as_tensor(np.asarray(y_val), dtype=torch.long)

    seed_everything(seed)
    model = FCN(n_classes, in_channels=int(x.shape[1]) if x.dim() == 3 else 1).to(dev)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(x.shape[0] / batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs * steps_per_epoch), eta_min=0.0)
    shuffler = torch.Generator().manual_seed(seed)
    val_batches = math.ceil(int(yv.shape[0]) / batch_size) if has_val else 0
    first_val_epoch = first_validated_epoch(epochs, val_batches, tolerance=ema_tolerance)

    history: dict[str, Any] = {
        "train_loss": float("nan"),
        "train_loss_per_epoch": [],
        "val_accuracy": [],
        "val_epochs": [],
        "val_acc_ema": 0.0 if has_val else None,
        "epochs_completed": 0,
        "steps": 0,
        "stopped": False,
    }
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(x.shape[0], generator=shuffler)
        loss_sum, seen = 0.0, 0
        for start in range(0, x.shape[0], batch_size):
            if should_stop is not None and should_stop():
                history["stopped"] = True
                break
            idx = order[start : start + batch_size]
            xb, yb = x[idx].to(dev), y[idx].to(dev)
            with _autocast(dev, autocast_dtype):
                loss = F.cross_entropy(model(xb).float(), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            history["steps"] += 1
            loss_sum += float(loss.detach()) * int(yb.shape[0])
            seen += int(yb.shape[0])
        if history["stopped"]:
            break
        epoch_loss = loss_sum / max(seen, 1)
        history["train_loss"] = epoch_loss
        history["train_loss_per_epoch"].append(epoch_loss)
        metrics: dict[str, Any] = {"train_loss": epoch_loss, "lr": float(optimizer.param_groups[0]["lr"])}
        if has_val and epoch >= first_val_epoch:
            accs, correct = _batch_accuracies(model, xv, yv, dev, batch_size, autocast_dtype)
            val_acc = correct / int(yv.shape[0])
            history["val_accuracy"].append(val_acc)
            history["val_epochs"].append(epoch)
            history["val_acc_ema"] = ema_of_batch_accuracies(accs, start=history["val_acc_ema"])
            metrics.update(val_accuracy=val_acc, val_acc_ema=history["val_acc_ema"])
        history["epochs_completed"] = epoch + 1
        if callback is not None:
            callback(epoch, metrics)
    model.eval()
    return model, history


# --------------------------------------------------------------------------- inference


def _batched(model: FCN, x: np.ndarray | torch.Tensor, device: torch.device | str, batch_size: int, fn: str) -> np.ndarray:
    dev = _device(device)
    data = torch.from_numpy(_as_float32(x))
    model.eval()
    outs = []
    with torch.no_grad():
        for start in range(0, data.shape[0], batch_size):
            xb = data[start : start + batch_size].to(dev)
            out = model.features(xb) if fn == "features" else torch.softmax(model(xb).float(), dim=1)
            outs.append(out.float().cpu().numpy())
    width = model.head.in_features if fn == "features" else model.n_classes
    return np.concatenate(outs, axis=0) if outs else np.zeros((0, width), dtype=np.float32)


def fcn_accuracy(model: FCN, x: np.ndarray, y: np.ndarray, device: torch.device | str, batch_size: int = 256) -> float:
    """Classification accuracy of `model` (eval mode, no gradient) on (x, y)."""
    probs = _batched(model, x, device, batch_size, "probs")
    y = np.asarray(y)
    return float((probs.argmax(axis=1) == y).mean()) if y.size else float("nan")


def fcn_features(model: FCN, x: np.ndarray | torch.Tensor, device: torch.device | str, batch_size: int = 256) -> np.ndarray:
    """Pooled 128-d FCN features (N, 128) in eval mode, the representation FID compares."""
    return _batched(model, x, device, batch_size, "features")


def fcn_probs(model: FCN, x: np.ndarray | torch.Tensor, device: torch.device | str, batch_size: int = 256) -> np.ndarray:
    """Softmax class probabilities p(y|x) (N, C) in eval mode, the input of IS."""
    return _batched(model, x, device, batch_size, "probs")


# --------------------------------------------------------------------------- FID and IS


def frechet_distance(feat_a: np.ndarray, feat_b: np.ndarray, eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows = samples).

    `‖μa − μb‖² + Tr(Σa + Σb − 2(ΣaΣb)^{1/2})` with unbiased covariances and scipy's sqrtm,
    in float64. The matrix square root of a product of (near-)singular covariances can come
    back non-finite or with small imaginary parts from round-off: if it is non-finite, `eps·I`
    is added to both covariances and it is recomputed (the usual FID-code fallback); the real
    part is then kept, as in the method.
    """
    a = np.asarray(feat_a, dtype=np.float64)
    b = np.asarray(feat_b, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if b.ndim == 1:
        b = b[:, None]
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"frechet_distance: feature shapes {a.shape} and {b.shape} do not match")
    if a.shape[0] < 2 or b.shape[0] < 2:
        raise ValueError("frechet_distance: each set needs at least two samples for a covariance")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))

    def _sqrt(m: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(scipy.linalg.sqrtm(m))

    covmean = _sqrt(cov_a @ cov_b)
    if not np.isfinite(covmean).all():
        offset = eps * np.eye(cov_a.shape[0])
        covmean = _sqrt((cov_a + offset) @ (cov_b + offset))
    covmean = covmean.real
    diff = mu_a - mu_b
    return float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(covmean))


def inception_score(probs: np.ndarray, n_splits: int = 10, seed: int = 0, eps: float = 1e-16) -> tuple[float, float]:
    """Inception score (mean, population std over splits) of class probabilities p(y|x).

    Rows are shuffled with `seed` and cut into `n_splits` equal parts (the remainder is
    dropped); each part scores `exp(mean_x KL(p(y|x) ‖ p̄(y)))`. The score lies in [1, C].
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"inception_score: expected (N, C) probabilities, got shape {p.shape}")
    size = p.shape[0] // n_splits if n_splits > 0 else 0
    if size == 0:
        raise ValueError(f"inception_score: {p.shape[0]} samples cannot fill {n_splits} splits")
    p = p[np.random.default_rng(seed).permutation(p.shape[0])]
    scores = []
    for k in range(n_splits):
        part = p[k * size : (k + 1) * size]
        marginal = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part + eps) - np.log(marginal + eps))).sum(axis=1)
        scores.append(math.exp(float(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))


# --------------------------------------------------------------------------- metric bundles


@dataclass
class GenerativeMetrics:
    """All generative metrics of one evaluated prior; None where not computed."""

    fid: float
    is_mean: float
    is_std: float
    real_fid_floor: float | None = None
    fcn_test_accuracy: float | None = None
    cas_accuracy: float | None = None
    cas_val_acc_ema: float | None = None
    n_generated: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for run files and displays."""
        return asdict(self)


def generative_metrics(
    classifier: FCN,
    x_real_test: np.ndarray,
    x_generated: np.ndarray | torch.Tensor,
    device: torch.device | str,
    x_real_train: np.ndarray | None = None,
    n_splits: int = 10,
) -> dict[str, Any]:
    """FID (generated vs real test) and IS (generated) with the given FCN, plus the real-data FID floor.

    Returns `fid`, `is_mean`, `is_std`, `real_fid_floor` (FID real train vs real test, None when
    `x_real_train` is not given) and `n_generated`: the keys of `GenerativeMetrics`.
    IS uses fewer splits when there are fewer than `n_splits` generated samples.
    """
    feat_test = fcn_features(classifier, x_real_test, device)
    feat_gen = fcn_features(classifier, x_generated, device)
    probs = fcn_probs(classifier, x_generated, device)
    is_mean, is_std = inception_score(probs, n_splits=max(1, min(n_splits, probs.shape[0])))
    floor = None
    if x_real_train is not None:
        floor = frechet_distance(fcn_features(classifier, x_real_train, device), feat_test)
    return {
        "fid": frechet_distance(feat_gen, feat_test),
        "is_mean": is_mean,
        "is_std": is_std,
        "real_fid_floor": floor,
        "n_generated": int(feat_gen.shape[0]),
    }


def cas_counts(y_train: np.ndarray, n_classes: int, minimum_total: int = 1000) -> np.ndarray:
    """Per-class sample counts for CAS: the real train counts, scaled up (rounded) to ≈`minimum_total` if smaller."""
    counts = np.bincount(np.asarray(y_train, dtype=np.int64), minlength=n_classes)[:n_classes]
    total = int(counts.sum())
    if 0 < total < minimum_total:
        counts = np.rint(counts * (minimum_total / total))
    return counts.astype(np.int64)


def cas(
    x_synthetic: np.ndarray,
    y_synthetic: np.ndarray,
    x_real_test: np.ndarray,
    y_real_test: np.ndarray,
    n_classes: int,
    *,
    epochs: int,
    device: torch.device | str,
    seed: int = 0,
    batch_size: int = 256,
    callback: Callback | None = None,
    should_stop: Callable[[], bool] | None = None,
    ema_tolerance: float = EMA_TOLERANCE,
    precision: str = "fp32",
) -> dict[str, Any]:
    """Classification accuracy score: train a fresh FCN on synthetic data, test on real test data.

    Returns `cas_accuracy` (real-test accuracy after the last epoch) and `cas_val_acc_ema`
    (the method's reported EMA of per-validation-batch accuracies over the whole run).
    Both are None when `should_stop()` cancelled training, since a partial run is no CAS.
    `precision` ("fp32", "bf16" or "auto", as for training) is the classifier's autocast: CAS trains
    a new classifier at every evaluation, so mixed precision pays off where the hardware has it.
    """
    model, history = train_fcn(
        x_synthetic,
        y_synthetic,
        n_classes,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        device=device,
        x_val=x_real_test,
        y_val=y_real_test,
        callback=callback,
        should_stop=should_stop,
        ema_tolerance=ema_tolerance,
        autocast_dtype=resolve_precision(precision, _device(device)),
    )
    if history["stopped"]:
        return {"cas_accuracy": None, "cas_val_acc_ema": None}
    return {
        "cas_accuracy": fcn_accuracy(model, x_real_test, y_real_test, device),
        "cas_val_acc_ema": history["val_acc_ema"],
    }


# --------------------------------------------------------------------------- classifier cache


def _cache_key(dataset: Dataset, epochs: int, seed: int) -> dict[str, Any]:
    data_hash = hashlib.sha256()
    data_hash.update(np.ascontiguousarray(dataset.x_train, dtype=np.float32).tobytes())
    data_hash.update(np.ascontiguousarray(dataset.y_train, dtype=np.int64).tobytes())
    key = {
        "format": CACHE_FORMAT,
        "name": dataset.name,
        "length": dataset.length,
        "n_train": dataset.n_train,
        "n_classes": dataset.n_classes,
        "data_sha256": data_hash.hexdigest(),
        "epochs": int(epochs),
        "seed": int(seed),
    }
    if dataset.n_channels > 1:  # univariate keys stay as they were, so their cached classifiers still load
        key["channels"] = dataset.n_channels
    return key


def fcn_cache_path(dataset: Dataset, cache_dir: Path, *, epochs: int, seed: int = 0) -> Path:
    """Where `cached_fcn` keeps the classifier for this dataset, epoch count and seed."""
    key = json.dumps(_cache_key(dataset, epochs, seed), sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset.name) or "dataset"
    return Path(cache_dir) / f"fcn-{safe}-{digest}.pt"


def _load_cached(path: Path, key: dict[str, Any], device: torch.device) -> tuple[FCN, float] | None:
    try:
        blob = torch.load(path, map_location=device, weights_only=True)
        if blob.get("key") != json.dumps(key, sort_keys=True):
            return None
        model = FCN(key["n_classes"], in_channels=key.get("channels", 1)).to(device)
        model.load_state_dict(blob["state_dict"])
        accuracy = float(blob["test_accuracy"])
    except (OSError, RuntimeError, KeyError, AttributeError, TypeError, ValueError, EOFError, pickle.UnpicklingError):
        return None
    model.eval()
    return model, accuracy


def cached_fcn(
    dataset: Dataset,
    cache_dir: Path,
    *,
    epochs: int,
    device: torch.device | str,
    seed: int = 0,
    progress: Callback | None = None,
) -> tuple[FCN, float]:
    """The dataset's evaluation FCN and its real-test accuracy, trained once and then loaded from disk.

    The cache entry is keyed by dataset name, length, train size, class count, a hash of the
    train data, epochs and seed; an unreadable or mismatching entry is retrained. The file is
    written to a temporary name and moved into place, so readers never see a partial file.
    `progress(epoch, metrics)` receives the training callbacks when training happens.
    """
    dev = _device(device)
    key = _cache_key(dataset, epochs, seed)
    path = fcn_cache_path(dataset, cache_dir, epochs=epochs, seed=seed)
    if path.exists():
        loaded = _load_cached(path, key, dev)
        if loaded is not None:
            return loaded
    model, _ = train_fcn(
        dataset.x_train,
        dataset.y_train,
        dataset.n_classes,
        epochs=epochs,
        seed=seed,
        device=dev,
        callback=progress,
    )
    accuracy = fcn_accuracy(model, dataset.x_test, dataset.y_test, dev)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {
        "key": json.dumps(key, sort_keys=True),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "test_accuracy": accuracy,
    }
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(blob, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    model.eval()
    return model, accuracy
