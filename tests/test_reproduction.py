"""Reproduction reports: our mean ± std over seeds beside the published figures."""

from __future__ import annotations

from pathlib import Path

from tsstudio.sweep.reproduction import SeedResult, published_results, report

RESULTS = {"svm_accuracy": 0.90, "knn_accuracy": 0.80, "val_loss": 0.05, "perplexity": 15.0, "dead_codes": 0,
           "training_time_s": 1000.0}


def _seed(seed: int, **changes: float) -> SeedResult:
    return SeedResult(seed, Path(f"ECG5000-regular-seed{seed}.h5"), {**RESULTS, **changes})


def test_published_figures_are_parsed_per_dataset_and_preset() -> None:
    published = published_results()
    assert published["ECG5000"]["regular"]["svm_accuracy"] == [0.8284, 0.0189]
    assert published["ECG5000"]["barlowtwins-slice"]["FID"] == [2.56, 0.22]


def test_report_gives_mean_and_sample_std_beside_the_published_figures() -> None:
    text = report("ECG5000", "regular", 1000, [_seed(1, svm_accuracy=0.90), _seed(2, svm_accuracy=0.92)])
    # mean 0.91, sample std of (0.90, 0.92) = 0.01414
    assert "| SVM probe accuracy | 0.9100 ± 0.0141 | 0.8284 ± 0.0189 |" in text
    assert "| training time (s) | 1000 ± 0 | 1442 ± 524 |" in text
    assert "| 2 | ECG5000-regular-seed2.h5 | 0.9200 | 0.8000 | 0.0500 | 15.00 | 0 |" in text


def test_one_seed_reports_no_spread() -> None:
    text = report("ECG5000", "regular", 1000, [_seed(1)])
    assert "| metric | tsstudio (one seed) |" in text
    assert "| SVM probe accuracy | 0.9000 | 0.8284 ± 0.0189 |" in text and "± 0.0000" not in text
