"""Before Qt starts on X11: name the system libraries its xcb platform plugin needs and cannot find.

Without them Qt aborts with a message that names only `xcb-cursor0` (often not the missing one);
a stock desktop or an Xvfb container commonly lacks libxcb-icccm4 and libxcb-keysyms1. This
module imports no Qt, so it runs before the plugin is loaded.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Mapping

# The shared libraries of Qt's xcb plugin (and of QtGui under it) that a system may lack,
# with the Debian/Ubuntu package that provides each.
XCB_LIBRARIES = {
    "libxcb.so.1": "libxcb1",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}


def uses_xcb(env: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Whether Qt will try the xcb plugin first: Linux, and QT_QPA_PLATFORM names xcb first or,
    unset, the session is not a Wayland one."""
    if not platform.startswith("linux"):
        return False
    requested = env.get("QT_QPA_PLATFORM", "").strip()
    if requested:
        return requested.split(";")[0].split(":")[0].strip() == "xcb"
    return not (env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland")


def missing_libraries(load: Callable[[str], object] = ctypes.CDLL) -> list[str]:
    """The libraries of XCB_LIBRARIES that the dynamic loader cannot load, in that order."""
    missing = []
    for soname in XCB_LIBRARIES:
        try:
            load(soname)
        except OSError:
            missing.append(soname)
    return missing


def xcb_problem(env: Mapping[str, str], platform: str = sys.platform,
                load: Callable[[str], object] = ctypes.CDLL) -> str | None:
    """One line naming the missing libraries and the apt-get command that installs them, or None."""
    if not uses_xcb(env, platform):
        return None
    missing = missing_libraries(load)
    if not missing:
        return None
    packages = " ".join(XCB_LIBRARIES[m] for m in missing)
    return (f"tsstudio: the desktop app cannot start on X11: missing system libraries {', '.join(missing)}; "
            f"install them (Debian/Ubuntu: sudo apt-get install {packages}), "
            f"or use the command line (tsstudio --help)")
