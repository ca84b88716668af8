"""Backgrounds for the ``replace`` effect: a colour, an image or a looping video.

A background gives ``frame(width, height)``: an HxWx3 BGR array the size of
the camera frame, owned by the background (callers do not write into it).  A
background that cannot be loaded falls back to white with a warning: a bad
path must never stop the camera.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from vcam.config import Colour, hex_colour, parse_colour
from vcam.live.slot import LatestSlot
from vcam.stages.effects import solid
from vcam.stages.images import ImageReadError, read_bgr

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
VIDEO_EXTENSIONS = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".gif"}
MAX_IMAGE_PIXELS = 64_000_000
"""Larger images are refused before decoding: a decompression bomb must not eat the RAM."""


class BackgroundError(ValueError):
    """A background could not be loaded; the message says which and why."""


class Background(Protocol):
    description: str

    def frame(self, width: int, height: int) -> np.ndarray: ...

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

    def frame(self, width: int, height: int) -> np.ndarray:
        if self._cache is None or self._cache.shape[:2] != (height, width):
            self._cache = solid((height, width), self.colour)
        return self._cache

    def close(self) -> None:
        pass


def read_image(path: Path) -> np.ndarray:
    """A still image as BGR uint8, refusing what is not a sane image."""
    try:
        return read_bgr(path, max_pixels=MAX_IMAGE_PIXELS, purpose="a background")
    except ImageReadError as e:
        raise BackgroundError(str(e)) from None


class ImageBackground:
    """A still image, scaled to cover the frame once per frame size."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = path.name
        self._image = read_image(path)
        self._cache: np.ndarray | None = None

    def frame(self, width: int, height: int) -> np.ndarray:
        if self._cache is None or self._cache.shape[:2] != (height, width):
            self._cache = cover(self._image, width, height)
        return self._cache

    def close(self) -> None:
        pass


class VideoBackground:
    """A video played in a loop by its own reader thread, at its own frame rate.

    Frames are decoded one at a time and scaled to the camera's size in the
    reader thread, so the compositor only picks up the newest one; the file is
    never loaded whole into memory.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = path.name
        cap = cv2.VideoCapture(str(path))
        ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok or first is None:
            cap.release()
            raise BackgroundError(f"{path}: not a readable video")
        fps = cap.get(cv2.CAP_PROP_FPS)
        self._period = 1.0 / fps if fps and 1 <= fps <= 120 else 1 / 30
        self._cap = cap
        self._size = (first.shape[1], first.shape[0])
        self._size_lock = threading.Lock()
        self._slot: LatestSlot[np.ndarray] = LatestSlot()
        self._slot.put(first)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="background-video", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        failures = 0
        while not self._stop.wait(self._period):
            ok, img = self._cap.read()
            if not ok or img is None:
                # End of file (or a broken frame): loop from the start.
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                failures += 1
                if failures > 3:
                    log.warning("background video %s stopped decoding; keeping its last frame",
                                self.path)
                    return
                continue
            failures = 0
            with self._size_lock:
                w, h = self._size
            self._slot.put(cover(img, w, h))

    def frame(self, width: int, height: int) -> np.ndarray:
        with self._size_lock:
            self._size = (width, height)
        _, img = self._slot.latest()
        assert img is not None
        if img.shape[:2] != (height, width):
            img = cover(img, width, height)
        return img

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        self._cap.release()


def open_background(spec: str | Path) -> Background:
    """A colour (``#rrggbb`` or a name), an image or a video; raises :class:`BackgroundError`."""
    text = str(spec)
    colour = parse_colour(text)
    if colour is not None:
        return SolidBackground(colour)
    path = Path(text).expanduser()
    if not path.exists():
        raise BackgroundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXTENSIONS and suffix != ".gif":
        return ImageBackground(path)
    if suffix in VIDEO_EXTENSIONS:
        return VideoBackground(path)
    try:
        return ImageBackground(path)
    except BackgroundError:
        return VideoBackground(path)


def load_background(spec: str | Path, fallback: Colour = (255, 255, 255)) -> Background:
    """Like :func:`open_background`, but a bad background warns and falls back to a colour."""
    try:
        return open_background(spec)
    except BackgroundError as e:
        log.warning("background %s; using %s instead", e, hex_colour(fallback))
        return SolidBackground(fallback)
