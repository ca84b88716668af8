"""Process-wide settings for streaming frames.

Keep freed frame buffers in the process instead of handing them back to
the kernel (:func:`keep_freed_frames`).  Every stage makes frame-size
arrays (a 1080p BGR frame is 6 MB).  glibc's malloc returns a freed block
that size to the kernel as soon as the free space at the top of its heap
passes its trim threshold (by default twice the mmap threshold, ~12 MB once
6 MB blocks have been seen), so the next frame's array is fresh memory again
and every one of its pages faults on first touch.  With light wrap at 1080p
that was ~2300 page faults and 4-7 ms of a ~17 ms frame here (``vcam bench``
reports faults per frame).  Raising both thresholds keeps those blocks for
reuse: the process holds on to what its busiest frame needed, which it
would need again for the next one.

Live, run each OpenCV call on the thread that makes it
(:func:`one_opencv_thread`): the pipeline already has frames in flight on
its capture, segmentation and output threads, so OpenCV splitting each call
across a second worker only adds hand-offs.  At 1080p30 that worker took
25% of a core: 96% of one core in all, 77% without it, every frame still
out on time.  Offline (``vcam apply``) throughput is what counts, and there
the split still wins a little at 1080p, so it keeps OpenCV's default.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import sys
from collections.abc import Iterator

import cv2

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2**20
"""Blocks below this come from the heap (glibc's most on 64-bit): every frame up to 4K BGR."""
TRIM_THRESHOLD = 512 * 2**20
"""Free memory at the heap's top kept for reuse before any is returned."""


def keep_freed_frames() -> bool:
    """Tune glibc's malloc as above; False (and nothing changed) on other C libraries."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # musl and others: no mallopt, and their own policies
    ok = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    log.debug("malloc thresholds %s", "raised" if ok else "left as they were")
    return ok


def one_opencv_thread() -> None:
    cv2.setNumThreads(1)


@contextlib.contextmanager
def opencv_threads(n: int) -> Iterator[None]:
    """OpenCV with ``n`` threads for the duration (``vcam bench`` runs its live
    part with one, as ``vcam run`` does, and the rest with OpenCV's default)."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(n)
    try:
        yield
    finally:
        cv2.setNumThreads(before)
