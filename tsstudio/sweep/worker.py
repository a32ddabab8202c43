"""`python -m tsstudio.sweep.worker CELL_JSON WORKSPACE THREADS [DEVICE]`: one cell in its own process.

The local executor starts one of these per cell, in a session of its own (so a Ctrl-C meant for the
sweep reaches the worker only through the sweep, once). SIGTERM or SIGINT asks the cell to
checkpoint and stop. The exit code says how the cell ended (`cell_run.EXIT_CODES`).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the cell given on the command line; return its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) not in (3, 4):
        print("usage: python -m tsstudio.sweep.worker CELL_JSON WORKSPACE THREADS [DEVICE]", file=sys.stderr)
        return 2
    cell_json, workspace, threads = args[0], args[1], int(args[2])
    device = args[3] if len(args) == 4 and args[3] else None
    if threads > 0:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(threads)  # before torch loads

    from tsstudio.sweep.cell_run import EXIT_CODES, cell_from_json, run_cell
    from tsstudio.train import TrainingControl

    control = TrainingControl()

    def stop(signum, frame):  # noqa: ANN001, ARG001 - a second signal changes nothing: the stop is under way
        control.request_stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    cell = cell_from_json(cell_json)
    outcome = run_cell(cell, workspace, num_threads=threads, device=device, control=control)
    if outcome.error:
        print(f"{cell.name}: {outcome.status} at {outcome.stage}: {outcome.error}", file=sys.stderr)
    return EXIT_CODES[outcome.status]


if __name__ == "__main__":
    sys.exit(main())
