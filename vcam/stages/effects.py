"""The effects, and the one registry of them that every surface reads.

An effect is a pure function of ``(frame, alpha, params)`` -> frame: ``frame``
is HxWx3 uint8 BGR, ``alpha`` HxW uint8 (255 = person, soft at the edges);
neither is modified, and the result is a new array.  Each is listed once in
:data:`EFFECTS` as an :class:`EffectSpec`, with its label, menu order, icon
look and preview key: the tray, ``vcam ctl``, the CLI's choices, config.toml's
validation, the preview window, the demo, the benchmark and ``vcam apply`` all
read that table, so a new effect is one function and one :func:`register_effect`.

Everything runs in uint8 or on a shrunken copy: float blending and a
full-resolution large Gaussian each cost more than the whole model at 1080p.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from vcam.colours import Colour
from vcam.stages.blend import (
    Region,
    add_enlarged,
    blend,
    blend_into,
    foreground,
    part,
    solid,
    wall_estimate,
)
from vcam.stages.resample import Shrinks, enlarge_part


@dataclass(frozen=True)
class EffectParams:
    """What an effect may need besides the frame and its alpha."""

    background: np.ndarray | None = None
    """HxWx3 BGR background at the frame's size, for effects that read ``background``."""
    blur: int = 12
    key_colour: Colour = (0, 255, 0)
    light_wrap: float = 0.0
    """``replace``: how much of the background's light spills over the person's
    edge, 0 (off) .. 1."""
    light_wrap_width: float = 6.0
    """``replace``: how far that light reaches in, in pixels of a 640-wide frame."""
    decontaminate: bool = False
    """Take the old wall's share out of the soft edge's colour (vcam.stages.blend)."""
    frames: Shrinks | None = None
    """Smaller copies of the frame already made (the segmenter's feed), to shrink from."""
    alphas: Shrinks | None = None
    """Smaller copies of the alpha already made (the refiner's working size)."""
    backgrounds: Shrinks | None = None
    """Smaller copies of ``background``, kept while the background stays the same."""
    region: Region | None = None
    """Only this part of the output is wanted (auto-framing's crop): the effect
    returns it, the same pixels as that part of the whole output, having done
    the full-size work there only."""


BLUR_WORK_WIDTH = 320
"""The widest the background is blurred at; upscaling a blur loses nothing visible."""


BLUR_MIN_SIGMA = 3.0
"""A strong blur is done narrower than :data:`BLUR_WORK_WIDTH`, down to half of it,
as long as its sigma there stays at least this many pixels."""


def blur_work_width(strength: int, width: int) -> int:
    """How wide to blur a ``width``-wide frame for blur ``strength``.

    Blurring is most of the blur effect's cost, and a Gaussian that spans 3+
    pixels loses nothing visible when blurred narrower and scaled back up: at
    the default strength 12, 160 instead of 320 pixels wide changes the
    composite by 0.25 grey levels mean (99th percentile 1) and saves ~3-5 ms
    per 720p/1080p frame.  Weak blurs keep the full work width.
    """
    sw = math.ceil(640 * BLUR_MIN_SIGMA / max(strength, 1))
    return min(width, max(BLUR_WORK_WIDTH // 2, min(BLUR_WORK_WIDTH, sw)))


def blurred_background(frame: np.ndarray, alpha: np.ndarray, strength: int,
                       frames: Shrinks | None = None, alphas: Shrinks | None = None,
                       region: Region | None = None) -> np.ndarray:
    """The background blurred with the person left out (no halo).

    A normalised, background-weighted blur: blur(frame * w) / blur(w) with w the
    background weight, so the person's colours do not bleed into the blurred
    background around them.  Done :func:`blur_work_width` pixels wide and scaled
    back up; ``frames`` and ``alphas`` hold copies already shrunk.  ``region``:
    that part of it only.
    """
    h, w = frame.shape[:2]
    sw = blur_work_width(strength, w)
    sh = max(1, round(h * sw / w))
    if alphas is None:
        res = _blurred_small(frame, alpha, strength, (sw, sh), frames, alphas)
    else:  # kept for a still frame, which keeps the alpha
        res = alphas.derived(("blur", strength, sw), lambda: _blurred_small(
            frame, alpha, strength, (sw, sh), frames, alphas))
    if region is not None:
        return enlarge_part(res, (w, h), *region)
    return cv2.resize(res, (w, h), interpolation=cv2.INTER_LINEAR)


def _blurred_small(frame: np.ndarray, alpha: np.ndarray, strength: int, size: tuple[int, int],
                   frames: Shrinks | None, alphas: Shrinks | None) -> np.ndarray:
    """:func:`blurred_background` at its working ``size`` (uint8)."""
    sw, sh = size
    small = (frames or Shrinks(frame)).at((sw, sh)).astype(np.float32)
    weight = (alphas or Shrinks(alpha)).at((sw, sh)).astype(np.float32)
    weight = 1.0 - weight * (1 / 255)
    # Blur strength is a sigma in 640-pixel-wide units, so it looks the same at any size.
    sigma = strength * sw / 640
    num = cv2.GaussianBlur(small * weight[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(weight, (0, 0), sigma)
    plain = cv2.GaussianBlur(small, (0, 0), sigma)
    # Deep inside the person there is no background to average: take the plain blur there.
    ok = den > 1e-3
    res = np.where(ok[..., None], num / np.maximum(den, 1e-3)[..., None], plain)
    return np.clip(res, 0, 255).astype(np.uint8)


LIGHT_WRAP_WORK_WIDTH = 160
"""The width the light-wrap glow is computed at; it is a soft, low-frequency layer."""


def light_wrap(composite: np.ndarray, background: np.ndarray, alpha: np.ndarray,
               strength: float, width: float, alphas: Shrinks | None = None,
               backgrounds: Shrinks | None = None, region: Region | None = None
               ) -> np.ndarray:
    """Let the new background's light spill over the person's edge.

    Near the edge, inside the person, the light of the background around that
    spot (a normalised, background-weighted blur, so it carries no person
    colour) is added to ``composite``, by up to ``strength``, fading in over
    about ``width`` pixels of a 640-wide frame: a cut-out then sits in its new
    scene instead of looking pasted on, and a dark background adds nothing.
    The glow is made at :data:`LIGHT_WRAP_WORK_WIDTH`; at full size it is one
    resize and one saturating add, over the rim the light reaches only
    (:func:`add_enlarged`); ``alphas`` and ``backgrounds`` hold copies
    already shrunk.  ``composite`` is changed in place and returned; with
    ``region`` it is that part of the frame (``background`` and ``alpha`` are whole).
    """
    if strength <= 0:
        return composite
    if alphas is None or backgrounds is None:
        light = _light(background, alpha, strength, width, alphas, backgrounds)
    else:  # the same for a still frame, which keeps the alpha, on a still background
        light = alphas.derived(("light", backgrounds, strength, width), lambda: _light(
            background, alpha, strength, width, alphas, backgrounds))
    return add_enlarged(composite, light, region, alpha.shape[::-1])


def _light(background: np.ndarray, alpha: np.ndarray, strength: float, width: float,
           alphas: Shrinks | None, backgrounds: Shrinks | None) -> np.ndarray:
    """:func:`light_wrap`'s light layer, at :data:`LIGHT_WRAP_WORK_WIDTH` (uint8)."""
    h, w = alpha.shape
    sw = min(LIGHT_WRAP_WORK_WIDTH, w)
    sh = max(1, round(h * sw / w))
    a = (alphas or Shrinks(alpha)).at((sw, sh)).astype(np.float32)
    a *= 1 / 255
    bg = (backgrounds or Shrinks(background)).at((sw, sh)).astype(np.float32)
    sigma = width * sw / 640
    outside = 1.0 - a
    near = cv2.GaussianBlur(outside, (0, 0), sigma)
    glow = cv2.GaussianBlur(bg * outside[..., None], (0, 0), sigma)
    # Only the person's side of the edge takes light, most where the background is near.
    amount = a * np.minimum(near * (2.0 * strength), strength) / np.maximum(near, 1e-3)
    return cv2.convertScaleAbs(glow * amount[..., None])


def effect_none(frame: np.ndarray, alpha: np.ndarray, p: EffectParams) -> np.ndarray:
    return part(frame, p.region).copy()


def _wall(frame: np.ndarray, alpha: np.ndarray, p: EffectParams) -> np.ndarray | None:
    if not p.decontaminate:
        return None
    if p.alphas is None:
        return wall_estimate(frame, alpha, p.frames, p.alphas)
    # Kept for a still frame, which keeps the alpha: the wall behind is the same.
    return p.alphas.derived(("wall",), lambda: wall_estimate(frame, alpha, p.frames, p.alphas))


def effect_replace(frame: np.ndarray, alpha: np.ndarray, p: EffectParams) -> np.ndarray:
    bg = p.background if p.background is not None else solid(frame.shape, (255, 255, 255))
    if bg.shape != frame.shape:
        raise ValueError(f"background shape {bg.shape} != frame shape {frame.shape}")
    out = blend(frame, bg, alpha, _wall(frame, alpha, p), p.alphas, p.region)
    return light_wrap(out, bg, alpha, p.light_wrap, p.light_wrap_width, p.alphas,
                      p.backgrounds if p.background is not None else None, p.region)


def effect_blur(frame: np.ndarray, alpha: np.ndarray, p: EffectParams) -> np.ndarray:
    # The blurred background is a fresh array: blend into it instead of copying it.
    return blend_into(blurred_background(frame, alpha, p.blur, p.frames, p.alphas, p.region),
                      frame, alpha, _wall(frame, alpha, p), p.alphas, p.region)


def effect_desaturate(frame: np.ndarray, alpha: np.ndarray, p: EffectParams) -> np.ndarray:
    gray = cv2.cvtColor(cv2.cvtColor(part(frame, p.region), cv2.COLOR_BGR2GRAY),
                        cv2.COLOR_GRAY2BGR)
    return blend_into(gray, frame, alpha, None, p.alphas, p.region)


def effect_transparent(frame: np.ndarray, alpha: np.ndarray, p: EffectParams) -> np.ndarray:
    """Live stand-in for transparency: a key colour for chroma keying (a virtual
    camera cannot carry alpha).  Files get the real alpha: see :func:`rgba`."""
    key = solid(part(frame, p.region).shape, p.key_colour)
    return blend_into(key, frame, alpha, _wall(frame, alpha, p), p.alphas, p.region)


def rgba(frame: np.ndarray, alpha: np.ndarray, p: EffectParams | None = None) -> np.ndarray:
    """HxWx4 BGRA: the frame with ``alpha`` as its alpha channel; with
    ``decontaminate``, the person's own colour at the soft edge, so a cut-out has
    no rim of the old wall on any new background."""
    b, g, r = cv2.split(foreground(frame, alpha) if p is not None and p.decontaminate
                        else frame)
    return cv2.merge((b, g, r, alpha))


EffectFn = Callable[[np.ndarray, np.ndarray, EffectParams], np.ndarray]


@dataclass(frozen=True)
class EffectSpec:
    """One effect and how every surface shows it."""

    name: str
    """The name the CLI, config.toml, ``vcam ctl`` and the tray share."""
    fn: EffectFn
    label: str
    """The tray menu's text."""
    order: int
    """Place in menus, lists and the demo (smaller first)."""
    key: str
    """The preview window's key for it (one character)."""
    tile: Colour
    """The tray icon's tile colour."""
    backdrop: str = "plain"
    """The pattern behind the person on the tray icon (see vcam.control.icon.BACKDROPS)."""
    reads: frozenset[str] = frozenset()
    """The :class:`EffectParams` fields it reads: the compositor loads a background
    only for an effect that reads one."""
    needs_mask: bool = True
    """False: the frame passes through and the segmenter rests."""
    demo: int | None = None
    """Place in ``vcam run --demo``'s cycle (smaller first); None: not shown there."""
    file_fn: EffectFn | None = None
    """What ``vcam apply`` runs instead, where a file can do better than a camera."""
    file_channels: int = 3
    """Channels of ``file_fn``'s result (4: BGRA with real alpha)."""
    help: str = ""
    """A few words for ``--help``."""

    @property
    def needs_background(self) -> bool:
        return "background" in self.reads


EFFECTS: dict[str, EffectSpec] = {}
"""Every effect by name; fill it with :func:`register_effect`."""


def register_effect(spec: EffectSpec) -> EffectSpec:
    """Add ``spec`` to :data:`EFFECTS`; a name or preview key already taken is an error."""
    if spec.name in EFFECTS:
        raise ValueError(f"an effect named {spec.name!r} is already registered")
    taken = {s.key: s.name for s in EFFECTS.values()}
    if spec.key in taken or len(spec.key) != 1:
        raise ValueError(f"effect {spec.name!r}: preview key {spec.key!r} must be one "
                         f"character not used by another effect (taken: {taken})")
    unknown = spec.reads - {f.name for f in dataclasses.fields(EffectParams)}
    if unknown:
        raise ValueError(f"effect {spec.name!r} reads unknown settings {sorted(unknown)}")
    EFFECTS[spec.name] = spec
    return spec


def effect_names() -> tuple[str, ...]:
    """The registered effects' names, in menu order."""
    return tuple(s.name for s in sorted(EFFECTS.values(), key=lambda s: s.order))


def get_effect(name: str) -> EffectSpec:
    """The registered effect ``name``; :class:`KeyError` naming the ones there are."""
    try:
        return EFFECTS[name]
    except KeyError:
        raise KeyError(f"unknown effect {name!r}; one of: {', '.join(effect_names())}") from None


def apply_effect(effect: str, frame: np.ndarray, alpha: np.ndarray,
                 params: EffectParams) -> np.ndarray:
    """Run the registered effect ``effect``."""
    return get_effect(effect).fn(frame, alpha, params)


_LIGHT = frozenset({"background", "light_wrap", "light_wrap_width", "decontaminate"})
for _spec in (
    EffectSpec("none", effect_none, "None", 0, "n", (107, 114, 128), needs_mask=False,
               help="the camera picture as it is"),
    EffectSpec("replace", effect_replace, "Replace", 10, "r", (34, 160, 107), "hills", _LIGHT,
               demo=2, help="a colour, an image or a looping video behind you"),
    EffectSpec("blur", effect_blur, "Blur", 20, "l", (47, 125, 225), "dots",
               frozenset({"blur", "decontaminate"}), demo=1, help="blur the background"),
    EffectSpec("desaturate", effect_desaturate, "Desaturate", 30, "d", (71, 85, 105), "bands",
               demo=3, help="the background in grey"),
    EffectSpec("transparent", effect_transparent, "Transparent (key colour)", 40, "t",
               (124, 58, 237), "checks", frozenset({"key_colour", "decontaminate"}), demo=4,
               file_fn=rgba, file_channels=4,
               help="live: a key colour for chroma keying; files: real alpha"),
):
    register_effect(_spec)
