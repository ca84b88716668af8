"""The parts that can vanish under a running pipeline, wrapped so that they come back.

:class:`ReconnectingSource` (the camera) and :class:`ReconnectingOutput` (the
virtual camera) never raise into the thread that uses them: a failure is
retried with back-off (0.5 s doubling to 5 s) and reported as a
:class:`~vcam.health.Health` through ``on_health``, and so is the recovery.
Nothing is queued meanwhile: frames read or sent while a part is away are
dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np

from vcam.errors import OutputError, SourceError
from vcam.health import Health, HealthCallback, State
from vcam.stages.capture import Source
from vcam.stages.outputs import Output

log = logging.getLogger(__name__)

RETRY_MIN, RETRY_MAX = 0.5, 5.0
STARTING = "starting the camera"


def _ignore(_health: Health) -> None:
    pass


class Backoff:
    """Seconds to wait before the next try: RETRY_MIN, doubling to RETRY_MAX."""

    def __init__(self) -> None:
        self.delay = RETRY_MIN

    def next(self) -> float:
        delay, self.delay = self.delay, min(self.delay * 2, RETRY_MAX)
        return delay

    def reset(self) -> None:
        self.delay = RETRY_MIN


class ReconnectingSource:
    """The camera, reopened when it fails or stops sending, released on request.

    ``read()`` returns the next BGR frame, or None when there is none (the camera
    is being opened, is lost, or sent a malformed frame); it waits through
    ``wait`` (the pipeline's stop event, so a stop cuts a back-off short) and never
    raises.  ``reopen`` opens the camera again; None means it cannot be reopened
    (then a lost camera stays lost).
    """

    LOST_AFTER = 1.0
    """Seconds without a frame before the camera counts as lost and is reopened."""

    def __init__(self, reopen: Callable[[], Source] | None, first: Source | None, *,
                 on_health: HealthCallback = _ignore,
                 wait: Callable[[float], object] = time.sleep) -> None:
        self._reopen = reopen
        self._src = first
        self._on_health = on_health
        self._wait = wait
        self._backoff = Backoff()
        self._last_ok = time.monotonic()
        self._state = State.STARTING
        self.failures = 0
        """Reads that gave no frame, over the life of this source."""

    def _report(self, state: State, detail: str = "") -> None:
        self._state = state
        self._on_health(Health(state, detail))

    def read(self) -> np.ndarray | None:
        if self._src is None and not self._open():
            return None
        assert self._src is not None
        image = self._src.read()
        now = time.monotonic()
        if image is not None and (image.ndim != 3 or image.shape[2] != 3
                                  or image.size == 0 or image.dtype != np.uint8):
            if self.failures == 0:
                log.warning("camera sent a malformed frame %s %s; skipping such frames",
                            image.shape, image.dtype)
            image = None
        if image is None:
            self.failures += 1
            if now - self._last_ok > self.LOST_AFTER and self._reopen is not None:
                log.warning("camera stopped sending frames; reopening it")
                self._close_source()
                self._report(State.CAMERA_LOST, "the camera stopped sending frames; reopening it")
            else:
                self._wait(0.01)
            return None
        self._last_ok = now
        if self._state is not State.LIVE:
            self._report(State.LIVE)
        return image

    def _open(self) -> bool:
        if self._reopen is None:
            self._wait(0.1)
            return False
        if self._state is not State.CAMERA_LOST:
            # Opening after a pause or an idle spell: starting, nothing alarming.
            self._report(State.STARTING, STARTING)
        try:
            self._src = self._reopen()
        except SourceError as e:
            delay = self._backoff.next()
            log.warning("camera lost, retrying in %g s: %s", delay, e)
            self._report(State.CAMERA_LOST, f"{e} (retrying in {delay:g} s)")
            self._wait(delay)
            return False
        log.info("camera open: %s", self._src.description)
        self._backoff.reset()
        self._last_ok = time.monotonic()
        return True

    def release(self, why: str) -> None:
        """Close the camera (its light goes off) until the next ``read()``."""
        if self._src is not None:
            self._close_source()
            log.info("%s: camera released", why)
        if self._state is not State.STARTING:
            # What the viewer sees the moment the pause or idle spell ends.
            self._report(State.STARTING, STARTING)

    def _close_source(self) -> None:
        assert self._src is not None
        try:
            self._src.close()
        except Exception:  # a dead device may fail to close; it is gone either way
            log.debug("closing the camera raised", exc_info=True)
        self._src = None

    def close(self) -> None:
        if self._src is not None:
            self._close_source()


class ReconnectingOutput:
    """Wraps an output that can vanish (a virtual camera whose device was removed).

    When ``send`` fails, the output is closed and reopened with ``open_output``
    after a back-off; frames sent meanwhile are dropped, never queued, and
    ``connected`` is False.  The stream resumes by itself when the device is back.
    """

    def __init__(self, open_output: Callable[[], Output], first: Output | None = None, *,
                 on_health: HealthCallback = _ignore) -> None:
        """``first``: an output already open (else ``open_output()`` opens one now)."""
        self._open = open_output
        self._out: Output | None = first or open_output()
        self.description = self._out.description
        self._on_health = on_health
        self._backoff = Backoff()
        self._next_try = 0.0
        self.failures = 0

    @property
    def connected(self) -> bool:
        return self._out is not None

    def send(self, frame: np.ndarray) -> None:
        if self._out is None:
            if time.monotonic() < self._next_try:
                return
            try:
                self._out = self._open()
            except (OutputError, OSError) as e:
                self._lost(f"still unavailable: {e}")
                return
            log.info("output back: %s", self._out.description)
            self._backoff.reset()
            self._on_health(Health(State.LIVE))
        try:
            self._out.send(frame)
        except Exception as e:  # the device went away mid-stream
            self.failures += 1
            log.warning("output %s failed (%s); reconnecting", self.description, e)
            try:
                self._out.close()
            except Exception:  # closing a dead device may fail too; it is gone either way
                log.debug("closing the failed output raised", exc_info=True)
            self._out = None
            self._lost(str(e))

    def _lost(self, why: str) -> None:
        delay = self._backoff.next()
        self._next_try = time.monotonic() + delay
        self._on_health(Health(State.OUTPUT_LOST,
                               f"{self.description}: {why} (retrying in {delay:g} s)"))

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
