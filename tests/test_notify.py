"""Desktop notifications on a real D-Bus session bus (a dbus-daemon of the test's
own) with a real notification service on it: a small Gio service that owns
org.freedesktop.Notifications, answers Notify as a desktop's does and records
each call.  The camera and the virtual camera are pulled from under a running
pipeline and put back, and config.toml gets a bad edit the real watcher reads:
one notice on each loss, one on each recovery, none per retry; none where no
service runs, said once in the log."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import DEMO_CLIP
from tests.test_health import UnpluggableBackend
from vcam.config import load
from vcam.control.controller import Controller
from vcam.control.notify import Notice, Notices, Notifier
from vcam.control.watch import ConfigWatcher
from vcam.errors import SourceError
from vcam.health import Health, State
from vcam.live.daemon import start_notices
from vcam.live.pipeline import Pipeline
from vcam.stages.capture import VideoFileSource
from vcam.stages.outputs import VirtualCamera

pytestmark = pytest.mark.skipif(
    shutil.which("dbus-daemon") is None or subprocess.run(
        [sys.executable, "-c", "from gi.repository import Gio"], capture_output=True,
        timeout=60).returncode != 0,
    reason="needs dbus-daemon (apt: dbus-daemon) and PyGObject (scripts/install-tray-deps.sh)")

SERVER = r"""
import json, sys
from gi.repository import Gio, GLib

XML = '''<node><interface name="org.freedesktop.Notifications">
<method name="Notify"><arg type="s" direction="in"/><arg type="u" direction="in"/>
<arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="s" direction="in"/>
<arg type="as" direction="in"/><arg type="a{sv}" direction="in"/><arg type="i" direction="in"/>
<arg type="u" direction="out"/></method>
<method name="GetCapabilities"><arg type="as" direction="out"/></method>
<method name="CloseNotification"><arg type="u" direction="in"/></method>
<method name="GetServerInformation"><arg type="s" direction="out"/><arg type="s" direction="out"/>
<arg type="s" direction="out"/><arg type="s" direction="out"/></method>
</interface></node>'''
record = open(sys.argv[1], "a")
issued = [0]


def call(conn, sender, path, iface, method, params, invocation):
    if method == "Notify":
        app, replaces, icon, summary, body, actions, hints, timeout = params.unpack()
        issued[0] += 1
        record.write(json.dumps({"app": app, "replaces": replaces, "summary": summary,
                                 "body": body, "urgency": hints.get("urgency"),
                                 "id": replaces or issued[0]}) + "\n")
        record.flush()
        invocation.return_value(GLib.Variant("(u)", (replaces or issued[0],)))
    elif method == "GetCapabilities":
        invocation.return_value(GLib.Variant("(as)", (["body"],)))
    elif method == "GetServerInformation":
        invocation.return_value(GLib.Variant("(ssss)", ("test", "vcam", "1", "1.2")))
    else:
        invocation.return_value(None)


info = Gio.DBusNodeInfo.new_for_xml(XML)
Gio.bus_own_name(Gio.BusType.SESSION, "org.freedesktop.Notifications",
                 Gio.BusNameOwnerFlags.NONE,
                 lambda conn, name: conn.register_object(
                     "/org/freedesktop/Notifications", info.interfaces[0], call, None, None),
                 lambda conn, name: print("ready", flush=True),
                 lambda conn, name: sys.exit("lost the name"))
GLib.MainLoop().run()
"""


@pytest.fixture()
def session_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A D-Bus session bus of the test's own; DBUS_SESSION_BUS_ADDRESS points at it."""
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert bus.stdout is not None
    address = bus.stdout.readline().strip()
    assert address, "dbus-daemon printed no address"
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    yield address
    bus.terminate()
    bus.wait(5)


@pytest.fixture()
def notifications(session_bus: str, tmp_path: Path
                  ) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The recording notification service; yields a function returning its calls."""
    record = tmp_path / "notifications.jsonl"
    server = start_service(record)
    yield lambda: recorded(record)
    server.terminate()
    server.wait(5)


def start_service(record: Path) -> subprocess.Popen[str]:
    """The recording notification service, once it owns its name on the bus."""
    record.touch()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(record)],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    return server


def recorded(record: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in record.read_text().splitlines()]


class UnpluggableCamera:
    """The demo clip as a camera the test unplugs: no frames while unplugged, and
    opening it fails as a removed /dev/video0 does."""

    plugged = threading.Event()

    def __init__(self) -> None:
        if not self.plugged.is_set():
            raise SourceError("cannot open camera /dev/video0: No such device")
        self._clip = VideoFileSource(DEMO_CLIP)
        self.width, self.height, self.fps = self._clip.width, self._clip.height, self._clip.fps
        self.description = "unpluggable camera"

    def read(self) -> np.ndarray | None:
        if not self.plugged.is_set():
            time.sleep(0.01)
            return None
        return self._clip.read()

    def close(self) -> None:
        self._clip.close()


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_one_notice_on_each_loss_and_recovery_and_on_a_bad_edit(
        notifications: Callable[[], list[dict[str, Any]]], tmp_path: Path) -> None:
    UnpluggableCamera.plugged.set()
    UnpluggableBackend.plugged.set()

    def virtual() -> VirtualCamera:
        return VirtualCamera(640, 360, 30, device="/dev/video9", backend="vcam-test-unpluggable",
                             pixel_format="bgr")

    cfg = tmp_path / "config.toml"
    cfg.write_text('effect = "none"\n', encoding="utf-8")
    pipeline = Pipeline(load(cfg), UnpluggableCamera(), virtual(), reopen=UnpluggableCamera,
                        reopen_output=virtual)
    controller = Controller(pipeline, cfg)
    notifier = start_notices(pipeline, controller)
    reloads: list[bool] = []
    watcher = ConfigWatcher(cfg, lambda: reloads.append(controller.reload(edits_only=True)),
                            interval=0.05)
    seen: list[State] = []
    pipeline.add_health_listener(lambda h: seen.append(h.state))
    watcher.start()
    pipeline.start()
    try:
        wait_for(lambda: pipeline.health.state is State.LIVE)
        UnpluggableCamera.plugged.clear()
        # Lost, then at least two failed reopens (each a new health report).
        wait_for(lambda: seen.count(State.CAMERA_LOST) >= 3)
        UnpluggableCamera.plugged.set()
        wait_for(lambda: pipeline.health.state is State.LIVE)

        UnpluggableBackend.plugged.clear()
        wait_for(lambda: seen.count(State.OUTPUT_LOST) >= 3)
        UnpluggableBackend.plugged.set()
        wait_for(lambda: pipeline.health.state is State.LIVE)

        for n, text in enumerate(('effect = "sparkle"\n', 'effect = "sparkle"  # again\n')):
            cfg.write_text(text, encoding="utf-8")
            wait_for(lambda n=n: len(reloads) > n)  # type: ignore[misc]
        assert reloads == [False, False] and "sparkle" in controller.config_error
        cfg.write_text('effect = "blur"\n', encoding="utf-8")
        wait_for(lambda: controller.config_error == "" and controller.config.effect == "blur")
        assert notifier.flush()
    finally:
        watcher.close()
        pipeline.stop()
        notifier.close()
        UnpluggableCamera.plugged.set()
        UnpluggableBackend.plugged.set()
    calls = notifications()
    assert [c["summary"] for c in calls] == ["Camera lost", "Camera back",
                                             "Virtual camera gone", "Virtual camera back",
                                             "config.toml not applied"], calls
    assert all(c["app"] == "SelfieCam" for c in calls)
    assert [c["urgency"] for c in calls] == [2, 1, 2, 1, 1]
    assert "No such device" in calls[0]["body"] or "stopped sending" in calls[0]["body"]
    assert "No such device" in calls[2]["body"]
    assert "effect" in calls[4]["body"] and "sparkle" in calls[4]["body"]
    # Each takes the place of the one before (no pile of stale "lost" bubbles).
    assert [c["replaces"] for c in calls[1:]] == [c["id"] for c in calls[:-1]]


def test_without_a_service_it_is_silent_and_says_so_once(
        session_bus: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier()
    try:
        with caplog.at_level(logging.INFO):
            for _ in range(3):
                notifier.send(Notice("Camera lost"))
                assert notifier.flush()
            # The desktop's service may come up after SelfieCam (both start at login).
            server = start_service(tmp_path / "late.jsonl")
            try:
                notifier.send(Notice("Camera back"))
                assert notifier.flush()
            finally:
                server.terminate()
                server.wait(5)
    finally:
        notifier.close()
    assert [c["summary"] for c in recorded(tmp_path / "late.jsonl")] == ["Camera back"]
    lines = [r.getMessage() for r in caplog.records if "desktop notifications" in r.getMessage()]
    assert lines == ["no desktop notifications (no org.freedesktop.Notifications service on "
                     "the session bus); the log and the tray icon still tell"]


def test_without_a_session_bus_it_is_silent_and_says_so_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
    notifier = Notifier()
    try:
        with caplog.at_level(logging.INFO):
            notifier.send(Notice("Camera lost"))
            notifier.send(Notice("Camera back"))
            assert notifier.flush()
    finally:
        notifier.close()
    lines = [r.getMessage() for r in caplog.records if "desktop notifications" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith("no desktop notifications (")


def test_released_is_not_back_but_an_idle_virtual_camera_is(
        notifications: Callable[[], list[dict[str, Any]]]) -> None:
    """The camera lost, then released while nobody watches (idle) or paused: not back
    until frames come.  The virtual camera back while nobody watches: back."""
    notifier = Notifier()
    notices = Notices(notifier)
    steps = [(State.LIVE, []), (State.CAMERA_LOST, ["Camera lost"]), (State.IDLE, []),
             (State.PAUSED, []), (State.STARTING, []), (State.CAMERA_LOST, []),
             (State.LIVE, ["Camera back"]), (State.OUTPUT_LOST, ["Virtual camera gone"]),
             (State.OUTPUT_LOST, []), (State.IDLE, ["Virtual camera back"]),
             (State.OUTPUT_LOST, ["Virtual camera gone"]),
             (State.CAMERA_LOST, ["Virtual camera back", "Camera lost"]),
             (State.LIVE, ["Camera back"])]
    try:
        for state, _ in steps:
            notices.on_health(Health(state, "detail"))
        assert notifier.flush()
    finally:
        notifier.close()
    assert [c["summary"] for c in notifications()] == [s for _, said in steps for s in said]
