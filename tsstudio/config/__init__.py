"""Typed, validated run configuration; presets; load/save as YAML."""

from tsstudio.config.io import (
    apply_overrides,
    dump_yaml,
    from_dict,
    load_yaml,
    save_yaml,
    to_dict,
    validate,
)
from tsstudio.config.presets import PresetInfo, list_presets, load_preset
from tsstudio.config.schema import (
    DataConfig,
    DecoderConfig,
    EncoderConfig,
    ProbeConfig,
    QuantizerConfig,
    RunConfig,
    STFTConfig,
    TrainerConfig,
)

__all__ = [
    "DataConfig",
    "DecoderConfig",
    "EncoderConfig",
    "PresetInfo",
    "ProbeConfig",
    "QuantizerConfig",
    "RunConfig",
    "STFTConfig",
    "TrainerConfig",
    "apply_overrides",
    "dump_yaml",
    "from_dict",
    "list_presets",
    "load_preset",
    "load_yaml",
    "save_yaml",
    "to_dict",
    "validate",
]
