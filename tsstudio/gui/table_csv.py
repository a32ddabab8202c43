"""Tables as CSV: what a view shows (its sorted, filtered rows) as text, to the clipboard or a file."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt


def model_csv(model: QAbstractItemModel, columns: list[int] | None = None) -> str:
    """The model's header and display texts as CSV, rows in the model's (e.g. a proxy's sorted) order."""
    cols = list(range(model.columnCount())) if columns is None else columns
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([str(model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole) or "") for c in cols])
    for row in range(model.rowCount(QModelIndex())):
        writer.writerow([str(model.data(model.index(row, c), Qt.ItemDataRole.DisplayRole) or "") for c in cols])
    return out.getvalue()


def write_text_atomically(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` to a temporary file beside `path` and rename it into place (no partial file)."""
    target = Path(path)
    tmp = target.with_name(target.name + ".partial")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target
