"""The tray icon, drawn with Pillow: a person on a tile whose colour and backdrop
say the state at a glance.

blur: blue tile with soft dots; replace: green tile with hills and a sun;
desaturate: grey bands; transparent: a checkerboard; none: a plain grey
tile; paused: amber with pause bars; an error adds a red badge with "!".
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFilter

from vcam.stages.effects import get_effect

SIZE = 64
_SCALE = 4  # drawn large and shrunk: smooth edges without an antialiasing API

PAUSED = (224, 161, 0)
ERROR = (214, 69, 69)
WHITE = (255, 255, 255, 255)


def _dots(d: ImageDraw.ImageDraw, s: int) -> None:
    for x, y, r in ((0.22, 0.25, 0.11), (0.78, 0.3, 0.13), (0.3, 0.62, 0.08), (0.8, 0.7, 0.09)):
        d.ellipse([(x - r) * s, (y - r) * s, (x + r) * s, (y + r) * s], fill=(255, 255, 255, 150))


def _hills(d: ImageDraw.ImageDraw, s: int) -> None:
    d.ellipse([0.66 * s, 0.12 * s, 0.86 * s, 0.32 * s], fill=(255, 221, 87, 255))
    d.polygon([(0, 0.8 * s), (0.3 * s, 0.45 * s), (0.55 * s, 0.8 * s)], fill=(12, 95, 60, 255))
    d.polygon([(0.35 * s, 0.8 * s), (0.7 * s, 0.5 * s), (s, 0.8 * s)], fill=(20, 120, 75, 255))


def _bands(d: ImageDraw.ImageDraw, s: int) -> None:
    for i, grey in enumerate((40, 120, 200)):
        d.rectangle([i * s / 3, 0, (i + 1) * s / 3, s], fill=(grey, grey, grey, 110))


def _checks(d: ImageDraw.ImageDraw, s: int) -> None:
    n = 6
    for i in range(n):
        for j in range(n):
            if (i + j) % 2:
                d.rectangle([i * s / n, j * s / n, (i + 1) * s / n, (j + 1) * s / n],
                            fill=(255, 255, 255, 90))


BACKDROPS: dict[str, tuple[Callable[[ImageDraw.ImageDraw, int], None] | None, bool]] = {
    "plain": (None, False),
    "dots": (_dots, True),
    "hills": (_hills, False),
    "bands": (_bands, False),
    "checks": (_checks, False),
}
"""The patterns an effect's icon may show behind the person (its registry entry
names one), each with whether it is blurred; a grey pattern gets a grey person."""
_GREY = frozenset({"plain", "bands"})


def _backdrop(pattern: str, s: int) -> Image.Image:
    """What shows behind the person, on an s x s transparent layer."""
    layer = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw, soft = BACKDROPS.get(pattern, BACKDROPS["plain"])
    if draw is not None:
        draw(ImageDraw.Draw(layer), s)
    return layer.filter(ImageFilter.GaussianBlur(s * 0.035)) if soft else layer


def _person(d: ImageDraw.ImageDraw, s: int, colour: tuple[int, int, int, int]) -> None:
    d.ellipse([0.36 * s, 0.2 * s, 0.64 * s, 0.48 * s], fill=colour)
    d.pieslice([0.2 * s, 0.52 * s, 0.8 * s, 1.12 * s], 180, 360, fill=colour)


@functools.lru_cache(maxsize=32)
def draw_icon(effect: str, paused: bool = False, error: bool = False,
              size: int = SIZE) -> Image.Image:
    """The tray icon for a state, ``size`` x ``size`` RGBA (cached; do not modify it).
    ``effect`` is a registered effect's name: its entry gives the tile and backdrop."""
    spec = get_effect(effect)
    s = size * _SCALE
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(mask).rounded_rectangle([0, 0, s - 1, s - 1], radius=s * 0.2, fill=255)
    tile = Image.new("RGBA", (s, s), (*(PAUSED if paused else spec.tile), 255))
    if not paused:
        tile.alpha_composite(_backdrop(spec.backdrop, s))
    img.paste(tile, (0, 0), mask)
    d = ImageDraw.Draw(img)
    if paused:
        for x in (0.3, 0.56):
            d.rounded_rectangle([x * s, 0.25 * s, (x + 0.14) * s, 0.75 * s], radius=s * 0.03,
                                fill=WHITE)
    else:
        grey = spec.backdrop in _GREY
        _person(d, s, (226, 232, 240, 255) if grey else WHITE)
    if error:
        d.ellipse([0.52 * s, 0.52 * s, s - 1, s - 1], fill=(*ERROR, 255), outline=WHITE,
                  width=max(1, s // 32))
        d.rounded_rectangle([0.72 * s, 0.6 * s, 0.8 * s, 0.82 * s], radius=s * 0.02, fill=WHITE)
        d.ellipse([0.72 * s, 0.86 * s, 0.8 * s, 0.94 * s], fill=WHITE)
    return img.resize((size, size), Image.Resampling.LANCZOS)
