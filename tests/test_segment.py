"""The segmenter's two runtimes: LiteRT's interpreter and MediaPipe Tasks give the same mask."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import DEMO_CLIP, imread, read_frames
from vcam.config import ModelChoice, Runtime, parse
from vcam.errors import ConfigError
from vcam.stages import segment
from vcam.stages.segment import MODELS, Segmenter, pick_runtime


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return read_frames(DEMO_CLIP, 4, step=15)


@pytest.mark.parametrize("choice", [ModelChoice.GENERAL, ModelChoice.LANDSCAPE])
@pytest.mark.parametrize("size", [(640, 360), (1280, 720), (1920, 1080)])
def test_litert_and_mediapipe_agree_on_webcam_frames(
        frames: list[np.ndarray], choice: ModelChoice, size: tuple[int, int]) -> None:
    spec = MODELS[choice]
    lite = Segmenter(spec, runtime=Runtime.LITERT)
    tasks = Segmenter(spec, runtime=Runtime.MEDIAPIPE)
    try:
        assert (lite.runtime, tasks.runtime) == (Runtime.LITERT, Runtime.MEDIAPIPE)
        for i, frame in enumerate(frames):
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            a, b = lite.segment(frame, i / 30), tasks.segment(frame, i / 30)
            assert a.shape == b.shape == (spec.height, spec.width)
            assert a.dtype == np.float32
            # Same pixels in, same kernels: what is left is MediaPipe's round trip
            # of the mask through the frame's size.
            assert float(np.abs(a - b).mean()) < 0.01
            assert ((a > 0.5) == (b > 0.5)).mean() > 0.995
            assert (a > 0.5).mean() > 0.1  # the person is found at all
    finally:
        lite.close()
        tasks.close()


def test_litert_keeps_the_ground_truth_score(shared: Path) -> None:
    """The children photo's real alpha matte: IoU of the raw 0.5 cut stays at
    MediaPipe's level (0.944 measured through Tasks)."""
    photo = imread(shared / "gt" / "realesrgan_children5_566x350_rgb.png")
    gt = imread(shared / "gt" / "realesrgan_children5_566x350_alpha.png",
                    cv2.IMREAD_GRAYSCALE) > 127
    seg = Segmenter(MODELS[ModelChoice.GENERAL], runtime=Runtime.LITERT)
    try:
        conf = seg.segment(photo, 0.0)
    finally:
        seg.close()
    pred = cv2.resize(conf, (photo.shape[1], photo.shape[0])) > 0.5
    iou = (pred & gt).sum() / (pred | gt).sum()
    assert iou > 0.935, iou


def test_the_mask_is_the_callers_own(frames: list[np.ndarray]) -> None:
    seg = Segmenter(MODELS[ModelChoice.GENERAL], runtime=Runtime.LITERT)
    try:
        first = seg.segment(frames[0], 0.0)
        kept = first.copy()
        first[:] = 0.5  # writable: ours to edit
        second = seg.segment(frames[-1], 1.0)
        assert not np.shares_memory(first, second)
        assert np.array_equal(seg.segment(frames[0], 2.0), kept)  # deterministic
    finally:
        seg.close()


def test_auto_falls_back_to_mediapipe_without_litert(monkeypatch: pytest.MonkeyPatch) -> None:
    assert pick_runtime(Runtime.AUTO) is Runtime.LITERT  # installed with vcam here
    monkeypatch.setattr(segment, "litert_available", lambda: False)
    assert pick_runtime(Runtime.AUTO) is Runtime.MEDIAPIPE
    with pytest.raises(RuntimeError, match="pip install ai-edge-litert"):
        pick_runtime(Runtime.LITERT)


def test_runtime_is_validated_in_config() -> None:
    assert parse({"runtime": "mediapipe"}, "c.toml").runtime is Runtime.MEDIAPIPE
    with pytest.raises(ConfigError, match="runtime"):
        parse({"runtime": "tpu"}, "c.toml")
