"""The `tsstudio` command line: datasets, presets, train, eval and runs, headless."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tsstudio import __version__
from tsstudio.cli.argtypes import Parser, integer, setting
from tsstudio.errors import TsstudioError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = Parser(
        prog="tsstudio",
        description="Train and evaluate VQ-VAE time-series tokenizers. Without a command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"tsstudio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("datasets", help="list the datasets that can be trained on")
    p.add_argument("--data-dir", help="folder in the UCR archive layout (<Name>/<Name>_TRAIN.tsv[.gz])")

    sub.add_parser("presets", help="list the configuration presets")

    p = sub.add_parser("config", help="print a preset's full configuration as YAML")
    p.add_argument("--preset", default="regular")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")

    p = sub.add_parser("train", help="train a tokenizer and write a run file")
    p.add_argument("--dataset", help="dataset name (see `tsstudio datasets`); default: the config's")
    p.add_argument("--data-dir", help="folder in the UCR archive layout")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--preset", help="preset name (see `tsstudio presets`); default: regular")
    group.add_argument("--config", help="configuration YAML file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one value, e.g. --set quantizer.codebook_size=64 (repeatable)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=setting("trainer.epochs"), help="training epochs")
    budget.add_argument("--max-steps", type=setting("trainer.max_steps", low=1), help="training steps (overrides epochs)")
    p.add_argument("--seed", type=setting("trainer.seed"))
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--out", help="run file to write (RUN.h5)")
    p.add_argument("--resume", metavar="RUN.h5", help="continue a stopped or interrupted run from its checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("eval", help="evaluate a run (tokenizer: reconstruction, probes, codebook; prior: FID, IS, CAS)")
    p.add_argument("run", metavar="RUN.h5")
    p.add_argument("--data-dir", help="folder in the UCR archive layout (default: where the run found it)")
    p.add_argument("--weights", choices=("latest", "best"), default="latest")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    p.add_argument("--fcn-epochs", type=integer(1), default=1000, help="prior runs: epochs of the cached FCN classifier")
    p.add_argument("--fcn-cache", metavar="DIR", help="prior runs: where the FCN is cached (default: fcn-cache/ beside the run)")
    p.add_argument("--cas-epochs", type=integer(1), default=1000, help="prior runs: epochs of the CAS classifier")
    p.add_argument("--no-cas", action="store_true", help="prior runs: skip the CAS classifier")
    p.add_argument("--cas-precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="prior runs: the CAS classifier's precision (auto: bf16 where the device has it natively)")
    p.add_argument("--quiet", action="store_true", help="prior runs: no progress bars")

    p = sub.add_parser("prior", help="train a MaskGIT prior on a finished tokenizer run's tokens")
    p.add_argument("--tokenizer", metavar="RUN.h5", help="the tokenizer run")
    p.add_argument("--variant", choices=("regular", "token-context", "learnable-codebook"))
    group = p.add_mutually_exclusive_group()
    group.add_argument("--preset", help="prior preset (see `tsstudio presets`); default: maskgit")
    group.add_argument("--config", help="configuration YAML whose prior and trainer sections are used")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--epochs", type=setting("trainer.epochs"))
    budget.add_argument("--max-steps", type=setting("trainer.max_steps", low=1))
    p.add_argument("--seed", type=setting("trainer.seed"))
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--data-dir")
    p.add_argument("--out", help="prior run file to write (PRIOR.h5)")
    p.add_argument("--resume", metavar="PRIOR.h5")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true")

    p = sub.add_parser("sample", help="sample series from a prior run by iterative decoding")
    p.add_argument("prior_run", metavar="PRIOR.h5")
    p.add_argument("--n", type=integer(1), default=16)
    p.add_argument("--class", dest="class_id", type=integer(0), help="class to condition on (default: unconditional)")
    p.add_argument("--guidance", type=setting("prior.guidance_scale"), help="classifier-free guidance scale (default: the run's)")
    p.add_argument("--steps", type=setting("prior.decoding_steps"), help="decoding steps T (default: the run's)")
    p.add_argument("--choice-temperature", type=setting("prior.choice_temperature"))
    p.add_argument("--temperature", type=setting("prior.sampling_temperature"), help="sampling temperature")
    p.add_argument("--seed", type=setting("trainer.seed"), default=0)
    p.add_argument("--record-steps", action="store_true", help="keep tokens and series after every step")
    p.add_argument("--weights", choices=("latest", "best"), default="latest")
    p.add_argument("--out", required=True, metavar="GEN.h5")
    p.add_argument("--overwrite", action="store_true")

    p = sub.add_parser("export-tokens", help="write a tokenizer run's token grids, labels and codebook to HDF5")
    p.add_argument("run", metavar="RUN.h5")
    p.add_argument("--split", choices=("train", "test", "all"), default="all")
    p.add_argument("--data-dir")
    p.add_argument("--weights", choices=("latest", "best"), default="latest")
    p.add_argument("--out", required=True, metavar="TOKENS.h5")
    p.add_argument("--overwrite", action="store_true")

    p = sub.add_parser("reproduce", help="run the published protocol over seeds and tabulate it beside the published figures")
    p.add_argument("--dataset", required=True)
    p.add_argument("--preset", default="regular")
    p.add_argument("--seeds", type=setting("trainer.seed"), nargs="+", default=[1, 2, 3, 4])
    p.add_argument("--epochs", type=setting("trainer.epochs"), default=1000)
    p.add_argument("--data-dir")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--out-dir", required=True, help="folder for the run files and the report")
    p.add_argument("--quiet", action="store_true")

    p = sub.add_parser("report-priors", help="tabulate evaluated prior runs' FID / IS / CAS beside the published figures")
    p.add_argument("runs", nargs="+", metavar="PRIOR.h5")
    p.add_argument("--out", metavar="REPORT.md", help="also write the table to this file")

    p = sub.add_parser("ablate", help="run an SSL ablation study over seeds and write its summary tables")
    p.add_argument("--dataset", required=True)
    p.add_argument("--method", required=True, choices=("barlowtwins", "vibcreg", "vicreg"))
    p.add_argument("--study", required=True, choices=("augmentations", "aug-recon-rate"))
    p.add_argument("--seeds", type=setting("trainer.seed"), nargs="+", default=[1, 2])
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--epochs", type=setting("trainer.epochs"))
    budget.add_argument("--max-steps", type=setting("trainer.max_steps", low=1))
    p.add_argument("--rates", type=setting("ssl.aug_recon_rate"), nargs="+",
                   help="aug_recon_rate grid (default 0 0.05 0.1 0.2 0.5)")
    p.add_argument("--base-preset", help="preset the cells start from (default: <method>-slice)")
    p.add_argument("--data-dir")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--quiet", action="store_true")

    p = sub.add_parser("runs", help="list the runs in a folder")
    p.add_argument("folder", nargs="?", default=".")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    from tsstudio.cli.explore_commands import add_explore_parsers

    add_explore_parsers(sub)
    from tsstudio.cli.sweep_command import add_sweep_parser

    add_sweep_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run one subcommand; user errors print one line and return 1."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        return open_app(parser)
    try:
        from tsstudio.cli import commands, explore_commands

        if args.command in explore_commands.EXPLORE_COMMANDS:
            commands = explore_commands
        if args.command == "sweep":
            from tsstudio.cli import sweep_command as commands
        handler = getattr(commands, f"cmd_{args.command.replace('-', '_')}")
        return int(handler(args) or 0)
    except TsstudioError as exc:
        print(f"tsstudio {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"tsstudio {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def open_app(parser: argparse.ArgumentParser) -> int:
    """With no subcommand, open the desktop app (or explain how to get it)."""
    try:
        from tsstudio.gui.app import main as app_main
    except ImportError as exc:
        parser.print_help()
        print(f"\nThe desktop app needs the gui extra (pip install 'tsstudio[gui]'): {exc}", file=sys.stderr)
        return 1
    return app_main([])
