"""`tsstudio sweep`: the plan and the summary without torch, the pool's size, and what it refuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tsstudio.cli.main import main
from tsstudio.sweep.local_executor import pool_size

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "sklearn", "scipy", "PySide6", "pyqtgraph", "ray")
PROBE = """
import json, sys
if sys.argv[4] == "no-ray":
    sys.modules["ray"] = None  # as if Ray were not installed
from tsstudio.cli.main import main
code = main(json.loads(sys.argv[1]))
with open(sys.argv[2], "w") as fh:
    json.dump({"code": code, "heavy": [m for m in json.loads(sys.argv[3]) if m in sys.modules]}, fh)
"""
SPEC = "datasets: [CBF, GunPoint]\npresets: [regular, vibcreg-slice]\nseeds: [1, 2]\noverrides: [trainer.max_steps=2]\n"


def probe(argv: list[str], cwd: Path, mode: str = "") -> tuple[dict, subprocess.CompletedProcess]:
    result = cwd / "result.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv), str(result), json.dumps(HEAVY), mode or "-"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    return json.loads(result.read_text()), proc


@pytest.mark.parametrize("flag", ["--dry-run", "--summary"])
def test_the_plan_and_the_summary_import_no_heavy_module(flag: str, tmp_path: Path) -> None:
    (tmp_path / "grid.yaml").write_text(SPEC, encoding="utf-8")
    result, proc = probe(["sweep", "grid.yaml", flag], tmp_path)
    assert result == {"code": 0, "heavy": []}, proc.stderr
    if flag == "--dry-run":
        lines = proc.stdout.splitlines()
        assert lines[0].split() == ["cell", "status", "would"]
        assert lines[1].split() == ["cbf-regular-s1", "pending", "tokenizer", "→", "eval"]
        assert len(lines) == 9 and "8 cells, 8 to run; workspace" in proc.stderr
    else:
        assert proc.stdout.startswith("# Sweep grid\n\n0 of 8 cells finished, 8 pending.")


def test_ray_missing_says_how_to_install_it(tmp_path: Path) -> None:
    (tmp_path / "grid.yaml").write_text(SPEC, encoding="utf-8")
    result, proc = probe(["sweep", "grid.yaml", "--executor", "ray"], tmp_path, "no-ray")
    assert result["code"] == 1
    assert proc.stderr.strip().splitlines() == [
        'tsstudio sweep: error: --executor ray needs Ray, which is not installed here: pip install "tsstudio[ray]"']
    assert not (tmp_path / "grid").exists()


def test_bad_invocations_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "grid.yaml").write_text(SPEC, encoding="utf-8")
    assert main(["sweep", str(tmp_path / "grid.yaml"), "--address", "1.2.3.4:6379"]) == 1
    assert capsys.readouterr().err == "tsstudio sweep: error: --address: applies to --executor ray only\n"
    (tmp_path / "bad.yaml").write_text(SPEC + "stages: [prior, tokenizer]\n", encoding="utf-8")
    assert main(["sweep", str(tmp_path / "bad.yaml"), "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"tsstudio sweep: error: {tmp_path / 'bad.yaml'}: stages: ") and err.count("\n") == 1
    with pytest.raises(SystemExit):
        main(["sweep", str(tmp_path / "grid.yaml"), "--workers", "0"])
    assert "--workers: expected an integer ≥ 1, got 0" in capsys.readouterr().err


def test_the_pool_is_sized_to_the_machine() -> None:
    assert pool_size(8, cores=2, gpus=0) == pool_size(8, workers=2, cores=2, gpus=0)
    assert (pool_size(8, cores=2, gpus=0).workers, pool_size(8, cores=2, gpus=0).threads) == (2, 1)
    assert (pool_size(3, cores=16, gpus=0).workers, pool_size(3, cores=16, gpus=0).threads) == (3, 5)  # 3 × 5 ≤ 16
    assert (pool_size(8, workers=1, cores=16, gpus=0).threads) == 16
    two_gpus = pool_size(8, cores=16, gpus=2)
    assert (two_gpus.workers, two_gpus.threads, two_gpus.gpus) == (2, 8, 2)
    assert pool_size(8, cores=2, gpus=0).text() == "2 local workers × 1 thread"
