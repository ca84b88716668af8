"""The hot path's shortcuts give the results of the slow, obvious code.

:func:`vcam.stages.blend.blend` blends only the edge band; :func:`vcam.stages.resample.shrink`
goes bilinear-then-area instead of area all the way; :func:`vcam.stages.resample.enlarge_part`
and :func:`vcam.stages.blend.add_enlarged` enlarge only the part they need.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import imread
from vcam.stages import effects
from vcam.stages.blend import add_enlarged, blend, blend_into, solid
from vcam.stages.resample import enlarge_part, halve_then_linear, shrink

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PHOTO = SHARED / "media" / "images" / "skimage_astronaut_512.png"


def whole_frame_blend(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Every pixel multiplied: fg*a/255 + bg*(255-a)/255, each term rounded, in uint8."""
    a = alpha.astype(np.float64)[..., None]
    fg_part = np.round(fg * a / 255)
    bg_part = np.round(bg * (255 - a) / 255)
    return np.clip(fg_part + bg_part, 0, 255).astype(np.uint8)


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 150), w=st.integers(1, 200), seed=st.integers(0, 2**31),
       kind=st.sampled_from(["noise", "zero", "opaque", "sparse", "disc"]))
def test_blend_equals_the_whole_frame_blend(h: int, w: int, seed: int, kind: str) -> None:
    rng = np.random.default_rng(seed)
    fg = rng.integers(0, 256, (h, w, 3), np.uint8)
    bg = rng.integers(0, 256, (h, w, 3), np.uint8)
    if kind == "noise":
        alpha = rng.integers(0, 256, (h, w), np.uint8)
    elif kind == "zero":
        alpha = np.zeros((h, w), np.uint8)
    elif kind == "opaque":
        alpha = np.full((h, w), 255, np.uint8)
    elif kind == "sparse":
        alpha = np.where(rng.random((h, w)) < 0.02, rng.integers(0, 256, (h, w)), 0)
        alpha = alpha.astype(np.uint8)
    else:
        alpha = np.zeros((h, w), np.uint8)
        cv2.circle(alpha, (w // 2, h // 2), max(1, min(h, w) // 3), 255, -1)
        alpha = cv2.GaussianBlur(alpha, (0, 0), 2)
    before = bg.copy()
    out = blend(fg, bg, alpha)
    assert np.array_equal(bg, before), "blend must not write into its inputs"
    diff = np.abs(out.astype(int) - whole_frame_blend(fg, bg, alpha))
    assert diff.max() <= 1  # the float rounding of cv2.multiply, nothing more


@pytest.mark.skipif(not PHOTO.is_file(), reason=f"shared test media not found at {PHOTO}")
def test_blend_into_a_real_photo_at_1080p() -> None:
    photo = cv2.resize(imread(PHOTO), (1920, 1080))
    alpha = np.zeros((1080, 1920), np.uint8)
    cv2.ellipse(alpha, (960, 700), (420, 520), 0, 0, 360, 255, -1)
    alpha = np.asarray(cv2.GaussianBlur(alpha, (0, 0), 12), np.uint8)
    key = solid(photo.shape, (0, 255, 0))
    expected = whole_frame_blend(photo, key, alpha)
    out = blend_into(key, photo, alpha)
    assert out is key
    assert np.abs(out.astype(int) - expected).max() <= 1
    assert (out[alpha == 0] == (0, 255, 0)).all()
    assert np.array_equal(out[alpha == 255], photo[alpha == 255])


@pytest.mark.skipif(not PHOTO.is_file(), reason=f"shared test media not found at {PHOTO}")
@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720), (640, 480)])
def test_shrink_is_close_to_an_area_average(size: tuple[int, int]) -> None:
    frame = cv2.resize(imread(PHOTO), size, interpolation=cv2.INTER_CUBIC)
    for target in [(256, 144), (256, 256), (320, 180)]:
        area = cv2.resize(frame, target, interpolation=cv2.INTER_AREA).astype(int)
        dst = np.empty((target[1], target[0], 3), np.uint8)
        out = shrink(frame, target, dst=dst)
        assert out is dst and out.shape == (target[1], target[0], 3)
        assert np.abs(out.astype(int) - area).mean() < 1.0  # plain bilinear: 1.3 to 3.2


@pytest.mark.skipif(not PHOTO.is_file(), reason=f"shared test media not found at {PHOTO}")
def test_a_strong_blur_done_narrower_looks_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    photo = cv2.resize(imread(PHOTO), (1280, 720), interpolation=cv2.INTER_CUBIC)
    alpha = np.zeros((720, 1280), np.uint8)
    cv2.ellipse(alpha, (640, 470), (280, 350), 0, 0, 360, 255, -1)
    alpha = np.asarray(cv2.GaussianBlur(alpha, (0, 0), 8), np.uint8)
    assert effects.blur_work_width(12, 1280) == effects.BLUR_WORK_WIDTH // 2
    narrow = effects.blurred_background(photo, alpha, 12)
    monkeypatch.setattr(effects, "BLUR_MIN_SIGMA", 1000.0)  # always the full work width
    assert effects.blur_work_width(12, 1280) == effects.BLUR_WORK_WIDTH
    full = effects.blurred_background(photo, alpha, 12)
    visible = alpha < 255
    assert np.abs(narrow.astype(int) - full)[visible].mean() < 1.0


@pytest.mark.skipif(not PHOTO.is_file(), reason=f"shared test media not found at {PHOTO}")
@pytest.mark.parametrize("size, target", [((1920, 1080), (640, 360)), ((1280, 720), (640, 360)),
                                          ((1920, 1080), (480, 270)), ((640, 480), (640, 480))])
def test_halve_then_linear_is_close_to_an_area_average(
        size: tuple[int, int], target: tuple[int, int]) -> None:
    frame = cv2.resize(imread(PHOTO), size, interpolation=cv2.INTER_CUBIC)
    area = cv2.resize(frame, target, interpolation=cv2.INTER_AREA).astype(int)
    out = halve_then_linear(frame, target)
    assert out.shape == (target[1], target[0], 3)
    assert np.abs(out.astype(int) - area).mean() < 0.6  # bilinear straight there: 1.3 to 3.2


SIZES = st.sampled_from([(160, 90, 1920, 1080), (160, 90, 1280, 720), (160, 120, 640, 480),
                         (7, 5, 70, 40), (150, 90, 1920, 1080), (9, 4, 10, 9)])


@settings(max_examples=80, deadline=None)
@given(sizes=SIZES, channels=st.sampled_from([1, 3]), seed=st.integers(0, 2**31),
       box=st.tuples(*[st.floats(0, 1)] * 4))
def test_an_enlarged_part_is_that_part_of_the_whole_enlargement(
        sizes: tuple[int, int, int, int], channels: int, seed: int,
        box: tuple[float, float, float, float]) -> None:
    sw, sh, w, h = sizes
    shape = (sh, sw, channels) if channels == 3 else (sh, sw)
    small = np.random.default_rng(seed).integers(0, 256, shape, np.uint8)
    y0, x0 = int(box[0] * (h - 1)), int(box[1] * (w - 1))
    y1, x1 = y0 + 1 + int(box[2] * (h - y0 - 1)), x0 + 1 + int(box[3] * (w - x0 - 1))
    whole = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    part = enlarge_part(small, (w, h), slice(y0, y1), slice(x0, x1))
    assert np.array_equal(part, whole[y0:y1, x0:x1])


@settings(max_examples=40, deadline=None)
@given(sizes=SIZES, channels=st.sampled_from([1, 3]), seed=st.integers(0, 2**31),
       lit=st.floats(0.0, 0.3))
def test_adding_an_enlarged_sparse_layer_equals_adding_it_all(
        sizes: tuple[int, int, int, int], channels: int, seed: int, lit: float) -> None:
    sw, sh, w, h = sizes
    rng = np.random.default_rng(seed)
    extra = (3,) if channels == 3 else ()
    layer = rng.integers(0, 256, (sh, sw, *extra), np.uint8)
    layer[rng.random((sh, sw)) > lit] = 0  # a few lit pixels, as light wrap's rim
    dst = rng.integers(0, 256, (h, w, *extra), np.uint8)
    expected = cv2.add(dst, cv2.resize(layer, (w, h), interpolation=cv2.INTER_LINEAR))
    out = add_enlarged(dst, layer)
    assert out is dst
    assert np.array_equal(out, expected)
