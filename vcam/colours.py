"""Colours as the user writes them (``#rrggbb`` or a name) and as the code holds them.

A leaf module: the effects, config and the control surfaces all spell colours
through it, and it imports nothing of vcam.
"""

from __future__ import annotations

import re

Colour = tuple[int, int, int]
"""An RGB colour, each channel 0..255."""

NAMED_COLOURS: dict[str, Colour] = {
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "red": (255, 0, 0),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
    "magenta": (255, 0, 255),
}
_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")
COLOUR_FORMS = f"'#rrggbb' such as '#336699', or a name ({', '.join(NAMED_COLOURS)})"
"""How a colour must look, for messages."""


def parse_colour(text: str) -> Colour | None:
    """``#rrggbb``, ``rrggbb`` or a name from :data:`NAMED_COLOURS`; None if it is none of these."""
    text = text.strip()
    if text.lower() in NAMED_COLOURS:
        return NAMED_COLOURS[text.lower()]
    m = _HEX.match(text)
    if not m:
        return None
    v = int(m.group(1), 16)
    return (v >> 16) & 255, (v >> 8) & 255, v & 255


def meant_as_colour(text: str) -> bool:
    """``#`` starts a colour, never a file name: ``#12345`` is a mistyped colour."""
    return text.strip().startswith("#")


def hex_colour(colour: Colour) -> str:
    """``(r, g, b)`` as ``#rrggbb``."""
    return "#{:02x}{:02x}{:02x}".format(*colour)
