"""The tray icon, drawn with Pillow: a person on a tile whose colour and backdrop
say the state at a glance.

blur: blue tile with soft dots; replace: green tile with hills and a sun;
desaturate: grey bands; transparent: a checkerboard; none: a plain grey
tile; paused: amber with pause bars; an error adds a red badge with "!".
"""

from __future__ import annotations

import functools

from PIL import Image, ImageDraw, ImageFilter

from vcam.config import Effect

SIZE = 64
_SCALE = 4  # drawn large and shrunk: smooth edges without an antialiasing API

TILE = {
    Effect.NONE: (107, 114, 128),
    Effect.BLUR: (47, 125, 225),
    Effect.REPLACE: (34, 160, 107),
    Effect.DESATURATE: (71, 85, 105),
    Effect.TRANSPARENT: (124, 58, 237),
}
PAUSED = (224, 161, 0)
ERROR = (214, 69, 69)
WHITE = (255, 255, 255, 255)


def _backdrop(effect: Effect, s: int) -> Image.Image:
    """What shows behind the person, on an s x s transparent layer."""
    layer = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    if effect is Effect.BLUR:
        for x, y, r in ((0.22, 0.25, 0.11), (0.78, 0.3, 0.13), (0.3, 0.62, 0.08),
                        (0.8, 0.7, 0.09)):
            d.ellipse([(x - r) * s, (y - r) * s, (x + r) * s, (y + r) * s],
                      fill=(255, 255, 255, 150))
        layer = layer.filter(ImageFilter.GaussianBlur(s * 0.035))
    elif effect is Effect.REPLACE:
        d.ellipse([0.66 * s, 0.12 * s, 0.86 * s, 0.32 * s], fill=(255, 221, 87, 255))
        d.polygon([(0, 0.8 * s), (0.3 * s, 0.45 * s), (0.55 * s, 0.8 * s)],
                  fill=(12, 95, 60, 255))
        d.polygon([(0.35 * s, 0.8 * s), (0.7 * s, 0.5 * s), (s, 0.8 * s)],
                  fill=(20, 120, 75, 255))
    elif effect is Effect.DESATURATE:
        for i, grey in enumerate((40, 120, 200)):
            d.rectangle([i * s / 3, 0, (i + 1) * s / 3, s], fill=(grey, grey, grey, 110))
    elif effect is Effect.TRANSPARENT:
        n = 6
        for i in range(n):
            for j in range(n):
                if (i + j) % 2:
                    d.rectangle([i * s / n, j * s / n, (i + 1) * s / n, (j + 1) * s / n],
                                fill=(255, 255, 255, 90))
    return layer


def _person(d: ImageDraw.ImageDraw, s: int, colour: tuple[int, int, int, int]) -> None:
    d.ellipse([0.36 * s, 0.2 * s, 0.64 * s, 0.48 * s], fill=colour)
    d.pieslice([0.2 * s, 0.52 * s, 0.8 * s, 1.12 * s], 180, 360, fill=colour)


@functools.lru_cache(maxsize=32)
def draw_icon(effect: Effect, paused: bool = False, error: bool = False,
              size: int = SIZE) -> Image.Image:
    """The tray icon for a state, ``size`` x ``size`` RGBA (cached; do not modify it)."""
    s = size * _SCALE
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(mask).rounded_rectangle([0, 0, s - 1, s - 1], radius=s * 0.2, fill=255)
    tile = Image.new("RGBA", (s, s), (*(PAUSED if paused else TILE[effect]), 255))
    if not paused:
        tile.alpha_composite(_backdrop(effect, s))
    img.paste(tile, (0, 0), mask)
    d = ImageDraw.Draw(img)
    if paused:
        for x in (0.3, 0.56):
            d.rounded_rectangle([x * s, 0.25 * s, (x + 0.14) * s, 0.75 * s], radius=s * 0.03,
                                fill=WHITE)
    else:
        grey = effect in (Effect.DESATURATE, Effect.NONE)
        _person(d, s, (226, 232, 240, 255) if grey else WHITE)
    if error:
        d.ellipse([0.52 * s, 0.52 * s, s - 1, s - 1], fill=(*ERROR, 255), outline=WHITE,
                  width=max(1, s // 32))
        d.rounded_rectangle([0.72 * s, 0.6 * s, 0.8 * s, 0.82 * s], radius=s * 0.02, fill=WHITE)
        d.ellipse([0.72 * s, 0.86 * s, 0.8 * s, 0.94 * s], fill=WHITE)
    return img.resize((size, size), Image.Resampling.LANCZOS)
