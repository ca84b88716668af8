"""The blur effect leaves no halo, and light wrap only lights the person's edge.

A real photo of children with its real alpha matte is put on a known,
saturated background; just outside the children, the blurred output must keep
the background's colour, not take on the children's (a plain blur would).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import imread
from vcam.config import ModelChoice, RefineConfig
from vcam.stages.blend import blend
from vcam.stages.effects import EffectParams, effect_blur, effect_replace
from vcam.stages.refine import Refiner
from vcam.stages.segment import MODELS, Segmenter

GT = Path(__file__).resolve().parents[1].parent / "shared" / "media" / "gt"
PHOTO = GT / "realesrgan_children5_566x350_rgb.png"
MATTE = GT / "realesrgan_children5_566x350_alpha.png"

pytestmark = pytest.mark.skipif(
    not PHOTO.is_file(), reason=f"test photo not found at {PHOTO} (../shared beside the checkout)")

BACKGROUND = (40, 160, 40)  # BGR: a green none of the children wear near their edges


@pytest.fixture(scope="module")
def scene():
    """(frame, alpha, band): the children on the green, their matte scaled to
    720p, and a band 4..20 px outside them."""
    photo = cv2.resize(imread(PHOTO), (1280, 720), interpolation=cv2.INTER_LINEAR)
    alpha = cv2.resize(imread(MATTE, cv2.IMREAD_GRAYSCALE), (1280, 720),
                       interpolation=cv2.INTER_LINEAR)
    green = np.empty_like(photo)
    green[:] = BACKGROUND
    frame = blend(photo, green, alpha)
    person = (alpha > 0).astype(np.uint8)
    near = cv2.dilate(person, np.ones((41, 41), np.uint8))
    touch = cv2.dilate(person, np.ones((9, 9), np.uint8))
    band = (near > 0) & (touch == 0)
    assert band.mean() > 0.02
    return frame, alpha, band


def _off_background(image: np.ndarray, band: np.ndarray) -> float:
    return float(np.abs(image[band].mean(axis=0) - np.array(BACKGROUND)).max())


def test_blur_keeps_the_person_out_of_the_background(scene):
    frame, alpha, band = scene
    strength = 30
    out = effect_blur(frame, alpha, EffectParams(blur=strength))
    halo_free = _off_background(out, band)
    # What a plain blur does, for comparison: the test must be able to see a halo.
    sigma = strength * frame.shape[1] / 640
    plain = blend(frame, cv2.GaussianBlur(frame, (0, 0), sigma), alpha)
    naive = _off_background(plain, band)
    assert naive > 25, f"the scene shows no halo even for a plain blur ({naive:.1f})"
    assert halo_free < 6, f"halo: band is {halo_free:.1f} levels off the background"


def test_light_wrap_touches_only_the_persons_edge(scene):
    frame, alpha, band = scene
    white = np.full_like(frame, 255)
    plain = effect_replace(frame, alpha, EffectParams(background=white))
    wrapped = effect_replace(frame, alpha, EffectParams(background=white, light_wrap=0.5))
    changed = cv2.absdiff(wrapped, plain).max(axis=2) > 2
    assert changed.mean() > 0.005, "light wrap changed nothing"
    # Only where the person is, and only near their edge: not deep inside, not
    # on the background.
    assert not changed[alpha == 0].any()
    deep = cv2.erode((alpha == 255).astype(np.uint8), np.ones((61, 61), np.uint8)) > 0
    assert not changed[deep].any()
    # And it lightens (the background is white).
    assert wrapped.astype(int).sum() > plain.astype(int).sum()
    off = effect_replace(frame, alpha, EffectParams(background=white, light_wrap=0.0))
    assert np.array_equal(off, plain)


def test_no_halo_with_the_models_own_refined_mask(scene):
    """End to end: the real model and refiner make the mask, not the matte."""
    frame, _, _ = scene
    seg = Segmenter(MODELS[ModelChoice.GENERAL])
    try:
        alpha = Refiner(RefineConfig()).refine(seg.segment(frame, 0.0), frame)
    finally:
        seg.close()
    person = (alpha > 0).astype(np.uint8)
    outside = (cv2.dilate(person, np.ones((41, 41), np.uint8)) > 0) & (
        cv2.dilate(person, np.ones((9, 9), np.uint8)) == 0)
    assert outside.mean() > 0.02
    out = effect_blur(frame, alpha, EffectParams(blur=30))
    assert _off_background(out, outside) < 6
