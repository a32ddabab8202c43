"""The package layers of DESIGN.md §2, read from the source with `ast` (every import, also inside functions).

config < data < models < train / eval < store < sweep < cli < gui: a module imports only its own
layer and those below; eval does not import train (train's probes use eval, so the reverse would
be a cycle); Qt is imported only under tsstudio/gui; cli imports gui only in the function that
launches the app.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tsstudio"
LAYERS = {"config": 0, "errors": 0, "data": 1, "models": 2, "train": 3, "eval": 3, "store": 4, "sweep": 5,
          "cli": 6, "__main__": 6, "api": 6, "gui": 7}
QT = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "superqt", "qtpy")
APP_LAUNCHER = "open_app"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    """Layer of `tsstudio.X...` (the top-level `tsstudio` package holds only the version: layer 0)."""
    parts = module.split(".")
    return LAYERS[parts[1]] if len(parts) > 1 else 0


def imports(path: Path, root: Path) -> list[tuple[str, str | None, int]]:
    """(imported module, enclosing function or None, line) for every import statement in a file."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, str | None, int]] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((alias.name, function, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                found.append((target, function, child.lineno))
            visit(child, child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function)

    visit(ast.parse(path.read_text(encoding="utf-8")), None)
    return found


def violations(root: Path = PACKAGE) -> list[str]:
    """Every import in the tree under `root` that breaks a layer rule, as `file:line: why`."""
    bad = []
    for path in sorted(root.rglob("*.py")):
        name = module_name(path, root)
        own = layer(name)
        where = path.relative_to(root.parent).as_posix()
        for target, function, line in imports(path, root):
            top = target.split(".")[0]
            if top in QT and not name.startswith("tsstudio.gui"):
                bad.append(f"{where}:{line}: imports {target} (Qt only in tsstudio/gui)")
            if top != "tsstudio":
                continue
            if name.startswith("tsstudio.cli") and target.startswith("tsstudio.gui"):
                if function != APP_LAUNCHER:
                    bad.append(f"{where}:{line}: imports {target} outside {APP_LAUNCHER}()")
                continue
            if layer(target) > own:
                bad.append(f"{where}:{line}: imports {target}, a higher layer")
            if name.startswith("tsstudio.eval") and target.startswith("tsstudio.train"):
                bad.append(f"{where}:{line}: imports {target} (train imports eval, so this is a cycle)")
    return bad


def test_every_package_has_a_layer():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    assert packages | modules <= set(LAYERS)


def test_no_module_imports_a_higher_layer_or_qt_outside_gui():
    assert violations() == []


@pytest.mark.parametrize(("relative", "source", "why"), [
    ("tsstudio/eval/bad.py", "from tsstudio.train.runtime import resolve_device\n", "cycle"),
    ("tsstudio/models/bad.py", "def f():\n    from tsstudio.store import RunFile\n", "a higher layer"),
    ("tsstudio/data/bad.py", "import pyqtgraph\n", "Qt only in tsstudio/gui"),
    ("tsstudio/cli/bad.py", "from tsstudio.gui.app import main\n", "outside open_app()"),
    ("tsstudio/cli/bad.py", "def run():\n    from ..gui import app\n", "outside open_app()"),
    ("tsstudio/store/bad.py", "from ..sweep import train_run\n", "a higher layer"),
])
def test_the_checker_catches_each_kind_of_violation(tmp_path: Path, relative: str, source: str, why: str):
    path = tmp_path / relative
    path.parent.mkdir(parents=True)
    (path.parent / "__init__.py").write_text("")
    path.write_text(source)
    found = violations(tmp_path / "tsstudio")
    assert len(found) == 1 and why in found[0], found


def test_the_checker_allows_launching_the_app_from_cli(tmp_path: Path):
    path = tmp_path / "tsstudio" / "cli" / "main.py"
    path.parent.mkdir(parents=True)
    path.write_text("def open_app():\n    from tsstudio.gui.app import main\n")
    assert violations(tmp_path / "tsstudio") == []
