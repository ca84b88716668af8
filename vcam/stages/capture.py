"""Frame sources: a webcam through OpenCV, or a video file that stands in for one.

A source ``read()``s one BGR frame at a time and owns its device until
``close()``.  A video file is played at its own frame rate and looped, so it
behaves like a camera: tests and the demo use the same code path as a webcam.
"""

from __future__ import annotations

import glob
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from vcam.errors import MediaError, SourceError
from vcam.stages.media import VideoReader

log = logging.getLogger(__name__)

# OpenCV prints its own warnings when a device is missing; ours say more.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


@dataclass(frozen=True)
class Frame:
    """One captured picture.

    ``image`` is HxWx3 uint8 BGR and belongs to the frame: nobody writes into it.
    ``t_capture`` is ``time.monotonic()`` when it was read; ``index`` counts
    frames from 0 for this source.
    """

    image: np.ndarray
    t_capture: float
    index: int


class Source(Protocol):
    """Anything that reads frames: a camera or a looping video file."""

    width: int
    height: int
    fps: float
    description: str

    def read(self) -> np.ndarray | None:
        """The next BGR frame, or None when the device failed (the caller retries)."""
        ...

    def close(self) -> None: ...


def video_devices() -> list[str]:
    """The /dev/video* nodes on this machine (Linux), for messages."""
    return sorted(glob.glob("/dev/video*"), key=lambda p: (len(p), p))


BusyCheck = Callable[[str], str]
"""Given a device path, the processes holding it ('zoom (pid 123)'), or ''."""


def _nobody(path: str) -> str:
    return ""


def is_file_source(spec: int | str) -> bool:
    return isinstance(spec, str) and not spec.startswith("/dev/") and not spec.isdigit()


class CameraSource:
    """A physical webcam by index or /dev/videoN path."""

    def __init__(self, device: int | str, width: int, height: int, fps: int,
                 fourcc: str = "MJPG", *, held_by: BusyCheck = _nobody) -> None:
        """``held_by`` names who holds the device when it will not open (the system
        layer knows how to ask; this stage does not)."""
        self.device = int(device) if isinstance(device, str) and device.isdigit() else device
        backend = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
        self._cap = cv2.VideoCapture(self.device, backend)
        if not self._cap.isOpened():
            self._cap.release()
            path = f"/dev/video{self.device}" if isinstance(self.device, int) else self.device
            busy = held_by(path)
            if busy:
                raise SourceError(f"camera {self.device!r} is busy: {busy} has it open. "
                                  f"Close that program (or pick another camera with --source).")
            found = video_devices()
            raise SourceError(
                f"cannot open camera {self.device!r}; video devices found: "
                f"{', '.join(found) if found else 'none'}. Plug in a webcam, pick another with "
                f"--source (an index, a /dev/videoN path or a video file), "
                f"or try `vcam run --demo`."
            )
        if fourcc:
            self._cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*fourcc))
        self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self._cap.set(cv2.CAP_PROP_FPS, fps)
        # One buffered frame at most: a stale frame is worse than a dropped one.
        self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self.width = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS) or fps)
        self.description = f"camera {self.device} {self.width}x{self.height}@{self.fps:g}"
        if (self.width, self.height) != (width, height):
            log.info("camera gives %dx%d (asked for %dx%d)", self.width, self.height, width, height)

    def read(self) -> np.ndarray | None:
        ok, image = self._cap.read()
        return image if ok and image is not None and image.size else None

    def close(self) -> None:
        self._cap.release()


class VideoFileSource:
    """A video file played in real time at its own rate, looped at the end."""

    def __init__(self, path: str | Path, *, realtime: bool = True, loop: bool = True) -> None:
        self.path = Path(path)
        try:
            self._reader = VideoReader(self.path, purpose="a video source")
        except MediaError as e:
            raise SourceError(f"video source {e}") from None
        self.width, self.height, self.fps = self._reader.width, self._reader.height, \
            self._reader.fps
        self.description = f"{self.path.name} {self.width}x{self.height}@{self.fps:g} (looped)"
        self._realtime = realtime
        self._loop = loop
        self._next_t = time.monotonic()

    def read(self) -> np.ndarray | None:
        if self._realtime:
            # Pace like a camera: a file decodes far faster than 30 fps.
            delay = self._next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._next_t = max(self._next_t + 1.0 / self.fps, time.monotonic() - 1.0 / self.fps)
        image = self._reader.read()
        if image is None and self._loop:
            self._reader.rewind()
            image = self._reader.read()
        return image

    def close(self) -> None:
        self._reader.close()


def open_source(spec: int | str, width: int, height: int, fps: int, fourcc: str = "MJPG", *,
                held_by: BusyCheck = _nobody) -> Source:
    """A camera for an index or /dev path, a looping :class:`VideoFileSource` for a file."""
    if is_file_source(spec):
        return VideoFileSource(str(spec))
    return CameraSource(spec, width, height, fps, fourcc, held_by=held_by)
