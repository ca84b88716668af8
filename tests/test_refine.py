"""The refiner on real photos and clips with the real model, against issue 5's bar.

The quality figures use scripts/eval_quality.py's own metrics, so the test and
the report measure the same thing.  Needs ../shared/media beside the checkout.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import load_eval_quality
from vcam.config import ModelChoice, RefineConfig, load
from vcam.errors import ConfigError
from vcam.stages.refine import Refiner

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
MEDIA = SHARED / "media"

pytestmark = pytest.mark.skipif(
    not MEDIA.is_dir(), reason=f"test media not found at {MEDIA} (../shared beside the checkout)")


E = load_eval_quality()
SINGLE = MEDIA / "video" / "pyfeat_single_face_webcam_640x360.mp4"


@pytest.fixture(scope="module")
def general():
    models = E.Models(ModelChoice.GENERAL)
    yield models
    models.close()


@pytest.fixture(scope="module")
def face(general):
    """The first frames of the single-face clip and their confidences (general model)."""
    frames = list(E.read_frames(SINGLE, 12))
    return frames, [general.confidence(f) for f in frames]


def test_refine_returns_frame_size_uint8_and_leaves_inputs_alone(face):
    frames, confs = face
    frame, conf = frames[0], confs[0]
    frame_before, conf_before = frame.copy(), conf.copy()
    alpha = Refiner(RefineConfig()).refine(conf, frame)
    assert alpha.dtype == np.uint8 and alpha.shape == frame.shape[:2]
    assert alpha.min() == 0 and alpha.max() == 255
    assert np.array_equal(frame, frame_before) and np.array_equal(conf, conf_before)


def test_temporal_smoothing_changes_the_result_and_survives_a_reused_model_buffer(face):
    frames, confs = face
    smoothed = Refiner(RefineConfig())
    plain = Refiner(RefineConfig(temporal=False))
    # The model hands back the same buffer each frame, overwritten in place: the
    # peer bug.  Our refiner must keep its own copy of the previous mask.
    shared = np.empty_like(confs[0])
    diffs = []
    for frame, conf in zip(frames, confs, strict=True):
        np.copyto(shared, conf)
        a = smoothed.refine(shared, frame)
        b = plain.refine(conf, frame)
        diffs.append(float(cv2.absdiff(a, b).mean()))
    assert diffs[0] == 0.0  # nothing to lean on in the first frame
    assert max(diffs[1:]) > 0.05, f"smoothing did nothing: {diffs}"
    smoothed.reset()
    assert np.array_equal(smoothed.refine(confs[-1], frames[-1]),
                          plain.refine(confs[-1], frames[-1]))


@pytest.mark.parametrize("step", [5, 10])  # 2 and 4 model pixels
def test_a_moving_person_leaves_no_trail(face, step):
    """Person and picture shift ``step`` px a frame; the smoothed mask must follow."""
    frames, confs = face
    frame, conf = frames[0], confs[0]
    smoothed = Refiner(RefineConfig())
    plain = Refiner(RefineConfig(temporal=False))
    w = frame.shape[1]
    for i in range(12):
        dx = i * step
        moved = np.roll(frame, dx, axis=1)
        moved_conf = np.roll(conf, round(dx * conf.shape[1] / w), axis=1)
        a = smoothed.refine(moved_conf, moved) > 127
        b = plain.refine(moved_conf, moved) > 127
    iou = E.iou(a, b, np.ones_like(a))
    assert iou > 0.97, f"smoothed mask lags the moving person: IoU {iou:.3f} with the fresh one"


def test_small_blobs_go_and_the_person_stays(face):
    frames, confs = face
    frame, conf = frames[0], confs[0].copy()
    # A sure 4x4 speck far from the person, in a corner the model calls background.
    assert conf[2:6, 2:6].max() < 0.1
    conf[2:6, 2:6] = 1.0
    kept = Refiner(RefineConfig(min_blob=0.0)).refine(conf, frame)
    cleaned = Refiner(RefineConfig()).refine(conf, frame)
    sy, sx = frame.shape[0] / conf.shape[0], frame.shape[1] / conf.shape[1]
    corner = (slice(int(2 * sy), int(6 * sy)), slice(int(2 * sx), int(6 * sx)))
    assert kept[corner].max() > 200 and cleaned[corner].max() < 20
    person = cleaned > 127
    assert person.mean() > 0.1 and E.iou(person, kept > 127, ~np.zeros_like(person)) > 0.99


def test_feather_grows_outward_only(face):
    frames, confs = face
    plain = Refiner(RefineConfig(temporal=False)).refine(confs[0], frames[0])
    soft = Refiner(RefineConfig(temporal=False, feather=4.0)).refine(confs[0], frames[0])
    assert np.all(soft >= plain)  # nothing taken from the person
    assert np.all(soft[plain == 255] == 255)
    assert (soft > plain).mean() > 0.01  # and a rim added outside


def test_iou_on_ground_truth_meets_the_bar(general):
    cfg = RefineConfig()
    scores = {photo: E.score_image(general, cfg, MEDIA / "gt" / photo, MEDIA / "gt" / gt)
              for photo, gt in E.GT_IMAGES.items()}
    for s in scores.values():
        assert s.iou_refined >= s.iou_raw, s
        assert s.bf_refined >= s.bf_raw, s
    children = scores["realesrgan_children5_566x350_rgb.png"]
    assert children.iou_refined >= 0.95, children


@pytest.mark.parametrize("clip, frames", [
    ("pyfeat_single_face_webcam_640x360.mp4", None),
    # The person part of the clip (frames 0-71), and a cartoon with no person.
    ("pyfeat_face_then_noface_960x540.mov", 72),
    ("pyfeat_no_person_960x540.mp4", None),
])
def test_flicker_is_40_percent_lower(general, clip, frames):
    """With the general model, the one the issue's raw figures are for (the
    landscape model reaches -36..-38% on the person clips: see the report)."""
    raw, refined = E.score_clip(general, RefineConfig(), MEDIA / "video" / clip, frames)
    assert raw.pairs >= 40
    assert refined.flips <= 0.6 * raw.flips, (raw, refined)
    assert refined.delta < raw.delta, (raw, refined)
    assert refined.lag > 0.97, refined  # and not by trailing behind the person


def test_every_step_can_be_switched_off(face):
    frames, confs = face
    off = RefineConfig(softness=0.0, temporal=False, min_blob=0.0, guided=False)
    alpha = Refiner(off).refine(confs[0], frames[0])
    h, w = frames[0].shape[:2]
    hard = np.where(cv2.resize(confs[0], (w, h)) > 0.5, 255, 0)
    # Left: a hard cut, upsampled once (linear), so only a thin edge band differs.
    assert (alpha != hard).mean() < 0.04


def test_config_toml_documents_the_defaults_and_rejects_typos(tmp_path):
    assert load(ROOT / "config.toml").refine == RefineConfig()
    bad = tmp_path / "config.toml"
    bad.write_text("[refine]\nguided_radious = 4\n")
    with pytest.raises(ConfigError, match="did you mean 'guided_radius'"):
        load(bad)
    bad.write_text("[refine]\ntemporal_strength = 1.5\n")
    with pytest.raises(ConfigError, match="refine.temporal_strength"):
        load(bad)


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720)])
def test_the_grey_guide_from_the_segmenters_feed_gives_the_same_mask(face, size):
    """vcam apply hands prepare the frame the segmenter already shrank; the guide
    made from it differs from the full frame's by under a grey level, and the
    mask hardly at all."""
    from vcam.stages.segment import Segmenter

    frames, confs = face
    frame = cv2.resize(frames[3], size, interpolation=cv2.INTER_CUBIC)
    small = Segmenter.feed(frame)
    assert small.shape[1] < frame.shape[1]
    r = Refiner(RefineConfig())
    full, fed = r.work_gray(frame), r.work_gray(frame, small)
    assert full.shape == fed.shape
    assert np.abs(full.astype(int) - fed).mean() < 1.0
    a = r.complete(r.prepare(confs[3], frame))
    b = Refiner(RefineConfig()).complete(r.prepare(confs[3], frame, small))
    assert ((a > 127) == (b > 127)).mean() > 0.999
    assert np.abs(a.astype(int) - b).mean() < 1.0
