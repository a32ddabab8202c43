"""Writing exported tables (CSV, markdown, index files) whole or not at all."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from tsstudio.errors import TsstudioError


def write_text_atomic(path: str | os.PathLike[str], text: str, what: str = "output") -> Path:
    """Write `text` to `path` through a temporary file moved into place, so no partial file is left.

    `what` names the option or file in the error raised when the folder does not exist.
    """
    out = Path(path)
    if not out.parent.is_dir():
        raise TsstudioError(f"{what} {out}: folder {out.parent} does not exist")
    # A plain exclusive create (not mkstemp) so the file gets the usual permissions of the umask.
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "x", newline="", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
