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

import contextlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from PIL import Image

from vcam.errors import MediaError, OutputError
from vcam.stages.media import ALPHA_VIDEO_EXTENSIONS, read_bgr
from vcam.stages.outputs import FileOutput

log = logging.getLogger(__name__)

FFMPEG_FIX = "install it with `apt-get install ffmpeg` (or your platform's ffmpeg package)"

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


def partial_path(path: Path) -> Path:
    """Where ``path`` is written until it is complete (same folder, same suffix)."""
    return path.with_name(f".{path.stem}.partial{path.suffix}")


def ffmpeg() -> str | None:
    """The ffmpeg executable on PATH, or None."""
    return shutil.which("ffmpeg")


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


def _video_codec(suffix: str, alpha: bool, even: bool) -> list[str]:
    if suffix == ".webm":
        # VP9 is the codec browsers and editors read alpha from (yuva420p).  A
        # constant-quality encode at the fast end of libvpx's "good" deadline.
        return ["-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p" if alpha else "yuv420p",
                "-b:v", "0", "-crf", "32", "-deadline", "good", "-cpu-used", "5",
                "-row-mt", "1"]
    # 4:2:0 needs even sizes; an odd-sized video keeps its size in 4:4:4 instead.
    args = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
            "-pix_fmt", "yuv420p" if even else "yuv444p"]
    if suffix in (".mp4", ".m4v", ".mov"):
        args += ["-movflags", "+faststart"]
    return args


class FfmpegSink:
    """Pipes raw frames into ffmpeg, which encodes them and muxes in the source's audio.

    ``channels`` is 3 (BGR), 4 (BGRA, only into WebM: VP9 ``yuva420p``) or 1 (gray).
    ``audio_from`` is a file whose first audio stream, if it has one, is copied over
    (re-encoded to Opus for WebM, AAC otherwise).
    """

    PIX_FMT = {1: "gray", 3: "bgr24", 4: "bgra"}

    def __init__(self, path: Path, width: int, height: int, fps: float, channels: int,
                 audio_from: Path | None = None) -> None:
        exe = ffmpeg()
        if exe is None:
            raise MediaError(f"{path}: writing video needs ffmpeg, which is not installed; "
                             f"{FFMPEG_FIX}")
        suffix = path.suffix.lower()
        if channels == 4 and suffix not in ALPHA_VIDEO_EXTENSIONS:
            raise MediaError(f"{path}: {suffix} cannot carry alpha")
        self.path = path
        self._tmp = partial_path(path)
        self._shape = (height, width, channels) if channels > 1 else (height, width)
        rate = Fraction(fps).limit_denominator(1001)
        cmd = [exe, "-hide_banner", "-nostats", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", self.PIX_FMT[channels],
               "-s", f"{width}x{height}", "-framerate", str(rate), "-i", "pipe:0"]
        if audio_from is not None:
            cmd += ["-i", str(audio_from), "-map", "0:v:0", "-map", "1:a:0?",
                    "-c:a", "libopus" if suffix == ".webm" else "aac"]
        cmd += _video_codec(suffix, channels == 4, width % 2 == 0 and height % 2 == 0)
        cmd += [str(self._tmp)]
        # ffmpeg's messages go to a file: a pipe nobody reads while frames are
        # written could fill up and stall both processes.
        self._log = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=self._log)
        self.description = f"{path} ({width}x{height}@{float(rate):g}, ffmpeg)"

    def _failure(self, what: str) -> MediaError:
        self._log.seek(0)
        detail = self._log.read().decode("utf-8", "replace").strip().splitlines()[-3:]
        return MediaError(f"{self.path}: ffmpeg {what}: {' / '.join(detail) or 'no message'}")

    def send(self, frame: np.ndarray) -> None:
        if frame.shape != self._shape or frame.dtype != np.uint8:
            raise ValueError(f"frame {frame.shape} {frame.dtype} != {self._shape} uint8")
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame).data)
        except BrokenPipeError:
            self._proc.wait()
            raise self._failure("stopped early") from None

    def close(self) -> None:
        assert self._proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._proc.stdin.close()
        rc = self._proc.wait()
        try:
            if rc != 0:
                self._tmp.unlink(missing_ok=True)
                raise self._failure(f"failed (exit code {rc})")
            os.replace(self._tmp, self.path)
        finally:
            self._log.close()

    def abort(self) -> None:
        self._proc.kill()
        self._proc.wait()
        self._log.close()
        self._tmp.unlink(missing_ok=True)


class OpenCvSink:
    """Fallback without ffmpeg: OpenCV's writer (mp4v/MJPG), no audio, no alpha."""

    def __init__(self, path: Path, width: int, height: int, fps: float) -> None:
        self.path = path
        self._tmp = partial_path(path)
        try:
            self._out = FileOutput(self._tmp, width, height, fps)
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
