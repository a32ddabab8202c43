"""The app shows a window before torch and the views load, then the main window replaces it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

ROOT = Path(__file__).resolve().parents[1]
# Records which windows are visible when torch starts importing, then quits once the loop runs.
PROBE = """
import importlib.abc, json, sys
seen = {}

class FirstTorchImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and "at_torch_import" not in seen:
            from PySide6.QtCore import QTimer
            from PySide6.QtWidgets import QApplication
            app = QApplication.instance()
            seen["at_torch_import"] = [type(w).__name__ for w in app.topLevelWidgets() if w.isVisible()] if app else []
            if app:
                QTimer.singleShot(0, lambda: seen.setdefault("at_exit", [type(w).__name__ for w in app.topLevelWidgets()
                                                                           if w.isVisible()]))
                QTimer.singleShot(0, app.quit)
        return None

sys.meta_path.insert(0, FirstTorchImport())
from tsstudio.gui.app import main
rc = main([])
seen["rc"] = rc
with open(sys.argv[1], "w") as fh:
    json.dump(seen, fh)
"""


@pytest.mark.slow
def test_a_window_is_visible_before_torch_loads(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT),
           **{var: str(tmp_path / var.lower()) for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME")}}
    result = tmp_path / "seen.json"
    proc = subprocess.run([sys.executable, "-c", PROBE, str(result)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(result.read_text())
    assert seen["at_torch_import"] == ["QSplashScreen"]
    assert seen["at_exit"] == ["MainWindow"] and seen["rc"] == 0
