"""Person segmentation with MediaPipe's selfie models through the Tasks API.

The segmenter takes a full BGR frame and returns the person confidence at the
model's own input size (256x256 general, 256x144 landscape): shrinking the
frame ourselves is cheaper than letting MediaPipe resize a 1080p frame and
hand back a full-size mask, and the refinement stage upsamples it guided by
the frame anyway.
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
        choice = ModelChoice.LANDSCAPE if width >= 1.5 * height else ModelChoice.GENERAL
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
        self._rgb = np.empty((spec.height, spec.width, 3), np.uint8)
        self._small = np.empty((spec.height, spec.width, 3), np.uint8)
        self._mid = np.empty((2 * spec.height, 2 * spec.width, 3), np.uint8)

    def segment(self, frame: np.ndarray, t: float) -> np.ndarray:
        """Person confidence for ``frame`` (BGR uint8) captured at monotonic time ``t``."""
        import mediapipe as mp

        # Shrink first, convert colour once at model size: MediaPipe would resize a
        # full frame itself and hand back a full-size mask.
        small = shrink(frame, (self.spec.width, self.spec.height), dst=self._small,
                       scratch=self._mid)
        cv2.cvtColor(small, cv2.COLOR_BGR2RGB, dst=self._rgb)
        # MediaPipe wants strictly increasing timestamps over the segmenter's life.
        ts = max(int(t * 1000), self._last_ts + 1)
        self._last_ts = ts
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=self._rgb)
        if self._first:
            with native_stderr_silenced(self._quiet):
                result = self._seg.segment_for_video(image, ts)
            self._first = False
        else:
            result = self._seg.segment_for_video(image, ts)
        conf = result.confidence_masks[0].numpy_view()
        return np.array(conf.reshape(conf.shape[0], conf.shape[1]), dtype=np.float32, copy=True)

    def close(self) -> None:
        self._seg.close()
