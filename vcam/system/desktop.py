"""What kind of desktop session SelfieCam runs in, where that changes what the user
must do: GNOME on Wayland shows no tray icons at all unless a shell extension
that hosts AppIndicators is installed and enabled.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

APPINDICATOR_EXTENSION = "appindicatorsupport@rgcjonas.gmail.com"
"""The uuid of GNOME's "AppIndicator and KStatusNotifierItem Support" extension."""
EXTENSION_PACKAGE = "gnome-shell-extension-appindicator"
WAYLAND_TRAY_FIX = (f"sudo apt install {EXTENSION_PACKAGE}, then log out and back in "
                    f"(and enable it in Extensions if it is off)")
WAYLAND_TRAY_NOTE = ("GNOME on Wayland shows the tray icon only with the \"AppIndicator and "
                     "KStatusNotifierItem Support\" extension (" + WAYLAND_TRAY_FIX + "); "
                     "`vcam ctl` works regardless")


def gnome_on_wayland(env: Mapping[str, str] = os.environ) -> bool:
    """True in a GNOME session on Wayland (``XDG_CURRENT_DESKTOP`` may be a list such
    as ``ubuntu:GNOME``)."""
    desktops = env.get("XDG_CURRENT_DESKTOP", "").upper().split(":")
    return env.get("XDG_SESSION_TYPE", "").lower() == "wayland" and "GNOME" in desktops


def extension_dirs(env: Mapping[str, str] = os.environ) -> list[Path]:
    """Where GNOME Shell looks for extensions: the user's data folder, then the system's."""
    home = Path(env.get("XDG_DATA_HOME") or Path(env.get("HOME", "~")).expanduser()
                / ".local" / "share")
    system = env.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share"
    return [home / "gnome-shell" / "extensions",
            *(Path(d) / "gnome-shell" / "extensions" for d in system.split(":") if d)]


def appindicator_extension_installed(env: Mapping[str, str] = os.environ) -> bool:
    """The AppIndicator extension is installed (for this user or system-wide); whether
    it is enabled only GNOME Shell knows."""
    return any((d / APPINDICATOR_EXTENSION).is_dir() for d in extension_dirs(env))
