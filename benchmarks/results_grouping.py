"""Time the Results view spends on the UI thread when it regroups 1000 runs, against a baseline.

The rows are built in memory (`ResultRow`s with the full flattened `regular` preset, about 75 keys,
four codebook sizes × two learning rates, one seed each), so no file is read: what is timed is what
runs on the UI thread after indexing, i.e. `group_rows` with the default keys (all but the seed) and
the view's whole `rebuild()` grouped and with one row per run (grouping, column choice, best marks,
model reset, column widths). The baseline, timed in the same run, is one plain pass that reads
every grouping key of every row into a tuple — the least any grouping must do — so the ratios
compare across machines and loads. Medians of `--repeats` after one warm-up.

Usage: QT_QPA_PLATFORM=offscreen python benchmarks/results_grouping.py [--runs 1000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import random
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from results_index import cpu_info  # noqa: E402
from timing import median_time  # noqa: E402


def make_rows(n: int) -> list:
    from tsstudio.config import load_preset
    from tsstudio.config.flat import flatten_config
    from tsstudio.config.io import to_dict
    from tsstudio.store.results_index import ResultRow

    rng = random.Random(0)
    base = flatten_config(to_dict(load_preset("regular")))
    rows = []
    for i in range(n):
        config = dict(base)
        config["quantizer.codebook_size"] = (8, 16, 32, 64)[i % 4]
        config["trainer.lr"] = (1e-3, 5e-4)[(i // 4) % 2]
        config["trainer.seed"] = i
        metrics = {"test_mse_time": rng.random(), "test_mse_stft": rng.random(), "val_loss": rng.random(),
                   "svm_accuracy": rng.random(), "knn_accuracy": rng.random(), "perplexity": 10 * rng.random()}
        rows.append(ResultRow(Path(f"/bench/run{i}.h5"), f"run{i}", "tokenizer", "finished", "CBF", "regular", i, 100,
                              config, metrics))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(f"CPU: {cpu_info()}; load average {os.getloadavg()[0]:.1f}")
    from PySide6.QtWidgets import QApplication

    app = QApplication(["tsstudio-benchmark"])
    from tsstudio.gui.exploration_worker import IndexResult
    from tsstudio.gui.views.results_view import ResultsView
    from tsstudio.store.results_index import default_group_keys, group_rows

    rows = make_rows(args.runs)
    keys = default_group_keys(rows)

    def baseline() -> None:
        for row in rows:
            tuple(row.value(k) for k in keys)

    base = median_time(baseline, args.repeats)
    grouping = median_time(lambda: group_rows(rows), args.repeats)
    view = ResultsView()
    view.resize(1366 - 450, 700)
    view.show()
    view.folder = Path("/bench")
    view._on_indexed(IndexResult("/bench", rows, 0, len(rows), 0.0))
    app.processEvents()
    groups = view.model.rowCount()
    grouped = median_time(view.rebuild, args.repeats)
    view.group_mode.setCurrentIndex(view.group_mode.findData("none"))
    ungrouped = median_time(view.rebuild, args.repeats)
    per_run = view.model.rowCount()
    view.shutdown()
    print(f"{args.runs} runs, {len(keys)} grouping keys, {groups} groups; medians of {args.repeats}")
    print(f"  baseline (read every grouping key of every row):  {base * 1000:7.1f} ms   1.00 ×")
    print(f"  group_rows (default keys):                         {grouping * 1000:7.1f} ms  {grouping / base:5.2f} ×")
    print(f"  view rebuild, grouped ({groups} rows):               {grouped * 1000:7.1f} ms  {grouped / base:5.2f} ×")
    print(f"  view rebuild, one row per run ({per_run} rows):     {ungrouped * 1000:7.1f} ms  {ungrouped / base:5.2f} ×")


if __name__ == "__main__":
    main()
