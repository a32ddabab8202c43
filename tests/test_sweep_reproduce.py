"""`reproduce` and `ablate` run as sweep cells in-process: same run files, same tables, finished seeds reused."""

from __future__ import annotations

from pathlib import Path

from support import TINY_CLI

from tsstudio.cli.main import main
from tsstudio.store import RunFile

FAST = [*TINY_CLI, "--set", "trainer.val_every_epochs=0", "--set", "probes.every_epochs=0"]


def test_reproduce_writes_a_run_per_seed_and_reuses_finished_ones(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "repro"
    argv = ["reproduce", "--dataset", "CBF", "--seeds", "1", "2", "--epochs", "1", "--out-dir", str(out), "--quiet", *FAST]
    assert main(argv) == 0
    report = capsys.readouterr().out
    runs = sorted(p.name for p in out.glob("*.h5"))
    assert runs == ["CBF-regular-seed1.h5", "CBF-regular-seed2.h5"]
    assert (out / "reproduction-CBF-regular.md").read_text(encoding="utf-8") == report
    with RunFile.open(out / "CBF-regular-seed2.h5") as run:
        trainer = run.config["trainer"]
        assert (run.status, run.seed, trainer["epochs"], trainer["max_steps"]) == ("finished", 2, 1, 0)
        svm = run.evaluation()["svm_accuracy"]
    assert f"| 2 | CBF-regular-seed2.h5 | {svm:.4f} |" in report
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*.h5")}
    assert main(argv) == 0 and capsys.readouterr().out == report  # finished and evaluated: reused as they are
    assert {p: p.stat().st_mtime_ns for p in out.glob("*.h5")} == stamps
    assert not (out / ".sweep-failures").exists()


def test_ablate_writes_its_cells_and_refuses_a_bad_override_before_any_run(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "abl"
    argv = ["ablate", "--dataset", "CBF", "--method", "barlowtwins", "--study", "aug-recon-rate", "--rates", "0", "0.5",
            "--seeds", "1", "--max-steps", "2", "--out-dir", str(out), "--quiet", *FAST,
            "--set", "ssl.proj_hidden=8", "--set", "ssl.proj_out=8"]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert sorted(p.name for p in out.glob("*.h5")) == ["CBF-barlowtwins-aug_recon_rate0-seed1.h5",
                                                        "CBF-barlowtwins-aug_recon_rate0.5-seed1.h5"]
    with RunFile.open(out / "CBF-barlowtwins-aug_recon_rate0.5-seed1.h5") as run:
        assert run.config["ssl"]["aug_recon_rate"] == 0.5 and run.step == 2
    assert "| aug_recon_rate=0.5 | " in table and (out / "ablation-CBF-barlowtwins-aug-recon-rate.csv").is_file()
    bad = tmp_path / "bad"
    assert main([*argv[:-len(FAST) - 5], "--out-dir", str(bad), "--set", "ssl.aug_recon_rat=1"]) == 1
    assert "unknown key in section 'ssl'" in capsys.readouterr().err and list(bad.iterdir()) == []
