"""A one-minute soak of the live pipeline: memory, threads and rate stay flat.

The real clip loops through the real model while the effect and background
change every few seconds (image, colour and looping-video backgrounds, so
background threads come and go).  `vcam bench --live --seconds 600` is the
long version."""

from __future__ import annotations

import threading
import time

import numpy as np

from tests.conftest import DEMO_CLIP
from tests.test_pipeline import rss_mb
from vcam import assets_dir
from vcam.config import Config
from vcam.live.pipeline import Pipeline
from vcam.stages.capture import VideoFileSource

SECONDS = 60
BACKGROUNDS = [str(assets_dir() / "backgrounds" / "drifting-lights.mp4"),
               str(assets_dir() / "backgrounds" / "dusk-bokeh.jpg"), "#336699"]


class Sink:
    """Counts frames and samples RSS and thread count once a second.

    Threads alive before the pipeline started are not counted: a thread an
    earlier test left to the garbage collector may end mid-soak."""

    description = "soak sink"

    def __init__(self) -> None:
        self._before = {t.ident for t in threading.enumerate()}
        self.count = 0
        self.samples: list[tuple[float, int, float, int]] = []  # t, frames, rss, threads
        self._next = 0.0

    def send(self, frame: np.ndarray) -> None:
        assert frame.shape == (360, 640, 3)
        self.count += 1
        now = time.monotonic()
        if now >= self._next:
            self._next = now + 1.0
            ours = sum(t.ident not in self._before for t in threading.enumerate())
            self.samples.append((now, self.count, rss_mb(), ours))

    def close(self) -> None:
        pass


def test_one_minute_soak_is_flat() -> None:
    sink = Sink()
    cfg = Config(effect="blur")
    p = Pipeline(cfg, VideoFileSource(DEMO_CLIP), sink, fps=30)
    p.start()
    t0 = time.monotonic()
    step = 0
    try:
        while time.monotonic() - t0 < SECONDS:
            time.sleep(2.5)
            step += 1
            effect = ["replace", "blur", "desaturate", "transparent"][step % 4]
            p.configure(cfg.replace(effect=effect, background=BACKGROUNDS[step % 3]))
    finally:
        camera_fps = p.stats.captured / (time.monotonic() - t0)
        p.stop()
    assert p.error is None
    warm = [s for s in sink.samples if s[0] - t0 > 10]
    rss = [s[2] for s in warm]
    threads = {s[3] for s in warm}
    fps = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(warm, warm[1:], strict=False)]
    print(f"soak {SECONDS}s: RSS {rss[0]:.0f} -> {rss[-1]:.0f} MB (max {max(rss):.0f}), "
          f"threads {sorted(threads)}, fps min {min(fps):.1f} median {np.median(fps):.1f}")
    assert max(rss) - rss[0] <= 20, "RSS grew by more than 20 MB after warm-up"
    # A looping-video background brings one reader thread of its own, and only one.
    assert max(threads) - min(threads) <= 1, f"thread count changed: {sorted(threads)}"
    # Against the camera's own rate in the same run (a loaded machine slows both).
    assert np.median(fps) > 0.93 * camera_fps, camera_fps
    assert min(fps) > 0.66 * camera_fps, camera_fps
