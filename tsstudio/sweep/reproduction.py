"""Run the published protocol for a dataset and preset over seeds, and tabulate it beside the published figures."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsstudio.config import load_preset
from tsstudio.sweep.cell_run import run_cell_here
from tsstudio.sweep.published import published_results
from tsstudio.sweep.spec import CellSpec
from tsstudio.train import TrainingControl

# (our result key, published key, label, note on how the two are measured)
STAGE1_ROWS = (
    ("svm_accuracy", "svm_accuracy", "SVM probe accuracy", "same protocol; ours in eval mode (no EMA/BN leakage)"),
    ("knn_accuracy", "knn_accuracy", "KNN probe accuracy (k=5)", "same protocol; ours in eval mode"),
    ("val_loss", "val_loss", "test reconstruction MSE(x) + MSE(STFT)", "ours: whole test set; published: last test batch"),
    ("test_mse_time", None, "test MSE, time domain", ""),
    ("test_mse_stft", None, "test MSE, STFT domain", ""),
    ("perplexity", "val_perplexity", "codebook perplexity on test data", "ours: whole test set; published: last test batch"),
    ("dead_codes", None, "codes unused on the test set (of 32)", ""),
    ("codebook_mean_abs_corr", "mean_abs_corr_off_diagonal", "codebook mean abs. correlation, off-diagonal", ""),
    ("codebook_mean_abs_cos", "mean_abs_cos_sim_off_diagonal", "codebook mean abs. cosine similarity, off-diagonal", ""),
    ("training_time_s", "training_time", "training time (s)", "ours: this CPU machine; published: a GPU"),
)


@dataclass
class SeedResult:
    """One seed's run file and evaluation."""

    seed: int
    path: Path
    results: dict[str, Any]


def seed_cell(dataset: str, preset: str, seed: int, epochs: int, data_dir: str | None,
              overrides: Sequence[str] = ()) -> CellSpec:
    """The sweep cell of one seed of a reproduction: `<dataset>-<preset>-seed<seed>.h5`, trained and evaluated."""
    return CellSpec(name=f"{dataset}-{preset}-seed{seed}", dataset=dataset, data_dir=data_dir, preset=preset, seed=seed,
                    overrides=(f"trainer.epochs={epochs}", "trainer.max_steps=0", *overrides), stages=("tokenizer", "eval"))


def run_seed(
    dataset: str,
    preset: str,
    seed: int,
    epochs: int,
    out_dir: Path,
    data_dir: str | None,
    overrides: Sequence[str] = (),
    listeners: Iterable[Callable[[Any], None]] = (),
    control: TrainingControl | None = None,
) -> SeedResult:
    """Train (or finish, or reuse) one seed's run and evaluate it, as a sweep cell run in this process."""
    cell = seed_cell(dataset, preset, seed, epochs, data_dir, overrides)
    results = run_cell_here(cell, out_dir, control=control, listeners=list(listeners))
    return SeedResult(seed, cell.tokenizer_path(out_dir), results)


def _mean_std(values: list[float]) -> str:
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return "-"
    mean = statistics.fmean(values)
    digits = 0 if abs(mean) >= 100 else 4
    if len(values) == 1:  # one seed has no spread to report
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def report(dataset: str, preset: str, epochs: int, seeds: list[SeedResult]) -> str:
    """Markdown table of our mean ± std over seeds beside the published mean ± std."""
    published = published_results().get(dataset, {}).get(preset, {})
    lines = [
        f"# Reproduction: {dataset}, preset `{preset}`",
        "",
        f"Protocol: method §7–8 — {epochs} epochs, batch 128, AdamW 1e-3 / wd 1e-3, cosine to 0, probes on the",
        "final model (linear SVC C=1 and 5-NN on MinMax-scaled mean-pooled z_q, UCR train → UCR test).",
        f"Seeds: {', '.join(str(s.seed) for s in seeds)}. Published: mean ± sample std over 4 runs.",
        "",
        f"| metric | tsstudio ({'mean ± std' if len(seeds) > 1 else 'one seed'}) | published (mean ± std) "
        "| how they are measured |",
        "|---|---|---|---|",
    ]
    for key, pub_key, label, note in STAGE1_ROWS:
        ours = _mean_std([float(s.results.get(key, math.nan)) for s in seeds])
        pub = published.get(pub_key) if pub_key else None
        pub_text = (f"{pub[0]:.0f} ± {pub[1]:.0f}" if pub[0] >= 100 else f"{pub[0]:.4f} ± {pub[1]:.4f}") if pub else "-"
        lines.append(f"| {label} | {ours} | {pub_text} | {note} |")
    lines += [
        "",
        "Per seed:",
        "",
        "| seed | run file | SVM | KNN | val_loss | perplexity | dead codes |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in seeds:
        r = s.results
        lines.append(
            f"| {s.seed} | {s.path.name} | {r['svm_accuracy']:.4f} | {r['knn_accuracy']:.4f} | {r['val_loss']:.4f} | "
            f"{r['perplexity']:.2f} | {r['dead_codes']} |"
        )
    return "\n".join(lines) + "\n"


def reproduce(
    dataset: str,
    preset: str,
    seeds: Sequence[int],
    epochs: int,
    out_dir: Path,
    data_dir: str | None = None,
    overrides: Sequence[str] = (),
    listeners: Iterable[Callable[[Any], None]] = (),
    control: TrainingControl | None = None,
) -> Path:
    """Train and evaluate every seed (reusing finished runs), write the markdown report; return its path."""
    load_preset(preset, kind="tokenizer")  # a prior preset (maskgit) configures no tokenizer: refuse before any run
    for seed in seeds:
        seed_cell(dataset, preset, seed, epochs, data_dir, overrides).tokenizer_config()  # and a bad --set
    out_dir.mkdir(parents=True, exist_ok=True)
    results = [run_seed(dataset, preset, s, epochs, out_dir, data_dir, overrides, listeners, control) for s in seeds]
    path = out_dir / f"reproduction-{dataset}-{preset}.md"
    path.write_text(report(dataset, preset, epochs, results), encoding="utf-8")
    return path


# (our evaluation key, published key, label)
STAGE2_ROWS = (
    ("fid", "FID", "FID (FCN features, generated vs real test)"),
    ("is_mean", "IS_mean", "IS mean (10 splits)"),
    ("is_std", "IS_std", "IS std over splits"),
    ("cas_val_acc_ema", "val_acc_ema", "CAS (EMA of per-batch real-test accuracy)"),
)


@dataclass
class PriorResult:
    """An evaluated prior run: what it was trained on, how, and its stored evaluation."""

    path: Path
    dataset: str
    tokenizer_preset: str
    variant: str
    prior_preset: str
    seed: int | None
    evaluation: dict[str, Any]


def read_prior_result(path: Path) -> PriorResult:
    """The evaluation stored in a prior run (by `tsstudio eval`) and the tokenizer preset it builds on."""
    from tsstudio.errors import RunFileError, wrong_kind
    from tsstudio.store import RunFile

    with RunFile.open(path) as run:
        if run.kind != "prior":
            raise wrong_kind(path, run.kind, "prior")
        evaluation = {k: v for k, v in run.evaluation().items() if not hasattr(v, "shape")}
        if "fid" not in evaluation:
            raise RunFileError(f"{path}: has no generative evaluation yet; run `tsstudio eval {path}` first")
        config = run.config
        tokenizer_path = Path(str(run.attrs.get("tokenizer_run", "")))
        seed = config.get("trainer", {}).get("seed")
    tokenizer_preset = "?"
    if tokenizer_path.is_file():
        with RunFile.open(tokenizer_path) as tok:
            tokenizer_preset = tok.preset or "?"
    return PriorResult(path, str(config.get("data", {}).get("dataset", "?")), tokenizer_preset,
                       str(config.get("prior", {}).get("variant", "?")), str(config.get("preset", "?")), seed, evaluation)


def _pub(value: list[float] | None) -> str:
    return f"{value[0]:.4g} ± {value[1]:.2g}" if value else "-"


def stage2_report(results: Sequence[PriorResult]) -> str:
    """Markdown: each evaluated prior's FID / IS / CAS beside the published figures for its tokenizer preset."""
    published = published_results()
    lines = [
        "| tokenizer preset | prior | metric | tsstudio | published (mean ± std, 4 runs) |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        pub = published.get(r.dataset, {}).get(r.tokenizer_preset, {})
        prior = f"{r.variant} ({r.prior_preset}, seed {r.seed})"
        for key, pub_key, label in STAGE2_ROWS:
            value = r.evaluation.get(key)
            ours = "-" if value is None else f"{float(value):.4f}"
            lines.append(f"| {r.tokenizer_preset} | {prior} | {label} | {ours} | {_pub(pub.get(pub_key))} |")
    lines += [
        "",
        "| prior run | dataset | real-vs-real FID floor (train vs test) | FCN test accuracy | FCN epochs | CAS epochs "
        "| CAS precision | CAS final accuracy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        e = r.evaluation

        def f(key: str, digits: int = 4, e: dict[str, Any] = e) -> str:
            value = e.get(key)
            return "-" if value is None else (f"{value:.{digits}f}" if isinstance(value, float) else str(value))

        lines.append(
            f"| {r.path.name} | {r.dataset} | {f('real_fid_floor')} | {f('fcn_test_accuracy')} | {f('fcn_epochs')} | "
            f"{f('cas_epochs')} | {f('cas_precision')} | {f('cas_accuracy')} |"
        )
    return "\n".join(lines) + "\n"
