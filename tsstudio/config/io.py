"""Building, validating, overriding and (de)serialising run configurations."""

from __future__ import annotations

import dataclasses
import difflib
import math
from pathlib import Path
from typing import Any

import yaml

from tsstudio.config.schema import RunConfig, sections
from tsstudio.errors import ConfigError


def to_dict(config: RunConfig) -> dict[str, Any]:
    """Plain nested dict of a configuration (YAML/JSON-ready: tuples become lists)."""
    return dataclasses.asdict(config, dict_factory=lambda items: {k: list(v) if isinstance(v, tuple) else v for k, v in items})


def _field_map(obj: Any) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(obj)}


def _unknown(kind: str, name: str, known: list[str], where: str) -> ConfigError:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(known)})"
    return ConfigError(f"{where}unknown {kind} '{name}'{hint}")


def _coerce(value: Any, f: dataclasses.Field, key: str, where: str) -> Any:
    """Convert a parsed value to the field's type, or raise naming the key."""
    target = type(f.default)
    if target is tuple:
        items = [p.strip() for p in value.split(",") if p.strip()] if isinstance(value, str) else value
        if value is None:
            return ()
        if isinstance(items, (list, tuple)) and all(isinstance(i, str) for i in items):
            return tuple(items)
        raise ConfigError(f"{where}{key}: expected a list of names, got {value!r}")
    if target is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "on", "off"):
            return value.lower() in ("true", "yes", "on")
    elif target is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif target is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif target is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise ConfigError(f"{where}{key}: expected {target.__name__}, got {value!r}")


def from_dict(data: dict[str, Any] | None, where: str = "") -> RunConfig:
    """Build a validated configuration from a nested dict; missing keys take defaults."""
    config = RunConfig()
    for name, value in (data or {}).items():
        set_value(config, name, value, where=where, allow_section=True)
    validate(config, where=where)
    return config


def set_value(config: RunConfig, key: str, value: Any, where: str = "", allow_section: bool = False) -> None:
    """Set `section.key` (or a whole section from a dict) on a configuration, type-checked."""
    top = _field_map(config)
    head, _, rest = key.partition(".")
    if head not in top:
        raise _unknown("section", head, list(top), where)
    target = getattr(config, head)
    if not dataclasses.is_dataclass(target):
        if rest:
            raise ConfigError(f"{where}{head} is not a section")
        setattr(config, head, _coerce(value, top[head], head, where))
        return
    if not rest:
        if not (allow_section and isinstance(value, dict)):
            raise ConfigError(f"{where}{head}: expected a mapping of its keys, got {value!r}")
        for sub, sub_value in value.items():
            set_value(config, f"{head}.{sub}", sub_value, where=where)
        return
    fields = _field_map(target)
    if rest not in fields:
        raise _unknown(f"key in section '{head}'", rest, list(fields), where)
    setattr(target, rest, _coerce(value, fields[rest], key, where))


def allowed(f: dataclasses.Field) -> str:
    """Human description of what a field accepts, e.g. '[0, 1]' or 'one of auto, cpu'."""
    meta = f.metadata
    if meta.get("choices"):
        return "one of " + ", ".join(str(c) for c in meta["choices"])
    low, high = meta.get("low"), meta.get("high")
    if low is None and high is None:
        return type(f.default).__name__
    left = "(" if meta.get("low_open") else "["
    return f"{left}{low:g}, {high:g}]"


def validate(config: RunConfig, where: str = "") -> None:
    """Check every value against its range or choices; raise naming the first bad key."""
    for name, section in sections(config).items():
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            meta = f.metadata
            key = f"{name}.{f.name}"
            if meta.get("choices") and isinstance(value, tuple):
                for item in value:
                    if item not in meta["choices"]:
                        raise ConfigError(f"{where}{key}: {item!r} is not allowed; expected a list of {allowed(f)[7:]}")
            elif meta.get("choices") and value not in meta["choices"]:
                raise ConfigError(f"{where}{key}: {value!r} is not allowed; expected {allowed(f)}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{where}{key}: {value!r} is not a finite number; expected {allowed(f)}")
            low, high = meta.get("low"), meta.get("high")
            if low is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
                too_low = value <= low if meta.get("low_open") else value < low
                if too_low or value > high:
                    raise ConfigError(f"{where}{key}: {value!r} is out of range; expected {allowed(f)}")
    if config.ssl.method == "vibcreg" and config.ssl.proj_out % config.ssl.iternorm_groups:
        raise ConfigError(
            f"{where}ssl.iternorm_groups: {config.ssl.iternorm_groups} does not divide ssl.proj_out {config.ssl.proj_out}"
        )
    if config.ssl.method != "none" and not config.augmentations.methods:
        raise ConfigError(f"{where}augmentations.methods: ssl.method {config.ssl.method} needs at least one augmentation")
    if config.encoder.dim != config.decoder.dim:
        raise ConfigError(
            f"{where}decoder.dim: {config.decoder.dim} must equal encoder.dim {config.encoder.dim} (the codes feed the decoder)"
        )
    if config.stft.hop_length > config.stft.n_fft:
        raise ConfigError(f"{where}stft.hop_length: {config.stft.hop_length} exceeds stft.n_fft {config.stft.n_fft}")


def apply_overrides(config: RunConfig, overrides: list[str]) -> RunConfig:
    """Apply `section.key=value` strings (values parsed as YAML scalars) and re-validate."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected section.key=value")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        set_value(config, key.strip(), value, where="--set ")
    validate(config, where="--set ")
    return config


def load_yaml(path: str | Path) -> RunConfig:
    """Read a configuration file; errors name the file."""
    path = Path(path)
    where = f"{path}: "
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark else ""
        raise ConfigError(f"{where}{line}not valid YAML") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{where}expected a mapping of sections at the top level")
    return from_dict(data, where=where)


def dump_yaml(config: RunConfig) -> str:
    """YAML text of a configuration, sections in schema order."""
    return yaml.safe_dump(to_dict(config), sort_keys=False)


def save_yaml(config: RunConfig, path: str | Path) -> None:
    """Write a configuration file that `load_yaml` reads back to an equal configuration."""
    Path(path).write_text(dump_yaml(config), encoding="utf-8")
