"""Backgrounds for the effects that read one: a colour, an image or a looping video.

A background gives ``frame(width, height, t)``: an HxWx3 BGR array the size of
the camera frame, owned by the background (callers do not write into it).
``t`` is the frame's time in seconds: a live video background ignores it and
plays in wall-clock time on its own thread, while one opened with
``realtime=False`` (``vcam apply``, which runs faster or slower than real time)
shows the frame at ``t``.  Live, a background that cannot be loaded falls back
to white with a warning (:func:`load_background`): a bad path must never stop
the camera.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from vcam.colours import COLOUR_FORMS, Colour, hex_colour, meant_as_colour, parse_colour
from vcam.errors import BackgroundError, MediaError
from vcam.slot import LatestSlot
from vcam.stages.blend import solid
from vcam.stages.media import (
    ANIMATED_EXTENSIONS,
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    VideoReader,
    check_regular_file,
    read_bgr,
)

log = logging.getLogger(__name__)

MAX_IMAGE_PIXELS = 64_000_000
"""Larger images are refused before decoding: a decompression bomb must not eat the RAM."""


class Background(Protocol):
    description: str

    def frame(self, width: int, height: int, t: float = 0.0) -> np.ndarray: ...

    def close(self) -> None: ...


def cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale ``image`` to cover width x height with its aspect kept, centre-cropped."""
    ih, iw = image.shape[:2]
    scale = max(width / iw, height / ih)
    nw, nh = max(width, round(iw * scale)), max(height, round(ih * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(image, (nw, nh), interpolation=interp)
    x, y = (nw - width) // 2, (nh - height) // 2
    return np.ascontiguousarray(scaled[y:y + height, x:x + width])


class SolidBackground:
    def __init__(self, colour: Colour) -> None:
        self.colour = colour
        self.description = hex_colour(colour)
        self._cache: np.ndarray | None = None

    def frame(self, width: int, height: int, t: float = 0.0) -> np.ndarray:
        if self._cache is None or self._cache.shape[:2] != (height, width):
            self._cache = solid((height, width), self.colour)
        return self._cache

    def close(self) -> None:
        pass


def read_image(path: Path) -> np.ndarray:
    """A still image as BGR uint8, refusing what is not a sane image."""
    try:
        return read_bgr(path, max_pixels=MAX_IMAGE_PIXELS, purpose="a background")
    except MediaError as e:
        raise BackgroundError(f"background {e}") from None


class ImageBackground:
    """A still image, scaled to cover the frame once per frame size."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = path.name
        self._image = read_image(path)
        self._cache: np.ndarray | None = None

    def frame(self, width: int, height: int, t: float = 0.0) -> np.ndarray:
        if self._cache is None or self._cache.shape[:2] != (height, width):
            self._cache = cover(self._image, width, height)
        return self._cache

    def close(self) -> None:
        pass


class VideoBackground:
    """A video played in a loop, never loaded whole into memory.

    ``realtime`` (live): its own reader thread decodes one frame per frame
    period and scales it to the camera's size, so the compositor only picks up
    the newest one.  Otherwise the frame at ``t`` is decoded on demand, the
    video looping by its own length.
    """

    def __init__(self, path: Path, *, realtime: bool = True) -> None:
        self.path = path
        self.description = path.name
        try:
            self._reader = VideoReader(path, purpose="a background")
        except MediaError as e:
            raise BackgroundError(f"background {e}") from None
        first = self._reader.read()
        assert first is not None  # the reader decoded it already
        self._frame = first
        self._index = 0
        self._length: int | None = None
        self._size = (first.shape[1], first.shape[0])
        self._size_lock = threading.Lock()
        self._slot: LatestSlot[np.ndarray] = LatestSlot()
        self._slot.put(first)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if realtime:
            self._thread = threading.Thread(target=self._run, name="background-video",
                                            daemon=True)
            self._thread.start()

    def _next(self) -> np.ndarray | None:
        """The next frame, looping at the end; None if the file stopped decoding."""
        img = self._reader.read()
        if img is None:
            self._length = self._index + 1
            self._reader.rewind()
            self._index = -1
            img = self._reader.read()
            if img is None:
                return None
        self._index += 1
        return img

    def _run(self) -> None:
        period = 1.0 / self._reader.fps
        while not self._stop.wait(period):
            img = self._next()
            if img is None:
                log.warning("background video %s stopped decoding; keeping its last frame",
                            self.path)
                return
            with self._size_lock:
                w, h = self._size
            self._slot.put(cover(img, w, h))

    def frame(self, width: int, height: int, t: float = 0.0) -> np.ndarray:
        if self._thread is None:
            return cover(self._frame_at(t), width, height)
        with self._size_lock:
            self._size = (width, height)
        _, img = self._slot.latest()
        assert img is not None
        if img.shape[:2] != (height, width):
            img = cover(img, width, height)
        return img

    def _frame_at(self, t: float) -> np.ndarray:
        target = int(t * self._reader.fps + 1e-6)
        while True:
            if self._length:
                target %= self._length
            if target < self._index:
                self._reader.rewind()
                self._index = -1
            if self._index >= target:
                return self._frame
            img = self._next()
            if img is None:
                return self._frame
            self._frame = img

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
        self._reader.close()


def open_background(spec: str | Path, *, realtime: bool = True) -> Background:
    """A colour (``#rrggbb`` or a name), an image or a video; raises :class:`BackgroundError`."""
    text = str(spec)
    colour = parse_colour(text)
    if colour is not None:
        return SolidBackground(colour)
    if meant_as_colour(text):
        raise BackgroundError(f"background {text!r} is not a colour: give {COLOUR_FORMS}")
    path = Path(text).expanduser()
    try:
        check_regular_file(path, "a background")
    except MediaError as e:
        raise BackgroundError(f"background {e}") from None
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return ImageBackground(path)
    if suffix in VIDEO_EXTENSIONS | ANIMATED_EXTENSIONS:
        return VideoBackground(path, realtime=realtime)
    try:
        return ImageBackground(path)
    except BackgroundError:
        return VideoBackground(path, realtime=realtime)


def load_background(spec: str | Path, fallback: Colour = (255, 255, 255)) -> Background:
    """Like :func:`open_background`, but a bad background warns and falls back to a colour."""
    try:
        return open_background(spec)
    except BackgroundError as e:
        log.warning("%s; using %s instead", e, hex_colour(fallback))
        return SolidBackground(fallback)
