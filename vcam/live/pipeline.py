"""The live pipeline: capture thread -> segmentation thread -> compositor/output thread.

Threads hand over through :class:`~vcam.live.slot.LatestSlot`s, so nothing queues:
the segmenter always works on the newest frame, and if it is slower than the
camera the compositor reuses the latest mask; the output rate follows the
camera, not the model.  The output thread owns the frame rate: it composites
each new frame as soon as it arrives (lowest latency) and, when the camera
stalls, repeats the last frame or shows a placeholder so the virtual camera
never freezes.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from vcam.config import Config, Effect
from vcam.live.slot import LatestSlot
from vcam.stages.capture import Frame, Source, SourceError
from vcam.stages.compositor import Compositor
from vcam.stages.outputs import Output
from vcam.stages.placeholder import placeholder
from vcam.stages.segment import Segmenter, fits, segmenter_for

log = logging.getLogger(__name__)

SourceFactory = Callable[[], Source]
SegmenterFactory = Callable[[Config, int, int], Segmenter]


@dataclass(frozen=True)
class Mask:
    """The person confidence for frame ``index`` (model size, float32 0..1, owned)."""

    confidence: np.ndarray
    index: int


@dataclass
class Stats:
    """Counters the pipeline keeps while it runs (read them from any thread)."""

    captured: int = 0
    segmented: int = 0
    published: int = 0
    repeated: int = 0
    """Frames sent again because no new camera frame had come in time."""
    skipped: int = 0
    """Camera frames the compositor never saw (a newer one came first)."""
    camera_failures: int = 0
    latency_ms: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=2000))
    """Capture-to-publish latency of recent frames."""
    segment_ms: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=2000))
    compose_ms: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=2000))


def default_segmenter(cfg: Config, width: int, height: int) -> Segmenter:
    return segmenter_for(cfg, width, height)


class Pipeline:
    """Runs the three threads until ``stop()`` or until ``max_frames`` were published.

    ``source`` is already open (so a missing camera fails before anything starts);
    ``reopen`` opens the camera again after it was lost or paused.
    """

    IDLE_PERIOD = 0.5
    """Seconds between stills while nobody watches."""
    CAMERA_LOST_AFTER = 1.0
    """Seconds without a frame before the output shows 'camera lost'."""
    RETRY_MIN, RETRY_MAX = 0.5, 5.0

    def __init__(self, cfg: Config, source: Source, output: Output, *,
                 reopen: SourceFactory | None = None,
                 segmenter: SegmenterFactory = default_segmenter,
                 fps: float | None = None, max_frames: int | None = None) -> None:
        self._cfg = cfg
        self._source: Source | None = source
        self._reopen = reopen
        self._make_segmenter = segmenter
        self.output = output
        self.width, self.height = source.width, source.height
        self.fps = fps or cfg.virtual_camera.fps or source.fps or 30.0
        self.max_frames = max_frames
        self.stats = Stats()
        self.status = "starting"
        self.error: BaseException | None = None
        self._frames: LatestSlot[Frame] = LatestSlot()
        self._masks: LatestSlot[Mask] = LatestSlot()
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._idle = threading.Event()
        self.done = threading.Event()
        self._threads = [
            threading.Thread(target=self._guard(self._capture_loop), name="vcam-capture"),
            threading.Thread(target=self._guard(self._segment_loop), name="vcam-segment"),
            threading.Thread(target=self._guard(self._output_loop), name="vcam-output"),
        ]

    # -- control, from any thread ------------------------------------------------
    @property
    def config(self) -> Config:
        return self._cfg

    def configure(self, cfg: Config) -> None:
        """Swap in a new configuration; it applies from the next frame."""
        self._cfg = cfg

    def set_paused(self, paused: bool) -> None:
        """Paused: the camera is released (its light goes off) and a still frame is sent."""
        if paused:
            self._paused.set()
        else:
            self._paused.clear()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def set_idle(self, idle: bool) -> None:
        """Idle: nobody watches the virtual camera, so the camera is released and a
        still goes out at a low rate; capture restarts as soon as this is cleared."""
        if idle:
            self._idle.set()
        else:
            self._idle.clear()

    @property
    def idle(self) -> bool:
        return self._idle.is_set()

    @property
    def threads(self) -> tuple[threading.Thread, ...]:
        """The capture, segmentation and output threads (for monitoring)."""
        return tuple(self._threads)

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop every thread and release camera and output, within ``timeout`` s."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            if t.ident is not None:
                t.join(max(0.0, deadline - time.monotonic()))
        for t in self._threads:
            if t.is_alive():
                log.warning("thread %s did not stop in time", t.name)
        if self._threads[2].ident is None:
            self.output.close()  # never started: nobody else will close it
        self.done.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the pipeline is done (frame count reached, a fatal error, or stopped)."""
        return self.done.wait(timeout)

    # -- threads ----------------------------------------------------------------
    def _guard(self, loop: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                loop()
            except BaseException as e:  # a dead thread must stop the pipeline, not hang it
                log.exception("%s failed", threading.current_thread().name)
                self.error = e
                self.status = f"error: {e}"
                self._stop.set()
                self.done.set()
        return run

    def _capture_loop(self) -> None:
        index = 0
        retry = self.RETRY_MIN
        last_ok = time.monotonic()
        try:
            while not self._stop.is_set():
                if self._paused.is_set() or self._idle.is_set():
                    if self._source is not None:
                        self._source.close()
                        self._source = None
                        log.info("%s: camera released", "paused" if self.paused else "idle")
                    self._stop.wait(0.05)
                    continue
                if self._source is None:
                    if self._reopen is None:
                        self._stop.wait(0.1)
                        continue
                    try:
                        self._source = self._reopen()
                        log.info("camera open: %s", self._source.description)
                        retry = self.RETRY_MIN
                        last_ok = time.monotonic()
                    except SourceError as e:
                        self.status = f"camera lost, retrying in {retry:g} s: {e}"
                        log.warning("%s", self.status)
                        self._stop.wait(retry)
                        retry = min(retry * 2, self.RETRY_MAX)
                        continue
                image = self._source.read()
                now = time.monotonic()
                if image is not None and (image.ndim != 3 or image.shape[2] != 3
                                          or image.size == 0 or image.dtype != np.uint8):
                    if self.stats.camera_failures == 0:
                        log.warning("camera sent a malformed frame %s %s; skipping such frames",
                                    image.shape, image.dtype)
                    image = None
                if image is None:
                    self.stats.camera_failures += 1
                    if now - last_ok > self.CAMERA_LOST_AFTER and self._reopen is not None:
                        log.warning("camera stopped sending frames; reopening it")
                        self._source.close()
                        self._source = None
                    else:
                        self._stop.wait(0.01)
                    continue
                last_ok = now
                self._frames.put(Frame(image, now, index))
                self.stats.captured += 1
                index += 1
        finally:
            if self._source is not None:
                self._source.close()
                self._source = None

    def _segment_loop(self) -> None:
        seen = 0
        seg: Segmenter | None = None
        try:
            while not self._stop.is_set():
                got = self._frames.wait_newer(seen, 0.1)
                if got is None:
                    continue
                seen, frame = got
                cfg = self._cfg
                if cfg.effect is Effect.NONE:
                    continue  # nothing needs a mask: save the CPU
                h, w = frame.image.shape[:2]
                if seg is None or not fits(seg, cfg, w, h):
                    if seg is not None:
                        seg.close()
                    seg = self._make_segmenter(cfg, w, h)
                    log.info("segmentation model: %s (%dx%d)", seg.spec.name,
                             seg.spec.width, seg.spec.height)
                t0 = time.perf_counter()
                conf = seg.segment(frame.image, frame.t_capture)
                self.stats.segment_ms.append((time.perf_counter() - t0) * 1000)
                self._masks.put(Mask(conf, frame.index))
                self.stats.segmented += 1
        finally:
            if seg is not None:
                seg.close()

    def _mask_for(self, frame: Frame, budget: float) -> Mask | None:
        """The mask of ``frame`` if it comes within ``budget`` s, else the latest one."""
        version, mask = self._masks.latest()
        deadline = time.monotonic() + budget
        while mask is None or mask.index < frame.index:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            got = self._masks.wait_newer(version, left)
            if got is None:
                break
            version, mask = got
        return mask

    def _still(self, cache: dict[str, np.ndarray], title: str, detail: str) -> np.ndarray:
        if title not in cache:
            cache[title] = placeholder(self.width, self.height, title, detail)
        return cache[title]

    def _output_loop(self) -> None:
        comp = Compositor(self._cfg)
        period = 1.0 / self.fps
        seen = 0
        last: np.ndarray | None = None
        last_frame_t = sent_t = time.monotonic()
        repeats = 0
        stills: dict[str, np.ndarray] = {}
        try:
            while not self._stop.is_set():
                # A repeat goes out a full period after the last send, the first one
                # half a period late: a camera frame may be just a little behind.
                step = self.IDLE_PERIOD if self._idle.is_set() else period
                wait = step * (1.5 if repeats == 0 else 1.0) - (time.monotonic() - sent_t)
                got = self._frames.wait_newer(seen, max(0.0, wait))
                now = time.monotonic()
                if got is not None:
                    version, frame = got
                    if seen:
                        self.stats.skipped += version - seen - 1
                    seen = version
                    last_frame_t = now
                    cfg = self._cfg
                    if cfg is not comp.cfg:
                        comp.configure(cfg)
                    image = frame.image
                    if image.shape[:2] != (self.height, self.width):
                        # A camera that came back at another size: keep the output's size.
                        image = cv2.resize(image, (self.width, self.height))
                    mask = None if cfg.effect is Effect.NONE else self._mask_for(frame, period / 2)
                    t0 = time.perf_counter()
                    out = comp.compose(image, mask.confidence if mask else None)
                    self.stats.compose_ms.append((time.perf_counter() - t0) * 1000)
                    self.output.send(out)
                    self.stats.latency_ms.append((time.monotonic() - frame.t_capture) * 1000)
                    last = out
                    repeats = 0
                    self.status = "live"
                else:
                    # No new camera frame in time: keep the stream alive rather than freeze.
                    if self._paused.is_set():
                        out = self._still(stills, "SelfieCam paused", "")
                        self.status = "paused"
                    elif self._idle.is_set():
                        out = self._still(stills, "SelfieCam", "starting the camera...")
                        self.status = "idle: nobody is watching"
                    elif now - last_frame_t > self.CAMERA_LOST_AFTER or last is None:
                        out = self._still(stills, "Camera lost", "reconnecting...")
                    else:
                        out = last
                    self.output.send(out)
                    repeats += 1
                    self.stats.repeated += 1
                sent_t = time.monotonic()
                self.stats.published += 1
                if self.max_frames is not None and self.stats.published >= self.max_frames:
                    self._stop.set()
                    self.done.set()
        finally:
            comp.close()
            # The thread that used the output closes it: GUI toolkits (the preview window)
            # hang when a window is closed from another thread.
            self.output.close()
