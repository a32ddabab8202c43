"""Running run specifications to run files: single runs, seed repeats and published-protocol reproductions."""

from tsstudio.sweep.runner import train_run

__all__ = ["train_run"]
