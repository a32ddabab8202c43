"""The sampler's worker: loads a prior run once, then samples, decodes replay steps and saves files.

Everything that touches torch or a file runs on one dedicated QThread (started on first use), so the
model stays loaded between requests and the UI thread only draws. Requests go in through queued
signals; results come back as fresh numpy copies in frozen dataclasses, and errors as one line.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from tsstudio.errors import TsstudioError
from tsstudio.gui.workers import readable_error


def sampling_threads() -> int:
    """Torch threads for sampling: every core (a request lasts well under a second)."""
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class SamplingRequest:
    """What to sample: a class id (-1 = unconditional) and the decoding settings."""

    class_id: int
    n: int
    guidance: float
    steps: int
    choice_temperature: float
    sampling_temperature: float
    seed: int


@dataclass(frozen=True)
class PriorInfo:
    """What the view needs to know about a loaded prior run and its dataset (copies)."""

    path: str
    dataset: str
    class_labels: tuple[str, ...]
    grid: tuple[int, int]
    codebook_size: int
    length: int
    n_fft: int
    hop_length: int
    defaults: dict[str, float]  # guidance, steps, choice_temperature, sampling_temperature
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_plane: np.ndarray  # (N_test, 2) real test series in the PCA plane


@dataclass(frozen=True)
class SamplingResult:
    """Generations plus what the view shows beside them, computed on the worker."""

    generations: Any  # tsstudio.store.exports.Generations, arrays owned by this result
    nearest: tuple[Any, ...]  # one sampling_explore.Nearest per generation (empty without a dataset)
    plane: np.ndarray | None  # (N, 2) generations in the real test series' PCA plane
    elapsed_s: float
    source: str  # "sampled" or the generation file it was read from
    prior: str | None  # the prior run loaded on the worker for these generations, None when unavailable


def _copy_generations(gen: Any) -> Any:
    def c(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.array(a, copy=True)

    return replace(gen, series=c(gen.series), tokens=c(gen.tokens), classes=c(gen.classes), settings=dict(gen.settings),
                   step_tokens=c(gen.step_tokens), step_series=c(gen.step_series), step_guesses=c(gen.step_guesses))


def _then_done(method: Any) -> Any:
    """Make a worker slot emit `done` when it returns, whatever happened."""

    def wrapper(self: _Worker, *args: object) -> None:
        try:
            method(self, *args)
        finally:
            self.done.emit()

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


class _Worker(QObject):
    """Lives on the sampling thread; holds the loaded prior and dataset between requests."""

    loaded = Signal(object)  # PriorInfo
    generated = Signal(object)  # SamplingResult
    stepsDecoded = Signal(int, object)  # generation index, (T, L) float32
    saved = Signal(str)
    failed = Signal(str, str)  # what was being done, one readable line
    done = Signal()  # after every request, whatever its outcome

    def __init__(self, threads: int) -> None:
        super().__init__()
        self.threads = threads
        self._loaded: Any = None  # LoadedPrior
        self._dataset: Any = None
        self._plane: Any = None  # PcaPlane of the real test series

    def _torch_threads(self) -> None:
        import torch

        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)

    def _fail(self, what: str, exc: BaseException) -> None:
        if not isinstance(exc, (TsstudioError, OSError)):
            traceback.print_exc()
        self.failed.emit(what, readable_error(exc))

    def _load_prior(self, path: str, data_dir: str | None) -> PriorInfo:
        from tsstudio.eval.sampling_explore import PcaPlane
        from tsstudio.store import RunFile
        from tsstudio.store.exports import load_sampler
        from tsstudio.store.models_io import dataset_of

        self._torch_threads()
        loaded = load_sampler(Path(path))
        with RunFile.open(path) as run:
            dataset = dataset_of(run, data_dir)
            codebook_size = int(run.attrs["codebook_size"])
        plane = PcaPlane.fit(dataset.x_test)
        self._loaded, self._dataset, self._plane = loaded, dataset, plane
        cfg = loaded.config
        return PriorInfo(
            path=os.fspath(Path(path).resolve()),
            dataset=dataset.name,
            class_labels=tuple(str(c) for c in dataset.class_labels),
            grid=(loaded.tokenizer.grid.height, loaded.tokenizer.grid.width),
            codebook_size=codebook_size,
            length=dataset.length,
            n_fft=int(cfg.stft.n_fft),
            hop_length=int(cfg.stft.hop_length),
            defaults={"guidance": float(cfg.prior.guidance_scale), "steps": int(cfg.prior.decoding_steps),
                      "choice_temperature": float(cfg.prior.choice_temperature),
                      "sampling_temperature": float(cfg.prior.sampling_temperature)},
            x_train=dataset.x_train.copy(), y_train=dataset.y_train.copy(),
            x_test=dataset.x_test.copy(), y_test=dataset.y_test.copy(),
            test_plane=plane.project(dataset.x_test),
        )

    def _explain(self, gen: Any, t0: float, source: str) -> SamplingResult:
        from tsstudio.eval.sampling_explore import nearest_real_many

        nearest: tuple[Any, ...] = ()
        plane = None
        ds = self._dataset
        if ds is not None and gen.series.shape[1:] == ds.x_train.shape[1:]:
            nearest = tuple(nearest_real_many(gen.series, ds.x_train, ds.y_train, gen.classes))
            plane = self._plane.project(gen.series)
        prior = None if self._loaded is None else os.fspath(self._loaded.path.resolve())
        return SamplingResult(_copy_generations(gen), nearest, plane, time.perf_counter() - t0, source, prior)

    @Slot(str, object)
    @_then_done
    def load(self, path: str, data_dir: object) -> None:
        try:
            self.loaded.emit(self._load_prior(path, data_dir if isinstance(data_dir, str) else None))
        except BaseException as exc:  # one line to the user; the app stays up
            self._loaded = self._dataset = self._plane = None
            self._fail("load", exc)

    @Slot(object)
    @_then_done
    def generate(self, request: SamplingRequest) -> None:
        from tsstudio.store.exports import sample_loaded

        t0 = time.perf_counter()
        try:
            if self._loaded is None:
                raise TsstudioError("no prior run is loaded: open a prior run first")
            self._torch_threads()
            gen = sample_loaded(
                self._loaded, request.n, None if request.class_id < 0 else request.class_id,
                guidance=request.guidance, steps=request.steps, seed=request.seed, record_steps=True,
                choice_temperature=request.choice_temperature, sampling_temperature=request.sampling_temperature,
                decode_steps=False,
            )
            self.generated.emit(self._explain(gen, t0, "sampled"))
        except BaseException as exc:
            self._fail("generate", exc)

    @Slot(str, object)
    @_then_done
    def open_generations(self, path: str, data_dir: object) -> None:
        from tsstudio.store.exports import read_generations

        t0 = time.perf_counter()
        try:
            gen = read_generations(Path(path))
            prior = str(gen.settings.get("prior_run", ""))
            info = None
            if prior and Path(prior).is_file():
                try:
                    info = self._load_prior(prior, data_dir if isinstance(data_dir, str) else None)
                except (TsstudioError, OSError) as exc:
                    self.failed.emit("load", f"{readable_error(exc)} (showing the generations without it)")
            else:
                self._loaded = self._dataset = self._plane = None
            if info is not None:
                self.loaded.emit(info)
            self.generated.emit(self._explain(gen, t0, os.fspath(Path(path).resolve())))
        except BaseException as exc:
            self._fail("open", exc)

    @Slot(int, object)
    @_then_done
    def decode_steps(self, index: int, guesses: np.ndarray) -> None:
        from tsstudio.store.exports import decode_series

        try:
            if self._loaded is None:
                raise TsstudioError("the prior run of these generations is not loaded: its steps cannot be decoded")
            self._torch_threads()
            self.stepsDecoded.emit(index, decode_series(self._loaded.tokenizer, guesses).copy())
        except BaseException as exc:
            self._fail("replay", exc)

    @Slot(str, object)
    @_then_done
    def save(self, path: str, gen: Any) -> None:
        from tsstudio.store.exports import decode_series, write_generations

        try:
            if gen.step_tokens is not None and gen.step_series is None:
                if self._loaded is None:
                    raise TsstudioError("the prior run is not loaded: the decoding steps cannot be decoded to save them")
                self._torch_threads()
                t, n = gen.step_guesses.shape[:2]
                flat = gen.step_guesses.reshape(t * n, *gen.step_guesses.shape[2:])
                decoded = decode_series(self._loaded.tokenizer, flat)
                gen = replace(gen, step_series=decoded.reshape(t, n, *decoded.shape[1:]))
            if self._loaded is None:
                raise TsstudioError("the prior run of these generations is not loaded: open it to save them")
            write_generations(Path(path), gen, self._loaded.tokenizer.quantizer.codebook_size)
            self.saved.emit(os.fspath(Path(path).resolve()))
        except BaseException as exc:
            self._fail("save", exc)


class SamplerService(QObject):
    """UI-thread handle on the sampling worker: requests are queued in order, `busy` while any runs."""

    loaded = Signal(object)
    generated = Signal(object)
    stepsDecoded = Signal(int, object)
    saved = Signal(str)
    failed = Signal(str, str)
    busyChanged = Signal(bool)

    _load = Signal(str, object)
    _generate = Signal(object)
    _open = Signal(str, object)
    _decode = Signal(int, object)
    _save = Signal(str, object)

    def __init__(self, threads: int | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.threads = threads or sampling_threads()
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._pending = 0

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        self._thread = QThread()
        self._thread.setObjectName("tsstudio-sampler")
        self._worker = w = _Worker(self.threads)
        w.moveToThread(self._thread)
        for request, slot in ((self._load, w.load), (self._generate, w.generate), (self._open, w.open_generations),
                              (self._decode, w.decode_steps), (self._save, w.save)):
            request.connect(slot)
        w.loaded.connect(self.loaded)
        w.generated.connect(self.generated)
        w.stepsDecoded.connect(self.stepsDecoded)
        w.saved.connect(self.saved)
        w.failed.connect(self.failed)
        w.done.connect(self._on_done)
        self._thread.finished.connect(w.deleteLater)
        self._thread.start()

    def _on_done(self) -> None:
        self._pending = max(0, self._pending - 1)
        if not self._pending:
            self.busyChanged.emit(False)

    def _submit(self, signal: Any, *args: object) -> None:
        self._ensure_thread()
        self._pending += 1
        if self._pending == 1:
            self.busyChanged.emit(True)
        signal.emit(*args)

    @property
    def busy(self) -> bool:
        """True while a request is queued or running."""
        return self._pending > 0

    def load(self, path: str, data_dir: str | None = None) -> None:
        """Load a prior run (its prior, tokenizer and dataset) on the worker; `loaded` or `failed`."""
        self._submit(self._load, path, data_dir)

    def generate(self, request: SamplingRequest) -> None:
        """Sample on the worker; `generated` (a SamplingResult) or `failed`."""
        self._submit(self._generate, request)

    def open_generations(self, path: str, data_dir: str | None = None) -> None:
        """Read a generation file (and load its prior run when it is there); `generated` or `failed`."""
        self._submit(self._open, path, data_dir)

    def decode_steps(self, index: int, guesses: np.ndarray) -> None:
        """Decode the (T, H, W) step guesses of generation `index`; `stepsDecoded` or `failed`."""
        self._submit(self._decode, index, np.array(guesses, copy=True))

    def save(self, path: str, generations: Any) -> None:
        """Write generations to an HDF5 generation file on the worker; `saved` or `failed`."""
        self._submit(self._save, path, generations)

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Let the queued requests finish, stop the thread; True if it ended in time."""
        if self._thread is None:
            return True
        self._thread.quit()
        ok = bool(self._thread.wait(timeout_ms))
        self._thread = None
        self._worker = None
        self._pending = 0
        return ok
