"""docs/python-api.md runs: its Python code blocks, in order, in one namespace, in a fresh folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"


def code_blocks(text: str) -> list[str]:
    """The ```python blocks of a markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_the_doc_has_the_whole_walk_through() -> None:
    code = "\n".join(code_blocks(DOC.read_text(encoding="utf-8")))
    for step in ("np.savez(", "tsstudio.load_dataset(", "tsstudio.train(", "tsstudio.open_run(", ".encode(",
                 ".decode(", ".sample("):
        assert step in code


@pytest.mark.slow
def test_the_python_api_doc_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TSSTUDIO_DATA_DIR", raising=False)
    namespace: dict = {"__name__": "python_api_doc"}
    for number, block in enumerate(code_blocks(DOC.read_text(encoding="utf-8")), start=1):
        exec(compile(block, f"{DOC.name} block {number}", "exec"), namespace)  # noqa: S102 - our own doc
    assert (tmp_path / "waves-prior.h5").is_file()
