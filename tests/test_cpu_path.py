"""The CPU shortcuts of the live path give today's picture (issue 16's quality bar).

Each shortcut is checked against the slow, obvious path on the real demo clip
scaled to 1080p with the real model: a composite within 45 dB PSNR of the
one made without it, or exactly the same where the maths allows.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import read_frames
from vcam.config import Config
from vcam.live.pipeline import Pipeline
from vcam.stages.blend import band_spans, blend
from vcam.stages.capture import VideoFileSource
from vcam.stages.compositor import Compositor
from vcam.stages.framing import enlarge
from vcam.stages.gate import StillGate
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


def test_the_band_found_on_the_working_size_alpha_blends_the_same() -> None:
    """Live, the alpha is the working-size alpha enlarged by a whole factor, and the
    band is looked for there: the blend is exactly the one found at full size."""
    rng = np.random.default_rng(7)
    for trial in range(120):
        k = int(rng.integers(2, 8))
        sh, sw = int(rng.integers(1, 40)), int(rng.integers(1, 60))
        kind = trial % 3
        if kind == 0:
            small = rng.integers(0, 256, (sh, sw)).astype(np.uint8)
        elif kind == 1:  # hard steps from 0 to 255: no soft pixel in the small alpha
            small = np.where(rng.random((sh, sw)) < 0.5, 0, 255).astype(np.uint8)
        else:
            small = np.zeros((sh, sw), np.uint8)
            cv2.circle(small, (sw // 2, sh // 2), max(1, min(sh, sw) // 3), 255, -1)
        alpha = cv2.resize(small, (sw * k, sh * k), interpolation=cv2.INTER_LINEAR)
        fg = rng.integers(0, 256, (*alpha.shape, 3), np.uint8)
        bg = rng.integers(0, 256, (*alpha.shape, 3), np.uint8)
        wall = rng.integers(0, 256, (max(1, sh // 2), max(1, sw // 2), 3), np.uint8)
        assert np.array_equal(blend(fg, bg, alpha, wall),
                              blend(fg, bg, alpha, wall, Shrinks(alpha, enlarged_from=small)))


def test_the_band_on_a_real_1080p_alpha(frames_1080p: list[np.ndarray],
                                        general_segmenter: Segmenter) -> None:
    comp = Compositor(Config(effect="replace"))
    frame = frames_1080p[3]
    feed = general_segmenter.feed(frame)
    cut = comp.cut(general_segmenter.infer(feed, 2000.0), frame, feed)
    assert cut.alphas.enlarged_from is not None
    bg = np.full_like(frame, 40)
    spans = band_spans(cut.alpha, cut.alphas)
    covered = np.zeros(cut.alpha.shape, bool)
    for ys, xs in spans:
        covered[ys, xs] = True
    soft = (cut.alpha > 0) & (cut.alpha < 255)
    assert soft.any() and covered[soft].all()
    assert covered.mean() < 0.3  # the band, not the frame
    assert np.array_equal(blend(frame, bg, cut.alpha),
                          blend(frame, bg, cut.alpha, None, cut.alphas))


def noisy(frame: np.ndarray, rng: np.random.Generator, sigma: float = 4.0) -> np.ndarray:
    return np.clip(frame + rng.normal(0, sigma, frame.shape), 0, 255).astype(np.uint8)


def test_the_gate_lets_a_still_picture_reuse_the_mask_a_moving_one_not(
        frames_1080p: list[np.ndarray], general_segmenter: Segmenter) -> None:
    rng = np.random.default_rng(3)
    frame = frames_1080p[0]
    gate = StillGate(reuse=2)
    feed = general_segmenter.feed
    assert gate.must_run(feed(noisy(frame, rng)))  # the first frame always
    # Sensor noise only: the last mask serves twice, then the model runs again.
    assert [gate.must_run(feed(noisy(frame, rng))) for _ in range(6)] == [
        False, False, True, False, False, True]
    # The person moves two pixels: the model must look.
    assert gate.must_run(feed(np.roll(frame, 2, axis=1)))
    # The next real frame of the clip (it moves): so too.
    gate.must_run(feed(frames_1080p[4]))
    assert gate.must_run(feed(frames_1080p[8]))
    assert all(StillGate(reuse=0).must_run(feed(frame)) for _ in range(3))


def test_a_still_frame_keeps_the_last_alpha_and_a_new_mask_is_refined(
        frames_1080p: list[np.ndarray], general_segmenter: Segmenter) -> None:
    comp = Compositor(Config(effect="blur"))
    frame = frames_1080p[5]
    feed = general_segmenter.feed(frame)
    conf = general_segmenter.infer(feed, 3000.0)
    first = comp.cut(conf, frame, feed)
    again = comp.cut(conf, frame, feed, still=True)
    assert again.alpha is first.alpha and again.alphas is first.alphas
    # Not still, or another confidence: refined anew.
    assert comp.cut(conf, frame, feed).alpha is not first.alpha
    other = conf.copy()
    assert comp.cut(other, frame, feed, still=True).alpha is not first.alpha


def test_the_live_pipeline_reuses_masks_on_a_still_camera(tmp_path: Path) -> None:
    """A real video file of one frame held still (with sensor noise) through the
    real pipeline: the model sees about a third of the frames, every frame still
    goes out, and with reuse_still = 0 the model sees them all."""
    rng = np.random.default_rng(5)
    still = read_frames(CLIP, 1)[0]
    path = tmp_path / "still.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 30,
                             (still.shape[1], still.shape[0]))
    for _ in range(40):
        writer.write(noisy(still, rng, 2.0))
    writer.release()
    for reuse in (2, 0):
        cfg = Config(effect="blur")
        cfg = cfg.replace(refine=dataclasses.replace(cfg.refine, reuse_still=reuse))
        out = Counter()
        p = Pipeline(cfg, VideoFileSource(path, realtime=False), out, max_frames=60)
        p.start()
        assert p.wait(120), "pipeline did not finish"
        p.stop()
        assert out.sent >= 60 and p.error is None
        masks = p.stats.segmented + p.stats.reused
        assert masks > 20
        if reuse:
            assert p.stats.reused >= masks / 3, (p.stats.segmented, p.stats.reused)
        else:
            assert p.stats.reused == 0


class Counter:
    """An output that counts frames (the pipeline's only need of one here)."""

    width, height = 640, 360
    description = "counter"

    def __init__(self) -> None:
        self.sent = 0

    def send(self, frame: np.ndarray) -> None:
        self.sent += 1

    def close(self) -> None:
        pass


@pytest.mark.parametrize("effect", ["replace", "blur", "transparent"])
def test_a_still_frame_with_the_kept_cut_out_looks_as_if_made_anew(
        effect: str, frames_1080p: list[np.ndarray], general_segmenter: Segmenter) -> None:
    """A still frame keeps the last alpha and, with it, the wall estimate, the
    blurred background and the light wrap's layer: the picture stays within
    45 dB of refining and computing them all again for that frame."""
    rng = np.random.default_rng(11)
    cfg = Config(effect=effect, background=str(BACKGROUND))
    kept, anew = Compositor(cfg), Compositor(cfg)
    frame = frames_1080p[2]
    feed = general_segmenter.feed(frame)
    conf = general_segmenter.infer(feed, 4000.0)
    kept.compose(frame, conf, small=feed)
    anew.compose(frame, conf, small=feed)
    for _ in range(3):
        again = noisy(frame, rng, 2.0)
        small = general_segmenter.feed(again)
        assert psnr(kept.compose(again, conf, small=small, still=True),
                    anew.compose(again, conf, small=small)) >= 45.0


@pytest.mark.parametrize("effect", ["none", "replace", "blur", "desaturate", "transparent"])
def test_an_effect_asked_for_a_crop_makes_exactly_that_part(
        effect: str, frames_1080p: list[np.ndarray], general_segmenter: Segmenter) -> None:
    """Auto-framing asks the effect for its crop only: the part made is the same,
    pixel for pixel, as that part of the whole output, at crops that line up with
    the working sizes and crops that do not, light wrap and decontamination on."""
    cfg = Config(effect=effect, background=str(BACKGROUND))
    cfg = dataclasses.replace(cfg, refine=dataclasses.replace(
        cfg.refine, light_wrap=0.6, decontaminate=True))
    comp = Compositor(cfg)
    regions = [(slice(0, 1080), slice(0, 1920)), (slice(153, 873), slice(301, 1581)),
               (slice(540, 1080), slice(960, 1920)), (slice(0, 541), slice(0, 963))]
    try:
        for i, frame in enumerate(frames_1080p[:4]):
            feed = general_segmenter.feed(frame)
            conf = general_segmenter.infer(feed, 2000.0 + i / 30)
            cut = comp.cut(conf, frame, feed)
            whole = comp._effect(frame, cut.alpha, 0.0, cut.frames, cut.alphas)
            assert 0 < np.count_nonzero((cut.alpha > 0) & (cut.alpha < 255))
            for region in regions:
                part = comp._effect(frame, cut.alpha, 0.0, cut.frames, cut.alphas, region)
                assert np.array_equal(part, whole[region]), (effect, region)
    finally:
        comp.close()


@pytest.mark.parametrize("rect", [(91, 135, 1680, 945), (301, 153, 1280, 720), (0, 540, 960, 540)])
def test_the_crop_is_enlarged_as_cv2_resize_would_and_mirrored_for_free(
        rect: tuple[int, int, int, int], frames_1080p: list[np.ndarray]) -> None:
    """Auto-framing's one resize (a warpAffine, half the time) is within a grey level
    of cv2.resize's, and the mirrored one is that flipped."""
    frame = frames_1080p[3]
    x0, y0, w, h = rect
    crop = frame[y0:y0 + h, x0:x0 + w]
    want = cv2.resize(crop, SIZE, interpolation=cv2.INTER_LINEAR)
    for got, ref in ((enlarge(crop, SIZE), want),
                     (enlarge(crop, SIZE, mirror=True), cv2.flip(want, 1))):
        assert got.shape == want.shape
        diff = np.abs(got.astype(np.int16) - ref)
        assert diff.max() <= 1 and diff.mean() < 0.2, (rect, diff.max(), diff.mean())
    assert enlarge(frame, SIZE) is frame
    assert np.array_equal(enlarge(frame, SIZE, mirror=True), cv2.flip(frame, 1))
