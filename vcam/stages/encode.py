"""Encoding video files: the one ffmpeg writer (H.264, VP9 with alpha, audio) that
``vcam apply`` and ``vcam run --output FILE`` share, and OpenCV's writer where
ffmpeg is missing.

A file is written under a hidden ``.NAME.partial.EXT`` name and renamed when
complete, so a failed or interrupted run never leaves a half-written file under
the real name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from vcam.errors import MediaError, OutputError
from vcam.stages.media import ALPHA_VIDEO_EXTENSIONS

FFMPEG_FIX = "install it with `apt-get install ffmpeg` (or your platform's ffmpeg package)"


def ffmpeg() -> str | None:
    """The ffmpeg executable on PATH, or None."""
    return shutil.which("ffmpeg")


def partial_path(path: Path) -> Path:
    """Where ``path`` is written until it is complete (same folder, same suffix)."""
    return path.with_name(f".{path.stem}.partial{path.suffix}")


def _video_codec(suffix: str, alpha: bool, even: bool, live: bool) -> list[str]:
    if suffix == ".webm":
        # VP9 is the codec browsers and editors read alpha from (yuva420p).  A
        # constant-quality encode at the fast end of libvpx's "good" deadline.
        return ["-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p" if alpha else "yuv420p",
                "-b:v", "0", "-crf", "32", "-deadline", "good", "-cpu-used", "5",
                "-row-mt", "1"]
    # 4:2:0 needs even sizes; an odd-sized video keeps its size in 4:4:4 instead.
    args = ["-c:v", "libx264", "-preset", "ultrafast" if live else "veryfast", "-crf", "18",
            "-pix_fmt", "yuv420p" if even else "yuv444p"]
    if suffix in (".mp4", ".m4v", ".mov") and not live:
        # Index first, for playing while downloading; rewriting the file for it at the
        # end takes longer than a live recording has after SIGTERM.
        args += ["-movflags", "+faststart"]
    return args


class FfmpegSink:
    """Pipes raw frames into ffmpeg, which encodes them and muxes in the source's audio.

    ``channels`` is 3 (BGR), 4 (BGRA, only into WebM: VP9 ``yuva420p``) or 1 (gray).
    ``audio_from`` is a file whose first audio stream, if it has one, is copied over
    (re-encoded to Opus for WebM, AAC otherwise).  ``live``: a recording of the live
    stream, encoded fast enough to keep up with a camera on a busy CPU and finished
    at once when it stops.
    """

    PIX_FMT = {1: "gray", 3: "bgr24", 4: "bgra"}

    def __init__(self, path: Path, width: int, height: int, fps: float, channels: int,
                 audio_from: Path | None = None, *, live: bool = False) -> None:
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
        cmd += _video_codec(suffix, channels == 4, width % 2 == 0 and height % 2 == 0, live)
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


class OpenCvWriter:
    """OpenCV's own writer (mp4v, or MJPG for .avi/.mkv): no ffmpeg needed, but
    MPEG-4 Part 2, which browsers do not play, and no audio."""

    def __init__(self, path: Path, width: int, height: int, fps: float) -> None:
        self.path = path
        fourcc = {".avi": "MJPG", ".mkv": "MJPG"}.get(path.suffix.lower(), "mp4v")
        self._writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), fps,
                                       (width, height))
        if not self._writer.isOpened():
            raise OutputError(f"cannot write video to {path} (use a .mp4 or .avi file name)")
        self.description = f"{path} ({width}x{height}@{fps:g}, OpenCV {fourcc})"

    def send(self, frame: np.ndarray) -> None:
        self._writer.write(frame)

    def close(self) -> None:
        self._writer.release()
