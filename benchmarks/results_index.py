"""Time to build the results table of a 1000-run workspace: first indexing, and again from the index file.

Trains one tiny real CBF tokenizer run (2 steps, small model), then writes `--runs` copies of it
into a fresh workspace folder, each with its own seed, codebook size, status and evaluation
results (the weights, checkpoints and snapshots are left out of the copies: the index never
reads them, and leaving them out keeps 1000 files small). It then times `index_runs` +
`results_table` on the first pass (every file opened) and on later passes (rows reused from the
index file, median of `--repeats`), and once more after one file changed.

Usage: python benchmarks/results_index.py [--runs 1000] [--repeats 5] [--dir FOLDER]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import h5py
from timing import median_time

from tsstudio.cli.main import main as cli
from tsstudio.store import write_evaluation
from tsstudio.store.results_index import index_runs, results_table

SKIPPED = ("weights", "checkpoint", "snapshots")


def cpu_info() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model or platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, {platform.python_version()}"


def tiny_run(folder: Path) -> Path:
    path = folder / "source.h5"
    flags = ["trainer.batch_size=32", "trainer.device=cpu", "trainer.num_threads=1", "encoder.dim=8", "decoder.dim=8",
             "encoder.n_resnet_blocks=1", "decoder.n_resnet_blocks=1", "quantizer.codebook_size=8"]
    args = ["train", "--dataset", "CBF", "--max-steps", "2", "--out", str(path), "--quiet"]
    for flag in flags:
        args += ["--set", flag]
    if cli(args) != 0:
        raise SystemExit("training the source run failed")
    return path


def write_copies(source: Path, folder: Path, n: int) -> None:
    """`n` run files in `folder` (100 per subfolder), each a slim copy of `source` with its own attributes."""
    with h5py.File(source, "r") as src:
        attrs = dict(src.attrs)
        config = json.loads(attrs["config"])
        for i in range(n):
            sub = folder / f"sweep{i // 100:02d}"
            sub.mkdir(exist_ok=True)
            seed, size = 1 + i % 5, (8, 16, 32, 64)[(i // 5) % 4]
            config["trainer"]["seed"], config["quantizer"]["codebook_size"] = seed, size
            with h5py.File(sub / f"run{i:04d}.h5", "w", libver="latest") as dst:
                for key, value in attrs.items():
                    dst.attrs[key] = value
                dst.attrs["config"], dst.attrs["seed"] = json.dumps(config), seed
                dst.attrs["status"] = "finished" if i % 10 else "stopped"
                for key in src:
                    if key not in SKIPPED:
                        src.copy(src[key], dst, name=key)
                g = dst.create_group("evaluation")
                g.attrs["svm_accuracy"] = 0.5 + 0.001 * (i % 97)
                g.attrs["test_mse_time"] = 1.0 / size + 0.01 * seed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dir", help="workspace folder to create (default: a temporary folder)")
    args = parser.parse_args()
    print(f"CPU: {cpu_info()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.dir) if args.dir else Path(tmp) / "workspace"
        root.mkdir(parents=True, exist_ok=False)
        source = tiny_run(Path(tmp))
        start = time.perf_counter()
        write_copies(source, root, args.runs)
        sizes = sum(p.stat().st_size for p in root.rglob("*.h5"))
        print(f"wrote {args.runs} run files ({sizes / 1e6:.1f} MB) in {time.perf_counter() - start:.1f} s")

        def build() -> int:
            index = index_runs(root)
            return len(results_table(index.rows).groups)

        start = time.perf_counter()
        groups = build()
        first = time.perf_counter() - start
        again = median_time(build, args.repeats)
        index = index_runs(root)
        assert index.n_read == 0 and len(index.rows) == args.runs
        write_evaluation(next(root.rglob("run0001.h5")), {"svm_accuracy": 0.9})
        start = time.perf_counter()
        build()
        one_changed = time.perf_counter() - start
        print(f"results table of {args.runs} runs, {groups} groups")
        print(f"  first indexing (every file opened):     {first:.3f} s")
        print(f"  from the index file (median of {args.repeats}):     {again:.3f} s  (target < 1 s)")
        print(f"  after one file changed:                 {one_changed:.3f} s")
        print(f"  index file: {(root / '.tsstudio-results.json').stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
