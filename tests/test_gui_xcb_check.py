"""The desktop app names the system libraries Qt's xcb plugin lacks, in one line, before Qt aborts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tsstudio.gui.xcb_check import XCB_LIBRARIES, missing_libraries, uses_xcb, xcb_problem

ROOT = Path(__file__).resolve().parents[1]


def loader_without(*absent: str):  # noqa: ANN201 - a ctypes.CDLL stand-in
    def load(name: str) -> object:
        if name in absent:
            raise OSError(f"{name}: cannot open shared object file: No such file or directory")
        return object()

    return load


def test_the_missing_libraries_and_their_packages_are_named_in_one_line():
    load = loader_without("libxcb-icccm.so.4", "libxcb-keysyms.so.1")
    line = xcb_problem({"DISPLAY": ":0"}, "linux", load)
    assert line is not None and "\n" not in line
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1;" in line
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1)" in line
    assert "xcb-cursor" not in line


def test_nothing_is_reported_when_every_library_loads():
    assert xcb_problem({"DISPLAY": ":0"}, "linux", loader_without()) is None
    assert missing_libraries(loader_without()) == []
    assert missing_libraries(loader_without(*XCB_LIBRARIES)) == list(XCB_LIBRARIES)


@pytest.mark.parametrize(("env", "platform", "expected"), [
    ({}, "linux", True),
    ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
    ({"QT_QPA_PLATFORM": "xcb:nomitshm"}, "linux", True),
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),
    ({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux", False),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
    ({"XDG_SESSION_TYPE": "wayland"}, "linux", False),
    ({"WAYLAND_DISPLAY": "wayland-0", "QT_QPA_PLATFORM": "xcb"}, "linux", True),
    ({}, "darwin", False),
    ({}, "win32", False),
])
def test_only_an_xcb_start_is_checked(env: dict, platform: str, expected: bool):
    assert uses_xcb(env, platform) is expected
    if not expected:  # nothing to check, even with every library absent
        assert xcb_problem(env, platform, loader_without(*XCB_LIBRARIES)) is None


@pytest.mark.skipif(not sys.platform.startswith("linux") or not missing_libraries(),
                    reason="needs a Linux machine that lacks some of Qt's xcb libraries")
def test_the_app_exits_with_the_one_line_before_loading_qt(tmp_path: Path):
    code = ("import sys\nfrom tsstudio.gui.app import main\nrc = main([])\n"
            "print('qt loaded' if 'PySide6.QtGui' in sys.modules else 'qt not loaded')\nsys.exit(rc)\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and all(lib in lines[0] for lib in missing_libraries()), proc.stderr
    assert proc.stdout.strip() == "qt not loaded"
