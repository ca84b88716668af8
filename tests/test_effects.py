"""Each effect on real footage with the real model: the person stays, the background
changes as the effect says."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import DEMO_CLIP, face_cascade, imread, read_frames
from vcam import assets_dir
from vcam.config import Config
from vcam.stages.blend import blend
from vcam.stages.compositor import Compositor
from vcam.stages.effects import rgba
from vcam.stages.segment import Segmenter

BLUE = "#0000ff"


def face_box(frame: np.ndarray) -> tuple[int, int, int, int]:
    """The largest face OpenCV's own detector finds (x, y, w, h): an independent judge."""
    cascade = face_cascade()
    faces = cascade.detectMultiScale(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), 1.1, 5)
    assert len(faces), "no face found in the test frame"
    x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
    return int(x), int(y), int(w), int(h)


def inner(box: tuple[int, int, int, int]) -> tuple[slice, slice]:
    x, y, w, h = box
    return slice(y + h // 4, y + 3 * h // 4), slice(x + w // 4, x + 3 * w // 4)


def run_effect(seg: Segmenter, frames: list[np.ndarray], cfg: Config) -> tuple[list, list]:
    comp = Compositor(cfg)
    outs, alphas = [], []
    for i, f in enumerate(frames):
        conf = seg.segment(f, i / 30)
        alphas.append(comp.refiner.refine(conf, f))
        outs.append(comp.compose(f, conf))
    comp.close()
    return outs, alphas


@pytest.fixture(scope="module")
def clip() -> list[np.ndarray]:
    return read_frames(DEMO_CLIP, 12, step=6)


def background_region(alpha: np.ndarray) -> np.ndarray:
    """Pixels surely background: alpha 0 and 15 px away from any person pixel."""
    person = (alpha > 0).astype(np.uint8)
    near = cv2.dilate(person, np.ones((31, 31), np.uint8))
    return near == 0


def test_replace_with_colour(landscape_segmenter: Segmenter, clip: list[np.ndarray]) -> None:
    outs, alphas = run_effect(landscape_segmenter, clip, Config(effect="replace",
                                                                background=BLUE))
    for frame, out, alpha in zip(clip, outs, alphas, strict=True):
        bg = background_region(alpha)
        assert bg.mean() > 0.3, "expected a good part of the frame to be background"
        assert np.abs(out[bg].astype(int) - (255, 0, 0)).max() <= 1  # BGR blue
        fy, fx = inner(face_box(frame))
        assert np.abs(out[fy, fx].astype(int) - frame[fy, fx]).mean() < 3


def test_replace_with_bundled_image(landscape_segmenter: Segmenter,
                                    clip: list[np.ndarray]) -> None:
    path = assets_dir() / "backgrounds" / "ocean-gradient.jpg"
    outs, alphas = run_effect(landscape_segmenter, clip[:3],
                              Config(effect="replace", background=str(path)))
    h, w = clip[0].shape[:2]
    from vcam.stages.backgrounds import cover
    expected = cover(imread(path), w, h)
    bg = background_region(alphas[0])
    assert np.abs(outs[0][bg].astype(int) - expected[bg]).mean() < 2


def test_blur_keeps_face_and_softens_background(landscape_segmenter: Segmenter,
                                                clip: list[np.ndarray]) -> None:
    outs, alphas = run_effect(landscape_segmenter, clip, Config(effect="blur", blur=20))
    for frame, out, alpha in zip(clip, outs, alphas, strict=True):
        bg = background_region(alpha)
        lap_in = np.abs(cv2.Laplacian(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.CV_32F))
        lap_out = np.abs(cv2.Laplacian(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY), cv2.CV_32F))
        assert lap_out[bg].mean() < 0.5 * lap_in[bg].mean()
        fy, fx = inner(face_box(frame))
        assert np.abs(out[fy, fx].astype(int) - frame[fy, fx]).mean() < 3


def test_desaturate_grays_background_only(landscape_segmenter: Segmenter,
                                          clip: list[np.ndarray]) -> None:
    outs, alphas = run_effect(landscape_segmenter, clip, Config(effect="desaturate"))
    for frame, out, alpha in zip(clip, outs, alphas, strict=True):
        sat_in = cv2.cvtColor(frame, cv2.COLOR_BGR2HSV)[..., 1]
        sat_out = cv2.cvtColor(out, cv2.COLOR_BGR2HSV)[..., 1]
        bg = background_region(alpha)
        assert sat_in[bg].mean() > 20
        assert sat_out[bg].mean() < 3
        fy, fx = inner(face_box(frame))
        assert abs(float(sat_out[fy, fx].mean()) - float(sat_in[fy, fx].mean())) < 3


def test_transparent_live_uses_key_colour(landscape_segmenter: Segmenter,
                                          clip: list[np.ndarray]) -> None:
    outs, alphas = run_effect(landscape_segmenter, clip[:3],
                              Config(effect="transparent", key_colour=(0, 255, 0)))
    bg = background_region(alphas[0])
    assert np.abs(outs[0][bg].astype(int) - (0, 255, 0)).max() <= 1
    out4 = rgba(clip[0], alphas[0])
    assert out4.shape == (*clip[0].shape[:2], 4)
    assert (out4[..., 3][bg] == 0).all()
    fy, fx = inner(face_box(clip[0]))
    assert out4[..., 3][fy, fx].min() > 200


def test_none_and_mirror(landscape_segmenter: Segmenter, clip: list[np.ndarray]) -> None:
    outs, _ = run_effect(landscape_segmenter, clip[:2], Config(effect="none"))
    assert np.array_equal(outs[0], clip[0])
    outs, _ = run_effect(landscape_segmenter, clip[:2], Config(effect="none", mirror=True))
    assert np.array_equal(outs[0], clip[0][:, ::-1])


def test_no_person_gets_no_person(shared: Path, landscape_segmenter: Segmenter) -> None:
    frames = read_frames(shared / "video" / "pyfeat_no_person_960x540.mp4", 8, step=10)
    _, alphas = run_effect(landscape_segmenter, frames, Config(effect="blur"))
    for a in alphas:
        assert (a > 127).mean() < 0.02


def test_blend_is_exact_at_the_ends() -> None:
    rng = np.random.default_rng(0)
    fg = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)
    a = np.zeros((90, 160), np.uint8)
    a[:, 80:] = 255
    a[:, 40] = 128
    out = blend(fg, bg, a)
    assert np.array_equal(out[:, 80:], fg[:, 80:])
    assert np.array_equal(out[:, :40], bg[:, :40])
    mid = (fg[:, 40].astype(int) * 128 + bg[:, 40].astype(int) * 127) / 255
    assert np.abs(out[:, 40] - mid).max() <= 1
