"""Implementations of the CLI subcommands (imported lazily so `--help` stays fast)."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsstudio.cli.output import install_stop_handler, print_json, print_table, resolve_out, resolve_out_dir
from tsstudio.cli.progress import ProgressBar, StageProgress
from tsstudio.config import apply_overrides, dump_yaml, list_presets, load_preset, load_yaml
from tsstudio.config.io import to_dict
from tsstudio.config.schema import RunConfig
from tsstudio.errors import TsstudioError

if TYPE_CHECKING:
    from tsstudio.sweep.resume import ResumePlan


def cmd_datasets(args: argparse.Namespace) -> int:
    from tsstudio.data import list_datasets  # imports numpy, which presets and config do without

    infos = list_datasets(args.data_dir, label_column=args.label_column)
    rows = []
    for info in infos:
        fmt = "built-in" if info.source == "built-in" else info.format
        if getattr(info, "error", ""):
            rows.append([info.name, "-", "-", "-", "-", "-", fmt, f"error: {info.error}"])
        else:
            classes = str(info.n_classes) if info.n_classes else "unlabelled"
            rows.append([info.name, str(info.n_train), str(info.n_test), str(info.length), classes, str(info.channels),
                         fmt, info.source])
    print_table(["name", "train", "test", "length", "classes", "channels", "format", "source"], rows)
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    print_table(["name", "kind", "description"], [[p.name, p.kind, p.description] for p in list_presets()])
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    config = apply_overrides(load_preset(args.preset), args.overrides)
    sys.stdout.write(dump_yaml(config))
    return 0


def trainer_flags(args: argparse.Namespace) -> list[str]:
    """`section.key=value` overrides for the dedicated budget, seed and device flags."""
    flags = []
    if args.epochs is not None:
        flags += [f"trainer.epochs={args.epochs}", "trainer.max_steps=0"]
    if args.max_steps is not None:
        flags.append(f"trainer.max_steps={args.max_steps}")
    if args.seed is not None:
        flags.append(f"trainer.seed={args.seed}")
    if args.device:
        flags.append(f"trainer.device={args.device}")
    return flags


def build_config(args: argparse.Namespace) -> RunConfig:
    """Preset or file, then the dedicated flags, then --set overrides (the last word wins)."""
    config = load_yaml(args.config) if args.config else load_preset(args.preset or "regular", kind="tokenizer")
    flags = [f"data.dataset={args.dataset}"] if args.dataset else []
    if getattr(args, "label_column", None) is not None:
        flags.append(f"data.label_column={args.label_column}")
    return apply_overrides(config, flags + trainer_flags(args) + list(args.overrides))


def resume_plan(args: argparse.Namespace, kind: str, flags: list[str] | None = None) -> ResumePlan:
    """The core resume plan for `--resume`: the flags given are changes the run must allow, never ignored."""
    from tsstudio.sweep.resume import plan_resume

    if args.out or args.overwrite:
        given = f"--out {args.out}" if args.out else "--overwrite"
        raise TsstudioError(f"{given}: a resumed run is written in place; drop {given.split()[0]} or drop --resume")
    changes = [f"data.dataset={args.dataset}"] if getattr(args, "dataset", None) else []
    if getattr(args, "label_column", None) is not None:  # a change the run must allow, like --dataset
        changes.append(f"data.label_column={args.label_column}")
    changes += [*(flags or []), *trainer_flags(args), *args.overrides]
    requested = load_yaml(args.config) if getattr(args, "config", None) and kind == "tokenizer" else None
    return plan_resume(args.resume, kind, overrides=changes, requested=requested, preset=args.preset,
                       tokenizer=getattr(args, "tokenizer", None))


def run_with_progress(args: argparse.Namespace, out: Path, start: Any, fresh: bool = True) -> int:
    """Run `start(control, listeners)` with a progress bar and, once training steps, Ctrl-C as a cooperative stop.

    Ctrl-C during start-up (loading data, building the model) interrupts: exit 130 and no new run file.
    """
    from tsstudio.train import TrainingControl
    from tsstudio.train.events import StepMetrics

    control = TrainingControl()
    stepping: list[bool] = []
    restorers: list[Any] = []

    def arm_stop_handler(event: Any) -> None:
        if not stepping and isinstance(event, StepMetrics):
            stepping.append(True)
            restorers.append(install_stop_handler(control))

    bar = ProgressBar(disable=args.quiet)
    try:
        trainer = start(control, [arm_stop_handler, bar])
    finally:
        bar.close()
        for restore in restorers:
            restore()
    if not stepping and trainer.status == "stopped":  # Ctrl-C before the first step
        if fresh:
            out.unlink(missing_ok=True)
        raise KeyboardInterrupt
    if trainer.status == "failed":
        raise TsstudioError(f"training failed: {bar.failure or 'see the run file'} (run file: {out})")
    print(f"{trainer.status}: {out} (step {trainer.step}/{trainer.budget.total_steps})", file=sys.stderr)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from tsstudio.sweep import train_run

    resume_state = None
    if args.resume:
        plan = resume_plan(args, "tokenizer")
        config, out, resume_state = plan.config, Path(args.resume), plan.state
        data_dir = args.data_dir or plan.data_dir
    else:
        config, out, data_dir = build_config(args), resolve_out(args.out, args.overwrite, resumable=True), args.data_dir
    return run_with_progress(
        args, out,
        lambda control, listeners: train_run(config, out, data_dir=data_dir, resume_state=resume_state,
                                             control=control, listeners=listeners),
        fresh=not args.resume,
    )


def cmd_eval(args: argparse.Namespace) -> int:
    from tsstudio.store import RunFile
    from tsstudio.store.run_eval import evaluate_prior_run, evaluate_run

    with RunFile.open(args.run) as run:
        kind = run.kind
    if kind == "prior":
        bar = StageProgress(disable=args.quiet)
        try:
            results = evaluate_prior_run(Path(args.run), data_dir=args.data_dir, weights=args.weights, device=args.device,
                                         fcn_epochs=args.fcn_epochs, cas_epochs=args.cas_epochs, with_cas=not args.no_cas,
                                         cas_precision=args.cas_precision, progress=bar,
                                         fcn_cache=Path(args.fcn_cache) if args.fcn_cache else None)
        finally:
            bar.close()
    else:
        results = evaluate_run(Path(args.run), data_dir=args.data_dir, weights=args.weights, device=args.device)
    print_json(results)
    for key in ("probes_note", "fcn_note", "cas_note"):  # what an unlabelled dataset leaves out, and why
        if results.get(key):
            print(f"note: {results[key]}", file=sys.stderr)
    return 0


def cmd_prior(args: argparse.Namespace) -> int:
    from tsstudio.store import RunFile
    from tsstudio.sweep.runner import prior_config, train_prior_run

    resume_state = None
    flags = [f"prior.variant={args.variant}"] if args.variant else []
    if args.config:
        custom = to_dict(load_yaml(args.config))["prior"]
        flags = [f"prior.{k}={v}" for k, v in custom.items()] + flags
    if args.resume:
        plan = resume_plan(args, "prior", flags)
        config, out, resume_state = plan.config, Path(args.resume), plan.state
        tokenizer_path = Path(plan.attrs["tokenizer_run"])
        data_dir = args.data_dir or plan.data_dir
    else:
        if not args.tokenizer:
            raise TsstudioError("--tokenizer RUN.h5 is required (the finished tokenizer run to train on)")
        tokenizer_path = Path(args.tokenizer)
        with RunFile.open(tokenizer_path) as run:
            base = run.config
        config = prior_config(base, args.preset or "maskgit", [*flags, *trainer_flags(args), *args.overrides])
        out, data_dir = resolve_out(args.out, args.overwrite, resumable=True), args.data_dir
    return run_with_progress(
        args, out,
        lambda control, listeners: train_prior_run(tokenizer_path, config, out, data_dir=data_dir,
                                                   resume_state=resume_state, control=control, listeners=listeners),
        fresh=not args.resume,
    )


def cmd_sample(args: argparse.Namespace) -> int:
    from tsstudio.store import RunFile
    from tsstudio.store.exports import sample_prior, write_generations

    out = resolve_out(args.out, args.overwrite)
    gen = sample_prior(Path(args.prior_run), args.n, args.class_id, guidance=args.guidance, steps=args.steps,
                       seed=args.seed, record_steps=args.record_steps, choice_temperature=args.choice_temperature,
                       sampling_temperature=args.temperature, weights=args.weights)
    with RunFile.open(args.prior_run) as run:
        codebook_size = int(run.attrs["codebook_size"])
    write_generations(out, gen, codebook_size)
    channels = f"{gen.series.shape[1]} channels, " if gen.series.ndim == 3 else ""
    print(f"{args.n} series ({channels}length {gen.series.shape[-1]}) written to {out}" if channels else
          f"{args.n} series of length {gen.series.shape[-1]} written to {out}", file=sys.stderr)
    return 0


def cmd_export_tokens(args: argparse.Namespace) -> int:
    from tsstudio.store.exports import export_tokens

    out = resolve_out(args.out, args.overwrite)
    export_tokens(Path(args.run), out, split=args.split, data_dir=args.data_dir, weights=args.weights)
    print(f"tokens written to {out}", file=sys.stderr)
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from tsstudio.sweep.reproduction import reproduce
    from tsstudio.train import TrainingControl

    out_dir = resolve_out_dir(args.out_dir)
    control = TrainingControl()
    restore_signals = install_stop_handler(control)
    bar = ProgressBar(disable=args.quiet)
    try:
        path = reproduce(
            args.dataset, args.preset, args.seeds, args.epochs, out_dir, args.data_dir,
            args.overrides, listeners=[bar], control=control,
        )
    finally:
        bar.close()
        restore_signals()
    sys.stdout.write(path.read_text(encoding="utf-8"))
    print(f"report: {path}", file=sys.stderr)
    return 0


def cmd_report_priors(args: argparse.Namespace) -> int:
    from tsstudio.sweep.reproduction import read_prior_result, stage2_report

    out = resolve_out(args.out, overwrite=True) if args.out else None
    text = stage2_report([read_prior_result(Path(p)) for p in args.runs])
    if out is not None:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise TsstudioError(f"{out}: cannot write the report ({exc.strerror or exc})") from None
        print(f"report: {args.out}", file=sys.stderr)
    sys.stdout.write(text)
    return 0


def cmd_ablate(args: argparse.Namespace) -> int:
    from tsstudio.sweep.ablation import DEFAULT_RATES, ablate
    from tsstudio.train import TrainingControl

    budget = [f"trainer.epochs={args.epochs}", "trainer.max_steps=0"] if args.epochs else [f"trainer.max_steps={args.max_steps}"]
    out_dir = resolve_out_dir(args.out_dir)
    control = TrainingControl()
    restore_signals = install_stop_handler(control)
    bar = ProgressBar(disable=args.quiet)
    try:
        csv_path, md_path = ablate(
            args.dataset, args.method, args.study, args.seeds, out_dir, budget, args.data_dir,
            args.base_preset, args.rates or DEFAULT_RATES, args.overrides, listeners=[bar], control=control,
        )
    finally:
        bar.close()
        restore_signals()
    sys.stdout.write(md_path.read_text(encoding="utf-8"))
    print(f"tables: {csv_path}, {md_path}", file=sys.stderr)
    return 0


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def cmd_runs(args: argparse.Namespace) -> int:
    from tsstudio.store import list_runs

    folder = Path(args.folder)
    if not folder.is_dir():
        raise TsstudioError(f"{folder}: folder not found")
    runs = list_runs(folder)
    if args.json:
        print_json([_summary_dict(r) for r in runs])
        return 0
    headers = ["run", "status", "kind", "dataset", "preset", "seed", "steps", "val_loss", "svm", "knn", "ppl"]
    rows = []
    for r in runs:
        h = r.headline
        rows.append([
            r.name, r.status, r.kind, r.dataset, r.preset, str(r.seed), f"{r.step}/{r.total_steps}",
            _fmt(h.get("val_loss")), _fmt(h.get("svm_accuracy"), 3), _fmt(h.get("knn_accuracy"), 3),
            _fmt(h.get("perplexity"), 1),
        ])
    if not rows:
        print(f"no runs in {folder}", file=sys.stderr)
        return 0
    print_table(headers, rows)
    return 0


def _summary_dict(summary: Any) -> dict:
    return {
        "path": os.fspath(summary.path),
        "name": summary.name,
        "status": summary.status,
        "kind": summary.kind,
        "dataset": summary.dataset,
        "preset": summary.preset,
        "seed": summary.seed,
        "step": summary.step,
        "total_steps": summary.total_steps,
        "headline": summary.headline,
    }
