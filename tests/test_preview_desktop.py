"""The tray's "Show preview" on a real X server (Xvfb): the window --output window
uses opens beside the primary output, fed by the same output thread, while the
primary output goes on getting every frame; it goes away when unticked, and
when its close button is pressed (the WM_DELETE_WINDOW a window manager sends)
the tray's check clears.  GTK is loaded first, as the gtk tray does: OpenCV's
Qt windows crash such a process, which is why the window has one of its own."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from Xlib import X, display
from Xlib.protocol import event

from tests.conftest import desktop_missing

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(bool(desktop_missing()), reason=desktop_missing() or "-")
TITLE = "SelfieCam preview"

DRIVE = r"""
import json, sys

import gi
gi.require_version("Gtk", "3.0")
from gi.repository import Gtk  # before any window: as pystray's gtk backend loads it

from tests.conftest import DEMO_CLIP
from tests.test_pipeline import Recorder
from vcam.config import Config
from vcam.control.controller import Controller
from vcam.control.tray import Tray, load_pystray
from vcam.live.pipeline import Pipeline
from vcam.logs import setup_logging
from vcam.stages.capture import VideoFileSource

setup_logging("info", False)
primary = Recorder(keep=1)
pipeline = Pipeline(Config(effect="none"), VideoFileSource(DEMO_CLIP), primary, fps=30)
controller = Controller(pipeline, None, output="recorder")
pystray, why = load_pystray()
assert pystray is not None, why
tray = Tray(controller, pystray)
pipeline.start()


def item():
    return next(i for i in tray.icon.menu if i.text == "Show preview")


for line in sys.stdin:
    if line.strip() == "toggle":
        item()(tray.icon)
    print(json.dumps({"sent": len(primary.times), "viewers": len(pipeline.viewers),
                      "checked": item().checked}), flush=True)
pipeline.stop()
"""


class Driver:
    """The script above in its own process (Qt must not live in pytest's)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", DRIVE], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def say(self, command: str = "status") -> dict[str, int | bool]:
        import json

        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read() if self.proc.stderr else ""
        reply: dict[str, int | bool] = json.loads(line)
        return reply

    def until(self, check: str, value: int | bool, timeout: float = 20
              ) -> dict[str, int | bool]:
        """Ask until ``check`` is ``value`` (a count: at least ``value``)."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.say()
            if state[check] >= value if check == "sent" else state[check] == value:
                return state
            assert time.monotonic() < deadline, state
            time.sleep(0.05)

    def close(self) -> str:
        try:
            _, err = self.proc.communicate(timeout=30)  # closes stdin: the script ends
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        return err


def shown_windows(env: dict[str, str]) -> list[int]:
    """The mapped (on-screen) windows titled TITLE (a toolkit may keep an unmapped one)."""
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", f"^{TITLE}$"],
                           env=env, capture_output=True, text=True, timeout=10).stdout
    return [int(w) for w in found.split()]


def wait_shown(env: dict[str, str], timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while not (found := shown_windows(env)):
        assert time.monotonic() < deadline, f"no {TITLE} window on the screen"
        time.sleep(0.1)
    return found[0]


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def press_close_button(env: dict[str, str], window: int) -> None:
    """What a window manager's close button does: WM_DELETE_WINDOW to the client."""
    d = display.Display(env["DISPLAY"])
    try:
        w = d.create_resource_object("window", window)
        protocols, delete = d.intern_atom("WM_PROTOCOLS"), d.intern_atom("WM_DELETE_WINDOW")
        w.send_event(event.ClientMessage(window=w, client_type=protocols,
                                         data=(32, [delete, X.CurrentTime, 0, 0, 0])),
                     event_mask=X.NoEventMask)
        d.flush()
    finally:
        d.close()


def wait_gone(env: dict[str, str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while shown_windows(env):
        assert time.monotonic() < deadline, f"the {TITLE} window is still there"
        time.sleep(0.1)


def test_show_preview_beside_the_primary_output(desktop: dict[str, str]) -> None:
    env = {**desktop, "PYSTRAY_BACKEND": "dummy"}
    driver = Driver(env)
    try:
        start = driver.until("sent", 5)
        assert not start["checked"] and not shown_windows(env)
        opened = driver.say("toggle")
        assert opened["checked"] and opened["viewers"] == 1
        wait_shown(env)
        children = children_of(driver.proc.pid)
        assert children, "the window has a process of its own"
        during = driver.say()
        time.sleep(1.0)  # a second of frames with the window open
        later = driver.say()
        assert later["sent"] > during["sent"] + 10, (during, later)  # the camera goes on
        assert later["viewers"] == 1

        closed = driver.say("toggle")  # unticked in the tray
        assert not closed["checked"]
        wait_gone(env)
        assert driver.until("viewers", 0)["sent"] > later["sent"]

        driver.say("toggle")  # and again, then closed by its own close button
        window = wait_shown(env)
        # Qt may not act on a close in the first moments of a new window: press again
        # until it goes, as a user would.
        deadline = time.monotonic() + 20
        while (cleared := driver.say())["checked"]:
            assert time.monotonic() < deadline, cleared
            press_close_button(env, window)
            time.sleep(0.3)
        assert cleared["viewers"] == 0
        wait_gone(env)
        after = driver.say()
        time.sleep(0.5)
        assert driver.say()["sent"] > after["sent"]  # the primary output never stopped
    finally:
        err = driver.close()
    assert driver.proc.returncode == 0, err
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()], "left behind"
    assert "Traceback" not in err, err
    assert err.count("preview window opened beside recorder") == 2, err
    assert "the SelfieCam preview window was closed; no longer shown" in err, err
