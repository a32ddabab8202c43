"""Datasets across several data folders: the default search folders plus folders a user added.

Front ends (the app's dataset list, its configuration form) list and load through these, so
the first folder that holds a name wins everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tsstudio.data.dataset import Dataset, DatasetInfo
from tsstudio.data.registry import list_datasets, load_dataset, search_dirs
from tsstudio.errors import TsstudioError

__all__ = ["load_by_name", "scan_datasets"]


def scan_datasets(extra_dirs: Iterable[str] = ()) -> list[DatasetInfo]:
    """Datasets of the default search folders plus `extra_dirs` (first folder wins on a name)."""
    infos = list_datasets()
    names = {info.name.lower() for info in infos}
    known = set(search_dirs())
    for entry in extra_dirs:
        path = Path(entry).expanduser()
        if not path.is_dir() or path.resolve() in known:
            continue
        known.add(path.resolve())
        for info in list_datasets(path):
            if info.name.lower() not in names:
                names.add(info.name.lower())
                infos.append(info)
    return infos


def load_by_name(name: str, extra_dirs: Iterable[str] = (), source: str | None = None) -> Dataset:
    """Load a dataset by name, from its listed `source` folder when known, else from the search folders."""
    if source and source != "built-in" and Path(source).exists():  # a dataset folder, or a .npz in a data folder
        return load_dataset(name, data_dir=Path(source).parent)
    try:
        return load_dataset(name)
    except TsstudioError as first:
        for entry in extra_dirs:
            if Path(entry).expanduser().is_dir():
                try:
                    return load_dataset(name, data_dir=entry)
                except TsstudioError:
                    continue
        raise first from None
