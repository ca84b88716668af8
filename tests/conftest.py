"""Shared fixtures: the real test media beside the checkout and real segmenters."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
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


TOOLS = ("Xvfb", "trayer", "xdotool", "xwininfo", "import", "dbus-run-session")


def desktop_missing() -> str:
    """Why the real-desktop tests cannot run here ("" when they can)."""
    absent = [t for t in TOOLS if shutil.which(t) is None]
    if absent:
        return f"{', '.join(absent)} not installed (apt: xvfb trayer xdotool x11-utils " \
               f"imagemagick dbus-x11)"
    gi = subprocess.run([sys.executable, "-c", "import gi; gi.require_version('Gtk', '3.0')"],
                        capture_output=True, timeout=60)
    if gi.returncode:
        return "PyGObject with GTK 3 is not installed (scripts/install-tray-deps.sh)"
    return ""


@pytest.fixture()
def desktop() -> Iterator[dict[str, str]]:
    """An X server with a system tray; yields the environment to reach it."""
    r, w = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "640x480x24",
                             "-nolisten", "tcp"], pass_fds=(w,), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r) as f:
        number = f.readline().strip()
    env = {**os.environ, "DISPLAY": f":{number}"}
    trayer = _trayer(env)
    try:
        yield env
    finally:
        for p in (trayer, xvfb):
            p.terminate()
            p.wait(5)


def _trayer(env: dict[str, str], tries: int = 3) -> subprocess.Popen[bytes]:
    """trayer, showing its panel.  Now and then it finds the new display not there yet
    ("cannot open display") and exits: start it again then."""
    for attempt in range(tries):
        trayer = subprocess.Popen(["trayer", "--edge", "top", "--align", "right", "--widthtype",
                                   "pixel", "--width", "120", "--height", "32"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_window(env, r'"panel"', timeout=10 if attempt < tries - 1 else 30,
                            alive=trayer)
            return trayer
        except AssertionError:
            trayer.terminate()
            trayer.wait(5)
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def wait_for_window(env: dict[str, str], pattern: str, timeout: float = 30,
                    alive: subprocess.Popen[bytes] | None = None) -> re.Match[str]:
    """The first match of ``pattern`` in the X window tree, within ``timeout`` s (sooner
    an AssertionError if the process ``alive`` that should make the window exits)."""
    deadline = time.monotonic() + timeout
    tree = ""
    while time.monotonic() < deadline and (alive is None or alive.poll() is None):
        tree = subprocess.run(["xwininfo", "-root", "-tree"], env=env, capture_output=True,
                              text=True, timeout=10).stdout
        m = re.search(pattern, tree)
        if m:
            return m
        time.sleep(0.2)
    raise AssertionError(f"no window matching {pattern} in {timeout} s:\n{tree}")
