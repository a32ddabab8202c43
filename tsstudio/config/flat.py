"""Nested configuration dictionaries as flat `section.key` maps, and the keys where two differ."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MISSING = None
"""The value `config_difference` reports for a key one configuration does not have."""


def freeze(value: Any) -> Any:
    """Lists (also nested, and inside tuples) as tuples, so a configuration value can be hashed."""
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": 1}}` → `{"a.b": 1}`; lists become tuples so values can be compared and hashed."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten_config(value, prefix=f"{name}."))
        elif isinstance(value, (list, tuple)):
            out[name] = freeze(value)
        else:
            out[name] = value
    return out


def config_difference(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The flattened keys whose values differ between two configurations: `{key: (value_a, value_b)}`.

    Only differing keys are returned, in sorted order; a key present on one side only is reported
    with `MISSING` (None) on the other.
    """
    fa, fb = flatten_config(a), flatten_config(b)
    out: dict[str, tuple[Any, Any]] = {}
    for key in sorted(fa.keys() | fb.keys()):
        va, vb = fa.get(key, MISSING), fb.get(key, MISSING)
        if key not in fa or key not in fb or va != vb:
            out[key] = (va, vb)
    return out
