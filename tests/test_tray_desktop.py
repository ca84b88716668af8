"""The tray on a real (virtual) desktop: Xvfb + trayer + a D-Bus session, pystray's
gtk backend, a right-click on the icon, "Blur" chosen from the menu; the
recorded frames are blurred from then on and not before.  The open menu's
screenshot is kept as ``tray-menu.png`` in the test's tmp dir."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import DEMO_CLIP, desktop_missing, wait_for_window
from tests.live_daemon import Daemon, read_frames, sharpness

SETTLE = 12

pytestmark = pytest.mark.skipif(bool(desktop_missing()), reason=desktop_missing() or "-")


def child_of(pid: int) -> int:
    """The first child process of ``pid`` (the daemon under dbus-run-session)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            return int(stat.parent.name)
    raise AssertionError(f"process {pid} has no child")


def open_menu(desktop: dict[str, str]) -> None:
    """Right-click SelfieCam's icon in the tray, as a user opens its menu."""
    # The status icon's window is titled with the status line, inside trayer.
    m = wait_for_window(desktop, r'"SelfieCam: [^"]*":.*?(\d+)x(\d+)\+-?\d+\+-?\d+\s+'
                                 r'\+(-?\d+)\+(-?\d+)')
    w, h, x, y = map(int, m.groups())
    subprocess.run(["xdotool", "mousemove", str(x + w // 2), str(y + h // 2), "click", "3"],
                   env=desktop, check=True, timeout=10)
    time.sleep(1.0)  # let the menu map and draw


def appindicator_missing() -> str:
    probe = "import gi; gi.require_version('AyatanaAppIndicator3', '0.1')"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=60)
    return "gir1.2-ayatanaappindicator3-0.1 is not installed" if r.returncode else ""


@pytest.mark.parametrize("backend", [
    "gtk",
    # With no StatusNotifierWatcher on the bus (trayer is an XEmbed tray) the
    # AppIndicator library falls back to an XEmbed icon: the same clicks reach its menu.
    pytest.param("appindicator", marks=pytest.mark.skipif(
        bool(appindicator_missing()), reason=appindicator_missing() or "-"))])
def test_choose_blur_from_the_tray_menu(desktop: dict[str, str], tmp_path: Path,
                                        backend: str) -> None:
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    env = {"DISPLAY": desktop["DISPLAY"], "PYSTRAY_BACKEND": backend, "NO_AT_BRIDGE": "1"}
    if backend == "appindicator":  # as on Ubuntu's desktop: the one-line note at tray start
        env.update(XDG_SESSION_TYPE="wayland", XDG_CURRENT_DESKTOP="ubuntu:GNOME")
    daemon = Daemon(tmp_path, ["--source", str(DEMO_CLIP), "--output", str(tmp_path / "out.mp4"),
                               "--effect", "none", "--config", str(tmp_path / "config.toml")],
                    wrap=["dbus-run-session", "--"], env=env)
    try:
        daemon.wait_ready(frames=20)
        open_menu(desktop)
        shot = tmp_path / "tray-menu.png"
        subprocess.run(["import", "-window", "root", str(shot)], env=desktop, check=True,
                       timeout=30)
        # The menu drops down below the tray at the top right; the root window is black.
        menu_area = np.asarray(Image.open(shot).convert("L"))[60:380, 560:630]
        assert (menu_area > 200).mean() > 0.6, "the menu did not open (the screen stays dark)"
        before = daemon.ctl("status")["status"]["published"]
        # The first sensitive item is None (the status line is disabled): None, Replace, Blur.
        subprocess.run(["xdotool", "key", "Down", "Down", "Down", "Return"], env=desktop,
                       check=True, timeout=10)
        deadline = time.monotonic() + 5
        while (status := daemon.ctl("status")["status"])["effect"] != "blur":
            assert time.monotonic() < deadline, status
            time.sleep(0.05)
        after = status["published"]
        daemon.wait_frames(40)
        python = child_of(daemon.proc.pid)
        t0 = time.monotonic()
        os.kill(python, signal.SIGTERM)
        assert daemon.proc.wait(10) == 0
        stop_s = time.monotonic() - t0
    finally:
        daemon.close()
    print(f"menu screenshot: {shot}; stopped {stop_s:.2f} s after SIGTERM; ", end="")
    log = daemon.log.read_text()
    assert f"tray icon: pystray {backend} backend" in log and "live: effect=blur" in log, log
    wayland_note = "GNOME on Wayland shows the tray icon only with the \"AppIndicator and " \
        "KStatusNotifierItem Support\" extension (sudo apt install " \
        "gnome-shell-extension-appindicator, then log out and back in"
    assert (wayland_note in log) is (backend == "appindicator"), log
    assert "`vcam ctl` works regardless" in log or backend == "gtk"
    assert stop_s < 2.0, f"took {stop_s:.2f} s to stop after SIGTERM"

    frames = read_frames(tmp_path / "out.mp4")
    sharp_before = [sharpness(f) for f in frames[5:before - 2]]
    blurred_after = [sharpness(f) for f in frames[after + SETTLE:]]
    assert len(sharp_before) >= 10 and len(blurred_after) >= 20
    reference = float(np.median(sharp_before))
    assert min(sharp_before) > 0.6 * reference  # steady before the click: none blurred
    assert max(blurred_after) < 0.5 * reference, (reference, max(blurred_after))
    print(f"door sharpness: {reference:.1f} median before the click (min "
          f"{min(sharp_before):.1f}), at most {max(blurred_after):.1f} after")


def test_add_background_from_the_tray_menu(desktop: dict[str, str], tmp_path: Path) -> None:
    """Background ▸ Add background… in the real gtk tray opens GTK's file chooser; a
    path typed into it and Enter (as a user would) shows that picture at once and
    lists it in config.toml, its comment kept."""
    picture = tmp_path / "beach.png"
    Image.new("RGB", (160, 90), (30, 120, 200)).save(picture)
    config = tmp_path / "config.toml"
    config.write_text('# mine\neffect = "none"  # in calls\n', encoding="utf-8")
    env = {"DISPLAY": desktop["DISPLAY"], "PYSTRAY_BACKEND": "gtk", "NO_AT_BRIDGE": "1",
           "HOME": str(tmp_path)}
    daemon = Daemon(tmp_path, ["--source", str(DEMO_CLIP), "--output", str(tmp_path / "o.mp4"),
                               "--config", str(config)], wrap=["dbus-run-session", "--"], env=env)
    try:
        daemon.wait_ready(frames=10)
        open_menu(desktop)
        # None, Replace, Blur, Desaturate, Transparent, Background; into it, and up
        # (wrapping round) to its last item, "Add background…".
        subprocess.run(["xdotool", "key", *["Down"] * 6, "Right", "Up", "Return"],
                       env=desktop, check=True, timeout=10)
        dialog = wait_for_window(desktop, r'(0x[0-9a-f]+) "Add a background to SelfieCam"')
        wid = str(int(dialog.group(1), 16))
        # Typed keys are lost until it is mapped, which takes a while on a busy machine.
        deadline = time.monotonic() + 30
        while "IsViewable" not in subprocess.run(["xwininfo", "-id", wid], env=desktop,
                                                 capture_output=True, text=True,
                                                 timeout=10).stdout:
            assert time.monotonic() < deadline, "the chooser was never mapped"
            time.sleep(0.1)
        time.sleep(0.5)  # let it draw
        # As a user would: focus it (no window manager here gives it the keyboard),
        # Ctrl+L for the location entry, the path, Enter; and again while the dialog
        # is still there (the first Enter is often taken by the entry's completion
        # list, and a busy machine may lose keys).
        for _attempt in range(3):
            subprocess.run(["xdotool", "windowfocus", "--sync", wid], env=desktop, timeout=10)
            subprocess.run(["xdotool", "key", "ctrl+l"], env=desktop, check=True, timeout=10)
            subprocess.run(["xdotool", "type", "--delay", "20", str(picture)], env=desktop,
                           check=True, timeout=30)
            subprocess.run(["xdotool", "key", "Return"], env=desktop, check=True, timeout=10)
            deadline = time.monotonic() + 10
            while ((status := daemon.ctl("status")["status"])["background"] != str(picture)
                   and time.monotonic() < deadline):
                time.sleep(0.05)
            if status["background"] == str(picture):
                break
        assert status["background"] == str(picture), status
    finally:
        daemon.close()
    assert status["effect"] == "replace"
    text = config.read_text(encoding="utf-8")
    assert text.startswith('# mine\neffect = "none"  # in calls\n') and f'"{picture}"' in text
    assert "effect none shows no background; switching to replace" in daemon.log.read_text()
