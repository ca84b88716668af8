"""Whether the model must look at a frame again: not while the picture stays still.

In a call most frames differ from the last one the model saw by sensor noise
and compression alone, and the model is the largest single cost of a frame.
So the segmentation thread asks :class:`StillGate` first: while the picture
stays within :data:`STILL_LEVEL` of the last frame the model saw, that
frame's confidence serves again, for at most ``reuse`` frames in a row.  The
refinement still runs on every frame, guided by the frame's own edges.

The measure is the 98th percentile of the change of a tiny grey copy
(:data:`GATE_SIZE`), taken from the segmenter's feed: the mean would let a
moving head in a still room pass for still, and the maximum would call one
flickering pixel motion.  On the demo clip at 1280x720, sensor noise
(sigma 4) reads 1, a shift of one pixel 6, of two 13.
"""

from __future__ import annotations

import cv2
import numpy as np

GATE_SIZE = (64, 36)
"""The tiny grey copy compared from frame to frame (width, height)."""
STILL_LEVEL = 4.0
"""Grey levels (98th percentile of the change) up to which the picture is still."""


class StillGate:
    """``must_run(feed)``: whether the model must see this frame (a BGR feed)."""

    def __init__(self, reuse: int) -> None:
        self.reuse = reuse
        self._seen: np.ndarray | None = None
        self._reused = 0

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
        """Make the next frame go to the model (a new source, model or scene)."""
        self._seen, self._reused = None, 0
