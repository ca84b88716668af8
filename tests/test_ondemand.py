"""On-demand capture: the webcam runs only while another process holds SelfieCam open.

The 'device' is a real file and the 'application' a real process that opens it:
the same /proc scan that finds Zoom holding /dev/video10."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import DEMO_CLIP, Holder
from tests.test_pipeline import Recorder
from vcam.config import Config
from vcam.live.ondemand import OnDemand
from vcam.live.pipeline import Pipeline
from vcam.stages.capture import VideoFileSource


def rate(out: Recorder, since: float) -> float:
    t = [x for x in out.times if x >= since]
    return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 2 else 0.0


def test_camera_runs_only_while_someone_watches(
        tmp_path: Path, hold_open: Callable[[Path], Holder]) -> None:
    device = tmp_path / "video10"
    device.write_bytes(b"")
    opened: list[float] = []
    closed: list[float] = []

    class CountingSource(VideoFileSource):
        def __init__(self) -> None:
            super().__init__(DEMO_CLIP)
            opened.append(time.monotonic())

        def close(self) -> None:
            closed.append(time.monotonic())
            super().close()

    out = Recorder(keep=5)
    p = Pipeline(Config(effect="none"), CountingSource(), out, reopen=CountingSource, fps=30)
    watch = OnDemand(str(device), p.set_idle, period=0.1, grace=0.5)
    p.start()
    watch.start()
    try:
        time.sleep(1.5)
        assert p.idle and len(closed) == 1, "the webcam should be released with no viewer"
        assert rate(out, time.monotonic() - 1.0) < 4, "idle should send stills at a low rate"
        viewer = hold_open(device)
        t_open = time.monotonic()
        while len(opened) < 2 and time.monotonic() - t_open < 3:
            time.sleep(0.02)
        assert len(opened) == 2 and opened[1] - t_open < 1.0, "capture must start within 1 s"
        time.sleep(1.5)
        assert not p.idle
        assert rate(out, time.monotonic() - 1.0) > 25
        assert watch.watching == [viewer.pid]
        viewer.release()
        t_close = time.monotonic()
        while len(closed) < 2 and time.monotonic() - t_close < 3:
            time.sleep(0.02)
        assert len(closed) == 2 and closed[1] - t_close < 1.5
    finally:
        watch.close()
        p.stop()
