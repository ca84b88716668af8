"""The effects: pure functions of (frame, alpha, params) -> frame.

``frame`` is HxWx3 uint8 BGR, ``alpha`` HxW uint8 (255 = person, soft at the
edges); neither is modified.  The result is a new HxWx3 uint8 BGR array.  The
registry :data:`EFFECTS` is keyed by :class:`vcam.config.Effect`, the names the
CLI, config.toml and the tray share.

Everything runs in uint8 or on a shrunken copy: float blending and a
full-resolution large Gaussian each cost more than the whole model at 1080p.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from vcam.config import Colour, Effect


@dataclass(frozen=True)
class EffectParams:
    """What an effect may need besides the frame and its alpha."""

    background: np.ndarray | None = None
    """HxWx3 BGR background at the frame's size, for ``replace``."""
    blur: int = 12
    key_colour: Colour = (0, 255, 0)
    light_wrap: float = 0.0
    """``replace``: how much of the background's light spills over the person's
    edge, 0 (off) .. 1."""
    light_wrap_width: float = 6.0
    """``replace``: how far that light reaches in, in pixels of a 640-wide frame."""


def blend(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``fg*alpha + bg*(1-alpha)`` in uint8, alpha 0..255 (HxW)."""
    a3 = cv2.merge((alpha, alpha, alpha))
    out = cv2.multiply(fg, a3, scale=1 / 255)
    cv2.bitwise_not(a3, dst=a3)  # 255 - alpha for uint8
    return cv2.add(out, cv2.multiply(bg, a3, scale=1 / 255), dst=out)


BLUR_WORK_WIDTH = 320
"""The width the background is blurred at; upscaling a blur loses nothing visible."""


def blurred_background(frame: np.ndarray, alpha: np.ndarray, strength: int) -> np.ndarray:
    """The background blurred with the person left out (no halo).

    A normalised, background-weighted blur: blur(frame * w) / blur(w) with w the
    background weight, so the person's colours do not bleed into the blurred
    background around them.  Done at :data:`BLUR_WORK_WIDTH` and scaled back up.
    """
    h, w = frame.shape[:2]
    sw = min(BLUR_WORK_WIDTH, w)
    sh = max(1, round(h * sw / w))
    small = cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
    weight = cv2.resize(alpha, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
    weight = 1.0 - weight * (1 / 255)
    # Blur strength is a sigma in 640-pixel-wide units, so it looks the same at any size.
    sigma = strength * sw / 640
    num = cv2.GaussianBlur(small * weight[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(weight, (0, 0), sigma)
    plain = cv2.GaussianBlur(small, (0, 0), sigma)
    # Deep inside the person there is no background to average: take the plain blur there.
    ok = den > 1e-3
    res = np.where(ok[..., None], num / np.maximum(den, 1e-3)[..., None], plain)
    res = np.clip(res, 0, 255).astype(np.uint8)
    return cv2.resize(res, (w, h), interpolation=cv2.INTER_LINEAR)


LIGHT_WRAP_WORK_WIDTH = 160
"""The width the light-wrap glow is computed at; it is a soft, low-frequency layer."""


def light_wrap(composite: np.ndarray, background: np.ndarray, alpha: np.ndarray,
               strength: float, width: float) -> np.ndarray:
    """Let the new background's light spill over the person's edge.

    Near the edge, inside the person, the light of the background around that
    spot (a normalised, background-weighted blur, so it carries no person
    colour) is added to ``composite``, by up to ``strength``, fading in over
    about ``width`` pixels of a 640-wide frame: a cut-out then sits in its new
    scene instead of looking pasted on, and a dark background adds nothing.
    The glow is made at :data:`LIGHT_WRAP_WORK_WIDTH`; at full size it is one
    resize and one saturating add.
    """
    if strength <= 0:
        return composite
    h, w = alpha.shape
    sw = min(LIGHT_WRAP_WORK_WIDTH, w)
    sh = max(1, round(h * sw / w))
    a = cv2.resize(alpha, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
    a *= 1 / 255
    bg = cv2.resize(background, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
    sigma = width * sw / 640
    outside = 1.0 - a
    near = cv2.GaussianBlur(outside, (0, 0), sigma)
    glow = cv2.GaussianBlur(bg * outside[..., None], (0, 0), sigma)
    # Only the person's side of the edge takes light, most where the background is near.
    amount = a * np.minimum(near * (2.0 * strength), strength) / np.maximum(near, 1e-3)
    light = cv2.convertScaleAbs(glow * amount[..., None])
    return cv2.add(composite, cv2.resize(light, (w, h), interpolation=cv2.INTER_LINEAR))


def solid(shape: tuple[int, ...], colour: Colour) -> np.ndarray:
    """A BGR frame of one RGB ``colour``."""
    r, g, b = colour
    out = np.empty((shape[0], shape[1], 3), np.uint8)
    out[:] = (b, g, r)
    return out


def effect_none(frame: np.ndarray, alpha: np.ndarray, p: EffectParams) -> np.ndarray:
    return frame.copy()


def effect_replace(frame: np.ndarray, alpha: np.ndarray, p: EffectParams) -> np.ndarray:
    bg = p.background if p.background is not None else solid(frame.shape, (255, 255, 255))
    if bg.shape != frame.shape:
        raise ValueError(f"background shape {bg.shape} != frame shape {frame.shape}")
    return light_wrap(blend(frame, bg, alpha), bg, alpha, p.light_wrap, p.light_wrap_width)


def effect_blur(frame: np.ndarray, alpha: np.ndarray, p: EffectParams) -> np.ndarray:
    return blend(frame, blurred_background(frame, alpha, p.blur), alpha)


def effect_desaturate(frame: np.ndarray, alpha: np.ndarray, p: EffectParams) -> np.ndarray:
    gray = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    return blend(frame, gray, alpha)


def effect_transparent(frame: np.ndarray, alpha: np.ndarray, p: EffectParams) -> np.ndarray:
    """Live stand-in for transparency: a key colour for chroma keying (a virtual
    camera cannot carry alpha).  Files get the real alpha: see :func:`rgba`."""
    return blend(frame, solid(frame.shape, p.key_colour), alpha)


def rgba(frame: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """HxWx4 BGRA: the frame with ``alpha`` as its alpha channel."""
    b, g, r = cv2.split(frame)
    return cv2.merge((b, g, r, alpha))


EffectFn = Callable[[np.ndarray, np.ndarray, EffectParams], np.ndarray]

EFFECTS: dict[Effect, EffectFn] = {
    Effect.NONE: effect_none,
    Effect.REPLACE: effect_replace,
    Effect.BLUR: effect_blur,
    Effect.DESATURATE: effect_desaturate,
    Effect.TRANSPARENT: effect_transparent,
}


def apply_effect(effect: Effect, frame: np.ndarray, alpha: np.ndarray,
                 params: EffectParams) -> np.ndarray:
    """Run the registered effect ``effect``."""
    return EFFECTS[effect](frame, alpha, params)
