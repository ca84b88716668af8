"""Shared fixtures: the real test media beside the checkout and real segmenters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from vcam import assets_dir
from vcam.config import ModelChoice
from vcam.segment import MODELS, Segmenter

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DEMO_CLIP = assets_dir() / "demo" / "single_face.mp4"


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared/media beside the checkout (CI lays it there); skip where it is absent."""
    media = SHARED / "media"
    if not media.is_dir():
        pytest.skip(f"test media not found at {media} (the shared/ folder beside the checkout)")
    return media


def read_frames(path: Path, n: int, step: int = 1) -> list[np.ndarray]:
    """The first ``n`` frames of a video (every ``step``-th)."""
    cap = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    i = 0
    while len(frames) < n:
        ok, f = cap.read()
        if not ok:
            break
        if i % step == 0:
            frames.append(f)
        i += 1
    cap.release()
    assert frames, f"could not read {path}"
    return frames


@pytest.fixture(scope="session")
def landscape_segmenter() -> Iterator[Segmenter]:
    seg = Segmenter(MODELS[ModelChoice.LANDSCAPE])
    yield seg
    seg.close()


@pytest.fixture(scope="session")
def general_segmenter() -> Iterator[Segmenter]:
    seg = Segmenter(MODELS[ModelChoice.GENERAL])
    yield seg
    seg.close()
