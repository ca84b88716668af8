"""Whether the model must look at a frame again: not while the picture stays still.

In a call most frames differ from the last one the model saw by sensor noise
and compression alone, and the model is the largest single cost of a frame.
So the segmentation thread segments through :class:`StillGate`: while the
picture stays within :data:`STILL_LEVEL` of the last frame the model saw,
that frame's confidence serves again, for at most ``reuse`` frames in a row,
marked not fresh, and the compositor keeps the cut-out it made from it
(:meth:`vcam.stages.compositor.Compositor.cut`).

The measure is the 98th percentile of the change of a tiny grey copy
(:data:`GATE_SIZE`), taken from the segmenter's feed: the mean would let a
moving head in a still room pass for still, and the maximum would call one
flickering pixel motion.  On the demo clip at 1280x720, sensor noise
(sigma 4) reads 1, a shift of one pixel 6, of two 13.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

GATE_SIZE = (64, 36)
"""The tiny grey copy compared from frame to frame (width, height)."""
STILL_LEVEL = 4.0
"""Grey levels (98th percentile of the change) up to which the picture is still."""


class Model(Protocol):
    """What :meth:`StillGate.segment` needs of a segmenter
    (:class:`vcam.stages.segment.Segmenter`)."""

    def feed(self, frame: np.ndarray) -> np.ndarray: ...

    def infer(self, small: np.ndarray, t: float) -> np.ndarray: ...


@dataclass(frozen=True)
class Segmented:
    """A frame's person confidence, the feed it was judged by, and whether the
    model saw this frame (``fresh``) or its last confidence serves again."""

    confidence: np.ndarray
    feed: np.ndarray
    fresh: bool


class StillGate:
    """``segment(model, frame, t)``: the frame's confidence, the model's own only
    when the picture moved (``must_run``)."""

    def __init__(self, reuse: int) -> None:
        self.reuse = reuse
        self._seen: np.ndarray | None = None
        self._reused = 0
        self._confidence: np.ndarray | None = None

    def segment(self, model: Model, frame: np.ndarray, t: float) -> Segmented:
        """``frame`` (BGR, captured at ``t``) through ``model``'s feed, and through the
        model itself unless the picture is still since the last frame it saw."""
        feed = model.feed(frame)
        if self._confidence is None or self.must_run(feed):
            self._confidence = model.infer(feed, t)
            return Segmented(self._confidence, feed, True)
        return Segmented(self._confidence, feed, False)

    def must_run(self, feed: np.ndarray) -> bool:
        """True when the model must see ``feed``; then it becomes the frame
        later ones are compared with."""
        if self.reuse <= 0:
            return True
        grey = cv2.cvtColor(feed, cv2.COLOR_BGR2GRAY) if feed.ndim == 3 else feed
        tiny = cv2.resize(grey, GATE_SIZE, interpolation=cv2.INTER_AREA)
        if (self._seen is None or self._reused >= self.reuse
                or tiny.shape != self._seen.shape
                or np.percentile(cv2.absdiff(tiny, self._seen), 98) > STILL_LEVEL):
            self._seen, self._reused = tiny, 0
            return True
        self._reused += 1
        return False

    def reset(self) -> None:
        """Make the next frame go to the model and forget its last confidence (a new
        source, model or scene, or a pause: an old mask must not come back)."""
        self._seen, self._reused, self._confidence = None, 0, None
