"""The exploration subcommands: `compare` (two tokenizer runs), `results` (a workspace's table), `probe`.

Heavy modules (torch, h5py) are imported inside the handlers so `tsstudio --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tsstudio.cli.output import print_table
from tsstudio.errors import TsstudioError

EXPLORE_COMMANDS = ("compare", "results", "probe")


def add_explore_parsers(sub: Any) -> None:
    """Register `compare`, `results` and `probe` on the subcommand parser collection."""
    p = sub.add_parser("compare", help="compare two tokenizer runs on the test split (errors, probes, configuration)")
    p.add_argument("run_a", metavar="A.h5")
    p.add_argument("run_b", metavar="B.h5")
    p.add_argument("--csv", metavar="FILE", help="write the per-series test errors of both runs as CSV")
    p.add_argument("--data-dir", help="folder in the UCR archive layout (default: where run A found it)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    p.add_argument("--no-probes", action="store_true", help="skip the SVM and KNN probes")

    p = sub.add_parser("results", help="tabulate the runs of a folder, grouped, mean ± std per group")
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--group-by", metavar="KEYS",
                   help="comma-separated keys (config keys such as quantizer.codebook_size, or kind, dataset, "
                        "preset, seed, name); default: every config key but the seed and output names")
    p.add_argument("--metrics", metavar="NAMES", help="comma-separated metric columns (default: the usual ones present)")
    p.add_argument("--baseline", type=int, metavar="ROW", help="row number to pin; the others show their difference to it")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", metavar="FILE", help="also write the table as CSV")
    out.add_argument("--markdown", metavar="FILE", help="also write the table as markdown")

    p = sub.add_parser("probe", help="SVM and KNN probe accuracies of tokenizer runs, under our or the reference's protocol")
    p.add_argument("runs", metavar="RUN.h5", nargs="+")
    p.add_argument("--protocol", choices=("eval", "train-mode", "both"), default="eval",
                   help="eval: features in eval mode (the runs' own probe); train-mode: as the reference code computes "
                        "them (batch statistics, codebook EMA on train and test), for comparison; both")
    p.add_argument("--latent", choices=("z_q", "z", "both"), default="z_q",
                   help="pool the quantised latent (the method's probe), the encoder output before quantisation, or both")
    p.add_argument("--weights", choices=("latest", "best"), default="latest")
    p.add_argument("--data-dir", help="folder in the UCR archive layout (default: where each run found it)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    p.add_argument("--seed", type=int, default=0, help="train-mode: the order of the shuffled train batches")
    p.add_argument("--csv", metavar="FILE", help="also write the rows as CSV")


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def cmd_compare(args: argparse.Namespace) -> int:
    from tsstudio.store.run_compare import compare_runs, write_per_series_csv

    for path in (args.run_a, args.run_b):
        if not Path(path).is_file():
            raise TsstudioError(f"{path}: run file not found")
    if args.csv and not Path(args.csv).resolve().parent.is_dir():
        raise TsstudioError(f"--csv {args.csv}: folder {Path(args.csv).resolve().parent} does not exist")
    comparison = compare_runs(args.run_a, args.run_b, data_dir=args.data_dir, device=args.device,
                              with_probes=not args.no_probes)
    a, b = comparison.a, comparison.b
    print(f"A: {a.path} ({a.weights} weights, step {a.step})")
    print(f"B: {b.path} ({b.weights} weights, step {b.step})")
    print(f"test split of {comparison.dataset}: {len(comparison.labels)} series of length {comparison.length}\n")
    ea, eb = a.recon.whole_split_errors(), b.recon.whole_split_errors()
    rows = [[f"test_{name}", _fmt(ea[name], 6), _fmt(eb[name], 6), f"{eb[name] - ea[name]:+.6f}"] for name in ea]
    for name in ("svm_accuracy", "knn_accuracy"):
        if name in a.probes and name in b.probes:
            rows.append([name, _fmt(a.probes[name]), _fmt(b.probes[name]), f"{b.probes[name] - a.probes[name]:+.4f}"])
    print_table(["metric", "A", "B", "B-A"], rows)
    diff = comparison.config_difference
    print()
    if diff:
        print_table(["config key", "A", "B"], [[k, _fmt(va), _fmt(vb)] for k, (va, vb) in diff.items()])
    else:
        print("configurations: identical")
    if args.csv:
        out = write_per_series_csv(comparison, args.csv)
        print(f"per-series errors of {len(comparison.labels)} test series written to {out}", file=sys.stderr)
    return 0


def _split_keys(text: str | None) -> list[str] | None:
    if text is None:
        return None
    keys = [k.strip() for k in text.split(",") if k.strip()]
    return keys


def cmd_results(args: argparse.Namespace) -> int:
    from tsstudio.store.results_index import index_runs, results_table, table_cells, write_table

    folder = Path(args.folder)
    if not folder.is_dir():
        raise TsstudioError(f"{folder}: folder not found")
    for option, target in (("--csv", args.csv), ("--markdown", args.markdown)):
        if target and not Path(target).resolve().parent.is_dir():
            raise TsstudioError(f"{option} {target}: folder {Path(target).resolve().parent} does not exist")
    index = index_runs(folder)
    if not index.rows:
        print(f"no runs in {folder}", file=sys.stderr)
        return 0
    baseline = None if args.baseline is None else args.baseline - 1
    table = results_table(index.rows, _split_keys(args.group_by), _split_keys(args.metrics), baseline)
    unreadable = [r for r in index.rows if r.error]
    headers, cells = table_cells(table)
    print_table(headers, cells)
    print(f"{len(index.rows) - len(unreadable)} runs in {len(table.groups)} groups; mean ± std over each group; "
          "* best per column", file=sys.stderr)
    for row in unreadable:
        print(f"skipped {row.path}: {row.error}", file=sys.stderr)
    if args.csv or args.markdown:
        out = write_table(table, args.csv or args.markdown, "csv" if args.csv else "markdown")
        print(f"table written to {out}", file=sys.stderr)
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    import csv
    import io

    from tsstudio.store.run_eval import probe_run
    from tsstudio.store.text_files import write_text_atomic

    for path in args.runs:
        if not Path(path).is_file():
            raise TsstudioError(f"{path}: run file not found")
    if args.csv and not Path(args.csv).resolve().parent.is_dir():
        raise TsstudioError(f"--csv {args.csv}: folder {Path(args.csv).resolve().parent} does not exist")
    protocols = ("eval", "train-mode") if args.protocol == "both" else (args.protocol,)
    latents = ("z_q", "z") if args.latent == "both" else (args.latent,)
    headers = ["run", "step", "protocol", "latent", "svm_accuracy", "knn_accuracy"]
    rows = []
    for path in args.runs:
        for protocol in protocols:
            for latent in latents:
                r = probe_run(Path(path), protocol, latent, data_dir=args.data_dir, weights=args.weights,
                              device=args.device, seed=args.seed)
                rows.append([path, r["step"], protocol, latent, r["svm_accuracy"], r["knn_accuracy"]])
    print_table(headers, [[*row[:4], _fmt(row[4]), _fmt(row[5])] for row in rows])
    if "train-mode" in protocols:
        print("train-mode features leak test data into the codebook and depend on batch composition; "
              "they are for comparison with the reference's figures only", file=sys.stderr)
    if args.csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
        out = write_text_atomic(args.csv, buffer.getvalue(), "--csv")
        print(f"{len(rows)} rows written to {out}", file=sys.stderr)
    return 0
