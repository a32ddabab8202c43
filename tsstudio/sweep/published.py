"""The published figures of the method (resources/reference/published.yaml), by dataset and preset."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

PUBLISHED_KEYS = {
    "svm_accuracy": "svm_accuracy",
    "knn_accuracy": "knn_accuracy",
    "svm_accuracy_train_mode": "svm_accuracy",  # the published probes ran in train mode (method §11.A.1)
    "knn_accuracy_train_mode": "knn_accuracy",
    "val_loss": "val_loss",
    "perplexity": "val_perplexity",
    "codebook_mean_abs_corr": "mean_abs_corr_off_diagonal",
    "codebook_mean_abs_cos": "mean_abs_cos_sim_off_diagonal",
    "training_time_s": "training_time",
    "fid": "FID",
    "is_mean": "IS_mean",
    "is_std": "IS_std",
    "cas_val_acc_ema": "val_acc_ema",
}
"""Our result key -> the published key measuring the same thing (see reproduction.STAGE1_ROWS for how)."""


def published_results() -> dict[str, Any]:
    """Published figures by dataset and preset: {metric: [mean, std]}."""
    try:
        folder = Path(str(resources.files("tsstudio.resources") / "reference"))
    except ModuleNotFoundError:
        folder = Path(__file__).resolve().parents[2] / "resources" / "reference"
    return yaml.safe_load((folder / "published.yaml").read_text(encoding="utf-8"))
