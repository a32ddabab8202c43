"""`tsstudio sweep SPEC.yaml`: run a sweep file's grid of cells locally or on Ray, or show its plan or summary.

`--dry-run` and `--summary` read only the spec and the run files (no torch). While the sweep runs,
SIGINT (Ctrl-C) and SIGTERM both mean: the running cells checkpoint and stop, no new cell starts,
and the command exits 130; a second signal kills the workers at once (their runs resume from the
last checkpoint on the next invocation).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from tsstudio.cli.argtypes import integer
from tsstudio.cli.output import print_table
from tsstudio.errors import TsstudioError


def add_sweep_parser(sub: Any) -> None:
    """Register `sweep` on the subcommand parser collection."""
    p = sub.add_parser("sweep", help="run a sweep file (datasets × presets × grid × seeds) on local workers or a Ray cluster")
    p.add_argument("spec", metavar="SPEC.yaml", help="the sweep file")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local: worker processes on this machine (default); ray: one Ray task per cell")
    p.add_argument("--address", help="Ray cluster address (default: RAY_ADDRESS, else a local Ray started for the sweep)")
    p.add_argument("--workers", type=integer(1), help="cells at once (default: one per GPU, else one per core)")
    p.add_argument("--workspace", metavar="DIR", help="folder for the run files (default: the spec's, else SPEC/ beside it)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--dry-run", action="store_true", help="print the cells and what running the sweep would do")
    what.add_argument("--summary", action="store_true", help="print the summary tables of the cells finished so far")
    p.add_argument("--probe-protocols", action="store_true",
                   help="with --summary: also probe each finished tokenizer with the reference's train-mode features "
                        "and on the unquantised latent z (loads every model; takes a while)")


def cmd_sweep(args: argparse.Namespace) -> int:
    from tsstudio.sweep.spec import load_spec

    if args.address and args.executor != "ray":
        raise TsstudioError("--address: applies to --executor ray only")
    spec = load_spec(Path(args.spec), workspace=Path(args.workspace) if args.workspace else None)
    if args.dry_run:
        return _dry_run(spec)
    if args.probe_protocols and not args.summary:
        raise TsstudioError("--probe-protocols: applies to --summary only")
    if args.summary:
        return _summary(spec, args.probe_protocols)
    return _run(spec, args)


def _dry_run(spec: Any) -> int:
    from tsstudio.sweep.execute import describe
    from tsstudio.sweep.status import counts, sweep_states

    states = sweep_states(spec)
    print_table(["cell", "status", "would"], [[cell.name, state.status, describe(state, cell)] for cell, state in states])
    tally = counts(states)
    todo = len(states) - tally["finished"] - tally["running"]
    print(f"{len(states)} cells, {todo} to run; workspace {spec.workspace}", file=sys.stderr)
    return 0


def _summary(spec: Any, probe_variants: bool = False) -> int:
    from tsstudio.sweep.execute import write_summary
    from tsstudio.sweep.summary import summarize

    summary = summarize(spec, probe_variants=probe_variants)
    sys.stdout.write(summary.markdown())
    if spec.workspace.is_dir():
        md, csv = write_summary(spec, spec.workspace, summary)
        print(f"summary: {md}, {csv}", file=sys.stderr)
    return 0


def _run(spec: Any, args: argparse.Namespace) -> int:
    from tsstudio.sweep.execute import SweepControl, run_sweep

    control = SweepControl(spec.workspace)

    def handler(signum, frame):  # noqa: ANN001, ARG001
        if control.stop_requested:
            print("\nstopping now: killing the workers (their runs resume from the last checkpoint)", file=sys.stderr)
            control.abort()
        else:
            print("\nstopping the sweep: running cells checkpoint and stop (signal again to kill them)", file=sys.stderr)
            control.request_stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        report = run_sweep(spec, spec.workspace, executor=args.executor, workers=args.workers, address=args.address,
                           control=control)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
    sys.stdout.write(Path(report.summary_paths[0]).read_text(encoding="utf-8"))
    print(f"summary: {', '.join(str(p) for p in report.summary_paths)}", file=sys.stderr)
    if report.stopped:
        print("sweep stopped; run the same command again to resume it", file=sys.stderr)
        return 130
    if report.unfinished:
        failed = sum(o.status == "failed" for o in report.unfinished)
        stopped = len(report.unfinished) - failed
        print(f"{len(report.unfinished)} of {len(report.outcomes)} cells did not finish ({failed} failed, {stopped} stopped); "
              "run the same command again to retry and resume them", file=sys.stderr)
        return 1
    return 0
