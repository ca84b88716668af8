"""Reading and writing the still images and videos ``vcam apply`` works on.

Readers hand out BGR uint8 frames.  Writers take what the chosen effect makes:
HxWx3 BGR, HxWx4 BGRA (real transparency) or HxW uint8 (a mask) and ``send()``
them, like the live outputs in :mod:`vcam.stages.outputs`; ``close()`` finishes the
file, ``abort()`` throws it away.  A single output file is written under a
hidden ``.NAME.partial.EXT`` name and renamed when complete, so a failed or
interrupted run never leaves a half-written file under the real name.

Videos are written through ffmpeg when it is installed (it keeps the audio and
is the only way to write VP9 with alpha); PNG frame patterns need nothing.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from PIL import Image

from vcam.errors import MediaError, OutputError
from vcam.stages.encode import FFMPEG_FIX, FfmpegSink, OpenCvWriter, ffmpeg, partial_path
from vcam.stages.media import read_bgr

log = logging.getLogger(__name__)

_FRAME_NUMBER = re.compile(r"%0?\d*d")


def is_frame_pattern(path: Path) -> bool:
    """True for an output like ``out/frame_%05d.png`` (one image per video frame)."""
    return _FRAME_NUMBER.search(path.name) is not None


def pattern_files(pattern: Path) -> list[Path]:
    """The files already there that a frame pattern names (to refuse or replace them)."""
    if not pattern.parent.is_dir():
        return []
    head, tail = _FRAME_NUMBER.split(pattern.name, maxsplit=1)
    names = re.compile(re.escape(head) + r"\d+" + re.escape(tail))
    return sorted(p for p in pattern.parent.iterdir() if names.fullmatch(p.name))


# -- reading ------------------------------------------------------------------------

def read_image(path: Path) -> np.ndarray:
    """A still image as HxWx3 BGR uint8, turned upright by its EXIF orientation.

    An alpha channel in the input is dropped: the person is segmented from the colours.
    """
    return read_bgr(path)


def looks_like_image(path: Path) -> bool:
    """True if Pillow recognises the file's header as an image (reads no pixels)."""
    try:
        with Image.open(path):
            return True
    except Exception:
        return False


# -- writing ------------------------------------------------------------------------

def write_image(path: Path, image: np.ndarray) -> None:
    """Write BGR, BGRA or single-channel ``image``; the format follows the suffix."""
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if path.suffix.lower() in (".jpg", ".jpeg") else []
    ok, data = cv2.imencode(path.suffix, image, params)
    if not ok:
        raise MediaError(f"{path}: OpenCV cannot encode a {path.suffix} image")
    tmp = partial_path(path)
    try:
        tmp.write_bytes(data.tobytes())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise MediaError(f"{path}: cannot write it ({e.strerror or e})") from None


class VideoSink(Protocol):
    """Where a processed video's frames go, in order."""

    description: str

    def send(self, frame: np.ndarray) -> None: ...

    def close(self) -> None:
        """Finish the output (it appears under its real name)."""
        ...

    def abort(self) -> None:
        """Discard what was written."""
        ...


class FramePatternSink:
    """One image per frame, ``pattern % index`` with the index counted from 0."""

    def __init__(self, pattern: Path) -> None:
        self.pattern = pattern
        self.description = f"frames {pattern}"
        self._written: list[Path] = []
        pattern.parent.mkdir(parents=True, exist_ok=True)

    def send(self, frame: np.ndarray) -> None:
        path = self.pattern.with_name(self.pattern.name % len(self._written))
        write_image(path, frame)
        self._written.append(path)

    def close(self) -> None:
        pass

    def abort(self) -> None:
        for p in self._written:
            p.unlink(missing_ok=True)


class OpenCvSink:
    """Fallback without ffmpeg: OpenCV's writer (mp4v/MJPG), no audio, no alpha."""

    def __init__(self, path: Path, width: int, height: int, fps: float) -> None:
        self.path = path
        self._tmp = partial_path(path)
        try:
            self._out = OpenCvWriter(self._tmp, width, height, fps)
        except OutputError as e:
            raise MediaError(f"{path}: {e}") from None
        self.description = f"{path} ({width}x{height}@{fps:g}, OpenCV, no audio)"

    def send(self, frame: np.ndarray) -> None:
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        self._out.send(frame)

    def close(self) -> None:
        self._out.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self._out.close()
        self._tmp.unlink(missing_ok=True)


def open_video_sink(path: Path, width: int, height: int, fps: float, channels: int,
                    audio_from: Path | None) -> VideoSink:
    """The writer for ``path``: a frame pattern, ffmpeg, or (no ffmpeg, no alpha) OpenCV."""
    if is_frame_pattern(path):
        return FramePatternSink(path)
    if ffmpeg() is None and channels != 4 and path.suffix.lower() not in (".webm",):
        log.warning("ffmpeg not found: writing %s through OpenCV, without audio; %s",
                    path, FFMPEG_FIX)
        return OpenCvSink(path, width, height, fps)
    return FfmpegSink(path, width, height, fps, channels, audio_from)
