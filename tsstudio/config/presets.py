"""Named presets: sparse configuration files shipped in `resources/presets`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from tsstudio.config.io import from_dict
from tsstudio.config.schema import RunConfig
from tsstudio.errors import ConfigError


@dataclass(frozen=True)
class PresetInfo:
    """A preset's name and what it is for."""

    name: str
    description: str


def presets_dir() -> Path:
    """Folder holding the preset files (package data, or the source tree's `resources/`)."""
    try:
        path = Path(str(resources.files("tsstudio.resources") / "presets"))
        if path.is_dir():
            return path
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "resources" / "presets"


def list_presets() -> list[PresetInfo]:
    """Presets in their documented order (the regular VQ-VAE first)."""
    index = yaml.safe_load((presets_dir() / "index.yaml").read_text(encoding="utf-8"))
    return [PresetInfo(item["name"], item["description"]) for item in index]


def load_preset(name: str) -> RunConfig:
    """The full configuration of a preset (its overrides applied to the method's defaults)."""
    names = [p.name for p in list_presets()]
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"unknown preset '{name}' (available: {', '.join(names)}){hint}")
    path = presets_dir() / f"{name}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data["preset"] = name
    return from_dict(data, where=f"{path}: ")
