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
    """A preset's name, what it is for, and which kind of run it configures."""

    name: str
    description: str
    kind: str = "tokenizer"


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
    return [PresetInfo(item["name"], item["description"], item.get("kind", "tokenizer")) for item in index]


def preset_overrides(name: str, kind: str | None = None) -> dict:
    """The sparse overrides a preset makes (a nested dict of sections), checked to be of `kind`."""
    infos = {p.name: p for p in list_presets()}
    if name not in infos:
        close = difflib.get_close_matches(name, list(infos), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"unknown preset '{name}' (available: {', '.join(infos)}){hint}")
    if kind is not None and infos[name].kind != kind:
        same = ", ".join(p for p, info in infos.items() if info.kind == kind)
        raise ConfigError(f"preset '{name}' configures a {infos[name].kind} run, not a {kind} run (use one of: {same})")
    path = presets_dir() / f"{name}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def load_preset(name: str, kind: str | None = None) -> RunConfig:
    """The full configuration of a preset (its overrides applied to the method's defaults)."""
    data = preset_overrides(name, kind)
    data["preset"] = name
    return from_dict(data, where=f"{presets_dir() / name}.yaml: ")
