"""GNOME on Wayland: detected from the session's own variables, and said once at
tray start and in `vcam doctor` (what the tray needs there, and that `vcam ctl`
works regardless).  The appindicator backend itself is driven on a real desktop
in test_tray_desktop.py."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.conftest import DEMO_CLIP
from tests.test_pipeline import Recorder
from vcam.config import Config
from vcam.control.controller import Controller
from vcam.control.tray import open_tray
from vcam.live.pipeline import Pipeline
from vcam.stages.capture import VideoFileSource
from vcam.system.desktop import (
    APPINDICATOR_EXTENSION,
    appindicator_extension_installed,
    gnome_on_wayland,
)
from vcam.system.doctor import Check, Status, on_gnome_wayland

GNOME_WAYLAND = {"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "ubuntu:GNOME"}


@pytest.mark.parametrize(("env", "expected"), [
    (GNOME_WAYLAND, True),
    ({"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "GNOME"}, True),
    ({"XDG_SESSION_TYPE": "x11", "XDG_CURRENT_DESKTOP": "ubuntu:GNOME"}, False),
    ({"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "KDE"}, False),
    ({"XDG_SESSION_TYPE": "wayland", "XDG_CURRENT_DESKTOP": "GNOME-Flashback:GNOME"}, True),
    ({}, False),
])
def test_gnome_on_wayland_is_read_from_the_session(env: dict[str, str], expected: bool) -> None:
    assert gnome_on_wayland(env) is expected


def test_the_extension_is_found_for_the_user_or_the_system(tmp_path: Path) -> None:
    env = {**GNOME_WAYLAND, "HOME": str(tmp_path / "home"),
           "XDG_DATA_DIRS": str(tmp_path / "usr" / "share")}
    assert not appindicator_extension_installed(env)
    (tmp_path / "usr" / "share" / "gnome-shell" / "extensions" / APPINDICATOR_EXTENSION).mkdir(
        parents=True)
    assert appindicator_extension_installed(env)


def test_doctor_names_the_extension_and_vcam_ctl(tmp_path: Path) -> None:
    tray = Check("tray", Status.OK, "pystray backend appindicator (PyGObject 3.50.0)")
    env = {**GNOME_WAYLAND, "HOME": str(tmp_path), "XDG_DATA_DIRS": str(tmp_path / "none")}
    missing = on_gnome_wayland(tray, env)
    assert missing.status is Status.WARN
    assert missing.detail.startswith(tray.detail + "; GNOME on Wayland shows the tray icon only "
                                     'with the "AppIndicator and KStatusNotifierItem Support" '
                                     "extension")
    assert missing.detail.endswith("`vcam ctl` works regardless")
    assert missing.fix.startswith("sudo apt install gnome-shell-extension-appindicator, then "
                                  "log out and back in")
    (tmp_path / ".local" / "share" / "gnome-shell" / "extensions" /
     APPINDICATOR_EXTENSION).mkdir(parents=True)
    there = on_gnome_wayland(tray, env)
    assert there.status is Status.OK and "extension is installed" in there.detail
    assert on_gnome_wayland(tray, {"XDG_SESSION_TYPE": "x11"}) == tray


def test_one_line_at_tray_start(monkeypatch: pytest.MonkeyPatch,
                                caplog: pytest.LogCaptureFixture) -> None:
    for k, v in GNOME_WAYLAND.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("PYSTRAY_BACKEND", "dummy")
    source = VideoFileSource(DEMO_CLIP)
    try:
        controller = Controller(Pipeline(Config(), source, Recorder()), None)
        with caplog.at_level(logging.INFO):
            tray = open_tray(controller)
        assert tray is not None and tray.backend == "dummy"
        notes = [r.getMessage() for r in caplog.records if "GNOME on Wayland" in r.getMessage()]
        assert len(notes) == 1 and "gnome-shell-extension-appindicator" in notes[0]
        assert "`vcam ctl` works regardless" in notes[0]
        caplog.clear()
        monkeypatch.setenv("XDG_SESSION_TYPE", "x11")
        with caplog.at_level(logging.INFO):
            open_tray(controller)
        assert not any("GNOME on Wayland" in r.getMessage() for r in caplog.records)
    finally:
        source.close()
