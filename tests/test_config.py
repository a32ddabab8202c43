"""Configuration defaults, overrides, validation messages, YAML round trip and presets."""

import pytest

from tsstudio.config import (
    RunConfig,
    apply_overrides,
    list_presets,
    load_preset,
    load_yaml,
    save_yaml,
    to_dict,
)
from tsstudio.errors import ConfigError


def test_defaults_are_the_methods_values():
    c = RunConfig()
    assert (c.stft.n_fft, c.stft.hop_length) == (8, 2)
    assert (c.encoder.dim, c.encoder.n_resnet_blocks, c.encoder.downsampled_width) == (64, 4, 8)
    assert (c.quantizer.codebook_size, c.quantizer.decay, c.quantizer.commitment_weight) == (32, 0.9, 1.0)
    assert not c.quantizer.kmeans_init and c.quantizer.dead_code_threshold == 0
    assert (c.trainer.lr, c.trainer.weight_decay, c.trainer.batch_size, c.trainer.epochs) == (1e-3, 1e-3, 128, 1000)
    assert (c.probes.knn_neighbors, c.probes.svm_c, c.probes.every_epochs) == (5, 1.0, 100)


def test_overrides_are_typed():
    c = apply_overrides(RunConfig(), ["quantizer.codebook_size=64", "trainer.lr=5e-4", "quantizer.kmeans_init=true",
                                      "trainer.device=cpu"])
    assert c.quantizer.codebook_size == 64 and isinstance(c.quantizer.codebook_size, int)
    assert c.trainer.lr == 5e-4
    assert c.quantizer.kmeans_init is True
    assert c.trainer.device == "cpu"


def test_unknown_key_names_it_and_suggests():
    with pytest.raises(ConfigError, match=r"unknown key in section 'quantizer' 'codebook_sise'.*codebook_size"):
        apply_overrides(RunConfig(), ["quantizer.codebook_sise=64"])
    with pytest.raises(ConfigError, match=r"unknown section 'quantiser'.*quantizer"):
        apply_overrides(RunConfig(), ["quantiser.decay=0.5"])


def test_out_of_range_names_key_and_range():
    with pytest.raises(ConfigError, match=r"quantizer\.decay: 1\.5 is out of range; expected \(0, 1\]"):
        apply_overrides(RunConfig(), ["quantizer.decay=1.5"])
    with pytest.raises(ConfigError, match=r"trainer\.batch_size: 0 is out of range; expected \[1, 65536\]"):
        apply_overrides(RunConfig(), ["trainer.batch_size=0"])


def test_bad_choice_lists_allowed_values():
    with pytest.raises(ConfigError, match=r"trainer\.device: 'tpu' is not allowed; expected one of auto, cpu, cuda, mps"):
        apply_overrides(RunConfig(), ["trainer.device=tpu"])


def test_wrong_type_names_key():
    with pytest.raises(ConfigError, match=r"quantizer\.codebook_size: expected int, got 'many'"):
        apply_overrides(RunConfig(), ["quantizer.codebook_size=many"])
    with pytest.raises(ConfigError, match=r"expected section\.key=value"):
        apply_overrides(RunConfig(), ["codebook_size"])


def test_yaml_round_trip(tmp_path):
    c = apply_overrides(RunConfig(), ["quantizer.codebook_size=48", "data.dataset=GunPoint"])
    path = tmp_path / "run.yaml"
    save_yaml(c, path)
    assert to_dict(load_yaml(path)) == to_dict(c)


def test_bad_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("trainer:\n  lr: 0.001\n  epochs: [1, 2\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: line \d+: not valid YAML"):
        load_yaml(path)
    path.write_text("trainer:\n  lr: -1\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: trainer\.lr: -1\.0 is out of range"):
        load_yaml(path)


def test_presets_listed_with_regular_first():
    names = [p.name for p in list_presets()]
    assert names[0] == "regular"
    assert to_dict(load_preset("regular"))["quantizer"] == to_dict(RunConfig())["quantizer"]
    assert load_preset("regular-plus").quantizer.kmeans_init is True


def test_unknown_preset_suggests():
    with pytest.raises(ConfigError, match=r"unknown preset 'reguler'.*did you mean 'regular'"):
        load_preset("reguler")


def test_core_validate_refuses_non_finite_numbers_and_unequal_dims():
    # the rules the app's configuration form used to check on its own
    with pytest.raises(ConfigError, match=r"trainer\.weight_decay: nan is not a finite number"):
        apply_overrides(RunConfig(), ["trainer.weight_decay=.nan"])
    with pytest.raises(ConfigError, match=r"ssl\.weight: inf is not a finite number"):
        apply_overrides(RunConfig(), ["ssl.weight=.inf"])
    with pytest.raises(ConfigError, match=r"decoder\.dim: 32 must equal encoder\.dim 64"):
        apply_overrides(RunConfig(), ["decoder.dim=32"])
