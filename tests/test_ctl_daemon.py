"""``vcam ctl`` against a real running daemon recording to a file: every command
shows in the recorded frames; bad requests get an error reply and the daemon
lives on; another user is refused."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from tests.conftest import DEMO_CLIP
from tests.live_daemon import ROOT, Daemon, mean_colour, read_frames, sharpness
from vcam.control.ctl import MAX_MESSAGE, CtlError, check_peer, exchange, peer_uid, request

MAGENTA, RED, BLUE = (255, 0, 255), (0, 0, 255), (255, 0, 0)  # BGR
PAUSED_GREY = (48, 40, 36)  # the placeholder's background
SETTLE = 12
"""Frames after a command before its effect is checked (mask warm-up, frames in flight)."""

CONFIG = """
effect = "none"
background = "white"
backgrounds = ["red.png", "blue.png"]
"""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    tmp = tmp_path_factory.mktemp("ctl")
    cv2.imwrite(str(tmp / "red.png"), np.full((72, 128, 3), RED, np.uint8))
    cv2.imwrite(str(tmp / "blue.png"), np.full((72, 128, 3), BLUE, np.uint8))
    (tmp / "config.toml").write_text(CONFIG, encoding="utf-8")
    d = Daemon(tmp, ["--config", str(tmp / "config.toml"), "--source", str(DEMO_CLIP),
                     "--output", str(tmp / "out.mp4"), "--no-tray"])
    d.wait_ready()
    yield d
    d.close()


def test_socket_is_private(daemon: Daemon) -> None:
    assert stat.S_IMODE(daemon.socket.stat().st_mode) == 0o600
    assert stat.S_IMODE(daemon.socket.parent.stat().st_mode) == 0o700


def test_bad_requests_get_an_error_and_the_daemon_lives(daemon: Daemon) -> None:
    cases = {
        b"this is not json\n": "malformed request",
        b'{"command": "effect", "arg": 5}\n': "malformed request",
        b'["effect"]\n': "malformed request",
        b'{"command": "sparkle"}\n': "unknown command 'sparkle'",
        b'{"command": "effect", "arg": "sparkle"}\n': "unknown effect 'sparkle'",
        b'{"command": "blur", "arg": "99"}\n': "blur must be from 1 to 50, got 99",
        b'{"command": "background", "arg": "/no/such.png"}\n': "no such file",
        b'{"command": "pause", "arg": "now"}\n': "pause takes no argument",
        b"x" * (MAX_MESSAGE * 256): f"too long (more than {MAX_MESSAGE} bytes)",
        b'{"command": "status"': "no complete request line",  # and then silence
    }
    for payload, expected in cases.items():
        reply = exchange(daemon.socket, payload)
        assert reply["ok"] is False and expected in reply["error"], (payload[:40], reply)
    reply = daemon.ctl("status")
    assert reply["ok"] and reply["status"]["effect"] == "none"


def test_peer_check_with_a_real_socketpair() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b:
        assert peer_uid(a) == os.getuid()
        check_peer(a, os.getuid())
        with pytest.raises(CtlError, match=f"uid {os.getuid()}, this SelfieCam belongs to uid "
                                           f"{os.getuid() + 1}"):
            check_peer(a, os.getuid() + 1)


def connect_as(uid: int, path: Path) -> str:
    """Run the ctl client as another user (a forked child that drops to ``uid``)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(r)
            os.setgid(uid)
            os.setuid(uid)
            try:
                out = json.dumps(request("effect", "blur", path=path, timeout=3))
            except Exception as e:
                out = f"{type(e).__name__}: {e}"
            os.write(w, out.encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        text = f.read().decode()
    os.waitpid(pid, 0)
    return text


@pytest.mark.skipif(os.getuid() != 0, reason="switching to another uid needs root")
def test_another_user_is_refused(daemon: Daemon) -> None:
    nobody = 65534
    # The folder (0700) and the socket (0600) keep another user out ...
    assert "permission denied" in connect_as(nobody, daemon.socket)
    # ... and if they were opened up, the SO_PEERCRED check still refuses.
    folders = (daemon.runtime, daemon.socket.parent)
    try:
        for p in folders:
            p.chmod(0o711)
        daemon.socket.chmod(0o666)
        text = connect_as(nobody, daemon.socket)
    finally:
        for p in folders:
            p.chmod(0o700)
        daemon.socket.chmod(0o600)
    reply = json.loads(text) if text.startswith("{") else {"error": text}
    assert reply.get("ok") is False, reply
    assert f"refused: the connection comes from uid {nobody}" in reply["error"]
    assert daemon.ctl("status")["status"]["effect"] == "none"  # unchanged
    assert "refused: the connection comes from uid 65534" in daemon.log.read_text()


def test_cli_without_a_daemon(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "vcam", "ctl", "status"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "no SelfieCam is running" in out.stderr and "vcam run" in out.stderr


def wait_status(daemon: Daemon, key: str, want: object, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status: dict[str, Any] = daemon.ctl("status")["status"]
        if status[key] == want:
            return status
        time.sleep(0.05)
    raise AssertionError(f"{key} never became {want!r}: {status}")


def test_each_command_changes_the_output(daemon: Daemon) -> None:
    """Runs last in this module: it stops the daemon to read the whole recording."""
    tmp = daemon.log.parent
    marks: dict[str, int] = {}  # phase -> frames published when it began

    def step(phase: str, command: str, arg: str = "", frames: int = 30) -> dict[str, Any]:
        if command:
            reply = daemon.ctl(command, arg)
            assert reply["ok"], reply
            marks[phase] = reply["status"]["published"]
        else:
            marks[phase] = daemon.ctl("status")["status"]["published"]
        daemon.wait_frames(frames)
        return reply if command else {}

    step("none", "")
    step("mirror", "mirror", "on")
    daemon.ctl("mirror", "off")
    assert step("magenta", "background", "#ff00ff", 40)["status"]["effect"] == "replace"
    assert step("red", "background", "next")["message"] == "background: red.png"
    step("paused", "pause", frames=30)
    step("red again", "resume", frames=40)
    step("blur", "effect", "blur", 40)
    # A config.toml edit applies what was edited, within about two seconds.
    (tmp / "config.toml").write_text(CONFIG.replace('"none"', '"replace"')
                                     .replace('"white"', '"#0000ff"'), encoding="utf-8")
    marks["blue"] = wait_status(daemon, "effect", "replace")["published"]
    daemon.wait_frames(30)
    # A bad edit keeps the running settings and says why.
    (tmp / "config.toml").write_text('effect = "sparkle"\n', encoding="utf-8")
    deadline = time.monotonic() + 5
    while not (status := daemon.ctl("status")["status"])["config_error"]:
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    assert "sparkle" in status["config_error"] and status["effect"] == "replace"
    marks["still blue"] = status["published"]
    daemon.wait_frames(30)
    assert daemon.ctl("model", "landscape")["status"]["model"] == "landscape"
    assert daemon.ctl("blur", "40")["status"]["blur"] == 40
    end = daemon.ctl("quit")["status"]["published"]
    assert daemon.proc.wait(10) == 0
    log = daemon.log.read_text()
    assert "config not applied, keeping the running settings" in log and "sparkle" in log

    frames = read_frames(tmp / "out.mp4")
    assert len(frames) >= end
    names = list(marks)
    # A phase ends a few frames before the next mark: the config watcher's change is
    # seen by polling, a little after it applied.
    phase = {name: frames[marks[name] + SETTLE:(marks[names[i + 1]] if i + 1 < len(names)
                                                 else end) - 4]
             for i, name in enumerate(names)}
    for name, got in phase.items():
        assert len(got) >= 8, (name, len(got))

    def near(frame: np.ndarray, colour: tuple[int, int, int], tol: float = 30) -> bool:
        return bool(np.abs(mean_colour(frame) - colour).max() < tol)

    for name, colour in (("magenta", MAGENTA), ("red", RED), ("red again", RED),
                         ("blue", BLUE), ("still blue", BLUE)):
        assert all(near(f, colour) for f in phase[name]), name
    for name in ("none", "mirror", "blur"):
        assert not any(near(f, c) for f in phase[name] for c in (MAGENTA, RED, BLUE)), name
    assert all(np.abs(f.reshape(-1, 3).mean(0) - PAUSED_GREY).max() < 15
               for f in phase["paused"])
    sharp = float(np.median([sharpness(f) for f in phase["none"]]))
    assert all(sharpness(f) < 0.5 * sharp for f in phase["blur"]), \
        (sharp, [round(sharpness(f), 1) for f in phase["blur"]])

    # Mirror: each recorded frame is closest to a flipped frame of the clip.
    clip = [cv2.resize(f, (160, 90)) for f in read_frames(DEMO_CLIP)]

    def distance(frame: np.ndarray, flip: bool) -> float:
        small = cv2.resize(frame, (160, 90)).astype(np.int16)
        return min(float(np.abs(small - (c[:, ::-1] if flip else c)).mean()) for c in clip)

    for f in phase["mirror"][::8]:
        assert distance(f, flip=True) < 0.7 * distance(f, flip=False)
    for f in phase["none"][::8]:
        assert distance(f, flip=False) < 0.7 * distance(f, flip=True)
