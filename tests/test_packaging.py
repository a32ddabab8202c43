"""A regular (non-editable) install holds every package and the resources the code reads."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_holds_every_package_and_the_resources(tmp_path: Path) -> None:
    pytest.importorskip("setuptools", minversion="70.1")  # builds wheels itself, without the `wheel` package
    src = tmp_path / "src"  # build from a copy, so the checkout gets no build/ or egg-info
    src.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("tsstudio", "resources"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                    "-w", str(tmp_path / "dist"), str(src)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("tsstudio-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    packages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "tsstudio").rglob("__init__.py")}
    assert "tsstudio/sweep" in packages
    missing = sorted(p for p in packages if f"{p}/__init__.py" not in names)
    assert not missing, f"packages left out of the wheel: {missing}"
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tsstudio").rglob("*.py")}
    assert modules <= names
    resources = {"tsstudio/" + p.relative_to(ROOT).as_posix() for p in (ROOT / "resources").rglob("*")
                 if p.is_file() and p.suffix in (".py", ".yaml", ".svg", ".qss")}
    assert "tsstudio/resources/presets/regular.yaml" in resources
    assert resources <= names, sorted(resources - names)
