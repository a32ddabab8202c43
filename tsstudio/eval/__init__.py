"""Evaluation of tokenizers: test reconstruction error, probes, codebook statistics."""

from tsstudio.eval.probes import probe_accuracies, run_probes
from tsstudio.eval.reconstruction import codebook_summary, reconstruction_metrics

__all__ = ["codebook_summary", "probe_accuracies", "reconstruction_metrics", "run_probes"]
