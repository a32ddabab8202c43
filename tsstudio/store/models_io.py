"""Rebuilding trained models and their datasets from run files alone (no side files)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tsstudio.config.io import from_dict
from tsstudio.config.schema import RunConfig
from tsstudio.data import load_dataset
from tsstudio.data.dataset import Dataset
from tsstudio.errors import RunFileError, wrong_kind
from tsstudio.models.maskgit import MaskGITPrior
from tsstudio.models.tokenizer import Tokenizer
from tsstudio.store.runfile import RunFile
from tsstudio.train.state_format import UNREADABLE


def _weights(run: RunFile, weights: str) -> tuple[int, dict]:
    found = run.best_state() if weights == "best" else run.latest_state()
    if found is None:
        raise RunFileError(f"{run.path}: holds no {weights} weights yet (no checkpoint was written)")
    return int(found[0]), found[2]


@contextmanager
def _stored_state(run: RunFile) -> Iterator[None]:
    """Decoded bytes with the wrong keys, shapes or types: one line naming the run file."""
    try:
        yield
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
        raise RunFileError(f"{run.path}: {UNREADABLE}") from exc


def _expect(run: RunFile, kind: str) -> None:
    if run.kind != kind:
        raise wrong_kind(run.path, run.kind, kind)


def load_tokenizer(run: RunFile, weights: str = "latest") -> tuple[Tokenizer, int]:
    """The tokenizer of a tokenizer run with its latest or best weights, in eval mode; and its step."""
    _expect(run, "tokenizer")
    step, state = _weights(run, weights)
    with _stored_state(run):
        model = Tokenizer(from_dict(state["config"]), int(run.attrs["length"]), channels=run.n_channels)
        model.load_state_dict(state["model"])
    return model.eval(), step


def load_prior(run: RunFile, weights: str = "latest") -> tuple[MaskGITPrior, Tokenizer, RunConfig, int]:
    """The prior of a prior run, the frozen tokenizer stored with it, its configuration and step."""
    _expect(run, "prior")
    step, state = _weights(run, weights)
    with _stored_state(run):
        config = from_dict(state["config"])
        tokenizer = Tokenizer(config, int(run.attrs["length"]), channels=run.n_channels)
        tokenizer.load_state_dict(state["tokenizer"])
        tokenizer.eval()
        prior = MaskGITPrior(tokenizer.grid.n_tokens, int(run.attrs["n_classes"]), tokenizer.quantizer.codebook,
                             config.prior)
        prior.load_state_dict(state["prior"])
    return prior.eval(), tokenizer, config, step


def dataset_of(run: RunFile, data_dir: str | None = None) -> Dataset:
    """The dataset a run was trained on, found where the run found it unless told otherwise."""
    config = from_dict(run.config)
    folder = data_dir or run.attrs.get("data_dir") or None
    return load_dataset(config.data.dataset, folder, scaling=config.data.scaling, label_column=config.data.label_column)
