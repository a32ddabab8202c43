"""Full evaluation of a trained tokenizer on a dataset's test split."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from tsstudio.config.schema import ProbeConfig
from tsstudio.data.dataset import Dataset
from tsstudio.eval.probes import run_probes
from tsstudio.eval.reconstruction import codebook_summary, reconstruction_metrics
from tsstudio.eval.unlabelled import PROBES_NOTE


def evaluate_tokenizer(
    tokenizer: nn.Module,
    dataset: Dataset,
    probes: ProbeConfig,
    device: torch.device,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Test reconstruction error, probe accuracies and codebook statistics (eval mode throughout).

    Without labels the probe accuracies are None and `probes_note` says why.

    Returns the scalar results and the arrays worth keeping (per-code test usage).
    `progress(stage, done, total)` is called before each of the three stages and at the end; it may
    raise to abandon the evaluation between stages (a front end's cancel).
    """
    def report(stage: str, done: int) -> None:
        if progress is not None:
            progress(stage, done, 3)

    tokenizer.to(device)
    results: dict[str, Any] = {}
    report("reconstruction", 0)
    results.update(reconstruction_metrics(tokenizer, dataset.x_test, probes.batch_size, device))
    report("probes", 1)
    if dataset.labelled:
        results.update(
            run_probes(
                tokenizer, dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test,
                device, probes.batch_size, probes.knn_neighbors, probes.svm_c, probes.svm_max_iter,
            )
        )
    else:  # nothing to classify: the probes are reported as not applicable, never as a number
        results.update({"svm_accuracy": None, "knn_accuracy": None, "probes_note": PROBES_NOTE})
    report("codebook statistics", 2)
    codebook = codebook_summary(tokenizer, dataset.x_test, probes.batch_size, device)
    usage = codebook.pop("usage")
    results.update(codebook)
    report("done", 3)
    return results, {"test_code_usage": usage}
