"""vcam.system.tuning: frame-size buffers are reused instead of faulting in fresh pages,
and OpenCV's thread count is set and restored."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import resource, sys
import numpy as np
if sys.argv[1] == "tuned":
    from vcam.system.tuning import keep_freed_frames
    assert keep_freed_frames()
frame = np.full((1080, 1920, 3), 7, np.uint8)
def one_frame():
    # Three 1080p temporaries alive at once, then all freed: a compositor's frame.
    a = frame + 1
    b = a * 2
    c = b - frame
    return int(c[0, 0, 0])
for _ in range(5):
    one_frame()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    one_frame()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / 20)
"""


def faults_per_frame(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], check=True,
                         capture_output=True, text=True).stdout
    return float(out)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning")
def test_frame_buffers_stop_faulting_once_tuned() -> None:
    default, tuned = faults_per_frame("default"), faults_per_frame("tuned")
    print(f"page faults per 1080p frame: default {default:.0f}, tuned {tuned:.0f}")
    # A fresh 6 MB buffer is ~1500 pages; kept for reuse, it costs none.
    assert default > 1000
    assert tuned < 50


def test_opencv_threads_are_set_for_a_while_and_restored() -> None:
    import cv2

    from vcam.system.tuning import opencv_threads

    before = cv2.getNumThreads()
    with opencv_threads(1):
        assert cv2.getNumThreads() == 1
        with opencv_threads(before):
            assert cv2.getNumThreads() == before
        assert cv2.getNumThreads() == 1
    assert cv2.getNumThreads() == before
