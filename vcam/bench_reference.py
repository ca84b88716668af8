"""The naive pipeline ``vcam bench`` measures SelfieCam against.

It is the MediaPipe selfie-segmentation tutorial's loop, stage by stage, so
anyone can rerun the comparison: BGR->RGB, the *full* frame to MediaPipe
(which resizes it for the model and returns a full-size float mask), the RGB
converted back to BGR, the mask stacked to three channels with ``np.dstack``
and cut at 0.5, and ``np.where`` between the frame and a full-resolution
background -- a 55x55 Gaussian of the frame (blur), a gray copy (desaturate),
the background image resized every frame (replace) -- or the mask added as an
alpha channel (transparent).  The output conversion is the BGR->I420 that
pyvirtualcam does for a virtual camera.

Nothing here is used by SelfieCam itself; it is the yardstick.
"""

from __future__ import annotations

import cv2
import numpy as np

from vcam.config import Effect
from vcam.segment import ModelSpec, native_stderr_silenced, verify_model


class ReferencePipeline:
    """The tutorial's pipeline, one method per stage, for one effect.

    ``segment(frame, t)`` -> full-size float32 confidence; ``refine(confidence,
    frame)`` -> the hard HxWx3 bool mask; ``composite(frame, mask)`` -> the
    output image (BGR, or BGRA for transparent); ``output(image)`` converts it
    to the I420 a virtual camera gets.
    """

    BLUR_KERNEL = (55, 55)

    def __init__(self, spec: ModelSpec, effect: Effect, background: np.ndarray | None = None,
                 *, quiet: bool = True) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        self.effect = effect
        self._background = background
        options = vision.ImageSegmenterOptions(
            base_options=BaseOptions(model_asset_path=str(verify_model(spec))),
            running_mode=vision.RunningMode.VIDEO,
            output_confidence_masks=True,
            output_category_mask=False,
        )
        with native_stderr_silenced(quiet):
            self._seg = vision.ImageSegmenter.create_from_options(options)
        self._quiet = quiet
        self._first = True
        self._last_ts = -1
        self._bgr: np.ndarray | None = None

    def segment(self, frame: np.ndarray, t: float) -> np.ndarray:
        import mediapipe as mp

        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        ts = max(int(t * 1000), self._last_ts + 1)
        self._last_ts = ts
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        with native_stderr_silenced(self._quiet and self._first):
            result = self._seg.segment_for_video(image, ts)
        self._first = False
        # The tutorial turns its RGB copy back into BGR and composites that.
        self._bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        return np.squeeze(result.confidence_masks[0].numpy_view())

    def refine(self, confidence: np.ndarray, frame: np.ndarray) -> np.ndarray:
        return np.dstack((confidence,) * 3) > 0.5

    def composite(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self._bgr is not None and self._bgr.shape == frame.shape:
            frame = self._bgr
        h, w = frame.shape[:2]
        if self.effect is Effect.BLUR:
            return np.where(mask, frame, cv2.GaussianBlur(frame, self.BLUR_KERNEL, 0))
        if self.effect is Effect.DESATURATE:
            gray = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
            return np.where(mask, frame, gray)
        if self.effect is Effect.REPLACE:
            bg = self._background
            if bg is None:
                bg = np.full_like(frame, 255)
            return np.where(mask, frame, cv2.resize(bg, (w, h)))
        if self.effect is Effect.TRANSPARENT:
            return np.dstack((frame, mask[..., 0].astype(np.uint8) * 255))
        return frame.copy()

    def output(self, image: np.ndarray) -> None:
        code = cv2.COLOR_BGRA2YUV_I420 if image.shape[2] == 4 else cv2.COLOR_BGR2YUV_I420
        cv2.cvtColor(image, code)

    def close(self) -> None:
        self._seg.close()
