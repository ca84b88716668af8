"""Bad input everywhere: a clear error and nothing lost (config fuzzing, broken backgrounds)."""

from __future__ import annotations

import logging
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import DEMO_CLIP, read_frames
from vcam.config import Config, parse
from vcam.errors import ConfigError
from vcam.stages.backgrounds import (
    Background,
    BackgroundError,
    SolidBackground,
    load_background,
    open_background,
)
from vcam.stages.compositor import Compositor

KEYS: dict[str, Any] = {
    "effect": None, "model": None, "mirror": None, "background": None, "backgrounds": None,
    "blur": None, "key_colour": None, "log_level": None,
    "camera": ["device", "width", "height", "fps", "fourcc"],
    "virtual_camera": ["name", "device", "fps"],
    "refine": ["threshold", "softness", "temporal", "temporal_strength"],
}

toml_scalars = st.one_of(
    st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12), st.sampled_from(["blur", "replace", "auto", "#00ff00", "white", "0",
                                           "/dev/video0", "MJPG", "info"]))
toml_values = st.one_of(toml_scalars, st.lists(toml_scalars, max_size=3),
                        st.dictionaries(st.text(max_size=6), toml_scalars, max_size=2))


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(sorted(KEYS)), unique=True, max_size=6)):
        sub = KEYS[key]
        if sub is None or draw(st.integers(0, 9)) == 0:  # sometimes a table is not a table
            doc[key] = draw(toml_values)
        else:
            doc[key] = {k: draw(toml_values) for k in
                        draw(st.lists(st.sampled_from(sub), unique=True, max_size=len(sub)))}
    if draw(st.booleans()):
        doc[draw(st.text(min_size=1, max_size=8))] = draw(toml_scalars)
    return doc


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_any_config_is_valid_or_a_named_error(doc: dict[str, Any]) -> None:
    try:
        cfg = parse(doc, "fuzz.toml")
    except ConfigError as e:
        assert str(e).startswith(f"fuzz.toml: {e.key}: ")
        # The key named is one the document has: a top-level key, or table.key.
        assert e.key in doc or e.key.split(".", 1)[0] in doc, (e.key, doc)
    else:
        assert isinstance(cfg, Config)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height but holds one row: what a decompression bomb's
    header looks like to a reader that trusts it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * (width + 1))) + chunk(b"IEND", b""))


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("empty.png", b"", "not a readable image"),
        ("text.jpg", b"this is not a picture\n", "not a readable image"),
        ("truncated.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "not a readable image"),
        ("bomb.png", png_header_only(30000, 30000), "too large"),
        ("big.png", png_header_only(10000, 9000), "too large"),
    ],
    ids=["empty", "text", "truncated", "bomb-30000x30000", "90-megapixels"],
)
def test_broken_background_is_refused_with_a_reason(tmp_path: Path, name: str, content: bytes,
                                                     words: str,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BackgroundError, match=words):
        open_background(path)
    with caplog.at_level(logging.WARNING):
        bg = load_background(path)
    assert isinstance(bg, SolidBackground)
    assert name in caplog.text and words in caplog.text
    frame = bg.frame(64, 48)
    assert frame.shape == (48, 64, 3) and (frame == 255).all()


def test_broken_video_background_falls_back(tmp_path: Path) -> None:
    path = tmp_path / "loop.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(100))
    bg = load_background(path)
    assert isinstance(bg, SolidBackground)
    assert np.all(bg.frame(8, 8) == 255)


class BreakingBackground:
    """A real image background that fails to give frames for a while (say, a network
    drive that went away), then recovers."""

    def __init__(self, inner: Background, failures: int) -> None:
        self.inner, self.failures = inner, failures
        self.description = "breaking"

    def frame(self, width: int, height: int, t: float = 0.0) -> np.ndarray:
        if self.failures > 0:
            self.failures -= 1
            raise OSError("background file went away")
        return self.inner.frame(width, height, t)

    def close(self) -> None:
        self.inner.close()


def test_a_failing_effect_passes_frames_through_logged_once(
        caplog: pytest.LogCaptureFixture) -> None:
    frame = read_frames(DEMO_CLIP, 1)[0]
    comp = Compositor(Config(effect="replace"))
    comp._background = BreakingBackground(open_background("#0000ff"), failures=5)
    confidence = np.ones((256, 256), np.float32) * 0.0  # all background
    with caplog.at_level(logging.ERROR):
        outs = [comp.compose(frame, confidence) for _ in range(8)]
    assert all(np.array_equal(o, frame) for o in outs[:5])  # passed through
    assert (outs[-1] == (255, 0, 0)).all()  # and back to the blue background
    assert caplog.text.count("background file went away") == 1
    comp.close()


def test_video_background_loops_forever(tmp_path: Path) -> None:
    path = tmp_path / "loop.mp4"
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 30, (64, 48))
    for i in range(6):  # 0.2 s of frames whose grey level says which frame it is
        vw.write(np.full((48, 64, 3), 40 * i, np.uint8))
    vw.release()
    bg = open_background(path)
    try:
        seen = []
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.0:
            seen.append(int(bg.frame(32, 24).mean() / 40 + 0.5))
            time.sleep(1 / 60)
    finally:
        bg.close()
    # Played through more than once: after the last frame comes the first again.
    wraps = sum(1 for a, b in zip(seen, seen[1:], strict=False) if b < a)
    assert wraps >= 3, seen
    assert set(seen) >= {0, 5}
