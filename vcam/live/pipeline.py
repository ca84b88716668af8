"""The live pipeline: capture thread -> segmentation thread -> compositor/output thread.

Threads hand over through :class:`~vcam.slot.LatestSlot`s, so nothing queues:
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

from vcam.config import Config
from vcam.health import Health, HealthCallback, State, overall
from vcam.live.reconnect import STARTING, ReconnectingOutput, ReconnectingSource
from vcam.live.viewers import Viewers
from vcam.slot import LatestSlot
from vcam.stages.capture import Frame, Source
from vcam.stages.compositor import Compositor, needs_mask
from vcam.stages.gate import StillGate
from vcam.stages.outputs import Output
from vcam.stages.placeholder import placeholder
from vcam.stages.segment import Segmenter, fits, segmenter_for

log = logging.getLogger(__name__)

SourceFactory = Callable[[], Source]
OutputFactory = Callable[[], Output]
SegmenterFactory = Callable[[Config, int, int], Segmenter]


@dataclass(frozen=True)
class Mask:
    """The person confidence for frame ``index`` (model size, float32 0..1, owned)."""

    confidence: np.ndarray
    index: int
    feed: np.ndarray | None = None
    """That frame as the segmenter shrank it, for the compositor to shrink on from."""
    fresh: bool = True
    """False: the model did not see that frame (it was still), ``confidence`` is its
    last one again."""


@dataclass
class Stats:
    """Counters the pipeline keeps while it runs (read them from any thread)."""

    captured: int = 0
    segmented: int = 0
    reused: int = 0
    """Frames whose mask is the model's last one again (the picture stayed still)."""
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
    ``reopen`` opens the camera again after it was lost or paused, and
    ``reopen_output`` the output after it failed (None: a failed send is the
    output's own business).  The state the user sees is :attr:`health`;
    :meth:`add_health_listener` is told of each change.
    """

    IDLE_PERIOD = 0.5
    """Seconds between stills while nobody watches."""
    CAMERA_LOST_AFTER = ReconnectingSource.LOST_AFTER
    """Seconds without a frame before the output shows 'camera lost'."""

    def __init__(self, cfg: Config, source: Source, output: Output, *,
                 reopen: SourceFactory | None = None,
                 reopen_output: OutputFactory | None = None,
                 segmenter: SegmenterFactory = default_segmenter,
                 fps: float | None = None, max_frames: int | None = None) -> None:
        self._cfg = cfg
        self._stop = threading.Event()
        self._health_lock = threading.Lock()
        self._parts: dict[str, Health] = {"camera": Health(State.STARTING, STARTING)}
        self._shown = self._parts["camera"]
        self._listeners: list[HealthCallback] = []
        self._camera = ReconnectingSource(reopen, source, on_health=self._reporter("camera"),
                                          wait=self._stop.wait)
        self._make_segmenter = segmenter
        self.output: Output = output if reopen_output is None else ReconnectingOutput(
            reopen_output, output, on_health=self._reporter("output"))
        self.viewers = Viewers()
        """Outputs fed the same frames beside ``output`` (the tray's preview window)."""
        self.width, self.height = source.width, source.height
        self.fps = fps or cfg.virtual_camera.fps or source.fps or 30.0
        self.max_frames = max_frames
        self.stats = Stats()
        self.error: BaseException | None = None
        self._frames: LatestSlot[Frame] = LatestSlot()
        self._masks: LatestSlot[Mask] = LatestSlot()
        self._paused = threading.Event()
        self._idle = threading.Event()
        self.done = threading.Event()
        # Daemon threads: one stuck in I/O (a hung device) must not keep the process
        # alive after stop() gave up on it; see vcam.live.daemon.
        self._threads = [
            threading.Thread(target=self._guard(loop), name=name, daemon=True)
            for loop, name in ((self._capture_loop, "vcam-capture"),
                               (self._segment_loop, "vcam-segment"),
                               (self._output_loop, "vcam-output"))]

    # -- health -------------------------------------------------------------------
    def _reporter(self, part: str) -> HealthCallback:
        def report(health: Health) -> None:
            with self._health_lock:
                self._parts[part] = health
            self._health_changed()
        return report

    @property
    def health(self) -> Health:
        """What the user must see now (see vcam.health.PRIORITY)."""
        with self._health_lock:
            parts = list(self._parts.values())
        flags = [Health(State.FAILED, str(self.error)) if self.error is not None else None,
                 Health(State.PAUSED) if self._paused.is_set() else None,
                 Health(State.IDLE, "nobody is watching") if self._idle.is_set() else None]
        return overall([*flags, *parts])

    def add_health_listener(self, listener: HealthCallback) -> None:
        """Call ``listener(health)`` after each change of :attr:`health`, from the
        thread that saw it."""
        self._listeners.append(listener)

    def _health_changed(self) -> None:
        now = self.health
        with self._health_lock:
            if now == self._shown:
                return
            self._shown = now
        (log.warning if now.state.is_error else log.info)("state: %s", now)
        for listener in list(self._listeners):
            try:
                listener(now)
            except Exception:  # a broken listener must not stop a thread of the pipeline
                log.exception("health listener failed")

    # -- control, from any thread ------------------------------------------------
    @property
    def config(self) -> Config:
        return self._cfg

    def configure(self, cfg: Config) -> None:
        """Swap in a new configuration; it applies from the next frame."""
        self._cfg = cfg

    def _set_flag(self, flag: threading.Event, on: bool) -> None:
        if on:
            flag.set()
        else:
            flag.clear()
        self._health_changed()

    def set_paused(self, paused: bool) -> None:
        """Paused: the camera is released (its light goes off) and a still frame is sent."""
        self._set_flag(self._paused, paused)

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def set_idle(self, idle: bool) -> None:
        """Idle: nobody watches the virtual camera, so the camera is released and a
        still goes out at a low rate; capture restarts as soon as this is cleared."""
        self._set_flag(self._idle, idle)

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
        for t in self.stuck_threads():
            log.warning("thread %s did not stop in time", t.name)
        if self._threads[2].ident is None:
            self.output.close()  # never started: nobody else will close it
            self.viewers.close()
        self.done.set()

    def stuck_threads(self) -> list[threading.Thread]:
        """Threads still running after :meth:`stop` (stuck in I/O no Event can cut short)."""
        return [t for t in self._threads if t.is_alive()]

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
                self._health_changed()
                self._stop.set()
                self.done.set()
        return run

    def _capture_loop(self) -> None:
        index = 0
        try:
            while not self._stop.is_set():
                if self._paused.is_set() or self._idle.is_set():
                    self._camera.release("paused" if self._paused.is_set() else "idle")
                    self._stop.wait(0.05)
                    continue
                image = self._camera.read()
                self.stats.camera_failures = self._camera.failures
                if image is None:
                    continue
                self._frames.put(Frame(image, time.monotonic(), index))
                self.stats.captured += 1
                index += 1
        finally:
            self._camera.close()

    def _segment_loop(self) -> None:
        seen = 0
        seg: Segmenter | None = None
        gate = StillGate(self._cfg.refine.reuse_still)
        try:
            while not self._stop.is_set():
                got = self._frames.wait_newer(seen, 0.1)
                if got is None:
                    continue
                seen, frame = got
                cfg = self._cfg
                if not needs_mask(cfg):
                    gate.reset()  # a mask from before the pause must not come back
                    continue  # nothing needs a mask: save the CPU
                h, w = frame.image.shape[:2]
                if seg is None or not fits(seg, cfg, w, h):
                    if seg is not None:
                        seg.close()
                    seg = self._make_segmenter(cfg, w, h)
                    gate.reset()
                    log.info("segmentation model: %s (%dx%d)", seg.spec.name,
                             seg.spec.width, seg.spec.height)
                gate.reuse = cfg.refine.reuse_still
                t0 = time.perf_counter()
                got_mask = gate.segment(seg, frame.image, frame.t_capture)
                if got_mask.fresh:
                    self.stats.segmented += 1
                    self.stats.segment_ms.append((time.perf_counter() - t0) * 1000)
                else:
                    self.stats.reused += 1
                self._masks.put(Mask(got_mask.confidence, frame.index, got_mask.feed,
                                     got_mask.fresh))
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

    def _filler(self, stills: dict[str, np.ndarray], last: np.ndarray | None,
                last_frame_t: float) -> np.ndarray:
        """What goes out when no new camera frame came in time: a still that says
        why, or the last frame again (the virtual camera must never freeze)."""
        health = self.health
        with self._health_lock:
            camera = self._parts["camera"]
        if health.state is State.PAUSED:
            return self._still(stills, "SelfieCam paused", "")
        starting = self._still(stills, "SelfieCam", "starting the camera...")
        if health.state is State.IDLE or camera.state is State.STARTING:
            return starting
        # A camera that hangs inside read() reports nothing: judge by the frames too,
        # counted from when it last came back so an idle spell does not count.
        stale = time.monotonic() - max(last_frame_t, camera.since) > self.CAMERA_LOST_AFTER
        if camera.state is State.CAMERA_LOST or stale:
            return self._still(stills, "Camera lost", "reconnecting...")
        return starting if last is None else last

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
                if got is not None:
                    version, frame = got
                    if seen:
                        self.stats.skipped += version - seen - 1
                    seen = version
                    last_frame_t = time.monotonic()
                    last = shown = self._publish(comp, frame, period)
                    repeats = 0
                else:
                    shown = self._filler(stills, last, last_frame_t)
                    self.output.send(shown)
                    repeats += 1
                    self.stats.repeated += 1
                self.viewers.feed(shown)
                sent_t = time.monotonic()
                self.stats.published += 1
                if self.max_frames is not None and self.stats.published >= self.max_frames:
                    self._stop.set()
                    self.done.set()
        finally:
            comp.close()
            self.viewers.close()
            # The thread that used the output closes it: GUI toolkits (the preview window)
            # hang when a window is closed from another thread.
            self.output.close()

    def _publish(self, comp: Compositor, frame: Frame, period: float) -> np.ndarray:
        """Composite ``frame`` with its mask (or the latest) and send it; returns it."""
        cfg = self._cfg
        if cfg is not comp.cfg:
            comp.configure(cfg)
        image = frame.image
        if image.shape[:2] != (self.height, self.width):
            # A camera that came back at another size: keep the output's size.
            image = cv2.resize(image, (self.width, self.height))
        mask = self._mask_for(frame, period / 2) if needs_mask(cfg) else None
        t0 = time.perf_counter()
        # The feed is this frame's only if the mask is (and the size was kept).
        own = mask is not None and mask.index == frame.index and image is frame.image
        out = comp.compose(image, mask.confidence if mask else None,
                           small=mask.feed if own and mask else None,
                           still=own and mask is not None and not mask.fresh)
        self.stats.compose_ms.append((time.perf_counter() - t0) * 1000)
        self.output.send(out)
        self.stats.latency_ms.append((time.monotonic() - frame.t_capture) * 1000)
        return out
