"""Shared fixtures: the real test media beside the checkout and real segmenters."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from vcam import assets_dir
from vcam.config import ModelChoice
from vcam.stages.segment import MODELS, Segmenter

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DEMO_CLIP = assets_dir() / "demo" / "single_face.mp4"


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared/media beside the checkout (CI lays it there); skip where it is absent."""
    media = SHARED / "media"
    if not media.is_dir():
        pytest.skip(f"test media not found at {media} (the shared/ folder beside the checkout)")
    return media


def load_eval_quality() -> Any:
    """scripts/eval_quality.py as a module: the tests measure with the report's own
    functions, so the two cannot drift apart."""
    name = "eval_quality"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, Path(__file__).resolve().parents[1] / "scripts" / "eval_quality.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def imread(path: Path | str, flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """``cv2.imread`` that fails the test, naming the file, instead of returning None."""
    image = cv2.imread(str(path), flags)
    assert image is not None, f"cannot read {path}"
    return image


def face_cascade() -> cv2.CascadeClassifier:
    """OpenCV's own frontal face detector: an independent judge of where a face is."""
    folder: str = cv2.data.haarcascades  # type: ignore[attr-defined]
    return cv2.CascadeClassifier(folder + "haarcascade_frontalface_default.xml")


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


class Holder:
    """Another real process that holds ``path`` open (as Zoom holds /dev/video10)
    until ``release()``."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c",
             f"import time; f = open({str(path)!r}, 'rb'); print('open', flush=True); "
             "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "open"
        self.pid = self.proc.pid

    def release(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def hold_open() -> Iterator[Callable[[Path], Holder]]:
    """``hold_open(path)`` starts a :class:`Holder`; all are released after the test."""
    holders: list[Holder] = []

    def start(path: Path) -> Holder:
        holders.append(Holder(path))
        return holders[-1]

    yield start
    for h in holders:
        h.release()
