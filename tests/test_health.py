"""Health as the user sees it: the virtual camera pulled out from under a running
pipeline (the real pyvirtualcam Camera over a backend whose device the test unplugs),
a camera slow to start after an idle spell, and a daemon with a thread stuck in I/O."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pyvirtualcam

from tests.conftest import DEMO_CLIP
from tests.test_output import RecordingBackend
from tests.test_pipeline import Recorder
from vcam.config import Config
from vcam.control.controller import Controller
from vcam.control.ctl import ControlServer, request
from vcam.control.icon import draw_icon
from vcam.control.tray import Tray, load_pystray
from vcam.health import Health, State
from vcam.live.pipeline import Pipeline
from vcam.stages.capture import VideoFileSource
from vcam.stages.outputs import VirtualCamera
from vcam.stages.placeholder import placeholder

ROOT = Path(__file__).resolve().parents[1]


class UnpluggableBackend(RecordingBackend):
    """The recording backend on a device the test unplugs and plugs back: while
    unplugged, sending fails as a removed v4l2 device does and opening is refused."""

    plugged = threading.Event()

    def __init__(self, **kw: Any) -> None:
        if not UnpluggableBackend.plugged.is_set():
            raise RuntimeError("'vcam-test-unpluggable' backend: device /dev/video9 not found")
        super().__init__(**kw)

    def send(self, frame: np.ndarray) -> None:
        if not UnpluggableBackend.plugged.is_set():
            raise OSError(19, "No such device")
        super().send(frame)


pyvirtualcam.register_backend("vcam-test-unpluggable", UnpluggableBackend)


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()


def same(a: Any, b: Any) -> bool:
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))


@pytest.fixture()
def live_virtual(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                 ) -> Iterator[tuple[Pipeline, Controller, Tray, Path]]:
    monkeypatch.setenv("PYSTRAY_BACKEND", "dummy")
    monkeypatch.delenv("DISPLAY", raising=False)
    UnpluggableBackend.plugged.set()

    def camera() -> VirtualCamera:
        return VirtualCamera(640, 360, 30, device="/dev/video9", backend="vcam-test-unpluggable",
                             pixel_format="bgr")

    pipeline = Pipeline(Config(effect="none"), VideoFileSource(DEMO_CLIP), camera(),
                        reopen_output=camera)
    controller = Controller(pipeline, None, camera="single_face.mp4", output="SelfieCam")
    pystray, reason = load_pystray()
    assert pystray is not None, reason
    tray = Tray(controller, pystray)
    server = ControlServer(controller, tmp_path / "ctl.sock")
    server.start()
    pipeline.start()
    yield pipeline, controller, tray, tmp_path / "ctl.sock"
    UnpluggableBackend.plugged.set()
    server.close()
    pipeline.stop()


def test_a_vanished_virtual_camera_shows_everywhere_and_clears_when_it_is_back(
        live_virtual: tuple[Pipeline, Controller, Tray, Path]) -> None:
    pipeline, controller, tray, sock = live_virtual
    assert wait_for(lambda: controller.status().state == State.LIVE)
    assert same(tray.icon.icon, draw_icon("none"))

    UnpluggableBackend.plugged.clear()
    t0 = time.monotonic()
    assert wait_for(lambda: controller.status().state == State.OUTPUT_LOST)
    print(f"virtual camera lost: reported after {time.monotonic() - t0:.3f} s")
    status = controller.status()
    assert status.error and "No such device" in status.detail and "retrying" in status.detail
    # The dummy tray is never run, so nothing polls it: the icon and its hover text
    # change because the pipeline tells the controller, which tells the tray.
    assert wait_for(lambda: same(tray.icon.icon, draw_icon("none", error=True)))
    assert "virtual camera lost" in tray.icon.title and "No such device" in tray.icon.title
    reply = request("status", path=sock)
    assert reply["status"]["state"] == "virtual camera lost"
    assert "No such device" in reply["status"]["detail"]

    UnpluggableBackend.plugged.set()
    assert wait_for(lambda: controller.status().state == State.LIVE)
    assert wait_for(lambda: same(tray.icon.icon, draw_icon("none")))
    assert "fps" in tray.icon.title
    assert request("status", path=sock)["status"]["state"] == "live"
    assert pipeline.error is None


def test_the_camera_starting_after_an_idle_spell_never_shows_camera_lost() -> None:
    """Every time an application opens SelfieCam after an idle spell the camera takes
    a while to open; the viewer must see "starting", never "Camera lost"."""
    opens: list[float] = []

    def slow_reopen() -> VideoFileSource:
        opens.append(time.monotonic())
        time.sleep(1.0)  # a webcam that takes a second to start
        return VideoFileSource(DEMO_CLIP)

    out = Recorder()
    p = Pipeline(Config(effect="none"), VideoFileSource(DEMO_CLIP), out, reopen=slow_reopen,
                 fps=30)
    seen: list[Health] = []
    p.add_health_listener(seen.append)
    p.start()
    try:
        assert wait_for(lambda: p.health.state is State.LIVE)
        p.set_idle(True)
        time.sleep(1.0)
        assert p.health.state is State.IDLE
        p.set_idle(False)
        mark = len(out.frames)
        assert wait_for(lambda: len(opens) == 1 and p.health.state is State.LIVE)
        time.sleep(0.3)
    finally:
        p.stop()
    after = out.frames[mark:]
    lost = placeholder(640, 360, "Camera lost", "reconnecting...")
    starting = placeholder(640, 360, "SelfieCam", "starting the camera...")
    assert not any(same(f, lost) for f in out.frames), "the lost-camera still went out"
    assert sum(same(f, starting) for f in after) >= 15, "the second of start-up showed nothing"
    assert not any(h.state.is_error for h in seen), seen
    assert [h.state for h in seen][-3:] == [State.IDLE, State.STARTING, State.LIVE]


STUCK_DAEMON = r"""
import sys
from pathlib import Path

from tests.conftest import DEMO_CLIP
from vcam.config import Config
from vcam.control.controller import Controller
from vcam.live.daemon import serve
from vcam.live.pipeline import Pipeline
from vcam.logs import setup_logging
from vcam.stages.capture import VideoFileSource
from vcam.stages.outputs import FileOutput


class StuckSource(VideoFileSource):
    # The real clip, until a read blocks opening a FIFO nobody writes to: a hung
    # device, a stalled network mount.
    reads = 0

    def read(self):
        StuckSource.reads += 1
        if StuckSource.reads == 10:
            print("blocking", flush=True)
            open(sys.argv[1], "rb")
        return super().read()


setup_logging("info", False)
source = StuckSource(DEMO_CLIP)
pipeline = Pipeline(Config(effect="none"), source,
                    FileOutput(Path(sys.argv[2]), source.width, source.height, 30))
sys.exit(serve(pipeline, Controller(pipeline, None), [], tray=False))
"""


def test_sigterm_ends_the_daemon_even_with_a_thread_blocked_in_open(tmp_path: Path) -> None:
    fifo = tmp_path / "hung"
    import os

    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-c", STUCK_DAEMON, str(fifo),
                             str(tmp_path / "out.mp4")], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "blocking"
        time.sleep(0.3)
        t0 = time.monotonic()
        proc.terminate()
        rc = proc.wait(timeout=30)  # before the fix it ran on until SIGKILL
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read() if proc.stderr else ""
    print(f"SIGTERM with the capture thread blocked in open(): exited in {took:.2f} s")
    assert rc == 0, err
    assert "thread vcam-capture did not stop in time" in err
    assert "exiting with vcam-capture still blocked" in err


def test_a_fifo_as_background_is_refused_not_opened(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "bg.png"
    os.mkfifo(fifo)
    r = subprocess.run([sys.executable, "-m", "vcam", "run", "--source", str(DEMO_CLIP),
                        "--effect", "replace", "--background", str(fifo), "--no-tray",
                        "--output", str(tmp_path / "out.mp4"), "--frames", "10"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"background {fifo}: not a regular file" in r.stderr
    assert "using #ffffff instead" in r.stderr
