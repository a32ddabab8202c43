"""tsstudio as a library: load data, train, open a run, tokenize, decode and sample (no Qt needed).

    import tsstudio
    ds = tsstudio.load_dataset("GunPoint")                 # a name in the data folders, or a path
    run = tsstudio.train("regular", ds, out="gp.h5", max_steps=200)
    tokens = run.tokenizer.encode(ds.x_test)               # (N, H, W) token grids
    x_hat = run.tokenizer.decode(tokens)                   # (N, L); (N, C, L) for C-channel data
    prior = tsstudio.train("maskgit", run, out="gp-prior.h5", max_steps=200)
    samples = prior.prior.sample(8, cls=0)                 # .series (8, L), .tokens (8, H, W)

Everything goes through the same code as the command line: `train` runs `sweep.runner.train_run` /
`train_prior_run`, a run's models are rebuilt by `store.models_io`, sampling is `store.exports`.
A run object reads its file when asked and holds no file open; weights are decoded by the same
safe reader as the CLI (nothing in a run file is ever unpickled).
Series are in the units the models were trained in: the dataset after scaling (`Dataset.x_train`,
`x_test`); `Dataset.mean` and `Dataset.std` undo it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tsstudio.config import from_dict, load_yaml
from tsstudio.config.io import set_value, to_dict, validate
from tsstudio.config.presets import list_presets, load_preset
from tsstudio.config.schema import RunConfig, sections
from tsstudio.data.dataset import Dataset
from tsstudio.data.formats import at_path
from tsstudio.data.registry import BUILTIN_SOURCE, load_dataset_at
from tsstudio.data.registry import load_dataset as _load_named
from tsstudio.errors import ConfigError, DataError, RunFileError, TsstudioError
from tsstudio.models.batching import eval_mode
from tsstudio.models.tokenizer import Tokenizer

__all__ = ["PriorSampler", "Run", "TokenizerModel", "load_dataset", "open_run", "train"]


# ------------------------------------------------------------------------------------------ data


def _is_path(value: str | Path) -> bool:
    text = str(value)
    return isinstance(value, Path) or "/" in text or text.endswith((".npz", ".npy")) or Path(text).exists()


def load_dataset(name_or_path: str | Path, data_dir: str | Path | None = None, *, scaling: bool = True,
                 label_column: str = "") -> Dataset:
    """A dataset by name (built-in CBF, or searched in the data folders) or by path (a dataset folder or `.npz`).

    `label_column` picks a CSV dataset's label column ("" automatic, "none", a header name or number).
    """
    if _is_path(name_or_path):
        return load_dataset_at(Path(name_or_path), scaling=scaling, label_column=label_column)
    return _load_named(str(name_or_path), data_dir, scaling=scaling, label_column=label_column)


# ------------------------------------------------------------------------------------------ models


def _series_tensor(x: Any, length: int, channels: int = 1) -> torch.Tensor:
    """Series as the float32 tensor a tokenizer of `channels` channels takes: (N, L) for one channel
    (given as (N, L), (N, 1, L) or one series (L,)), (N, C, L) for C > 1 (one series (C, L) is N = 1);
    any other shape is refused in one line."""
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).float()
    if channels == 1:
        if t.dim() == 3 and t.shape[1] == 1:
            t = t[:, 0, :]
        if t.dim() == 1:
            t = t[None]
        if t.dim() != 2 or t.shape[1] != length:
            raise DataError(f"input of shape {tuple(t.shape)}: expected (N, {length}) or (N, 1, {length}) series")
        return t
    if t.dim() == 2:
        t = t[None]
    if t.dim() != 3 or tuple(t.shape[1:]) != (channels, length):
        raise DataError(f"input of shape {tuple(t.shape)}: expected (N, {channels}, {length}) series "
                        f"({channels} channels of length {length})")
    return t


def _like(result: torch.Tensor, given: Any) -> Any:
    """A result in the caller's kind: a tensor for tensor input, else a NumPy array."""
    result = result.detach().cpu()
    return result if isinstance(given, torch.Tensor) else result.numpy()


class TokenizerModel(nn.Module):
    """A trained tokenizer as a torch module: `encode` series to token grids, `decode` them back.

    Inputs are NumPy arrays or tensors of shape (N, L) or (N, 1, L) (univariate), or (N, C, L) for a
    tokenizer trained on C channels, in the dataset's scaled units;
    results come back as the input kind (tensor in, tensor out; otherwise NumPy). Work is done in
    eval mode without gradients, in batches of `batch_size`.
    """

    def __init__(self, tokenizer: Tokenizer, batch_size: int = 256) -> None:
        super().__init__()
        self.model = tokenizer.eval()
        self.batch_size = batch_size

    @property
    def length(self) -> int:
        """Series length L the tokenizer takes."""
        return int(self.model.length)

    @property
    def channels(self) -> int:
        """Channels C of the series the tokenizer takes (1: univariate, (N, L) arrays)."""
        return int(self.model.channels)

    @property
    def grid(self) -> tuple[int, int]:
        """Token grid (H, W): frequency rows by time columns."""
        return int(self.model.grid.height), int(self.model.grid.width)

    @property
    def codebook_size(self) -> int:
        return int(self.model.quantizer.codebook_size)

    def _device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _batched(self, x: torch.Tensor, fn: Any) -> torch.Tensor:
        with eval_mode(self.model), torch.no_grad():
            parts = [fn(x[i : i + self.batch_size].to(self._device())) for i in range(0, len(x), self.batch_size)]
        return torch.cat(parts) if parts else fn(x.to(self._device()))

    def encode(self, x: Any) -> Any:
        """Token grids (N, H, W) of series (nearest codes)."""
        return _like(self._batched(_series_tensor(x, self.length, self.channels), self.model.tokens), x)

    def decode(self, tokens: Any) -> Any:
        """Series (N, L) (or (N, C, L) for C channels) of token grids (N, H, W) (or flat (N, H·W)),
        through the codebook and decoder."""
        t = torch.as_tensor(np.asarray(tokens) if not isinstance(tokens, torch.Tensor) else tokens).long()
        h, w = self.grid
        if t.dim() == 2 and t.shape[1] == h * w:
            t = t.view(-1, h, w)
        if t.dim() != 3 or tuple(t.shape[1:]) != (h, w):
            raise DataError(f"tokens of shape {tuple(t.shape)}: expected (N, {h}, {w}) token grids")
        if len(t) and (int(t.min()) < 0 or int(t.max()) >= self.codebook_size):
            raise DataError(f"tokens: ids must be in 0..{self.codebook_size - 1} (the codebook size)")
        return _like(self._batched(t, self.model.decode_tokens).float(), tokens)

    def reconstruct(self, x: Any) -> Any:
        """The tokenizer's reconstruction (N, L) (or (N, C, L)) of series: encode, quantize, decode."""
        series = _series_tensor(x, self.length, self.channels)
        return _like(self._batched(series, lambda b: self.model.as_data(self.model(b).x_hat)).float(), x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same as `reconstruct`, for use as a module."""
        return self.reconstruct(x)


class PriorSampler:
    """A prior run's MaskGIT prior, loaded once for repeated sampling."""

    def __init__(self, run: Run, weights: str = "latest") -> None:
        from tsstudio.store.exports import load_sampler

        self._run = run
        self._loaded = load_sampler(run.path, weights)

    @property
    def n_classes(self) -> int:
        """Classes the prior was conditioned on (0: trained without labels, unconditional only)."""
        return int(self._loaded.n_classes)

    def sample(self, n: int, cls: int | str | None = None, guidance: float = 1.0, steps: int = 10, seed: int = 0,
               **settings: Any) -> Any:
        """Generate `n` series by iterative decoding; returns `store.exports.Generations` (`.series` (n, L),
        `.tokens` (n, H, W), `.classes`, `.settings`).

        `cls` is a class id (int) or an original class label (str), None for unconditional samples;
        `guidance` is the classifier-free guidance scale (it does not apply to an unconditional prior).
        Extra `settings`: `choice_temperature`, `sampling_temperature`, `record_steps`, `batch_size`.
        """
        from tsstudio.store.exports import sample_loaded

        class_id = cls
        if isinstance(cls, str):
            from tsstudio.eval.sampling_explore import class_id_for

            dataset = self._run.dataset()
            class_id = class_id_for(cls, dataset.class_labels, dataset.name)
        return sample_loaded(self._loaded, int(n), class_id, guidance=float(guidance), steps=int(steps),
                             seed=int(seed), **settings)


# ------------------------------------------------------------------------------------------ runs


class Run:
    """One run file: its configuration, metrics and evaluation, and its trained models on demand.

    `kind` is "tokenizer" or "prior". `tokenizer` is the tokenizer module of either kind (a prior
    run stores the frozen tokenizer it was trained on); `prior` is a `PriorSampler` for a prior run
    and None for a tokenizer run.
    """

    def __init__(self, path: str | Path) -> None:
        from tsstudio.store import RunFile

        self.path = Path(path)
        with RunFile.open(self.path) as run:  # fails in one line for a file that is not a run
            self.kind: str = run.kind
        self._tokenizer: TokenizerModel | None = None
        self._prior: PriorSampler | None = None

    def _read(self, fn: Any) -> Any:
        from tsstudio.store import RunFile

        with RunFile.open(self.path) as run:
            return fn(run)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, kind={self.kind!r}, status={self.status!r}, dataset={self.dataset_name!r})"

    @property
    def config(self) -> dict[str, Any]:
        """The run's full configuration as a nested dict (as `tsstudio config` prints it)."""
        return self._read(lambda run: run.config)

    @property
    def run_config(self) -> RunConfig:
        """The configuration as a typed `RunConfig` (e.g. to train a variant of it)."""
        return from_dict(self.config)

    @property
    def status(self) -> str:
        return self._read(lambda run: run.status)

    @property
    def step(self) -> int:
        return int(self._read(lambda run: run.step))

    @property
    def dataset_name(self) -> str:
        return str(self.run_config.data.dataset)

    @property
    def attrs(self) -> dict[str, Any]:
        """The run file's attributes (dataset sizes, token grid, n_classes, ...)."""
        return self._read(lambda run: dict(run.attrs))

    def _metric_table(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        def read(run: Any) -> dict[str, tuple[np.ndarray, np.ndarray]]:
            out = {}
            for name in run.metric_names():
                steps, _, values = run.metric(name)
                out[name] = (np.asarray(steps), np.asarray(values))
            return out

        return self._read(read)

    @property
    def metrics(self) -> dict[str, np.ndarray]:
        """Every logged metric's values by name (`metric_steps` gives the step of each value)."""
        return {name: values for name, (_, values) in self._metric_table().items()}

    @property
    def metric_steps(self) -> dict[str, np.ndarray]:
        """The training step of each value in `metrics`, by metric name."""
        return {name: steps for name, (steps, _) in self._metric_table().items()}

    def metrics_frame(self) -> Any:
        """The metrics as a pandas DataFrame indexed by step, one column per metric (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise TsstudioError("metrics_frame() needs pandas (pip install pandas); `metrics` and `metric_steps` "
                                "give the same numbers as NumPy arrays") from None
        columns = [pd.Series(values, index=pd.Index(steps, name="step"), name=name).groupby(level=0).last()
                   for name, (steps, values) in self._metric_table().items()]
        return pd.concat(columns, axis=1).sort_index() if columns else pd.DataFrame(index=pd.Index([], name="step"))

    @property
    def evaluation(self) -> dict[str, Any]:
        """The stored evaluation results ({} before `tsstudio eval` / `evaluate()`)."""
        return self._read(lambda run: run.evaluation())

    def evaluate(self, **options: Any) -> dict[str, Any]:
        """Evaluate the run as `tsstudio eval` does (stored in the file) and return the results."""
        from tsstudio.store.run_eval import evaluate_prior_run, evaluate_run

        fn = evaluate_prior_run if self.kind == "prior" else evaluate_run
        return fn(self.path, **options)

    def dataset(self, data_dir: str | None = None) -> Dataset:
        """The dataset the run was trained on, found where the run found it."""
        from tsstudio.store.models_io import dataset_of

        return self._read(lambda run: dataset_of(run, data_dir))

    def load_tokenizer(self, weights: str = "latest") -> TokenizerModel:
        """The tokenizer with its "latest" or "best" weights (a prior run: the tokenizer stored with it)."""
        from tsstudio.store.models_io import load_prior, load_tokenizer

        if self.kind == "prior":
            model = self._read(lambda run: load_prior(run, weights)[1])
        else:
            model = self._read(lambda run: load_tokenizer(run, weights)[0])
        return TokenizerModel(model)

    @property
    def tokenizer(self) -> TokenizerModel:
        """The tokenizer (latest weights), loaded on first use."""
        if self._tokenizer is None:
            self._tokenizer = self.load_tokenizer()
        return self._tokenizer

    @property
    def prior(self) -> PriorSampler | None:
        """The prior of a prior run (latest weights, loaded on first use); None for a tokenizer run."""
        if self.kind != "prior":
            return None
        if self._prior is None:
            self._prior = PriorSampler(self)
        return self._prior


def open_run(path: str | Path) -> Run:
    """Open a run file (tokenizer or prior) written by `tsstudio train` / `prior`, the app or `train`."""
    return Run(path)


# ------------------------------------------------------------------------------------------ training


def _base_config(config_or_preset: RunConfig | Mapping[str, Any] | str | Path) -> tuple[RunConfig | None, str | None]:
    """A full configuration, or (None, name) when a prior preset is named (it is applied to the tokenizer's)."""
    if isinstance(config_or_preset, RunConfig):
        return from_dict(to_dict(config_or_preset)), None
    if isinstance(config_or_preset, Mapping):
        return from_dict(dict(config_or_preset)), None
    text = str(config_or_preset)
    if text.endswith((".yaml", ".yml")) or Path(text).is_file():
        return load_yaml(text), None
    kinds = {p.name: p.kind for p in list_presets()}
    if kinds.get(text) == "prior":
        return None, text
    return load_preset(text), None


def _override_keys(overrides: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """`section.key` for each override; a bare key must name a field of exactly one section."""
    owners: dict[str, list[str]] = {}
    for section, obj in sections(RunConfig()).items():
        for f in dataclasses.fields(obj):
            owners.setdefault(f.name, []).append(section)
    items = []
    for key, value in overrides.items():
        if "." not in key:
            found = owners.get(key, [])
            if len(found) != 1:
                where = f"it is a key of {', '.join(found)}" if found else "no section has it"
                raise ConfigError(f"override {key}=: {where}; write it as section.key, e.g. "
                                  f"**{{'{(found or ['trainer'])[0]}.{key}': {value!r}}}")
            key = f"{found[0]}.{key}"
        items.append((key, value))
    if any(k == "trainer.epochs" for k, _ in items) and not any(k == "trainer.max_steps" for k, _ in items):
        items.append(("trainer.max_steps", 0))  # an epoch budget replaces a step budget, as --epochs does
    return items


def _dataset_location(dataset: Dataset | str | Path) -> tuple[str, str | None]:
    """(dataset name for the configuration, data folder to find it in) for a name, a path or a loaded Dataset."""
    if isinstance(dataset, Dataset):
        if dataset.source == BUILTIN_SOURCE:
            return dataset.name, None
        source = Path(dataset.source)
        return dataset.name, str(source.parent)
    if _is_path(dataset):
        files = at_path(Path(dataset))
        return files.name, str(files.location.resolve().parent)
    return str(dataset), None


def _default_out(name: str, config: RunConfig, kind: str) -> Path:
    return Path.cwd() / f"{name}-{config.preset}-seed{config.trainer.seed}{'-prior' if kind == 'prior' else ''}.h5"


def train(
    config_or_preset: RunConfig | Mapping[str, Any] | str | Path,
    dataset: Dataset | str | Path | Run,
    out: str | Path | None = None,
    *,
    overwrite: bool = False,
    **overrides: Any,
) -> Run:
    """Train a run with the same loop as the CLI and return it opened.

    A tokenizer: `config_or_preset` is a tokenizer preset name, a YAML file, a `RunConfig` or a dict,
    and `dataset` a name, a path (dataset folder or `.npz`) or a loaded `Dataset`. A prior: pass a prior
    preset (e.g. "maskgit") or configuration and, as `dataset`, the finished tokenizer run (a `Run` or
    its path). `overrides` set configuration values: `max_steps=100`, `seed=2`, `device="cpu"` for
    keys only one section has, `**{"encoder.dim": 32}` for any key. `out` defaults to
    `<dataset>-<preset>-seed<seed>.h5` in the current folder; an existing file is kept unless `overwrite`.
    """
    from tsstudio.sweep.runner import prior_config, train_prior_run, train_run

    base, prior_preset = _base_config(config_or_preset)
    tokenizer_run = dataset.path if isinstance(dataset, Run) else None
    if tokenizer_run is None and isinstance(dataset, str | Path) and str(dataset).endswith(".h5"):
        tokenizer_run = Path(dataset)
    kind = "prior" if tokenizer_run is not None else "tokenizer"
    if prior_preset is not None and kind != "prior":
        raise ConfigError(f"preset '{prior_preset}' configures a prior: pass the tokenizer run to train it on as `dataset`")
    items = _override_keys(overrides)
    data_dir: str | None = None
    if kind == "prior":
        tok = Run(tokenizer_run)
        if tok.kind != "tokenizer":
            raise RunFileError(f"{tokenizer_run}: is a {tok.kind} run; a prior trains on a tokenizer run")
        if base is None:
            config = prior_config(tok.config, prior_preset)
        else:
            config = from_dict({**to_dict(base), **{s: tok.config[s] for s in tok.config if s not in ("prior", "trainer")}})
    else:
        config = base
        name, data_dir = _dataset_location(dataset)
        items.insert(0, ("data.dataset", name))
    for key, value in items:
        set_value(config, key, value, where="train(): ")
    validate(config, where="train(): ")
    path = Path(out) if out is not None else _default_out(config.data.dataset, config, kind)
    if path.exists() and not overwrite:
        raise TsstudioError(f"{path} exists; pass overwrite=True to replace it (or open it with open_run)")
    if path.exists():
        path.unlink()
    if kind == "prior":
        trainer = train_prior_run(tokenizer_run, config, path)
    else:
        trainer = train_run(config, path, data_dir=data_dir)
    if trainer.status not in ("finished",):
        raise TsstudioError(f"{path}: training ended {trainer.status}")
    return Run(path)
