"""Masks for a stream of frames in order, on two threads (``vcam apply`` on a video).

Segmentation of the next frame runs on a worker thread (:func:`vcam.offline.ahead.run_ahead`)
while the caller composites this one.  Refinement's stateless half
(:meth:`Refiner.prepare`) may run on either side; it goes to whichever side
has been less busy, since which one that is depends on the frame size and
the effect: at 720p the model is the larger share and prepare belongs with
the compositor, at 1080p a heavy effect makes it the other way round.
Either way the mask is the same: prepare keeps no state, and
:meth:`Refiner.complete` (the temporal smoothing) always runs on the
caller's thread in frame order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

import numpy as np

from vcam.offline.ahead import run_ahead
from vcam.stages.refine import Prepared, Refiner


class Feeds(Protocol):
    """What the stream needs of a :class:`~vcam.stages.segment.Segmenter`."""

    def feed(self, frame: np.ndarray) -> np.ndarray: ...

    def infer(self, small: np.ndarray, t: float) -> np.ndarray: ...


SegmenterFor = Callable[[int, int], Feeds]
"""(width, height) -> the segmenter for frames of that size."""

SMOOTHING = 0.1
"""Weight of the newest frame in the running busy-time averages."""


class MaskStream:
    """``run(frames)``: ``(frame, t)`` pairs in, ``(frame, t, alpha)`` out, in order.

    The segmenter is used on the worker thread only, so one that must stay on
    one thread is fine.  Its feed (the frame already shrunk for the model)
    goes to :meth:`Refiner.prepare` too, for the grey guide.  The time the
    caller spends between taking a result and asking for the next (its
    compositing and output) counts as its side's busy time.
    """

    def __init__(self, segmenter_for: SegmenterFor, refiner: Refiner) -> None:
        self._segmenter_for = segmenter_for
        self.refiner = refiner
        self.worker_ms = 0.0
        """Running average of the worker's segmentation time per frame."""
        self.caller_ms = 0.0
        """Running average of the caller's time per frame, refinement's prepare left out."""
        self.prepared_ahead = 0
        """Frames whose prepare ran on the worker (the rest ran on the caller's thread)."""

    def _ahead(self, item: tuple[np.ndarray, float]
               ) -> Prepared | tuple[np.ndarray, np.ndarray]:
        frame, t = item
        t0 = time.perf_counter()
        seg = self._segmenter_for(frame.shape[1], frame.shape[0])
        small = seg.feed(frame)
        conf = seg.infer(small, t)
        self.worker_ms = _average(self.worker_ms, (time.perf_counter() - t0) * 1000)
        if self.worker_ms <= self.caller_ms:
            self.prepared_ahead += 1
            return self.refiner.prepare(conf, frame, small)
        return conf, small

    def run(self, frames: Iterable[tuple[np.ndarray, float]]
            ) -> Iterator[tuple[np.ndarray, float, np.ndarray]]:
        for (frame, t), got in run_ahead(frames, self._ahead, name="stream-segment"):
            t0 = time.perf_counter()
            if isinstance(got, Prepared):
                prepared, prepare_ms = got, 0.0
            else:
                prepared = self.refiner.prepare(got[0], frame, got[1])
                prepare_ms = (time.perf_counter() - t0) * 1000
            yield frame, t, self.refiner.complete(prepared)
            mine = (time.perf_counter() - t0) * 1000 - prepare_ms
            self.caller_ms = _average(self.caller_ms, mine)


def _average(old: float, new: float) -> float:
    return new if old == 0.0 else old + SMOOTHING * (new - old)
