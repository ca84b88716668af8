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

from vcam.stages.segment import ModelSpec, TasksVideo, verify_model

EFFECTS = ("blur", "replace", "desaturate", "transparent")
"""The effects the tutorial has a naive version of; others are timed without one."""


class ReferencePipeline:
    """The tutorial's pipeline, one method per stage, for one effect.

    ``segment(frame, t)`` -> full-size float32 confidence; ``refine(confidence,
    frame)`` -> the hard HxWx3 bool mask; ``composite(frame, mask)`` -> the
    output image (BGR, or BGRA for transparent); ``output(image)`` converts it
    to the I420 a virtual camera gets.
    """

    BLUR_KERNEL = (55, 55)

    def __init__(self, spec: ModelSpec, effect: str, background: np.ndarray | None = None,
                 *, quiet: bool = True) -> None:
        self.effect = effect
        self._background = background
        self._tasks = TasksVideo(verify_model(spec), quiet=quiet)
        self._bgr: np.ndarray | None = None

    def segment(self, frame: np.ndarray, t: float) -> np.ndarray:
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        confidence = self._tasks.segment(rgb, t)
        # The tutorial turns its RGB copy back into BGR and composites that.
        self._bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        return confidence

    def refine(self, confidence: np.ndarray, frame: np.ndarray) -> np.ndarray:
        return np.dstack((confidence,) * 3) > 0.5

    def composite(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self._bgr is not None and self._bgr.shape == frame.shape:
            frame = self._bgr
        h, w = frame.shape[:2]
        if self.effect == "blur":
            return np.where(mask, frame, cv2.GaussianBlur(frame, self.BLUR_KERNEL, 0))
        if self.effect == "desaturate":
            gray = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
            return np.where(mask, frame, gray)
        if self.effect == "replace":
            bg = self._background
            if bg is None:
                bg = np.full_like(frame, 255)
            return np.where(mask, frame, cv2.resize(bg, (w, h)))
        if self.effect == "transparent":
            return np.dstack((frame, mask[..., 0].astype(np.uint8) * 255))
        return frame.copy()

    def output(self, image: np.ndarray) -> None:
        code = cv2.COLOR_BGRA2YUV_I420 if image.shape[2] == 4 else cv2.COLOR_BGR2YUV_I420
        cv2.cvtColor(image, code)

    def close(self) -> None:
        self._tasks.close()
