"""Time to open the Results view on a 1000-run workspace: first indexing, and again from the index file.

Builds the same workspace as `benchmarks/results_index.py` (one tiny real CBF run, copied `--runs`
times with their own seed, codebook size, status and evaluation results), then, offscreen, times
from `ResultsView.refresh()` until the table shows its groups (indexing on the worker, grouping,
best marks, the model reset and the column widths): once with no index file (every file opened),
then the median of `--repeats` opens of a fresh view with the index file in place. It also times
what the user does next on 1000 rows: one row per run, a range filter, sorting a column, and
pinning a baseline. It reports the UI thread's longest stall while indexing (the worker must keep
the UI responsive).

Usage: QT_QPA_PLATFORM=offscreen python benchmarks/results_view.py [--runs 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from results_index import cpu_info, tiny_run, write_copies  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"CPU: {cpu_info()}")
    with tempfile.TemporaryDirectory() as tmp:
        for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
            os.environ[var] = str(Path(tmp) / var.lower())
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QApplication

        app = QApplication(["tsstudio-benchmark"])
        from tsstudio.gui.theme import apply_theme
        from tsstudio.gui.views.results_view import ResultsView
        from tsstudio.store.results_filters import RowFilter

        apply_theme("dark")
        root = Path(tmp) / "workspace"
        root.mkdir()
        write_copies(tiny_run(Path(tmp)), root, args.runs)

        def open_view() -> tuple[float, float, ResultsView]:
            view = ResultsView()
            view.folder = root
            view.resize(1366, 768)
            view._dirty = False  # index once, from refresh() below, not also from the first showEvent
            view.show()
            app.processEvents()
            start = time.perf_counter()
            view.refresh()
            stall, last = 0.0, time.perf_counter()
            while view._last is None:
                app.processEvents()
                now = time.perf_counter()
                stall, last = max(stall, now - last), now
                time.sleep(0.001)
            elapsed = time.perf_counter() - start
            return elapsed, stall, view

        def close(view: ResultsView) -> None:
            view.shutdown()
            view.close()
            view.deleteLater()
            app.processEvents()

        first, first_stall, view = open_view()
        groups, n_read = view.model.rowCount(), view._last.n_read
        close(view)
        times, stalls = [], []
        for _ in range(args.repeats):
            elapsed, stall, view = open_view()
            assert view._last.n_read == 0 and len(view.rows) == args.runs
            times.append(elapsed)
            stalls.append(stall)
            close(view)
        elapsed, _, view = open_view()

        def timed(fn: object) -> float:
            start = time.perf_counter()
            fn()  # type: ignore[operator]
            app.processEvents()
            return time.perf_counter() - start

        ungroup = timed(lambda: view.group_mode.setCurrentIndex(view.group_mode.findData("none")))
        rows = view.model.rowCount()
        filt = timed(lambda: view.add_filter(RowFilter.range("svm_accuracy", 0.5, 0.55)))
        kept = view.proxy.rowCount()
        view.clear_filters()
        col = view.model.column_of("svm_accuracy")
        sort = timed(lambda: view.view.sortByColumn(col, Qt.SortOrder.DescendingOrder))
        pin = timed(lambda: view.set_baseline(0))
        close(view)
        print(f"Results view on {args.runs} run files ({groups} groups)")
        print(f"  first open (no index file, {n_read} files opened):  {first:.3f} s"
              f"   longest UI stall {first_stall * 1000:.0f} ms")
        print(f"  open with the index file (median of {args.repeats}):        {statistics.median(times):.3f} s"
              f"   longest UI stall {statistics.median(stalls) * 1000:.0f} ms (median), {max(stalls) * 1000:.0f} ms (max)")
        print(f"  one row per run ({rows} rows):                       {ungroup * 1000:.0f} ms")
        print(f"  range filter ({kept} rows kept):                      {filt * 1000:.0f} ms")
        print(f"  sort a metric column:                                {sort * 1000:.0f} ms")
        print(f"  pin a baseline:                                      {pin * 1000:.0f} ms")


if __name__ == "__main__":
    main()
