"""Fast downscaling for the hot path.

``cv2.INTER_AREA`` is the right filter for a big shrink, but it is slow for
a non-integer ratio (1920 -> 256 wide costs ~6 ms here) and still ~2.7 ms for
1920 -> 320 (6:1); bilinear alone is ~0.1 ms but samples only 2x2 pixels per
output and aliases fine texture.  :func:`shrink` takes bilinear to twice the
target size, then an exact 2:1 area average: ~0.3-0.8 ms from 1080p, and
within rounding of the all-area result on smooth footage.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

TWO_STEP_FROM = 4
"""Shrinks by this factor or more go through twice the target size."""


def shrink(image: np.ndarray, size: tuple[int, int], *, dst: np.ndarray | None = None,
           scratch: np.ndarray | None = None, two_step_from: int = TWO_STEP_FROM) -> np.ndarray:
    """``image`` scaled down to ``size`` (width, height), area-averaged.

    ``dst`` and ``scratch`` (the 2x-size intermediate, same dtype and channels)
    are optional reusable buffers; the result is ``dst`` when given.  Shrinks by
    ``two_step_from`` or more go through twice the target size.
    """
    w, h = size
    if image.shape[1] >= two_step_from * w or image.shape[0] >= two_step_from * h:
        image = cv2.resize(image, (2 * w, 2 * h), dst=scratch, interpolation=cv2.INTER_LINEAR)
    return cv2.resize(image, (w, h), dst=dst, interpolation=cv2.INTER_AREA)


def halve_then_linear(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` scaled down to ``size``: exact 2:1 area halvings (OpenCV's fast
    path) while it is at least twice the target, then bilinear for the rest,
    less than 2:1.  For ratios under :data:`TWO_STEP_FROM` (1080p -> 640x360)
    this is ~1.3 ms on one thread where :func:`shrink` takes ~3 ms (its
    bilinear step writes a 1280x720 image), at 0.4 grey levels mean from the
    all-area result instead of 0.2."""
    image = halve_toward(image, size)
    if (image.shape[1], image.shape[0]) == size:
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


def halve_toward(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` halved (exact 2:1 area averages, OpenCV's fast path) as long as
    it stays at least ``size`` (width, height); itself if it cannot be."""
    w, h = size
    while image.shape[1] >= 2 * w and image.shape[0] >= 2 * h:
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2),
                           interpolation=cv2.INTER_AREA)
    return image


def enlarge_part(small: np.ndarray, size: tuple[int, int], rows: slice, cols: slice
                 ) -> np.ndarray:
    """``cv2.resize(small, size, interpolation=INTER_LINEAR)[rows, cols]``, same
    values, computing only that part when ``size`` is a whole multiple of
    ``small``'s size.

    A bilinear enlargement by a whole factor k maps output pixel x to source
    (x + 0.5) / k - 0.5: shifting x by k shifts the source by exactly one
    pixel with the same weights.  So the part is the enlargement of the
    source pixels it reads (one more on each side, for the border clamp),
    trimmed.  ``rows`` and ``cols`` are plain slices with a start and a stop.
    """
    w, h = size
    sh, sw = small.shape[:2]
    if w % sw or h % sh:
        return cv2.resize(small, size, interpolation=cv2.INTER_LINEAR)[rows, cols]
    kx, ky = w // sw, h // sh
    y0, y1, x0, x1 = rows.start, rows.stop, cols.start, cols.stop
    j0, j1 = max(0, y0 // ky - 1), min(sh, (y1 - 1) // ky + 2)
    i0, i1 = max(0, x0 // kx - 1), min(sw, (x1 - 1) // kx + 2)
    part = cv2.resize(small[j0:j1, i0:i1], ((i1 - i0) * kx, (j1 - j0) * ky),
                      interpolation=cv2.INTER_LINEAR)
    return part[y0 - j0 * ky:y1 - j0 * ky, x0 - i0 * kx:x1 - i0 * kx]


class Shrinks:
    """One picture and the shrunk copies of it that the stages of a frame ask for.

    The model's feed, the refiner's guide, the wall estimate, the blur and the
    light wrap each want the frame small.  Each shrinking a 1080p frame reads
    6 MB that is no longer in cache (~0.5-1.5 ms each here); shrinking the
    640-wide feed instead reads a ninth of that.  So a copy asked for is made
    once, from the smallest copy already at hand that is at least as large,
    and kept for the next stage of the same frame.
    """

    def __init__(self, image: np.ndarray, *smaller: np.ndarray,
                 enlarged_from: np.ndarray | None = None) -> None:
        """``smaller``: copies of ``image`` already shrunk (e.g. the segmenter's feed);
        ``enlarged_from``: the small picture ``image`` was made from by a bilinear
        :func:`cv2.resize` (the refiner's working-size alpha), if it was."""
        self.image = image
        self.enlarged_from = enlarged_from
        known = (*smaller, enlarged_from) if enlarged_from is not None else smaller
        self._copies = {(c.shape[1], c.shape[0]): c for c in known}
        self._derived: dict[tuple[object, ...], np.ndarray] = {}

    def derived(self, key: tuple[object, ...], make: Callable[[], np.ndarray]) -> np.ndarray:
        """``make()``, made once per ``key`` for this picture: a small layer computed
        from it (the wall estimate, the blurred background).  Live, a still frame
        keeps the last frame's alpha (vcam.stages.gate), and with it these.  Not
        to be written to."""
        got = self._derived.get(key)
        if got is None:
            got = self._derived[key] = make()
        return got

    def at(self, size: tuple[int, int]) -> np.ndarray:
        """The picture at ``size`` (width, height), area-averaged (see :func:`shrink`).
        Not to be written to: later stages read the same array."""
        got = self._copies.get(size)
        if got is None:
            src = self.source(size)
            got = src if src.shape[1::-1] == size else shrink(src, size)
            self._copies[size] = got
        return got

    def source(self, size: tuple[int, int]) -> np.ndarray:
        """The smallest copy at hand at least ``size`` (width, height): the picture
        itself when no shrunk copy is that large."""
        w, h = size
        fits = [c for (cw, ch), c in self._copies.items() if cw >= w and ch >= h]
        return min(fits, key=lambda c: c.shape[1]) if fits else self.image
