"""Entry point of the desktop app: `tsstudio` with no subcommand calls `main()`."""

from __future__ import annotations

import os
import sys


def _ensure_streams() -> None:
    """GUI launchers on Windows give no console: libraries that print (tqdm) need some stream."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


def quiet_openmp(environ: dict[str, str] | os._Environ = os.environ) -> str:
    """Let idle OpenMP threads sleep instead of spin (unless the user chose otherwise); returns the policy.

    The app runs torch on worker threads next to the UI thread, often with other processes on the
    same cores; spinning OpenMP threads then take the cores they wait for, and an interactive
    sampling request measured 10–50× slower than with sleeping ones. Read when torch loads, so
    this must run before the first `import torch`.
    """
    return environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def create_app(argv: list[str] | None = None) -> object:
    """The QApplication (created once), named so QSettings land in `~/.config/tsstudio/`."""
    os.environ.setdefault("QT_API", "pyside6")  # superqt goes through qtpy
    from PySide6.QtWidgets import QApplication  # noqa: I001  (PySide6 first, so pyqtgraph binds to it)
    import pyqtgraph  # noqa: F401

    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
    app.setOrganizationName("tsstudio")
    app.setApplicationName("tsstudio")
    app.setApplicationDisplayName("tsstudio")
    return app


def main(argv: list[str] | None = None) -> int:
    """Start the app: Fusion style, saved theme, the main window; returns the exit code."""
    quiet_openmp()
    _ensure_streams()
    app = create_app(argv)
    from tsstudio.gui.main_window import MainWindow
    from tsstudio.gui.theme import ThemeManager

    theme = ThemeManager()
    theme.apply()
    window = MainWindow(theme=theme)
    window.show()
    return int(app.exec())  # type: ignore[attr-defined]


if __name__ == "__main__":
    raise SystemExit(main())
