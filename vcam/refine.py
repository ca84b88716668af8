"""Mask refinement: the model's low-resolution confidence -> a frame-size soft alpha.

``Refiner.refine(confidence, frame)`` takes the segmenter's float32 confidence
(model size, 0..1) and the BGR frame it came from, and returns an HxW uint8
alpha at the frame's size (255 = person).  The refiner keeps its own copy of
the previous mask for temporal smoothing, never a view of the model's buffer.
"""

from __future__ import annotations

import cv2
import numpy as np

from vcam.config import RefineConfig


class Refiner:
    """Soft threshold, temporal smoothing and upsampling to the frame's size."""

    def __init__(self, cfg: RefineConfig) -> None:
        self.cfg = cfg
        self._prev: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the previous mask (a new scene, a new source or a new model)."""
        self._prev = None

    def soft(self, confidence: np.ndarray) -> np.ndarray:
        """Confidence -> alpha in 0..1 with a smooth ramp of width ``softness`` around
        ``threshold`` instead of a hard cut."""
        lo = self.cfg.threshold - self.cfg.softness / 2
        hi = self.cfg.threshold + self.cfg.softness / 2
        t = np.clip((confidence - lo) * (1.0 / max(hi - lo, 1e-6)), 0.0, 1.0)
        return t * t * (3.0 - 2.0 * t)

    def smooth(self, alpha: np.ndarray) -> np.ndarray:
        """Blend in the previous mask only where the current one is unsure, so a
        moving person does not leave a trail but an uncertain edge does not flicker."""
        if not self.cfg.temporal or self._prev is None or self._prev.shape != alpha.shape:
            self._prev = alpha.copy()
            return alpha
        certainty = np.abs(alpha - 0.5) * 2.0
        w = certainty ** self.cfg.temporal_strength
        out = w * alpha + (1.0 - w) * self._prev
        np.copyto(self._prev, out)
        return out

    def refine(self, confidence: np.ndarray, frame: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        alpha = self.smooth(self.soft(confidence))
        small = (alpha * 255.0 + 0.5).astype(np.uint8)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
