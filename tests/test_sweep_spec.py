"""Sweep specs: what a YAML file may say, how it expands into named cells, and how bad input is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tsstudio.errors import ConfigError
from tsstudio.sweep.spec import cell_name, dump_spec, load_spec

BASE = """\
datasets: [GunPoint, CBF]
presets: [regular, barlowtwins-slice]
seeds: [1, 2]
overrides: [trainer.max_steps=3]
grid:
  ssl.aug_recon_rate: [0.1, 0.5]
stages: [tokenizer, eval]
"""


def write(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_cells_expand_in_a_stable_order_with_readable_names(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, BASE))
    cells = spec.cells()
    assert len(cells) == 2 * 2 * 2 * 2
    assert [c.name for c in cells[:5]] == [
        "gunpoint-regular-aug_recon_rate=0.1-s1",
        "gunpoint-regular-aug_recon_rate=0.1-s2",
        "gunpoint-regular-aug_recon_rate=0.5-s1",
        "gunpoint-regular-aug_recon_rate=0.5-s2",
        "gunpoint-barlowtwins-slice-aug_recon_rate=0.1-s1",
    ]
    assert cells[-1].name == "cbf-barlowtwins-slice-aug_recon_rate=0.5-s2"
    cell = cells[4]
    assert (cell.dataset, cell.preset, cell.seed, cell.stages) == ("GunPoint", "barlowtwins-slice", 1, ("tokenizer", "eval"))
    assert cell.overrides == ("trainer.max_steps=3", "ssl.aug_recon_rate=0.1")
    assert cell.column == "barlowtwins-slice aug_recon_rate=0.1"
    assert spec.workspace == tmp_path / "demo"
    assert cell.tokenizer_path(spec.workspace) == tmp_path / "demo" / "gunpoint-barlowtwins-slice-aug_recon_rate=0.1-s1.h5"
    assert cell.prior_path(spec.workspace).name == "gunpoint-barlowtwins-slice-aug_recon_rate=0.1-s1-prior.h5"
    config = cell.tokenizer_config()
    got = (config.data.dataset, config.trainer.seed, config.trainer.max_steps, config.ssl.aug_recon_rate)
    assert got == ("GunPoint", 1, 3, 0.1)
    assert load_spec(spec.path).cells() == cells  # stable across loads


def test_names_without_a_grid_and_with_list_values() -> None:
    assert cell_name("ECG5000", "regular", (), 3) == "ecg5000-regular-s3"
    grid = (("augmentations.methods", ["flip", "slope"]), ("ssl.weight", 1.0))
    assert cell_name("FordA", "vibcreg-warp", grid, 1) == "forda-vibcreg-warp-methods=flip+slope-weight=1-s1"


def test_a_workspace_data_folders_and_overrides_as_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "ucr" / "GunPoint").mkdir(parents=True)
    spec = load_spec(write(tmp_path, "datasets: [GunPoint, {name: Other, data_dir: elsewhere}, CBF]\ndata_dirs: [ucr]\n"
                                     "presets: [regular]\nseeds: 4\noverrides: {trainer.max_steps: 5}\nworkspace: out\n"))
    cells = spec.cells()
    assert [c.data_dir for c in cells] == [str(tmp_path / "ucr"), str(tmp_path / "elsewhere"), None]  # CBF: built in
    assert cells[0].overrides == ("trainer.max_steps=5",) and spec.workspace == tmp_path / "out"
    assert load_spec(spec.path, workspace=tmp_path / "w2").workspace == tmp_path / "w2"


def test_dump_reads_back_to_the_same_cells(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, BASE + "workspace: somewhere\n"))
    again = load_spec(write(tmp_path, dump_spec(spec), "again.yaml"))
    assert again.cells() == spec.cells() and again.workspace == spec.workspace and again.name == "demo"


@pytest.mark.parametrize(("text", "expected"), [
    (BASE + "budget: 3\n", "demo.yaml: budget: unknown key; expected some of name, datasets"),
    (BASE.replace("regular,", "regullar,"), "demo.yaml: presets: unknown preset 'regullar' (available: regular,"),
    (BASE.replace("regular,", "maskgit,"), "demo.yaml: presets: 'maskgit' is a prior preset; expected tokenizer presets"),
    (BASE.replace("seeds: [1, 2]", "seeds: []"), "demo.yaml: seeds: expected a non-empty list of integers, got []"),
    (BASE.replace("[GunPoint, CBF]", "[]"), "demo.yaml: datasets: expected a non-empty list of dataset names"),
    (BASE.replace("[0.1, 0.5]", "[]"), "demo.yaml: grid.ssl.aug_recon_rate: expected a non-empty list of values"),
    (BASE.replace("[trainer.max_steps=3]", "[trainer.max_steps]"),
     "demo.yaml: overrides: 'trainer.max_steps': expected section.key=value"),
    (BASE.replace("[trainer.max_steps=3]", "[trainer.max_stepz=3]"), "demo.yaml: overrides: unknown key in section 'trainer'"),
    (BASE.replace("[0.1, 0.5]", "[0.1, -2]"), "demo.yaml: grid.ssl.aug_recon_rate: ssl.aug_recon_rate"),
    (BASE.replace("[tokenizer, eval]", "[tokenizer, train]"), "demo.yaml: stages: unknown stage 'train'; expected some of"),
    (BASE.replace("[tokenizer, eval]", "[eval, tokenizer]"),
     "demo.yaml: stages: ['eval', 'tokenizer']: expected each stage once, in the order tokenizer, prior, eval"),
    (BASE.replace("seeds: [1, 2]", "seeds: [1, x]"), "demo.yaml: seeds: 'x': expected an integer ≥ 0"),
    ("datasets: [CBF\n", "demo.yaml: line 2: not valid YAML"),
    ("- CBF\n", "demo.yaml: expected a mapping with datasets, presets, seeds at the top level"),
    ("presets: [regular]\nseeds: [1]\n", "demo.yaml: datasets: missing; expected a list of dataset names"),
])
def test_bad_specs_are_refused_in_one_line_naming_the_field(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_spec(path)
    message = str(info.value)
    assert message.startswith(str(tmp_path)) and expected in message, message
    assert "\n" not in message


def test_a_missing_spec_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope.yaml: cannot read the sweep file"):
        load_spec(tmp_path / "nope.yaml")


def test_cells_are_hashable_and_survive_the_trip_to_a_worker(tmp_path: Path) -> None:
    from tsstudio.sweep.cell_run import cell_from_json, cell_to_json

    spec = load_spec(write(tmp_path, "datasets: [CBF]\npresets: [regular]\nseeds: [1]\n"
                                     "grid: {augmentations.methods: [[flip, slope], [gaussian_noise]]}\n"))
    cells = spec.cells()
    assert [c.name for c in cells] == ["cbf-regular-methods=flip+slope-s1", "cbf-regular-methods=gaussian_noise-s1"]
    assert cells[0].overrides == ("augmentations.methods=[flip, slope]",)
    assert list(cells[0].tokenizer_config().augmentations.methods) == ["flip", "slope"]
    assert len({*cells, *cells}) == 2
    assert [cell_from_json(cell_to_json(c)) for c in cells] == cells


def test_data_folders_are_absolute_whatever_the_working_folder(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    (tmp_path / "specs").mkdir()
    write(tmp_path / "specs", "datasets: [GunPoint]\ndata_dirs: [../ucr]\npresets: [regular]\nseeds: [1]\n")
    (tmp_path / "ucr" / "GunPoint").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    cell, = load_spec(Path("specs/demo.yaml")).cells()
    assert cell.data_dir == str(tmp_path / "ucr")  # a worker on another node or folder finds the same data
