"""The commands that compute nothing start without torch, scikit-learn, scipy or Qt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import TINY_CLI

from tsstudio.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "sklearn", "scipy", "PySide6", "pyqtgraph")
PROBE = """
import json, sys
from tsstudio.cli.main import main
argv = json.loads(sys.argv[1])
try:
    code = main(argv)
except SystemExit as exc:  # --help
    code = exc.code
with open(sys.argv[2], "w") as fh:
    json.dump({"code": code, "heavy": [m for m in json.loads(sys.argv[3]) if m in sys.modules]}, fh)
"""


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding one finished (1-step) tokenizer run, for `tsstudio runs`."""
    folder = tmp_path_factory.mktemp("runs")
    code = main(["train", "--dataset", "CBF", "--max-steps", "1", "--out", str(folder / "one.h5"), "--quiet", *TINY_CLI])
    assert code == 0
    return folder


def light_command(argv: list[str], cwd: Path) -> str:
    """Run `tsstudio ARGV` in a fresh interpreter; check it succeeds without heavy modules; its stdout."""
    result = cwd / "result.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv), str(result), json.dumps(HEAVY)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(result.read_text()) == {"code": 0, "heavy": []}, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("argv", [["presets"], ["config", "--preset", "vibcreg-slice"], ["datasets"], ["runs", "."],
                                  ["--help"]], ids=" ".join)
def test_light_commands_import_no_heavy_module(argv: list[str], tmp_path: Path) -> None:
    out = light_command(argv, tmp_path)
    assert out or argv[0] == "runs"  # `runs` of an empty folder says so on stderr


@pytest.mark.slow
@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["table", "json"])
def test_runs_of_a_real_run_imports_no_heavy_module(json_flag: list[str], run_folder: Path, tmp_path: Path) -> None:
    out = light_command(["runs", str(run_folder), *json_flag], tmp_path)
    assert "one" in out and "finished" in out
