"""Datasets: the built-in Cylinder-Bell-Funnel and dataset folders (UCR, .ts, NumPy, CSV), loaded and preprocessed."""

from tsstudio.data.dataset import UNLABELLED, Dataset, DatasetInfo, make_dataset
from tsstudio.data.registry import (
    BUILTIN_DATASET,
    find_dataset_dir,
    list_datasets,
    load_dataset,
    load_dataset_at,
    search_dirs,
)
from tsstudio.data.synthetic import cylinder_bell_funnel
from tsstudio.data.ucr import read_info, read_split

__all__ = [
    "BUILTIN_DATASET",
    "UNLABELLED",
    "Dataset",
    "DatasetInfo",
    "cylinder_bell_funnel",
    "find_dataset_dir",
    "list_datasets",
    "load_dataset",
    "load_dataset_at",
    "make_dataset",
    "read_info",
    "read_split",
    "search_dirs",
]
