"""Studio light and touch-up: the two looks that work on the person in the
camera frame, before the background effect.

Both work on the person's part of the frame only, at a working size, and
touch full-resolution pixels with one resize and one add or blend:

- :func:`lift` brightens an under-exposed person with a soft local tone curve
  (dark parts lifted more than bright ones).  What it adds is the light of a
  working-size copy, so the lift carries the picture's shapes but not its
  sensor noise (the shrink averages it away), and it scales blue, green and
  red alike, so skin keeps its hue.
- :func:`smooth_skin` blends the face's skin towards an edge-preserving
  (bilateral) copy made at a working size; what is not skin-coloured (eyes,
  brows, hair), what is a strong edge (lids, lips) and what is outside the
  person is left as it is.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from vcam.stages.blend import blend, blend_into
from vcam.stages.figure import Figure, grid_step
from vcam.stages.resample import shrink

LIGHT_WORK_WIDTH = 320
"""The lift is computed on the frame shrunk by a whole factor to about this wide."""
MAX_GAIN = 3.0
"""No part of the person is made more than this much brighter."""
MIN_GAMMA = 0.4
FACE_SECONDS = 0.5
"""The face's measured brightness is smoothed over about this long (live and video),
so the light does not flicker with the mask."""
TOUCHUP_FACE_WIDTH = 80
"""The skin is smoothed with the face shrunk to about this many pixels wide."""
SKIN_CR, SKIN_CB = (133, 180), (75, 135)
"""YCrCb chroma of skin (of any tone: skin differs mostly in brightness)."""
EDGE_LEVEL = 60.0
"""A grey-level gradient (Sobel, at the working size) above this is a feature's edge
(lids, lips, nostrils), kept; wrinkles and blemishes are fainter, and smoothed."""


def face_brightness(frame: np.ndarray, alpha: np.ndarray, fig: Figure) -> float | None:
    """The mean grey level of the person inside the heads' box (sampled on a grid)."""
    x0, y0, x1, y1 = (max(0, v) for v in fig.head_box)
    s = max(1, grid_step(frame.shape[1]) // 4)
    a = alpha[y0:y1:s, x0:x1:s] > 127
    if int(a.sum()) < 8:
        return None
    px = frame[y0:y1:s, x0:x1:s][a].astype(np.float32)
    return float((px @ np.array([0.114, 0.587, 0.299], np.float32)).mean())


def gamma_for(face: float, target: float, strength: int) -> float:
    """The tone curve's gamma that takes a face at grey ``face`` ``strength``% of the
    way to ``target`` (1: leave it; a face already that bright is left)."""
    if face >= target:
        return 1.0
    face = max(face, 4.0)
    aim = face + (target - face) * strength / 100
    return max(MIN_GAMMA, math.log(aim / 255) / math.log(face / 255))


def _aligned(box: tuple[int, int, int, int], k: int, width: int, height: int
             ) -> tuple[slice, slice]:
    """``box`` grown to whole multiples of ``k`` inside the frame."""
    x0, y0, x1, y1 = box
    x0, y0 = max(0, x0) // k * k, max(0, y0) // k * k
    x1 = min(width // k * k, -(-x1 // k) * k)
    y1 = min(height // k * k, -(-y1 // k) * k)
    return slice(y0, y1), slice(x0, x1)


def lift(work: np.ndarray, alpha: np.ndarray, fig: Figure, gamma: float) -> np.ndarray:
    """Brighten the person in ``work`` (in place) with the tone curve ``gamma``; returns it."""
    if gamma >= 0.999:
        return work
    h, w = work.shape[:2]
    k = max(1, w // LIGHT_WORK_WIDTH)
    rows, cols = _aligned(fig.box, k, w, h)
    roi = work[rows, cols]
    rh, rw = roi.shape[:2]
    if rh < k or rw < k:
        return work
    size = (rw // k, rh // k)
    small = shrink(roi, size)
    a = shrink(alpha[rows, cols], size).astype(np.float32) * (1 / 255)
    y = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    levels = np.maximum(np.arange(256, dtype=np.float32), 1.0) / 255
    # gain - 1 per grey level: the curve's (y/255)^gamma * 255 over y, capped.
    extra = np.minimum(levels ** (gamma - 1.0), MAX_GAIN) - 1.0
    # a squared: the soft edge takes little light, so no glow spills past the person.
    amount = extra[y] * a * a
    layer = cv2.convertScaleAbs(small.astype(np.float32) * amount[..., None])
    cv2.add(roi, cv2.resize(layer, (rw, rh), interpolation=cv2.INTER_LINEAR), dst=roi)
    return work


def spotlight(out: np.ndarray, alpha: np.ndarray, dim: float) -> np.ndarray:
    """``out`` with its background (where ``alpha`` is low) darkened by ``dim`` (0..1)."""
    if dim <= 0 or out.ndim != 3 or out.shape[2] != 3:
        return out
    return blend_into(cv2.convertScaleAbs(out, alpha=1.0 - dim), out, alpha)


class StudioLight:
    """The ``light`` look's state: the face's brightness, smoothed over time
    (``still``: measured afresh each call)."""

    def __init__(self, *, still: bool = False) -> None:
        self.still = still
        self.face: float | None = None
        self._t: float | None = None

    def gamma(self, work: np.ndarray, alpha: np.ndarray, fig: Figure, target: float,
              strength: int, t: float) -> float:
        """The curve for this frame, from the face's brightness so far."""
        now = face_brightness(work, alpha, fig)
        if now is not None:
            if self.still or self.face is None or self._t is None:
                self.face = now
            else:
                share = 1.0 - math.exp(-max(t - self._t, 0.0) / FACE_SECONDS)
                self.face += (now - self.face) * share
            self._t = t
        return 1.0 if self.face is None else gamma_for(self.face, target, strength)


def skin_weight(small: np.ndarray, a: np.ndarray, strength: int) -> np.ndarray:
    """How much of the smoothed copy each working-size pixel takes, uint8 0..255:
    skin-coloured, not an edge, not darker than the skin around (brows, lashes,
    nostrils), inside the person."""
    ycc = cv2.cvtColor(small, cv2.COLOR_BGR2YCrCb)
    skin = cv2.inRange(ycc, (0, SKIN_CR[0], SKIN_CB[0]), (255, SKIN_CR[1], SKIN_CB[1]))
    y = ycc[..., 0]
    if int(np.count_nonzero(skin)) < 16:
        return np.zeros_like(skin)
    floor = 0.55 * float(np.median(y[skin > 0]))
    gx = cv2.Sobel(y, cv2.CV_16S, 1, 0)
    gy = cv2.Sobel(y, cv2.CV_16S, 0, 1)
    edge = cv2.add(cv2.convertScaleAbs(gx), cv2.convertScaleAbs(gy)) > EDGE_LEVEL * 2
    near_edge = cv2.dilate(edge.view(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    keep = (skin > 0) & (y > floor) & ~near_edge
    weight = np.minimum(keep.astype(np.uint8) * 255, a)
    weight = cv2.GaussianBlur(weight, (0, 0), 1.0)
    return cv2.convertScaleAbs(weight, alpha=0.9 * strength / 100)


def face_area(fig: Figure, width: int, height: int
              ) -> tuple[tuple[int, int, int, int], tuple[float, float, float, float] | None]:
    """The box (x0, y0, x1, y1) to smooth in, and for a single head the face's ellipse
    (centre x, y, semi-axes) in it, so that hair of a skin-like colour is left alone;
    several heads side by side: their box, by colour alone."""
    if fig.heads[1] - fig.heads[0] < 1.6 * fig.head:
        cx, cy = (fig.heads[0] + fig.heads[1]) / 2, fig.face_y + 0.15 * fig.head
        ax, ay = 0.45 * fig.head, 0.62 * fig.head
        box = (round(cx - 1.1 * ax), round(cy - 1.1 * ay), round(cx + 1.1 * ax),
               round(cy + 1.1 * ay))
        ellipse: tuple[float, float, float, float] | None = (cx, cy, ax, ay)
    else:
        x0, y0, x1, y1 = fig.head_box
        pad = round(0.15 * fig.head)
        box, ellipse = (x0 - pad, y0, x1 + pad, round(y1 + 0.3 * fig.head_height)), None
    x0, y0, x1, y1 = box
    return (max(0, x0), max(0, y0), min(width, x1), min(height, y1)), ellipse


def smooth_skin(work: np.ndarray, alpha: np.ndarray, fig: Figure, strength: int
                ) -> np.ndarray:
    """Smooth the skin of the faces in ``work`` (in place); returns it."""
    if strength <= 0:
        return work
    h, w = work.shape[:2]
    k = max(1, round(fig.head / TOUCHUP_FACE_WIDTH))
    box, ellipse = face_area(fig, w, h)
    rows, cols = _aligned(box, k, w, h)
    roi = work[rows, cols]
    rh, rw = roi.shape[:2]
    if rh < 4 * k or rw < 4 * k:
        return work
    size = (rw // k, rh // k)
    small = shrink(roi, size)
    weight = skin_weight(small, shrink(alpha[rows, cols], size), strength)
    if ellipse is not None:
        cx, cy, ax, ay = ellipse
        face = np.zeros_like(weight)
        axes = (round(ax / k), round(ay / k))
        cv2.ellipse(face, (round((cx - cols.start) / k), round((cy - rows.start) / k)), axes,
                    0, 0, 360, 255, -1)
        # A box blur for the soft rim: a Gaussian that wide cost 0.5 ms, all the rest 0.6.
        soft = max(3, axes[0] // 3) | 1
        weight = cv2.min(weight, cv2.blur(face, (soft, soft)))
    smooth = cv2.bilateralFilter(small, 5, 12 + 0.4 * strength, 3)
    up = cv2.resize(smooth, (rw, rh), interpolation=cv2.INTER_LINEAR)
    roi[:] = blend(up, roi, cv2.resize(weight, (rw, rh), interpolation=cv2.INTER_LINEAR))
    return work
