"""The tray's "Add background…" dialog for real: GTK's file chooser on an Xvfb
desktop in a D-Bus session, a file set in it and Add pressed (the accept
response) from a GLib timeout, as a user's click would; the Controller then
shows that background and config.toml lists it, its comments kept."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import desktop_missing, wait_for_window

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(bool(desktop_missing()), reason=desktop_missing() or "-")

CHOOSE = r"""
import json, sys
from pathlib import Path

import gi
gi.require_version("Gtk", "3.0")
from gi.repository import GLib, Gtk

from tests.conftest import DEMO_CLIP
from tests.test_pipeline import Recorder
from vcam.config import load
from vcam.control.chooser import BackgroundChooser, media_filter
from vcam.control.controller import Controller
from vcam.live.pipeline import Pipeline
from vcam.stages.capture import VideoFileSource

cfg, picture, go = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
source = VideoFileSource(DEMO_CLIP)
controller = Controller(Pipeline(load(cfg), source, Recorder()), cfg)
chooser = BackgroundChooser(controller.add_background)
chooser.dialog.connect("destroy", lambda _d: Gtk.main_quit())
chooser.show()
print("shown", flush=True)


def passes(name):
    info = Gtk.FileFilterInfo()
    info.contains = Gtk.FileFilterFlags.DISPLAY_NAME
    info.display_name = name
    return media_filter().filter(info)


def pick():
    if not go.exists():  # the test looks for the window first
        return True
    chooser.dialog.set_filename(str(picture))
    # Let the chooser take the file in (it loads the folder on the main loop), then Add.
    GLib.timeout_add(300, lambda: chooser.dialog.response(Gtk.ResponseType.ACCEPT) and False)
    return False


GLib.timeout_add(100, pick)
GLib.timeout_add_seconds(60, Gtk.main_quit)
Gtk.main()
source.close()
print(json.dumps({"background": controller.config.background,
                  "effect": controller.config.effect,
                  "filter": [passes(n) for n in ("a.PNG", "b.jpg", "c.mp4", "d.gif", "e.txt")]}))
"""


def test_the_file_chooser_adds_the_background(desktop: dict[str, str], tmp_path: Path) -> None:
    picture = tmp_path / "pictures" / "beach.png"
    picture.parent.mkdir()
    cv2.imwrite(str(picture), np.full((90, 160, 3), (200, 120, 30), np.uint8))
    cfg = tmp_path / "config.toml"
    cfg.write_text('# mine\neffect = "blur"  # in calls\n', encoding="utf-8")
    go = tmp_path / "go"
    env = {**desktop, "NO_AT_BRIDGE": "1", "HOME": str(tmp_path)}
    proc = subprocess.Popen(["dbus-run-session", "--", sys.executable, "-c", CHOOSE, str(cfg),
                             str(picture), str(go)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "shown"
        wait_for_window(desktop, r'"Add a background to SelfieCam"')  # mapped on the screen
        go.touch()
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err[-2000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert result["background"] == str(picture)
    assert result["effect"] == "replace"  # blur shows no background
    assert result["filter"] == [True, True, True, True, False]
    text = cfg.read_text(encoding="utf-8")
    assert text.startswith('# mine\neffect = "blur"  # in calls\n')
    assert f'"{picture}"' in text
