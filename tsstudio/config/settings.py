"""Per-user settings (data folders, workspace) and the XDG folders tsstudio uses.

Settings live in `$XDG_CONFIG_HOME/tsstudio/settings.yaml` (default
`~/.config/tsstudio/settings.yaml`); they are separate from run configurations.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tsstudio.errors import ConfigError, warn

_APP = "tsstudio"


def _xdg(var: str, default: str) -> Path:
    """An XDG base folder: the env var when set to an absolute path, else the default under home."""
    value = os.environ.get(var, "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / default


def user_config_dir() -> Path:
    """`$XDG_CONFIG_HOME/tsstudio` (default `~/.config/tsstudio`)."""
    return _xdg("XDG_CONFIG_HOME", ".config") / _APP


def user_data_dir() -> Path:
    """`$XDG_DATA_HOME/tsstudio` (default `~/.local/share/tsstudio`)."""
    return _xdg("XDG_DATA_HOME", ".local/share") / _APP


def user_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/tsstudio` (default `~/.cache/tsstudio`)."""
    return _xdg("XDG_CACHE_HOME", ".cache") / _APP


def settings_path() -> Path:
    """Path of the user settings file."""
    return user_config_dir() / "settings.yaml"


@dataclass
class UserSettings:
    """What a user configures once: extra dataset folders and the default workspace."""

    data_dirs: list[str] = field(default_factory=list)
    workspace: str = ""


def load_settings() -> UserSettings:
    """Read the user settings; a missing file gives defaults.

    A file that is not valid YAML raises ConfigError naming it (so the user can fix
    it rather than silently losing settings); unknown keys or wrongly typed values
    take their defaults (a `data_dirs` that is not a list, with a one-line warning).
    """
    path = settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return UserSettings()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read settings ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark else ""
        raise ConfigError(f"{path}: {line}not valid YAML") from None
    if not isinstance(data, dict):
        return UserSettings()
    settings = UserSettings()
    dirs = data.get("data_dirs")
    if isinstance(dirs, str):
        dirs = [dirs]
    if dirs is not None and not isinstance(dirs, list):
        warn(f"{path}: data_dirs should be a list of folders, got {dirs!r}; ignored")
    if isinstance(dirs, list):
        settings.data_dirs = [str(d) for d in dirs if isinstance(d, (str, int, float)) and str(d)]
    workspace = data.get("workspace")
    if isinstance(workspace, str):
        settings.workspace = workspace
    return settings


def save_settings(settings: UserSettings) -> Path:
    """Write the user settings file (creating its folder); returns its path."""
    path = settings_path()
    data = {"data_dirs": [str(d) for d in settings.data_dirs], "workspace": str(settings.workspace)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write settings ({exc.strerror or exc})") from None
    return path
