"""tsstudio: a workbench for self-supervised VQ-VAE time-series tokenizers and MaskGIT priors.

The Python API (`load_dataset`, `open_run`, `train`; see `tsstudio.api` and docs/python-api.md) is
imported on first use, so `import tsstudio` itself stays light (no torch, no numpy).
"""

from __future__ import annotations

import sys
import types
from typing import Any

__version__ = "0.1.0"

_API = ("load_dataset", "open_run", "Run", "TokenizerModel", "PriorSampler")
__all__ = ["__version__", "train", *_API]


def __getattr__(name: str) -> Any:
    """`tsstudio.load_dataset` and the rest of the API, from `tsstudio.api` when first asked for."""
    if name in _API:
        from tsstudio import api

        return getattr(api, name)
    raise AttributeError(f"module 'tsstudio' has no attribute {name!r}")


class _TrainEntry:
    """`tsstudio.train`: calling it is `tsstudio.api.train`; its attributes are those of the `tsstudio.train`
    subpackage (the training loops), so `tsstudio.train.TokenizerTrainer` keeps working."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from tsstudio import api

        return api.train(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        import importlib

        return getattr(importlib.import_module("tsstudio.train"), name)

    def __repr__(self) -> str:
        return "<tsstudio.train: the API's train(config_or_preset, dataset, out=None, **overrides)>"


_TRAIN = _TrainEntry()


class _Package(types.ModuleType):
    """The package module. Importing the `tsstudio.train` subpackage would set the attribute `train` to
    it and hide the API's function; this keeps `tsstudio.train` the callable entry above instead."""

    @property
    def train(self) -> _TrainEntry:
        return _TRAIN

    @train.setter
    def train(self, module: types.ModuleType) -> None:
        pass  # the subpackage stays in sys.modules and behind the entry's attributes


sys.modules[__name__].__class__ = _Package
