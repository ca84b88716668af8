"""MaskStream: the same masks as refining frame by frame, with the work shared out."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.conftest import DEMO_CLIP, read_frames
from vcam.config import ModelChoice, RefineConfig
from vcam.offline.stream import MaskStream
from vcam.stages.refine import Refiner
from vcam.stages.segment import MODELS, Segmenter


@pytest.fixture(scope="module")
def clip() -> list[np.ndarray]:
    return read_frames(DEMO_CLIP, 40)


@pytest.fixture(scope="module")
def confidences(clip: list[np.ndarray]) -> list[np.ndarray]:
    seg = Segmenter(MODELS[ModelChoice.GENERAL])
    try:
        return [seg.segment(f, i / 30) for i, f in enumerate(clip)]
    finally:
        seg.close()


class Lookup:
    """A segmenter stand-in that returns the real model's answers, found by time
    (the clip is 640 wide: the real feed would be the frame itself)."""

    def __init__(self, confidences: list[np.ndarray], delay: float) -> None:
        self.confidences, self.delay = confidences, delay

    def feed(self, frame: np.ndarray) -> np.ndarray:
        return frame

    def infer(self, small: np.ndarray, t: float) -> np.ndarray:
        time.sleep(self.delay)
        return self.confidences[round(t * 30)]


def lookup(confidences: list[np.ndarray], delay: float = 0.0):
    seg = Lookup(confidences, delay)
    return lambda w, h: seg


@pytest.mark.parametrize("model_delay, caller_delay", [(0.01, 0.0), (0.0, 0.01)])
def test_same_masks_as_refining_one_frame_at_a_time(
        clip: list[np.ndarray], confidences: list[np.ndarray],
        model_delay: float, caller_delay: float) -> None:
    """Wherever prepare ran (a slow model keeps it on the caller's thread, a
    slow caller sends it to the worker), the masks are the serial ones."""
    serial = Refiner(RefineConfig())
    expected = [serial.refine(c, f) for c, f in zip(confidences, clip, strict=True)]
    stream = MaskStream(lookup(confidences, model_delay), Refiner(RefineConfig()))
    got: list[np.ndarray] = []
    for frame, t, alpha in stream.run((f, i / 30) for i, f in enumerate(clip)):
        assert frame is clip[len(got)] and t == len(got) / 30
        got.append(alpha)
        time.sleep(caller_delay)
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert np.array_equal(a, b)  # temporal smoothing saw the frames in order


def test_prepare_goes_to_the_less_busy_side(
        clip: list[np.ndarray], confidences: list[np.ndarray]) -> None:
    frames = [(f, i / 30) for i, f in enumerate(clip)]
    slow_caller = MaskStream(lookup(confidences), Refiner(RefineConfig()))
    for _ in slow_caller.run(frames):
        time.sleep(0.02)
    slow_model = MaskStream(lookup(confidences, delay=0.02), Refiner(RefineConfig()))
    for _ in slow_model.run(frames):
        pass
    assert slow_caller.prepared_ahead >= len(clip) - 5
    assert slow_model.prepared_ahead <= 5
