"""The camera and virtual-camera stand-ins ``vcam bench`` times the pipelines with."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

MAX_CLIP_FRAMES = 150
JPEG_QUALITY = 90


class MjpegClip:
    """A real clip at one size, held as JPEGs the way an MJPG webcam sends frames.

    Decoding a JPEG is the capture cost a real 1080p webcam puts on the CPU, and
    keeping only the compressed frames keeps memory flat however long it plays.
    """

    def __init__(self, path: Path, width: int, height: int,
                 max_frames: int = MAX_CLIP_FRAMES, *, inset: float = 1.0) -> None:
        """``inset`` < 1: the clip shrunk by that much, bottom centre in a grey frame (a
        person sitting back, so auto-framing has something to crop)."""
        cap = cv2.VideoCapture(str(path))
        self.jpegs: list[np.ndarray] = []
        try:
            while len(self.jpegs) < max_frames:
                ok, image = cap.read()
                if not ok or image is None:
                    break
                if image.shape[:2] != (height, width):
                    image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
                if inset < 1.0:
                    image = inset_picture(image, inset)
                ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
                if ok:
                    self.jpegs.append(data)
        finally:
            cap.release()
        if not self.jpegs:
            raise ValueError(f"{path}: no frames could be read (is it a video OpenCV can decode?)")
        self.width, self.height = width, height
        self.name = path.name

    def decode(self, i: int) -> np.ndarray:
        """Frame ``i`` (looped), BGR uint8, a new array."""
        image = cv2.imdecode(self.jpegs[i % len(self.jpegs)], cv2.IMREAD_COLOR)
        assert image is not None
        return image


def inset_picture(image: np.ndarray, share: float) -> np.ndarray:
    """``image`` shrunk to ``share`` of its size, bottom centre in a grey frame."""
    h, w = image.shape[:2]
    sw, sh = max(2, round(w * share)), max(2, round(h * share))
    out = np.full_like(image, 128)
    x = (w - sw) // 2
    out[h - sh:, x:x + sw] = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
    return out


class PacedClipSource:
    """A :class:`~vcam.stages.capture.Source` that delivers an :class:`MjpegClip` like a camera:
    one frame every 1/fps s on a fixed clock, decoded on read."""

    def __init__(self, clip: MjpegClip, fps: float) -> None:
        self.clip = clip
        self.width, self.height, self.fps = clip.width, clip.height, fps
        self.description = f"paced {clip.name} {clip.width}x{clip.height}@{fps:g}"
        self.decode_ms: list[float] = []
        self.late = 0
        """Frame slots the reader was too slow for (a camera would drop those)."""
        self._i = 0
        self._t0: float | None = None

    def read(self) -> np.ndarray | None:
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        due = self._t0 + self._i / self.fps
        if due > now:
            time.sleep(due - now)
        elif now - due > 1 / self.fps:
            # The reader fell behind a whole frame: skip ahead like a camera would.
            skip = int((now - due) * self.fps)
            self.late += skip
            self._i += skip
        t0 = time.perf_counter()
        image = self.clip.decode(self._i)
        self.decode_ms.append((time.perf_counter() - t0) * 1000)
        self._i += 1
        return image

    def close(self) -> None:
        pass


class RecordingSink:
    """An :class:`~vcam.stages.outputs.Output` that does a virtual camera's work without one:
    pyvirtualcam converts each BGR frame to I420 (here cv2.cvtColor into a reused
    buffer) before writing it to the device, and we record when each frame went out."""

    def __init__(self, width: int, height: int) -> None:
        self.description = f"recording sink {width}x{height} (BGR->I420)"
        self._i420 = np.empty((height * 3 // 2, width), np.uint8)
        self.times: list[float] = []

    def send(self, frame: np.ndarray) -> None:
        cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420, dst=self._i420)
        self.times.append(time.monotonic())

    def close(self) -> None:
        pass


