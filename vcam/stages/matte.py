"""An alpha that hugs the person: the soft edge placed by colour, where colour can tell.

A pixel at the person's edge is a mix ``F*a + W*(1-a)`` of the person's colour
F and the wall's W.  Both are estimated around it (blurs of the frame weighted
by sure person and by sure wall), and the pixel's own place between them is
its alpha.  That is trusted as far as F and W differ (a white shirt on a white
wall says nothing) and the wall is plain (a busy room has no one wall colour),
and only near the model's edge.  The model's edge reaches several pixels into
a pale wall (the glow a viewer sees); this pulls it back onto the person.

- :func:`hug` works at the refiner's working size: in grey live (a third of the
  work, and a pale wall differs from a person in brightness), in colour for
  files, where it first cuts closed gaps the model filled (:func:`cut_gaps`);
- :func:`sharpen` (files) redoes the soft band at the frame's own resolution,
  which no working size can draw: hair strands get their own alpha.
"""

from __future__ import annotations

import cv2
import numpy as np

from vcam.stages.blend import band_spans, enlarger

HUG_SIGMA = 3.0
"""How far (pixels of a 320-wide working frame) the person's and the wall's
colours are looked for."""
HUG_CONTRAST = (20.0, 60.0)
"""Colour distance (grey levels) between person and wall from which the colour
starts to be trusted, and from which it is trusted fully."""
WALL_SPREAD = 25.0
"""Spread (standard deviation, grey levels) of the wall around an edge at which
the colour is no longer trusted."""
INNER_FADE = 2.0
"""How fast, towards alpha 1, the colour loses its say in lowering alpha at
working size (see :func:`_fade_lowering`)."""
SHARPEN_INNER_FADE = 1.0
"""The same at the frame's resolution."""
GAP_REACH = 4.0
"""How much farther than :data:`HUG_SIGMA` the wall's colour is looked for when
judging a closed gap (no wall shows right beside one)."""
GAP_COLOUR = 14.0
"""Colour distance (grey levels) within which a patch has the wall's colour."""

_KERNEL3 = np.ones((3, 3), np.uint8)
_KERNEL5 = np.ones((5, 5), np.uint8)
GAP_KERNEL = _KERNEL3
"""The smallest patch (working-size pixels) :func:`cut_gaps` takes for wall."""
_ONES3 = np.ones((1, 3), np.float32)


def hug(alpha8: np.ndarray, colour: np.ndarray, strength: float, *, gaps: bool
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``alpha8`` (uint8) pulled onto the person by ``colour`` (BGR, or grey), both
    at working size, by up to ``strength`` (0..1); ``gaps`` cuts closed gaps first.

    Returns the new uint8 alpha and the person's and the wall's colour estimates
    (float32, working size) for :func:`sharpen`.
    """
    img = colour.astype(np.float32)
    sigma = max(1.0, HUG_SIGMA * alpha8.shape[1] / 320)
    a = alpha8.astype(np.float32) * (1 / 255)
    if gaps:
        a = cut_gaps(a, img, sigma)
    near = cv2.dilate(((a > 0.01) & (a < 0.99)).view(np.uint8), _KERNEL5, iterations=2)
    fg = _weighted_blur(img, (a * a) ** 2, sigma, 2)
    wall = _weighted_blur(img, ((1 - a) * (1 - a)) ** 2, sigma, 2)
    by_colour, trust = _by_colour(img, fg, wall, strength)
    trust *= near
    # No wall near to judge by: half the trust.
    spread = _wall_spread(img, a, sigma, unknown=WALL_SPREAD / 2)
    trust *= np.clip(1.0 - spread * (1 / WALL_SPREAD), 0.0, 1.0)
    out = a + _fade_lowering(trust, by_colour, a, INNER_FADE) * (by_colour - a)
    return cv2.convertScaleAbs(out, alpha=255.0), fg, wall


def cut_gaps(a: np.ndarray, img: np.ndarray, sigma: float) -> np.ndarray:
    """Wall the model took for person (between arms, under a chin): patches that
    have the colour of a plain wall around them, unlike the person's, are cut
    out.  Only patches at least :data:`GAP_KERNEL` wide count, so a highlight on
    a face stays.  ``a`` is float alpha (working size); returns it, edited."""
    far = GAP_REACH * sigma
    wall = _weighted_blur(img, ((1 - a) * (1 - a)) ** 2, far, 4)
    looks_wall = _sum3(np.square(img - wall)) < GAP_COLOUR ** 2
    # The person's colour around, from the pixels that do not look like wall.
    person = _weighted_blur(img, ((a > 0.5) & ~looks_wall).astype(np.float32), far, 4)
    unlike_person = _sum3(np.square(person - wall)) > HUG_CONTRAST[1] ** 2
    # A closed gap has no wall beside it: no evidence of a busy wall there.
    plain = _wall_spread(img, a, far, unknown=0.0) < WALL_SPREAD / 2
    candidate = (looks_wall & unlike_person & plain & (a > 0.05)).view(np.uint8)
    # Patches at least GAP_KERNEL wide, grown back over their own wall-coloured rim.
    gap = cv2.morphologyEx(candidate, cv2.MORPH_OPEN, GAP_KERNEL)
    if gap.any():
        grown = cv2.dilate(gap, _KERNEL3, iterations=2)
        a[(grown > 0) & (candidate > 0)] = 0.0
    return a


def sharpen(alpha: np.ndarray, frame: np.ndarray, fg: np.ndarray, wall: np.ndarray,
            strength: float) -> np.ndarray:
    """The soft band at the frame's own resolution, by colour: each edge pixel's
    place between the person's colour and the wall's (from :func:`hug`,
    enlarged) is its alpha, as far as the two colours differ.  The working size
    cannot draw an edge sharper than its own pixels; the frame can, and hair
    strands get their own alpha.  ``alpha`` (frame size, uint8) is edited in
    place, span by span of the band, and returned."""
    h, w = alpha.shape
    fg_at, wall_at = enlarger(fg, (w, h)), enlarger(wall, (w, h))
    grey = fg.ndim == 2
    for ys, xs in band_spans(alpha):
        a8 = alpha[ys, xs]
        soft = (a8 > 0) & (a8 < 255)
        img = frame[ys, xs]
        if grey:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        by_colour, trust = _by_colour(img.astype(np.float32), fg_at(ys, xs), wall_at(ys, xs),
                                      strength)
        a = a8.astype(np.float32) * (1 / 255)
        new = a + _fade_lowering(trust, by_colour, a, SHARPEN_INNER_FADE) * (by_colour - a)
        a8[soft] = (new[soft] * 255 + 0.5).astype(np.uint8)
    return alpha


def _sum3(x: np.ndarray) -> np.ndarray:
    """The sum of a float32 HxWx3 array's channels (cv2.transform: numpy's
    ``sum(axis=2)`` walks the array in strides and costs ~10x more); a grey
    HxW array is its own sum."""
    return x if x.ndim == 2 else cv2.transform(x, _ONES3)


def _per_pixel(x: np.ndarray, like: np.ndarray) -> np.ndarray:
    """HxW ``x`` shaped to multiply or divide ``like`` (HxW or HxWxC)."""
    return x if like.ndim == 2 else x[..., None]


def _weighted_blur(img: np.ndarray, weight: np.ndarray, sigma: float,
                   shrink_by: int = 1) -> np.ndarray:
    """blur(img * weight) / blur(weight): the colour around each pixel, counting
    each pixel by ``weight`` (float32 HxW).  Done ``shrink_by`` times smaller and
    scaled back: the result is smooth, and the blur costs that squared less."""
    h, w = weight.shape
    num, den = img * _per_pixel(weight, img), weight
    if shrink_by > 1:
        size = (max(1, w // shrink_by), max(1, h // shrink_by))
        num = cv2.resize(num, size, interpolation=cv2.INTER_AREA)
        den = cv2.resize(den, size, interpolation=cv2.INTER_AREA)
        sigma = max(0.5, sigma / shrink_by)
    num = cv2.GaussianBlur(num, (0, 0), sigma)
    den = cv2.GaussianBlur(den, (0, 0), sigma)
    out = num / _per_pixel(np.maximum(den, 1e-3), num)
    if shrink_by > 1:
        out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
    return out


def _wall_spread(img: np.ndarray, a: np.ndarray, sigma: float, unknown: float) -> np.ndarray:
    """How much the sure wall (alpha < 0.05) around each pixel varies: the standard
    deviation of its colour, the channels summed in quadrature; ``unknown`` where
    no sure wall is near (nothing to judge by)."""
    sure = (a < 0.05).astype(np.float32)
    size = (max(1, a.shape[1] // 2), max(1, a.shape[0] // 2))
    s = max(0.5, sigma / 2)

    def around(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(cv2.resize(x, size, interpolation=cv2.INTER_AREA), (0, 0), s)

    w = around(sure)
    weighted = img * _per_pixel(sure, img)
    m1, m2 = around(weighted), around(weighted * img)
    den = _per_pixel(np.maximum(w, 1e-3), m1)
    var = _sum3(np.maximum(m2 / den - (m1 / den) ** 2, 0.0))
    np.copyto(var, np.float32(unknown * unknown), where=w < 0.05)
    return cv2.resize(np.sqrt(var), (a.shape[1], a.shape[0]), interpolation=cv2.INTER_LINEAR)


def _by_colour(img: np.ndarray, fg: np.ndarray, wall: np.ndarray, strength: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel's alpha by colour (its place from ``wall`` to ``fg``, 0..1) and how
    far to trust it (0 .. ``strength``, by how far apart the two colours are)."""
    d = fg - wall
    n2 = _sum3(d * d)
    by_colour = _sum3((img - wall) * d) / np.maximum(n2, 1.0)
    np.clip(by_colour, 0.0, 1.0, out=by_colour)
    lo, hi = HUG_CONTRAST
    trust = np.clip((np.sqrt(n2) - lo) * (strength / (hi - lo)), 0.0, strength)
    return by_colour, trust


def _fade_lowering(trust: np.ndarray, by_colour: np.ndarray, a: np.ndarray,
                   fade: float) -> np.ndarray:
    """``trust``, less where the colour would lower alpha on the person's side.

    Raised freely (the pixel looks like the person), lowered there only a
    little: one blurred person colour cannot stand for every colour a person
    has, so the colour alone would eat into them.  Edits ``trust``."""
    # Masked in place: boolean indexing costs three times as much here.
    np.multiply(trust, np.clip(fade * (1 - a), 0.0, 1.0), out=trust, where=by_colour < a)
    return trust
