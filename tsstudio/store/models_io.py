"""Rebuilding trained models and their datasets from run files alone (no side files)."""

from __future__ import annotations

from tsstudio.config.io import from_dict
from tsstudio.config.schema import RunConfig
from tsstudio.data import load_dataset
from tsstudio.data.dataset import Dataset
from tsstudio.errors import RunFileError, wrong_kind
from tsstudio.models.maskgit import MaskGITPrior
from tsstudio.models.tokenizer import Tokenizer
from tsstudio.store.runfile import RunFile
from tsstudio.train.loop import deserialize


def _weights(run: RunFile, weights: str) -> tuple[int, dict]:
    found = run.best_weights() if weights == "best" else run.latest_checkpoint()
    if found is None:
        raise RunFileError(f"{run.path}: holds no {weights} weights yet (no checkpoint was written)")
    return int(found[0]), deserialize(found[2])


def _expect(run: RunFile, kind: str) -> None:
    if run.kind != kind:
        raise wrong_kind(run.path, run.kind, kind)


def load_tokenizer(run: RunFile, weights: str = "latest") -> tuple[Tokenizer, int]:
    """The tokenizer of a tokenizer run with its latest or best weights, in eval mode; and its step."""
    _expect(run, "tokenizer")
    step, state = _weights(run, weights)
    model = Tokenizer(from_dict(state["config"]), int(run.attrs["length"]))
    model.load_state_dict(state["model"])
    return model.eval(), step


def load_prior(run: RunFile, weights: str = "latest") -> tuple[MaskGITPrior, Tokenizer, RunConfig, int]:
    """The prior of a prior run, the frozen tokenizer stored with it, its configuration and step."""
    _expect(run, "prior")
    step, state = _weights(run, weights)
    config = from_dict(state["config"])
    tokenizer = Tokenizer(config, int(run.attrs["length"]))
    tokenizer.load_state_dict(state["tokenizer"])
    tokenizer.eval()
    prior = MaskGITPrior(tokenizer.grid.n_tokens, int(run.attrs["n_classes"]), tokenizer.quantizer.codebook, config.prior)
    prior.load_state_dict(state["prior"])
    return prior.eval(), tokenizer, config, step


def dataset_of(run: RunFile, data_dir: str | None = None) -> Dataset:
    """The dataset a run was trained on, found where the run found it unless told otherwise."""
    config = from_dict(run.config)
    folder = data_dir or run.attrs.get("data_dir") or None
    return load_dataset(config.data.dataset, folder, scaling=config.data.scaling)
