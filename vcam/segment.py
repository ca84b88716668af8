"""Person segmentation with MediaPipe's selfie models through the Tasks API.

The segmenter takes a full BGR frame and returns the person confidence at the
model's own input size (256x256 general, 256x144 landscape).  MediaPipe is
handed the frame shrunk by a whole factor to at most :data:`FEED_WIDTH`
pixels wide, not the full frame: at 1080p that halves its time (it would
resize it and return a full-size mask) yet it still does the last resize to
the model itself.  Doing that last step ourselves changes the answer: with
INTER_AREA the IoU on the cafeteria photo drops from 0.572 to 0.519, with
INTER_LINEAR to 0.450, so the model is best fed as MediaPipe feeds it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vcam import assets_dir
from vcam.config import ModelChoice
from vcam.resample import shrink

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    file: str
    width: int
    height: int
    sha256: str


MODELS = {
    ModelChoice.GENERAL: ModelSpec(
        "general", "selfie_segmentation.tflite", 256, 256,
        "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c"),
    ModelChoice.LANDSCAPE: ModelSpec(
        "landscape", "selfie_segmentation_landscape.tflite", 256, 144,
        "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd"),
}


def pick_model(choice: ModelChoice, width: int, height: int) -> ModelSpec:
    """``auto`` takes the landscape model for wide frames (16:9 and wider), else general."""
    if choice is ModelChoice.AUTO:
        # The landscape model is 16:9; 16:10, 3:2 and 4:3 frames do better with general
        # (children photo, 566x350: IoU 0.944 general vs 0.931 landscape).
        choice = ModelChoice.LANDSCAPE if width >= 1.7 * height else ModelChoice.GENERAL
    return MODELS[choice]


def model_path(spec: ModelSpec) -> Path:
    return assets_dir() / "models" / spec.file


def verify_model(spec: ModelSpec) -> Path:
    """The model file, checked against its known sha256."""
    path = model_path(spec)
    if not path.is_file():
        raise FileNotFoundError(
            f"model file missing: {path}. Reinstall SelfieCam, or restore it with "
            f"`python scripts/fetch_models.py`.")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != spec.sha256:
        raise ValueError(f"model file {path} is damaged: sha256 {digest} != {spec.sha256}. "
                         f"Restore it with `python scripts/fetch_models.py`.")
    return path


@contextlib.contextmanager
def native_stderr_silenced(enabled: bool = True) -> Iterator[None]:
    """Send fd 2 to /dev/null for the duration.

    MediaPipe's native code (absl, TFLite) writes start-up chatter straight to
    fd 2; environment variables do not silence it, only this does.
    """
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


FEED_WIDTH = 640
"""Frames wider than this are shrunk by a whole factor before MediaPipe sees them."""


def feed_factor(width: int) -> int:
    """The whole factor that brings ``width`` to at most :data:`FEED_WIDTH`."""
    return max(1, -(-width // FEED_WIDTH))


class Segmenter:
    """Turns BGR frames into person-confidence masks, in VIDEO running mode.

    ``segment(frame, t)`` returns a float32 HxW array in 0..1 (1 = person) at
    the model's input size; the array is a fresh copy owned by the caller
    (MediaPipe's own buffer is read-only and reused).  Not thread-safe: one
    thread uses a segmenter.
    """

    def __init__(self, spec: ModelSpec, *, quiet: bool = True) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        self.spec = spec
        self._quiet = quiet
        path = verify_model(spec)
        options = vision.ImageSegmenterOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=vision.RunningMode.VIDEO,
            output_confidence_masks=True,
            output_category_mask=False,
        )
        with native_stderr_silenced(quiet):
            self._seg = vision.ImageSegmenter.create_from_options(options)
        self._last_ts = -1
        self._first = True

    def segment(self, frame: np.ndarray, t: float) -> np.ndarray:
        """Person confidence for ``frame`` (BGR uint8) captured at monotonic time ``t``."""
        import mediapipe as mp

        h, w = frame.shape[:2]
        k = feed_factor(w)
        if k > 1:
            # 1080p -> 640x360 in ~1.5 ms (bilinear to 2x, then an exact 2:1 area
            # average) where a 3:1 INTER_AREA takes ~2.4 ms; 720p -> 640x360 ~0.15 ms.
            frame = shrink(frame, (w // k, h // k), two_step_from=3)
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        # MediaPipe wants strictly increasing timestamps over the segmenter's life.
        ts = max(int(t * 1000), self._last_ts + 1)
        self._last_ts = ts
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        if self._first:
            with native_stderr_silenced(self._quiet):
                result = self._seg.segment_for_video(image, ts)
            self._first = False
        else:
            result = self._seg.segment_for_video(image, ts)
        conf = result.confidence_masks[0].numpy_view()
        conf = conf.reshape(conf.shape[0], conf.shape[1])
        # MediaPipe's buffer is read-only and not ours: the resize makes our own copy.
        return cv2.resize(conf, (self.spec.width, self.spec.height), interpolation=cv2.INTER_AREA)

    def close(self) -> None:
        self._seg.close()
