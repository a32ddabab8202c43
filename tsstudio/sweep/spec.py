"""Sweep specifications: a YAML file naming datasets, presets, seeds, overrides, grids and stages.

A spec expands into cells (one dataset × preset × grid point × seed each), every cell with a
stable, readable name that is also the stem of its run files in the sweep's workspace. Loading
checks everything that can be checked without training (keys, presets, override syntax and values,
stages), so a bad spec is refused in one line naming the file and the field before any run starts.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tsstudio.config.io import apply_overrides
from tsstudio.config.presets import list_presets, load_preset
from tsstudio.config.schema import RunConfig
from tsstudio.errors import ConfigError

STAGES = ("tokenizer", "prior", "eval")
"""What a cell can run, in this order: train the tokenizer, train a prior on it, evaluate both."""

PRIOR_EVAL_DEFAULTS = {"fcn_epochs": 1000, "cas_epochs": 1000, "cas": True}
"""How the eval stage measures a prior (FID/IS classifier epochs, CAS), as `tsstudio eval` does."""

KEYS = ("name", "datasets", "data_dirs", "presets", "seeds", "overrides", "grid", "stages", "workspace",
        "prior_preset", "prior_overrides", "prior_eval")
REQUIRED = ("datasets", "presets", "seeds")


@dataclass(frozen=True)
class CellSpec:
    """One run of a sweep: a dataset, a preset, a grid point and a seed, and the stages to run."""

    name: str
    dataset: str
    data_dir: str | None
    preset: str
    seed: int
    overrides: tuple[str, ...]  # the spec's overrides, then this cell's grid values
    stages: tuple[str, ...]
    grid: tuple[tuple[str, Any], ...] = ()  # (key, value) of this cell's grid point, in the spec's key order
    prior_preset: str = "maskgit"
    prior_overrides: tuple[str, ...] = ()
    prior_eval: tuple[tuple[str, Any], ...] = tuple(PRIOR_EVAL_DEFAULTS.items())

    @property
    def column(self) -> str:
        """The summary column of this cell: its preset and grid point (seeds and datasets are rows/repeats)."""
        return " ".join([self.preset, *(f"{_leaf(key, self.grid)}={_value_text(v)}" for key, v in self.grid)])

    def tokenizer_path(self, workspace: Path) -> Path:
        """The tokenizer run file of this cell in `workspace`."""
        return Path(workspace) / f"{self.name}.h5"

    def prior_path(self, workspace: Path) -> Path:
        """The prior run file of this cell in `workspace`."""
        return Path(workspace) / f"{self.name}-prior.h5"

    def tokenizer_config(self) -> RunConfig:
        """The full tokenizer configuration this cell trains."""
        return apply_overrides(
            load_preset(self.preset, kind="tokenizer"),
            [f"data.dataset={self.dataset}", f"trainer.seed={self.seed}", *self.overrides],
        )


@dataclass
class SweepSpec:
    """A parsed sweep file; `cells()` expands it."""

    path: Path
    name: str
    datasets: list[str]
    presets: list[str]
    seeds: list[int]
    data_dirs: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    grid: dict[str, list[Any]] = field(default_factory=dict)
    stages: tuple[str, ...] = ("tokenizer", "eval")
    workspace: Path = Path()
    prior_preset: str = "maskgit"
    prior_overrides: list[str] = field(default_factory=list)
    prior_eval: dict[str, Any] = field(default_factory=lambda: dict(PRIOR_EVAL_DEFAULTS))
    dataset_dirs: dict[str, str] = field(default_factory=dict)  # dataset -> the folder named for it alone

    def data_dir_of(self, dataset: str) -> str | None:
        """The data folder a dataset is read from: its own entry, else the first of `data_dirs` holding it, else
        None (the usual search: TSSTUDIO_DATA_DIR, then the settings' data folders; the built-in CBF)."""
        if dataset in self.dataset_dirs:
            return self.dataset_dirs[dataset]
        for folder in self.data_dirs:
            if (Path(folder) / dataset).is_dir():
                return folder
        return None

    def cells(self) -> list[CellSpec]:
        """Every cell, in a stable order: dataset, preset, grid values (in the spec's order), seed."""
        keys = list(self.grid)
        points = list(itertools.product(*(self.grid[key] for key in keys))) if keys else [()]
        out = []
        for dataset, preset, point, seed in itertools.product(self.datasets, self.presets, points, self.seeds):
            grid = tuple((key, _frozen(value)) for key, value in zip(keys, point))
            out.append(CellSpec(
                name=cell_name(dataset, preset, grid, seed),
                dataset=dataset,
                data_dir=self.data_dir_of(dataset),
                preset=preset,
                seed=int(seed),
                overrides=(*self.overrides, *(f"{key}={_override_value(value)}" for key, value in grid)),
                stages=tuple(self.stages),
                grid=grid,
                prior_preset=self.prior_preset,
                prior_overrides=tuple(self.prior_overrides),
                prior_eval=tuple(self.prior_eval.items()),
            ))
        return out

    def columns(self) -> list[str]:
        """The summary columns (preset × grid point) in cell order, without repeats."""
        return list(dict.fromkeys(cell.column for cell in self.cells()))


def _frozen(value: Any) -> Any:
    """A grid value as a hashable one (lists become tuples), so cells can be dictionary keys and set members."""
    return tuple(_frozen(v) for v in value) if isinstance(value, (list, tuple)) else value


def _leaf(key: str, grid: tuple[tuple[str, Any], ...]) -> str:
    """A grid key as it appears in names: its last part, or the whole key when two grid keys share it."""
    leaf = key.rsplit(".", 1)[-1]
    clash = sum(1 for other, _ in grid if other.rsplit(".", 1)[-1] == leaf) > 1
    return key if clash else leaf


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "+".join(_value_text(v) for v in value)
    return str(value)


def _override_value(value: Any) -> str:
    """A grid value as the right-hand side of `key=value` (parsed back as YAML by `apply_overrides`)."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_override_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]+")


def cell_name(dataset: str, preset: str, grid: tuple[tuple[str, Any], ...], seed: int) -> str:
    """`gunpoint-barlowtwins-slice-aug_recon_rate=0.1-s1`: readable, stable, safe as a file name."""
    parts = [dataset.lower(), preset, *(f"{_leaf(key, grid)}={_value_text(value)}" for key, value in grid), f"s{seed}"]
    return _UNSAFE.sub("_", "-".join(parts))


# ---------------------------------------------------------------------------------------------- loading


def _fail(path: Path, field_name: str, what: str) -> ConfigError:
    return ConfigError(f"{path}: {field_name}: {what}")


def _str_list(path: Path, data: dict, key: str, *, required: bool) -> list[str]:
    value = data.get(key)
    if value is None:
        if required:
            raise _fail(path, key, "missing; expected a list")
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise _fail(path, key, "expected a non-empty list" if isinstance(value, list) else f"expected a list, got {value!r}")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise _fail(path, key, f"expected names, got {item!r}")
    return [item.strip() for item in value]


def _overrides(path: Path, data: dict, key: str) -> list[str]:
    """`key=value` strings, from a list of them or a mapping key: value."""
    value = data.get(key)
    if value is None:
        return []
    if isinstance(value, dict):
        return [f"{k}={_override_value(v)}" for k, v in value.items()]
    if not isinstance(value, list):
        raise _fail(path, key, f"expected a list of section.key=value or a mapping, got {value!r}")
    out = []
    for item in value:
        text = str(item) if isinstance(item, str) else None
        k, sep, _ = (text or "").partition("=")
        if text is None or not sep or "." not in k or not k.strip():
            raise _fail(path, key, f"{item!r}: expected section.key=value")
        out.append(text.strip())
    return out


def _datasets(path: Path, data: dict, base: Path) -> tuple[list[str], dict[str, str]]:
    """Dataset names, and the data folder named for any given as {name: ..., data_dir: ...}."""
    value = data.get("datasets")
    if value is None:
        raise _fail(path, "datasets", "missing; expected a list of dataset names")
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise _fail(path, "datasets", "expected a non-empty list of dataset names")
    names, dirs = [], {}
    for item in value:
        if isinstance(item, dict):
            unknown = set(item) - {"name", "data_dir"}
            if unknown or not isinstance(item.get("name"), str):
                raise _fail(path, "datasets", f"{item!r}: expected a name or {{name: ..., data_dir: ...}}")
            name = item["name"].strip()
            if item.get("data_dir"):
                dirs[name] = str((base / Path(str(item["data_dir"])).expanduser()).resolve())
        elif isinstance(item, str) and item.strip():
            name = item.strip()
        else:
            raise _fail(path, "datasets", f"expected dataset names, got {item!r}")
        if name in names:
            raise _fail(path, "datasets", f"{name} is listed twice")
        names.append(name)
    return names, dirs


def _seeds(path: Path, data: dict) -> list[int]:
    value = data.get("seeds")
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not value:
        raise _fail(path, "seeds", f"expected a non-empty list of integers, got {value!r}")
    for seed in value:
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise _fail(path, "seeds", f"{seed!r}: expected an integer ≥ 0")
    if len(set(value)) != len(value):
        raise _fail(path, "seeds", "a seed is listed twice")
    return list(value)


def _grid(path: Path, data: dict) -> dict[str, list[Any]]:
    value = data.get("grid")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(path, "grid", "expected a mapping of section.key to a list of values")
    grid = {}
    for key, values in value.items():
        if not isinstance(key, str) or "." not in key:
            raise _fail(path, "grid", f"{key!r}: expected a section.key")
        if not isinstance(values, list) or not values:
            raise _fail(path, f"grid.{key}", "expected a non-empty list of values")
        grid[key] = values
    return grid


def _stages(path: Path, data: dict) -> tuple[str, ...]:
    value = data.get("stages", ["tokenizer", "eval"])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise _fail(path, "stages", f"expected a non-empty list of {', '.join(STAGES)}")
    for stage in value:
        if stage not in STAGES:
            raise _fail(path, "stages", f"unknown stage {stage!r}; expected some of {', '.join(STAGES)} in this order")
    if len(set(value)) != len(value) or sorted(value, key=STAGES.index) != value:
        raise _fail(path, "stages", f"{value}: expected each stage once, in the order {', '.join(STAGES)}")
    return tuple(value)


def _presets(path: Path, data: dict) -> list[str]:
    presets = _str_list(path, data, "presets", required=True)
    kinds = {p.name: p.kind for p in list_presets()}
    for name in presets:
        if name not in kinds:
            raise _fail(path, "presets", f"unknown preset {name!r} (available: {', '.join(kinds)})")
        if kinds[name] != "tokenizer":
            raise _fail(path, "presets", f"{name!r} is a {kinds[name]} preset; expected tokenizer presets "
                                         "(a prior preset goes under prior_preset)")
    if len(set(presets)) != len(presets):
        raise _fail(path, "presets", "a preset is listed twice")
    return presets


def _prior_eval(path: Path, data: dict) -> dict[str, Any]:
    value = data.get("prior_eval") or {}
    if not isinstance(value, dict):
        raise _fail(path, "prior_eval", "expected a mapping of fcn_epochs, cas_epochs, cas")
    out = dict(PRIOR_EVAL_DEFAULTS)
    for key, item in value.items():
        if key not in PRIOR_EVAL_DEFAULTS:
            raise _fail(path, "prior_eval", f"unknown key {key!r}; expected {', '.join(PRIOR_EVAL_DEFAULTS)}")
        if key == "cas":
            if not isinstance(item, bool):
                raise _fail(path, "prior_eval.cas", f"expected true or false, got {item!r}")
        elif not isinstance(item, int) or isinstance(item, bool) or item < 1:
            raise _fail(path, f"prior_eval.{key}", f"expected an integer ≥ 1, got {item!r}")
        out[key] = item
    return out


def parse_spec(data: Any, path: Path, workspace: Path | None = None) -> SweepSpec:
    """Check and build a spec from parsed YAML; `path` names it in errors and anchors relative folders."""
    path = Path(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with {', '.join(REQUIRED)} at the top level")
    unknown = [key for key in data if key not in KEYS]
    if unknown:
        raise _fail(path, str(unknown[0]), f"unknown key; expected some of {', '.join(KEYS)}")
    base = path.parent
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name.strip() or _UNSAFE.search(name.strip()):
        raise _fail(path, "name", f"{name!r}: expected a name of letters, digits and . _ = + -")
    datasets, dataset_dirs = _datasets(path, data, base)
    data_dirs = [str((base / Path(d).expanduser()).resolve()) for d in _str_list(path, data, "data_dirs", required=False)]
    if workspace is None:
        given = data.get("workspace")
        if given is not None and (not isinstance(given, str) or not given.strip()):
            raise _fail(path, "workspace", f"expected a folder, got {given!r}")
        workspace = base / given if given else base / name.strip()
    prior_preset = data.get("prior_preset", "maskgit")
    if prior_preset not in {p.name for p in list_presets() if p.kind == "prior"}:
        raise _fail(path, "prior_preset", f"{prior_preset!r}: expected one of "
                                          f"{', '.join(p.name for p in list_presets() if p.kind == 'prior')}")
    spec = SweepSpec(
        path=path, name=name.strip(), datasets=datasets, presets=_presets(path, data), seeds=_seeds(path, data),
        data_dirs=data_dirs, overrides=_overrides(path, data, "overrides"), grid=_grid(path, data),
        stages=_stages(path, data), workspace=Path(workspace), prior_preset=prior_preset,
        prior_overrides=_overrides(path, data, "prior_overrides"), prior_eval=_prior_eval(path, data),
        dataset_dirs=dataset_dirs,
    )
    _check_values(spec)
    return spec


def _check_values(spec: SweepSpec) -> None:
    """Apply the overrides and every grid value to every preset, so a bad key or value fails now, named."""
    for preset in spec.presets:
        try:
            apply_overrides(load_preset(preset, kind="tokenizer"), list(spec.overrides))
        except ConfigError as exc:
            raise _fail(spec.path, "overrides", str(exc).removeprefix("--set ")) from None
        for key, values in spec.grid.items():
            for value in values:
                try:
                    apply_overrides(load_preset(preset, kind="tokenizer"), [*spec.overrides, f"{key}={_override_value(value)}"])
                except ConfigError as exc:
                    raise _fail(spec.path, f"grid.{key}", str(exc).removeprefix("--set ")) from None
    names = [cell.name for cell in spec.cells()]
    if len(set(names)) != len(names):
        clash = next(n for n in names if names.count(n) > 1)
        raise _fail(spec.path, "grid", f"two cells are both named {clash}; make the grid values distinct")


def load_spec(path: Path, workspace: Path | None = None) -> SweepSpec:
    """Read and check a sweep file; `workspace` (the --workspace flag) replaces the spec's own."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the sweep file ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark else ""
        raise ConfigError(f"{path}: {line}not valid YAML") from None
    return parse_spec(data, path, workspace)


def spec_dict(spec: SweepSpec) -> dict[str, Any]:
    """The spec as the mapping its YAML file holds (defaults left out where they were not given)."""
    out: dict[str, Any] = {"name": spec.name}
    out["datasets"] = [
        {"name": d, "data_dir": spec.dataset_dirs[d]} if d in spec.dataset_dirs else d for d in spec.datasets
    ]
    if spec.data_dirs:
        out["data_dirs"] = list(spec.data_dirs)
    out["presets"] = list(spec.presets)
    out["seeds"] = list(spec.seeds)
    if spec.overrides:
        out["overrides"] = list(spec.overrides)
    if spec.grid:
        out["grid"] = {key: list(values) for key, values in spec.grid.items()}
    out["stages"] = list(spec.stages)
    if "prior" in spec.stages or spec.prior_preset != "maskgit":
        out["prior_preset"] = spec.prior_preset
    if spec.prior_overrides:
        out["prior_overrides"] = list(spec.prior_overrides)
    if spec.prior_eval != PRIOR_EVAL_DEFAULTS:
        out["prior_eval"] = dict(spec.prior_eval)
    try:
        out["workspace"] = str(spec.workspace.relative_to(spec.path.parent))
    except ValueError:
        out["workspace"] = str(spec.workspace)
    return out


def dump_spec(spec: SweepSpec) -> str:
    """YAML text of a spec that `load_spec` reads back to the same cells (for the app's editor)."""
    return yaml.safe_dump(spec_dict(spec), sort_keys=False, allow_unicode=True)
