"""The CPU shortcuts of the live path give today's picture (issue 16's quality bar).

Each shortcut is checked against the slow, obvious path on the real demo clip
scaled to 1080p with the real model: a composite within 45 dB PSNR of the
one made without it, or exactly the same where the maths allows.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import read_frames
from vcam.config import Config
from vcam.stages.compositor import Compositor
from vcam.stages.resample import Shrinks, shrink
from vcam.stages.segment import Segmenter

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "assets" / "demo" / "single_face.mp4"
BACKGROUND = ROOT / "assets" / "backgrounds" / "dusk-bokeh.jpg"
SIZE = (1920, 1080)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


@pytest.fixture(scope="module")
def frames_1080p() -> list[np.ndarray]:
    return [cv2.resize(f, SIZE) for f in read_frames(CLIP, 10, step=4)]


@pytest.mark.parametrize("effect", ["replace", "blur", "desaturate", "transparent"])
def test_shrinking_from_the_feed_keeps_the_picture(
        effect: str, frames_1080p: list[np.ndarray], general_segmenter: Segmenter) -> None:
    """Every stage shrinks from the segmenter's 640-wide feed and the refiner's
    working-size alpha instead of the 1080p frame and alpha: within 45 dB."""
    cfg = Config(effect=effect, background=str(BACKGROUND))
    slow, fast = Compositor(cfg), Compositor(cfg)
    worst = float("inf")
    try:
        for i, frame in enumerate(frames_1080p):
            feed = general_segmenter.feed(frame)
            conf = general_segmenter.infer(feed, 1000.0 + i / 30)
            today = slow.apply(frame, slow.refiner.refine(conf, frame))
            now = fast.compose(frame, conf, small=feed)
            assert now.shape == today.shape == frame.shape
            worst = min(worst, psnr(now, today))
    finally:
        slow.close()
        fast.close()
    assert worst >= 45.0, f"{effect}: PSNR {worst:.1f} dB against the full-size path"


def test_shrinks_makes_each_copy_once_from_the_nearest_larger() -> None:
    rng = np.random.default_rng(1)
    image = cv2.GaussianBlur(rng.integers(0, 256, (360, 640, 3), np.uint8), (0, 0), 3)
    half = shrink(image, (320, 180))
    s = Shrinks(image, half)
    assert s.at((640, 360)) is image and s.at((320, 180)) is half
    assert s.source((160, 90)) is half and s.source((400, 200)) is image
    small = s.at((160, 90))
    assert s.at((160, 90)) is small  # kept for the next stage
    assert np.array_equal(small, shrink(half, (160, 90)))
