"""Run-file storage: the HDF5 run file (live writer, reader, evaluation results) and workspaces."""

from tsstudio.store.runfile import (
    SCHEMA_VERSION,
    RunFile,
    RunFileWriter,
    read_config,
    write_evaluation,
)
from tsstudio.store.workspace import RunSummary, list_runs, summarize

__all__ = [
    "SCHEMA_VERSION",
    "RunFile",
    "RunFileWriter",
    "RunSummary",
    "list_runs",
    "read_config",
    "summarize",
    "write_evaluation",
]
