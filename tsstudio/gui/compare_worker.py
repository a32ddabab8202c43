"""The compare and codebook views' worker: runs tokenizer runs on their data once, then serves copies.

Everything that touches torch or a run file runs on one dedicated QThread (started on first use).
Results are cached on the worker by the identity of the run files (path, size, modification
time), so asking again for the same comparison, codebook or projection costs a copy, not a model
pass; a run file that changed is computed afresh. The main window gives the Compare and Codebook
views one service, so a run's probe features (pooled latents, SVM and KNN fits) are computed once
for both: Compare's probe accuracies and the Codebook's projection share them. Results reach the UI thread as frozen
dataclasses holding fresh numpy copies, and errors as one readable line.
"""

from __future__ import annotations

import copy
import os
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from tsstudio.errors import TsstudioError
from tsstudio.gui.workers import readable_error

PROJECTIONS = ("pca", "tsne")
CACHE_ENTRIES = 12  # comparisons, codebook reports, features and projections kept, least recently used dropped


def file_identity(path: str | os.PathLike[str]) -> tuple[str, int, int]:
    """(resolved path, size, mtime_ns) of a file: the cache key of what was computed from it."""
    p = Path(path).resolve()
    st = p.stat()
    return str(p), st.st_size, st.st_mtime_ns


@dataclass(frozen=True)
class CompareResult:
    """Run A and run B on their test split (`tsstudio.eval.compare.Comparison`, arrays owned here)."""

    comparison: Any  # Comparison
    codebook_sizes: tuple[int, int]
    class_labels: tuple[str, ...]
    cached: bool = False


@dataclass(frozen=True)
class CodebookResult:
    """The codebook report of one run, with the test series it was computed on."""

    path: str
    dataset: str
    report: Any  # CodebookReport
    y_train: np.ndarray
    y_test: np.ndarray
    x_test: np.ndarray  # (N, L) as the tokenizer saw them
    n_fft: int
    hop_length: int
    class_labels: tuple[str, ...]
    cached: bool = False


@dataclass(frozen=True)
class ProjectionResult:
    """The test set's pooled representations of one run in 2-D, coloured by `labels`, and its probes."""

    side: str  # "a" or "b": which panel asked
    path: str
    method: str  # "pca" or "tsne"
    points: np.ndarray  # (N, 2)
    labels: np.ndarray  # (N,)
    probes: dict[str, float] = field(default_factory=dict)
    cached: bool = False


def _copied(value: Any) -> Any:
    """A deep copy: numpy arrays inside dataclasses, dicts and tuples are copied too."""
    return copy.deepcopy(value)


class _Worker(QObject):
    """Lives on the exploration thread; holds the cache between requests."""

    finished = Signal(str, object)  # kind, result
    failed = Signal(str, str)  # kind, one readable line
    done = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self.feature_computations = 0  # probe features computed (pooled latents of both splits and the probe fits)

    def _cached(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> tuple[Any, bool]:
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key], True
        value = compute()
        self._cache[key] = value
        while len(self._cache) > CACHE_ENTRIES:  # whole test splits of several runs: bound the memory
            self._cache.popitem(last=False)
        return value, False

    @Slot(str, object)
    def run(self, kind: str, args: dict[str, Any]) -> None:
        try:
            handler = {"compare": self._compare, "codebook": self._codebook, "projection": self._projection}[kind]
            self.finished.emit(kind, handler(**args))
        except BaseException as exc:  # one line to the user; the app stays up
            if not isinstance(exc, (TsstudioError, OSError, ValueError)):
                traceback.print_exc()
            self.failed.emit(kind, readable_error(exc))
        finally:
            self.done.emit()

    # ------------------------------------------------------------------ requests
    def _compare(self, path_a: str, path_b: str, data_dir: str | None) -> CompareResult:
        from tsstudio.store.run_compare import compare_runs

        def compute() -> CompareResult:
            # The probes come from the features cache the Codebook's projections use too: one fit per run file.
            comparison = compare_runs(path_a, path_b, data_dir=data_dir, device="auto", with_probes=False)
            for side, path in ((comparison.a, path_a), (comparison.b, path_b)):
                side.probes = dict(self._features(path, data_dir).probes)
            sizes = tuple(int(side.config.get("quantizer", {}).get("codebook_size", 0) or 0)
                          for side in (comparison.a, comparison.b))
            labels = self._class_labels(path_a, data_dir)
            return CompareResult(comparison, (sizes[0], sizes[1]), labels)

        result, cached = self._cached(("compare", file_identity(path_a), file_identity(path_b), data_dir), compute)
        return CompareResult(_copied(result.comparison), result.codebook_sizes, result.class_labels, cached)

    def _codebook(self, path: str, data_dir: str | None) -> CodebookResult:
        from tsstudio.config.io import from_dict
        from tsstudio.eval.codebook_usage import codebook_report
        from tsstudio.models.runtime import resolve_device
        from tsstudio.store.models_io import dataset_of
        from tsstudio.store.run_compare import best_or_latest
        from tsstudio.store.runfile import RunFile

        def compute() -> CodebookResult:
            with RunFile.open(Path(path)) as run:
                if run.kind != "tokenizer":
                    raise TsstudioError(f"{path}: a {run.kind or 'unknown'} run, not a tokenizer run")
                model, _, _ = best_or_latest(run)
                dataset = dataset_of(run, data_dir)
                cfg = from_dict(run.config)
            report = codebook_report(model, dataset.x_train, dataset.x_test, resolve_device("auto"))
            return CodebookResult(
                path=str(Path(path).resolve()), dataset=dataset.name, report=report,
                y_train=np.asarray(dataset.y_train), y_test=np.asarray(dataset.y_test),
                x_test=np.asarray(dataset.x_test, dtype=np.float32), n_fft=int(cfg.stft.n_fft),
                hop_length=int(cfg.stft.hop_length), class_labels=tuple(str(c) for c in dataset.class_labels),
            )

        result, cached = self._cached(("codebook", file_identity(path), data_dir), compute)
        return replace(_copied(result), cached=cached)

    def _features(self, path: str, data_dir: str | None) -> Any:
        """What the probes see of a run (`ProbeFeatures`), computed once per run file for Compare and Codebook."""
        from tsstudio.store.run_codebook import run_probe_features

        def compute() -> Any:
            self.feature_computations += 1
            return run_probe_features(path, data_dir, "auto")

        features, _ = self._cached(("features", file_identity(path), data_dir), compute)
        return features

    def _projection(self, path: str, method: str, side: str, data_dir: str | None) -> ProjectionResult:
        from tsstudio.eval.codebook_usage import pca_2d, tsne_2d

        if method not in PROJECTIONS:
            raise ValueError(f"unknown projection {method!r}; expected pca or tsne")
        ident = file_identity(path)
        features = self._features(path, data_dir)

        def project() -> np.ndarray:
            return pca_2d(features.test) if method == "pca" else tsne_2d(features.test, seed=0)

        points, cached = self._cached(("projection", ident, data_dir, method), project)
        return ProjectionResult(side, str(Path(path).resolve()), method, np.array(points, copy=True),
                                np.array(features.y_test, copy=True), dict(features.probes), cached)

    @staticmethod
    def _class_labels(path: str, data_dir: str | None) -> tuple[str, ...]:
        from tsstudio.store.models_io import dataset_of
        from tsstudio.store.runfile import RunFile

        with RunFile.open(Path(path)) as run:
            return tuple(str(c) for c in dataset_of(run, data_dir).class_labels)


class ExplorationService(QObject):
    """UI-thread handle on the exploration worker: requests queue in order; `busy` while any runs."""

    compared = Signal(object)  # CompareResult
    codebookReady = Signal(object)  # CodebookResult
    projected = Signal(object)  # ProjectionResult
    failed = Signal(str, str)  # "compare" / "codebook" / "projection", one line
    busyChanged = Signal(bool)

    _request = Signal(str, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._pending = 0
        self.requests = 0  # requests submitted (each view action that needs the worker counts one)
        self.computations = 0  # requests the worker had to compute (the rest came from its cache)

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        self._thread = QThread()
        self._thread.setObjectName("tsstudio-exploration")
        self._worker = w = _Worker()
        w.moveToThread(self._thread)
        self._request.connect(w.run)
        w.finished.connect(self._on_finished)
        w.failed.connect(self.failed)
        w.done.connect(self._on_done)
        self._thread.finished.connect(w.deleteLater)
        self._thread.start()

    def _on_finished(self, kind: str, result: Any) -> None:
        if not result.cached:
            self.computations += 1
        {"compare": self.compared, "codebook": self.codebookReady, "projection": self.projected}[kind].emit(result)

    def _on_done(self) -> None:
        self._pending = max(0, self._pending - 1)
        if not self._pending:
            self.busyChanged.emit(False)

    def _submit(self, kind: str, **args: Any) -> None:
        self._ensure_thread()
        self._pending += 1
        self.requests += 1
        if self._pending == 1:
            self.busyChanged.emit(True)
        self._request.emit(kind, args)

    @property
    def probe_computations(self) -> int:
        """How many times the worker computed a run's probe features (the rest were shared from its cache)."""
        return 0 if self._worker is None else self._worker.feature_computations

    @property
    def busy(self) -> bool:
        """True while a request is queued or running."""
        return self._pending > 0

    def compare(self, path_a: str, path_b: str, data_dir: str | None = None) -> None:
        """Compare two tokenizer runs on their test split; `compared` or `failed` (e.g. another dataset)."""
        self._submit("compare", path_a=os.fspath(path_a), path_b=os.fspath(path_b), data_dir=data_dir)

    def codebook(self, path: str, data_dir: str | None = None) -> None:
        """Usage, similarity and token grids of a tokenizer run; `codebookReady` or `failed`."""
        self._submit("codebook", path=os.fspath(path), data_dir=data_dir)

    def projection(self, path: str, method: str = "pca", side: str = "a", data_dir: str | None = None) -> None:
        """The test set's pooled representations in 2-D (PCA or t-SNE) and the probes; `projected` or `failed`."""
        self._submit("projection", path=os.fspath(path), method=method, side=side, data_dir=data_dir)

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Let the queued requests finish, stop the thread; True if it ended in time."""
        if self._thread is None:
            return True
        self._thread.quit()
        ok = bool(self._thread.wait(timeout_ms))
        self._thread = None
        self._worker = None
        self._pending = 0
        return ok
