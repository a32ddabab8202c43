"""Token exports and generation files: compact, compressed HDF5 that other tools can read.

Both are plain (non-SWMR) HDF5 files with gzip+shuffle compression, readable by any HDF5 1.8+
reader; their layouts are documented in docs/run-file.md.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

import tsstudio
from tsstudio.config.io import to_dict, validate
from tsstudio.config.schema import PriorConfig, RunConfig
from tsstudio.errors import Cancelled, RunFileError, warn
from tsstudio.eval.unlabelled import GUIDANCE_NOTE
from tsstudio.models.maskgit import MaskGITPrior
from tsstudio.models.runtime import resolve_precision
from tsstudio.models.tokenizer import Tokenizer
from tsstudio.models.tokens import extract_tokens
from tsstudio.store.models_io import dataset_of, load_prior, load_tokenizer
from tsstudio.store.runfile import RunFile, is_out_of_space

EXPORT_VERSION = 1
COMPRESSION = {"compression": "gzip", "compression_opts": 4, "shuffle": True}


def token_dtype(codebook_size: int) -> np.dtype:
    """The smallest unsigned integer type that holds every token id."""
    return np.dtype(np.uint8 if codebook_size <= 256 else np.uint16 if codebook_size <= 65536 else np.uint32)


def _write_atomically(out: Path, write: Any) -> Path:
    """Write `out` through a `.partial` file renamed into place: a failure leaves no partial output."""
    tmp = out.with_name(out.name + ".partial")
    try:
        try:
            f = h5py.File(tmp, "w")
        except OSError as exc:
            reason = exc.strerror or str(exc).split(" (")[0]
            raise RunFileError(f"{out}: cannot write the file ({reason})") from None
        with f:
            write(f)
        os.replace(tmp, out)
    except (OSError, RuntimeError) as exc:
        if isinstance(exc, RunFileError):
            raise
        tmp.unlink(missing_ok=True)  # frees the space, which lets HDF5 finish closing the file
        if is_out_of_space(exc):
            raise RunFileError(f"{out}: no space left on device; nothing was written") from exc
        raise RunFileError(f"{out}: cannot write ({str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r})") from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


def _chunked(f: h5py.Group, name: str, data: np.ndarray) -> None:
    chunks = (min(len(data), 1024), *data.shape[1:]) if len(data) else None
    f.create_dataset(name, data=data, chunks=chunks, **(COMPRESSION if len(data) else {}))


@dataclass
class TokenExport:
    """A token export read back: token grids and labels per split, the codebook and provenance."""

    tokens: dict[str, np.ndarray]  # split → (N, H, W) unsigned ints
    labels: dict[str, np.ndarray]  # split → (N,) int64
    codebook: np.ndarray  # (K, D) float32
    config: dict[str, Any]
    attrs: dict[str, Any] = field(default_factory=dict)


def export_tokens(
    run_path: Path,
    out: Path,
    split: str = "all",
    data_dir: str | None = None,
    weights: str = "latest",
    progress: Callable[[str, int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    batch_size: int = 512,
) -> Path:
    """Write the token grids of a tokenizer run's dataset (train, test or both) to `out`.

    `progress(split, done, total)` hears about every batch of series; when `should_stop()` turns
    true the export raises `Cancelled` at the next batch and no file is left at `out`.
    """
    if split not in ("all", "train", "test"):
        raise RunFileError(f"--split {split!r}: expected all, train or test")
    splits = ("train", "test") if split == "all" else (split,)
    with RunFile.open(run_path) as run:
        tokenizer, step = load_tokenizer(run, weights)
        dataset = dataset_of(run, data_dir)
        created = run.created
    device = torch.device("cpu")
    grid = tokenizer.grid
    dtype = token_dtype(tokenizer.quantizer.codebook_size)
    data = {"train": (dataset.x_train, dataset.y_train), "test": (dataset.x_test, dataset.y_test)}

    def write(f: h5py.File) -> None:
        f.attrs.update({
            "schema_version": EXPORT_VERSION,
            "kind": "export",
            "tsstudio_version": tsstudio.__version__,
            "dataset": dataset.name,
            "tokenizer_run": os.fspath(Path(run_path).resolve()),
            "tokenizer_created": created,
            "tokenizer_step": step,
            "weights": weights,
            "token_grid": (grid.height, grid.width),
            "codebook_size": tokenizer.quantizer.codebook_size,
            "config": json.dumps(to_dict(tokenizer.config)),
            "class_labels": json.dumps([str(c) for c in dataset.class_labels]),
            "token_order": "row-major over (frequency, time)",
            "n_channels": dataset.n_channels,
            "data_mean": np.asarray(dataset.channel_mean, dtype=np.float64),
            "data_std": np.asarray(dataset.channel_std, dtype=np.float64),
        })
        f.create_dataset("codebook", data=tokenizer.quantizer.codebook.cpu().numpy().astype(np.float32))
        total, done = sum(len(data[name][0]) for name in splits), 0
        for name in splits:
            x, y = data[name]
            parts = []
            for start in range(0, len(x), batch_size):
                if should_stop is not None and should_stop():
                    raise Cancelled(f"export of {Path(out).name} cancelled; no file written")
                if progress is not None:
                    progress(name, done, total)
                part = extract_tokens(tokenizer, x[start:start + batch_size], device, batch_size)
                parts.append(part.view(-1, grid.height, grid.width).numpy().astype(dtype))
                done += len(part)
            tokens = np.concatenate(parts) if parts else np.zeros((0, grid.height, grid.width), dtype)
            group = f.create_group(name)
            _chunked(group, "tokens", tokens)
            _chunked(group, "labels", y.astype(np.int64))
        if progress is not None:
            progress("done", total, total)

    return _write_atomically(Path(out), write)


def read_token_export(path: Path) -> TokenExport:
    """Load a token export written by `export_tokens`."""
    try:
        f = h5py.File(path, "r")
    except (OSError, FileNotFoundError) as exc:
        raise RunFileError(f"{path}: cannot open token export ({exc})") from None
    with f:
        if f.attrs.get("kind") != "export":
            raise RunFileError(f"{path}: not a tsstudio token export")
        splits = [name for name in ("train", "test") if name in f]
        return TokenExport(
            tokens={s: f[s]["tokens"][()] for s in splits},
            labels={s: f[s]["labels"][()] for s in splits},
            codebook=f["codebook"][()],
            config=json.loads(f.attrs["config"]),
            attrs={k: v for k, v in f.attrs.items() if k != "config"},
        )


@dataclass
class Generations:
    """Series sampled from a prior, with their token grids, classes and settings."""

    series: np.ndarray  # (N, L) float32 ((N, C, L) with C > 1 channels), in the dataset's scaled units
    tokens: np.ndarray  # (N, H, W)
    classes: np.ndarray  # (N,) int64; -1 for unconditional
    settings: dict[str, Any]
    step_tokens: np.ndarray | None = None  # (T, N, H, W) int; -1 where still masked
    step_series: np.ndarray | None = None  # (T, N, L) (or (T, N, C, L)) the decoded current guess after each step
    step_guesses: np.ndarray | None = None  # (T, N, H, W) the full sampled grid at each step (not saved)


@dataclass
class LoadedPrior:
    """A prior run's prior and tokenizer rebuilt once, ready for repeated sampling (the app keeps one)."""

    prior: MaskGITPrior
    tokenizer: Tokenizer
    config: RunConfig
    step: int
    n_classes: int
    path: Path
    weights: str


def load_sampler(run_path: Path, weights: str = "latest") -> LoadedPrior:
    """Rebuild a prior run's prior (cast for inference) and tokenizer from the run file alone."""
    with RunFile.open(run_path) as run:
        prior, tokenizer, config, step = load_prior(run, weights)
        n_classes = int(run.attrs["n_classes"])
    prior.for_inference(resolve_precision(config.trainer.precision, torch.device("cpu")))
    return LoadedPrior(prior, tokenizer, config, step, n_classes, Path(run_path), weights)


def _sampling_settings(config: RunConfig, **chosen: float | None) -> PriorConfig:
    """The run's prior settings with the chosen ones (those not None) in their place, validated like the
    configuration, so a value the prior cannot use (0 steps, a temperature of 0) is refused, never replaced."""
    sampling = copy.deepcopy(config)
    for name, value in chosen.items():
        if value is not None:
            setattr(sampling.prior, name, value)
    validate(sampling)
    return sampling.prior


def sample_prior(
    run_path: Path,
    n: int,
    class_id: int | None = None,
    guidance: float | None = None,
    steps: int | None = None,
    seed: int = 0,
    record_steps: bool = False,
    choice_temperature: float | None = None,
    sampling_temperature: float | None = None,
    weights: str = "latest",
    batch_size: int = 256,
) -> Generations:
    """Sample n series from a prior run by iterative decoding, optionally keeping every step."""
    return sample_loaded(
        load_sampler(run_path, weights), n, class_id, guidance=guidance, steps=steps, seed=seed,
        record_steps=record_steps, choice_temperature=choice_temperature,
        sampling_temperature=sampling_temperature, batch_size=batch_size,
    )


def sample_loaded(
    loaded: LoadedPrior,
    n: int,
    class_id: int | None = None,
    guidance: float | None = None,
    steps: int | None = None,
    seed: int = 0,
    record_steps: bool = False,
    choice_temperature: float | None = None,
    sampling_temperature: float | None = None,
    batch_size: int = 256,
    decode_steps: bool = True,
) -> Generations:
    """`sample_prior` on an already loaded prior; with `decode_steps` False the recorded steps keep
    their token guesses (`step_guesses`) undecoded, so a caller can decode only the ones it shows."""
    prior, tokenizer, n_classes = loaded.prior, loaded.tokenizer, loaded.n_classes
    if n_classes == 0 and class_id is not None:
        raise RunFileError(f"--class {class_id}: the prior was trained on a dataset without class labels; "
                           "it samples unconditionally only (leave out --class)")
    if n_classes == 0 and guidance is not None and guidance != 1.0:
        warn(f"--guidance {guidance:g}: {GUIDANCE_NOTE}")
    if class_id is not None and not 0 <= class_id < n_classes:
        raise RunFileError(f"--class {class_id}: the prior's dataset has classes 0..{n_classes - 1}")
    cfg = _sampling_settings(loaded.config, guidance_scale=guidance, decoding_steps=steps,
                             choice_temperature=choice_temperature, sampling_temperature=sampling_temperature)
    settings = {
        "n": n,
        "class": -1 if class_id is None else class_id,
        "guidance_scale": cfg.guidance_scale,
        "decoding_steps": cfg.decoding_steps,
        "choice_temperature": cfg.choice_temperature,
        "sampling_temperature": cfg.sampling_temperature,
        "seed": seed,
        "prior_run": os.fspath(loaded.path.resolve()),
        "prior_step": loaded.step,
        "weights": loaded.weights,
    }
    generator = torch.Generator().manual_seed(seed)
    grid = tokenizer.grid
    outs: dict[str, list] = {"tokens": [], "series": [], "step_tokens": [], "step_series": [], "step_guesses": []}
    for start in range(0, n, batch_size):
        b = min(batch_size, n - start)
        labels = None if class_id is None else torch.full((b,), class_id, dtype=torch.long)
        dec = prior.iterative_decoding(
            b, labels, generator, steps=settings["decoding_steps"], choice_temperature=settings["choice_temperature"],
            sampling_temperature=settings["sampling_temperature"], guidance=settings["guidance_scale"], record=record_steps,
        )
        outs["tokens"].append(dec.tokens.view(b, grid.height, grid.width))
        outs["series"].append(tokenizer.decode_tokens(dec.tokens.view(b, grid.height, grid.width)))
        if record_steps:
            t = dec.step_tokens.shape[0]
            outs["step_tokens"].append(dec.step_tokens.view(t, b, grid.height, grid.width))
            guesses = dec.step_guesses.reshape(t, b, grid.height, grid.width)
            outs["step_guesses"].append(guesses)
            if decode_steps:
                decoded = tokenizer.decode_tokens(guesses.reshape(t * b, grid.height, grid.width))
                outs["step_series"].append(decoded.view(t, b, *decoded.shape[1:]))
    classes = np.full(n, settings["class"], dtype=np.int64)
    return Generations(
        series=torch.cat(outs["series"]).float().numpy(),
        tokens=torch.cat(outs["tokens"]).numpy(),
        classes=classes,
        settings=settings,
        step_tokens=torch.cat(outs["step_tokens"], dim=1).numpy() if record_steps else None,
        step_series=torch.cat(outs["step_series"], dim=1).float().numpy() if record_steps and decode_steps else None,
        step_guesses=torch.cat(outs["step_guesses"], dim=1).numpy() if record_steps else None,
    )


def decode_series(tokenizer: Tokenizer, tokens: np.ndarray) -> np.ndarray:
    """Series (N, L) (or (N, C, L)) of token grids (N, H, W) through a tokenizer's codebook and decoder."""
    return tokenizer.decode_tokens(torch.as_tensor(tokens, dtype=torch.long)).float().numpy()


def write_generations(out: Path, gen: Generations, codebook_size: int) -> Path:
    """Write generations (series, tokens, classes, settings, optional decoding steps) to `out`."""
    dtype = token_dtype(codebook_size)

    def write(f: h5py.File) -> None:
        f.attrs.update({"schema_version": EXPORT_VERSION, "kind": "generation", "tsstudio_version": tsstudio.__version__,
                        "settings": json.dumps(gen.settings), "codebook_size": codebook_size})
        _chunked(f, "series", gen.series.astype(np.float32))
        _chunked(f, "tokens", gen.tokens.astype(dtype))
        _chunked(f, "classes", gen.classes)
        if gen.step_tokens is not None:
            steps = f.create_group("steps")
            steps.create_dataset("tokens", data=gen.step_tokens.astype(np.int32), **COMPRESSION)
            steps.create_dataset("series", data=gen.step_series.astype(np.float32), **COMPRESSION)

    return _write_atomically(Path(out), write)


def read_generations(path: Path) -> Generations:
    """Load a generation file written by `write_generations`."""
    try:
        f = h5py.File(path, "r")
    except (OSError, FileNotFoundError) as exc:
        raise RunFileError(f"{path}: cannot open generation file ({exc})") from None
    with f:
        if f.attrs.get("kind") != "generation":
            raise RunFileError(f"{path}: not a tsstudio generation file")
        has_steps = "steps" in f
        return Generations(
            series=f["series"][()],
            tokens=f["tokens"][()],
            classes=f["classes"][()],
            settings=json.loads(f.attrs["settings"]),
            step_tokens=f["steps/tokens"][()] if has_steps else None,
            step_series=f["steps/series"][()] if has_steps else None,
        )
