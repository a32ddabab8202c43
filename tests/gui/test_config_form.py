"""ConfigForm: built from the schema, live validation, presets, YAML round trip, derived facts."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_API", "pyside6")

import dataclasses  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402
from stubs import StubController, write_ucr  # noqa: E402

from tsstudio.config import load_preset, to_dict  # noqa: E402
from tsstudio.config.schema import RunConfig, sections  # noqa: E402
from tsstudio.gui.config_form import ConfigForm, count_parameters  # noqa: E402


def make_form(qtbot, controller: StubController) -> ConfigForm:
    form = ConfigForm(controller)
    qtbot.addWidget(form)

    def settled() -> bool:
        return not form.is_busy() and "parameters: " in form.facts_text() and "counting" not in form.facts_text()

    qtbot.waitUntil(settled, timeout=30000)
    return form


def test_form_is_built_from_the_schema(qtbot) -> None:
    form = make_form(qtbot, StubController())
    expected = [f"{name}.{f.name}" for name, section in sections(RunConfig()).items() for f in dataclasses.fields(section)]
    assert form.keys() == expected
    tip = form.field_editor("trainer.lr").toolTip()
    assert "AdamW learning rate" in tip and "(0, 1]" in tip
    assert "one of 4, 8, 16, 32" in form.field_editor("stft.n_fft").toolTip()
    assert form.field_editor("trainer.lr").text() == "0.001"
    assert form.field_editor("quantizer.eps").text() == "1e-05"
    assert form.is_valid()
    config = form.config()
    assert to_dict(config) == to_dict(load_preset("regular"))


def test_invalid_value_shows_its_message_and_flips_validity(qtbot) -> None:
    form = make_form(qtbot, StubController())
    with qtbot.waitSignal(form.validityChanged) as blocker:
        form.field_editor("trainer.lr").setText("0")
    assert blocker.args == [False]
    assert "trainer.lr" in form.message.text() and "out of range" in form.message.text()
    assert form.invalid_key() == "trainer.lr"
    assert form.config() is None
    with qtbot.waitSignal(form.validityChanged) as blocker:
        form.field_editor("trainer.lr").setText("2e-4")
    assert blocker.args == [True]
    assert form.message.text() == "" and form.invalid_key() is None
    assert form.config().trainer.lr == pytest.approx(2e-4)

    form.field_editor("trainer.weight_decay").setText("abc")
    assert "trainer.weight_decay" in form.error()
    form.field_editor("trainer.weight_decay").setText("nan")
    assert "trainer.weight_decay" in form.error()
    form.field_editor("trainer.weight_decay").setText("0.01")
    form.set_value("stft.hop_length", 16)  # cross-field rule: hop must not exceed n_fft
    assert not form.is_valid() and form.invalid_key() == "stft.hop_length"
    form.set_value("stft.n_fft", 16)
    assert form.is_valid()
    form.field_editor("trainer.weight_decay").setText("inf")
    assert form.invalid_key() == "trainer.weight_decay" and "finite" in form.error()
    form.field_editor("trainer.weight_decay").setText("0.01")
    form.set_value("decoder.dim", 32)  # the core's rule, shown by the form
    assert form.invalid_key() == "decoder.dim" and "encoder.dim" in form.error()
    form.set_value("decoder.dim", 64)
    assert form.is_valid()
    form.set_value("ssl.method", "vibcreg")  # needs an augmentation
    assert form.invalid_key() == "augmentations.methods"
    form.set_value("augmentations.methods", ["gaussian_noise"])
    assert form.is_valid()
    assert form.config().augmentations.methods == ("gaussian_noise",)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_absent_device_is_invalid(qtbot) -> None:
    form = make_form(qtbot, StubController())
    form.set_value("trainer.device", "cuda")
    assert not form.is_valid() and "trainer.device" in form.error()


def test_preset_fills_the_form(qtbot) -> None:
    form = make_form(qtbot, StubController())
    index = form.preset_combo.findData("vibcreg-warp")
    assert form.preset_combo.itemText(0) == "regular"
    with qtbot.waitSignal(form.configChanged):
        form.preset_combo.activated.emit(index)
    expected = load_preset("vibcreg-warp")
    assert to_dict(form.config()) == to_dict(expected)
    assert form.field_editor("ssl.method").currentData() == "vibcreg"
    assert form.field_editor("augmentations.methods").checked() == expected.augmentations.methods
    assert form.field_editor("ssl.weight").text() == "0.01"
    qtbot.waitUntil(lambda: "SSL head" in form.facts_text(), timeout=30000)
    assert "SSL head 34.12 M" in form.facts_text()


def test_yaml_round_trip_and_errors(qtbot, tmp_path: Path) -> None:
    form = make_form(qtbot, StubController())
    form.apply_preset("barlowtwins-slice")
    form.set_value("trainer.lr", 3e-4)
    form.set_value("quantizer.codebook_size", 64)
    saved = form.config()
    path = tmp_path / "run.yaml"
    assert form.save_yaml_file(path)
    assert "Saved" in form.message.text()

    form.apply_preset("regular")
    assert to_dict(form.config()) != to_dict(saved)
    assert form.load_yaml_file(path)
    assert to_dict(form.config()) == to_dict(saved)
    assert form.preset_combo.currentData() == "barlowtwins-slice"

    bad = tmp_path / "bad.yaml"
    bad.write_text("trainer:\n  lr: -1\n")
    assert not form.load_yaml_file(bad)
    assert "trainer.lr" in form.message.text() and str(bad) in form.message.text()
    assert to_dict(form.config()) == to_dict(saved)  # the form kept its values
    assert not form.load_yaml_file(tmp_path / "missing.yaml")
    assert "missing.yaml" in form.message.text()

    form.field_editor("trainer.lr").setText("-1")
    assert not form.save_yaml_file(tmp_path / "never.yaml")
    assert not (tmp_path / "never.yaml").exists()


def test_derived_facts_follow_the_selected_dataset(qtbot, tmp_path: Path) -> None:
    root = tmp_path / "ucr"
    write_ucr(root, "Long500", 500)
    write_ucr(root, "Gun150", 150)  # GunPoint's length
    controller = StubController(dirs=[str(root)])
    form = make_form(qtbot, controller)
    facts = form.facts_text()
    assert "CBF (length 128)" in facts and "5 × 8" in facts and "40 tokens" in facts
    tokenizer, _ = count_parameters(form.config(), 128)
    assert f"{tokenizer / 1e6:.2f} M" in facts
    assert "runs on: cpu" in facts

    controller.select_dataset("Long500")
    assert form.config().data.dataset == "Long500"
    qtbot.waitUntil(lambda: "5 × 15" in form.facts_text() and "counting" not in form.facts_text(), timeout=30000)
    assert "75 tokens" in form.facts_text()
    assert "downsample rate 16 (4 stride-2 blocks)" in form.facts_text()  # the method's 31, as the blocks give it

    controller.select_dataset("Gun150")
    qtbot.waitUntil(lambda: "Gun150 (length 150)" in form.facts_text(), timeout=30000)
    assert "downsample rate 8 (3 stride-2 blocks)" in form.facts_text()  # not 9: three halvings give 8

    # the form's dataset box drives the app's selection
    combo = form.field_editor("data.dataset")
    combo.setCurrentText("CBF")
    combo.activated.emit(combo.currentIndex())
    assert controller.dataset_name == "CBF"
    qtbot.waitUntil(lambda: "5 × 8" in form.facts_text(), timeout=5000)


def test_a_collapsed_section_expands_to_its_fields_in_two_columns(qtbot) -> None:
    form = make_form(qtbot, StubController())
    form.resize(1300, 700)
    form.show()
    qtbot.waitExposed(form)
    box = form._sections["prior"]
    assert form._columns == 2 and not box.isExpanded()
    form.section_headers()["prior"].click()
    content = box.content()
    qtbot.waitUntil(lambda: content.height() >= content.minimumSizeHint().height(), timeout=3000)  # was 8 px
    assert form.field_editor("prior.hidden_dim").isVisible()
