"""Reading images and videos: the one decoder of each, for the camera stand-in
(a video file), backgrounds and ``vcam apply``, with one list of extensions
and one sanity range for a container's frame rate.
"""

from __future__ import annotations

import logging
import stat
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from vcam.errors import MediaError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"})
"""Still images we read and write (PNG, JPEG, WebP, BMP, TIFF)."""
ALPHA_IMAGE_EXTENSIONS = frozenset({".png", ".webp", ".tif", ".tiff"})
"""Still image formats that carry an alpha channel."""
VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi"})
"""Video containers we read and write; anything OpenCV decodes is accepted as input."""
ANIMATED_EXTENSIONS = frozenset({".gif"})
"""Read as a (looping) video, never written: a GIF background moves."""
ALPHA_VIDEO_EXTENSIONS = frozenset({".webm"})
"""Video containers we write with alpha (VP9 ``yuva420p``)."""
MEDIA_EXTENSIONS = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS | ANIMATED_EXTENSIONS
"""Everything a folder of backgrounds or of inputs is searched for."""

FPS_RANGE = (1.0, 240.0)
"""A container's frame rate outside this is a broken header: 30 is assumed instead."""


class ImageReadError(MediaError, ValueError):
    """An image could not be read; the message names the file and why."""


def check_regular_file(path: Path, purpose: str) -> None:
    """:class:`MediaError` unless ``path`` is a regular file.  Opening a FIFO, a
    device or a socket can block forever, and a thread stuck in ``open()`` cannot
    be stopped, so such paths are refused before anything opens them."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise MediaError(f"{path}: no such file") from None
    except OSError as e:
        raise MediaError(f"{path}: cannot read it ({e.strerror or e})") from None
    if not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise MediaError(f"{path}: {what}; {purpose} must be an image or video file")


def sane_fps(fps: float, path: Path) -> float:
    """``fps`` from a container's header, or 30 (with a warning) when it is implausible."""
    lo, hi = FPS_RANGE
    if fps and lo <= fps <= hi:
        return float(fps)
    log.warning("%s: implausible frame rate %r; assuming 30", path, fps)
    return 30.0


def read_bgr(path: Path, *, max_pixels: int | None = None, purpose: str = "an image"
             ) -> np.ndarray:
    """``path`` as HxWx3 BGR uint8, upright by its EXIF orientation (alpha dropped).

    With ``max_pixels`` the size is checked from the header before any pixel is
    decoded, so a decompression bomb is refused without touching the memory.
    """
    try:
        check_regular_file(path, purpose)
    except MediaError as e:
        raise ImageReadError(str(e)) from None
    try:
        with warnings.catch_warnings():
            # Our own limit decides where one is given, with a message the user can act on.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
        with im:
            if max_pixels is not None and im.width * im.height > max_pixels:
                raise ImageReadError(
                    f"{path}: {im.width}x{im.height} is too large for {purpose} "
                    f"(at most {max_pixels // 1_000_000} megapixels)")
            rgb = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    except ImageReadError:
        raise
    except Image.DecompressionBombError as e:
        raise ImageReadError(f"{path}: too large for {purpose} ({e})") from None
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except Exception as e:  # Pillow raises many types for bad files
        raise ImageReadError(f"{path}: not a readable image ({e})") from None
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


class VideoReader:
    """Decodes a video file frame by frame with OpenCV.

    ``width``/``height`` are those of the first decoded frame (after OpenCV's
    rotation handling); later frames of another size are scaled to it, and
    each frame returned is a new array the caller owns.  ``fps`` is the
    container's frame rate (:func:`sane_fps`); ``frame_count`` is the
    container's estimate (0 if unknown), for progress only.
    """

    def __init__(self, path: Path, purpose: str = "a video") -> None:
        self.path = path
        check_regular_file(path, purpose)
        self._cap = cv2.VideoCapture(str(path))
        ok, first = self._cap.read() if self._cap.isOpened() else (False, None)
        if not ok or first is None or not first.size:
            self._cap.release()
            raise MediaError(f"{path}: not an image or a video OpenCV can decode")
        self.fps = sane_fps(self._cap.get(cv2.CAP_PROP_FPS), path)
        self.height, self.width = first.shape[:2]
        self.frame_count = max(0, int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        self._first: np.ndarray | None = first

    def read(self) -> np.ndarray | None:
        """The next BGR frame, or None at the end of the file."""
        if self._first is not None:
            image, self._first = self._first, None
            return image
        ok, image = self._cap.read()
        if not ok or image is None or not image.size:
            return None
        if image.shape[:2] != (self.height, self.width):
            image = cv2.resize(image, (self.width, self.height))
        return image

    def rewind(self) -> None:
        """Start again from the first frame."""
        self._first = None
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)

    def close(self) -> None:
        self._cap.release()
