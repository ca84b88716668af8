"""The edge a viewer sees, against ground truth: a real soft matte (the children photo)
composited over a pale wall as the "camera" picture, put through `vcam apply`'s path
onto a dark background, and compared with the same matte composited over that
background.  The figures come from scripts/eval_quality.py's own functions, so this
test and the report in the README measure the same thing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import load_eval_quality
from vcam.config import Config, ModelChoice, Quality, RefineConfig
from vcam.offline.apply import Applier
from vcam.stages.blend import blend, wall_estimate

ROOT = Path(__file__).resolve().parents[1]
MEDIA = ROOT.parent / "shared" / "media"
pytestmark = pytest.mark.skipif(
    not MEDIA.is_dir(), reason=f"test media not found at {MEDIA} (../shared beside the checkout)")

E = load_eval_quality()

PALE, DARK = "pale wall #ebebeb", "dark wall #303030"


@pytest.fixture(scope="module")
def models() -> Iterator[Any]:
    m = E.Models(ModelChoice.AUTO)
    yield m
    m.close()


@pytest.fixture(scope="module")
def children(models: Any) -> dict[tuple[str, str], Any]:
    m = E.children_matte(MEDIA)
    h, w = m.alpha.shape
    walls = E.old_backgrounds(MEDIA, w, h)
    return E.score_composites(models, m, {k: walls[k] for k in (PALE, DARK)}, RefineConfig())


def test_no_glow_on_a_pale_wall(children: dict[tuple[str, str], Any]) -> None:
    today, new = children[(PALE, "today")], children[(PALE, "new")]
    print(f"pale wall: glow {today.glow:+.1f} -> {new.glow:+.1f}, "
          f"band MAE {today.band_mae:.1f} -> {new.band_mae:.1f}")
    assert today.glow > 40, "the measure must see the rim the old refinement left"
    assert new.glow <= 8 and new.band_mae <= 12, new
    assert new.iou >= today.iou and new.bf >= today.bf, (today, new)


def test_a_dark_wall_is_no_worse_than_before(children: dict[tuple[str, str], Any]) -> None:
    today, new = children[(DARK, "today")], children[(DARK, "new")]
    assert new.band_mae <= today.band_mae and new.glow <= today.glow + 0.5, (today, new)
    assert new.iou >= today.iou, (today, new)


def test_held_out_matte_glows_far_less(models: Any) -> None:
    """The cafeteria's binary ground truth was never tuned on for the composites."""
    m = E.cafeteria_matte(MEDIA)
    h, w = m.alpha.shape
    walls = E.old_backgrounds(MEDIA, w, h)
    s = E.score_composites(models, m, {PALE: walls[PALE]}, RefineConfig())
    today, new = s[(PALE, "today")], s[(PALE, "new")]
    print(f"held out, pale wall: glow {today.glow:+.1f} -> {new.glow:+.1f}")
    assert new.glow < today.glow / 2 and new.band_mae < today.band_mae / 2, (today, new)


def test_a_moving_person_is_followed_not_trailed() -> None:
    m = E.children_matte(MEDIA)
    h, w = m.alpha.shape
    pale = E.old_backgrounds(MEDIA, w, h)[PALE]
    s = E.score_sequence(m, pale, "translation", RefineConfig(), frames=15)
    print(f"translation over a pale wall: IoU raw {s.iou_raw:.4f}, smoothed {s.iou_new:.4f}")
    assert s.iou_new >= s.iou_raw and s.iou_new >= s.iou_today, s
    assert s.glow_new < s.glow_today, s


def test_decontamination_takes_the_wall_out_of_soft_pixels() -> None:
    """With the true alpha, swapping the wall's share for the new background's comes
    close to the true composite; a plain blend keeps the wall in every soft pixel."""
    m = E.children_matte(MEDIA)
    h, w = m.alpha.shape
    new_bg = np.empty((h, w, 3), np.uint8)
    new_bg[:] = E.NEW_BACKGROUND
    truth = E.over(m.fg, m.alpha, new_bg)
    frame = E.over(m.fg, m.alpha, E.old_backgrounds(MEDIA, w, h)[PALE])
    a8 = (m.alpha * 255 + 0.5).astype(np.uint8)
    soft = (a8 > 0) & (a8 < 255)
    plain = np.abs(blend(frame, new_bg, a8).astype(float) - truth)[soft].mean()
    swapped = np.abs(blend(frame, new_bg, a8, wall_estimate(frame, a8)).astype(float)
                     - truth)[soft].mean()
    print(f"soft pixels, true alpha: plain blend {plain:.1f}, decontaminated {swapped:.1f}")
    assert swapped < 0.6 * plain


def test_a_cut_out_png_has_no_pale_fringe(models: Any) -> None:
    """`vcam apply --effect transparent`: the RGBA cut-out of the person on a pale
    wall, laid by a viewer over a dark background, shows no light rim."""
    m = E.children_matte(MEDIA)
    h, w = m.alpha.shape
    frame = E.over(m.fg, m.alpha, E.old_backgrounds(MEDIA, w, h)[PALE])
    applier = Applier(Config(), "transparent", quiet=True)
    try:
        cut = applier.frame(frame, 0.0)
    finally:
        applier.close()
    assert cut.shape == (h, w, 4)
    new_bg = np.empty((h, w, 3), np.uint8)
    new_bg[:] = E.NEW_BACKGROUND
    laid = E.over(cut[..., :3].astype(np.float32), cut[..., 3] / 255.0, new_bg)
    score = E.edge_score(laid, E.over(m.fg, m.alpha, new_bg), cut[..., 3], m)
    plain = E.over(frame.astype(np.float32), cut[..., 3] / 255.0, new_bg)
    without = E.edge_score(plain, E.over(m.fg, m.alpha, new_bg), cut[..., 3], m)
    print(f"RGBA over dark: glow {without.glow:+.1f} with the photo's colours, "
          f"{score.glow:+.1f} with the person's own")
    assert score.glow <= 8 and score.glow < without.glow


def test_wall_between_arms_is_cut_out() -> None:
    """The gap between a girl's head and her friend's arm (wall, true alpha 0) was
    kept as person; the file path cuts it."""
    m = E.children_matte(MEDIA)
    h, w = m.alpha.shape
    frame = E.over(m.fg, m.alpha, E.old_backgrounds(MEDIA, w, h)[PALE])
    gap = (slice(116, 126), slice(309, 318))
    assert m.alpha[gap].max() == 0
    masks = {}
    for name, cfg in (("today", E.TODAY), ("new", RefineConfig())):
        applier = Applier(Config(refine=cfg), "mask", quiet=True, quality=Quality.FAST)
        try:
            masks[name] = applier.frame(frame, 0.0)
        finally:
            applier.close()
    assert masks["today"][gap].mean() > 200 and masks["new"][gap].max() < 30
