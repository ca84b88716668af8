"""Blending a person over a background, in uint8, touching only the soft edge band.

Where alpha is 255 the answer is the camera pixel, where 0 the background: only
the band between (a few per cent of a frame) needs per-pixel work, so it is
found strip by strip and done span by span, with no frame-size temporaries.

:func:`blend_into` with a ``wall`` also takes the old background's share out of
the band's colour (decontamination): a camera pixel at the edge is a mix
``F*a + W*(1-a)`` of the person and the wall behind, so the person over a new
background ``B`` is ``I + (B - W)*(1-a)``.  ``W`` is not known, but a wall is
smooth: :func:`wall_estimate` fills it in from where it shows.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from vcam.colours import Colour
from vcam.stages.resample import Shrinks, enlarge_part, shrink

BLEND_STRIP_ROWS = 96
"""Rows per strip when :func:`blend` looks for the soft edge band."""
BLEND_SPAN_GAP = 64
"""Band columns at most this far apart within a strip are blended as one span."""


def column_runs(cols: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """``(start, stop)`` spans covering the sorted column indices ``cols``; columns
    at most ``gap`` apart share a span.  Empty when ``cols`` is."""
    if cols.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(cols) > gap)
    starts = [int(cols[0]), *(cols[breaks + 1]).tolist()]
    stops = [*(cols[breaks] + 1).tolist(), int(cols[-1]) + 1]
    return list(zip(starts, stops, strict=True))


Region = tuple[slice, slice]
"""(rows, cols) of a frame, plain slices with a start and a stop: the part of the
output that is wanted (auto-framing's crop, vcam.stages.looks)."""


def part(image: np.ndarray, region: Region | None) -> np.ndarray:
    """``image``'s ``region`` (a view), or all of it for None."""
    return image if region is None else image[region]


def blend(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray,
          wall: np.ndarray | None = None, alphas: Shrinks | None = None,
          region: Region | None = None) -> np.ndarray:
    """``fg*alpha + bg*(1-alpha)`` in uint8, alpha 0..255 (HxW); a new array.
    With ``wall`` (:func:`wall_estimate`) the band is decontaminated; ``alphas``
    as for :func:`band_spans`; ``region``: that part of it only."""
    return blend_into(part(bg, region).copy(), fg, alpha, wall, alphas, region)


def blend_into(out: np.ndarray, fg: np.ndarray, alpha: np.ndarray,
               wall: np.ndarray | None = None, alphas: Shrinks | None = None,
               region: Region | None = None) -> np.ndarray:
    """``out = fg*alpha + out*(1-alpha)`` in place, and returns ``out``; with
    ``region``, ``out`` is that part of the frame (``fg`` and ``alpha`` are whole).

    Only the soft edge band (0 < alpha < 255, a few per cent of a frame) needs
    the per-pixel multiply; everywhere else the answer is ``fg`` or ``out`` as
    is.  So the band is found strip by strip (:data:`BLEND_STRIP_ROWS` rows)
    and blended span by span, fg is copied where alpha > 0, and the blended
    spans are put back.  At 1080p that is ~4x less work than multiplying the
    whole frame twice, with exactly the same result, and no frame-size
    temporaries (each would cost page faults on every frame).

    With ``wall``, the old background behind ``fg`` (a small uint8 BGR
    estimate, :func:`wall_estimate`), band pixels are ``fg + (out - wall)*(1-alpha)``
    instead: the wall's share of an edge pixel is swapped for the new
    background's, so a pale wall leaves no light rim on a dark background.
    """
    h, w = alpha.shape
    wall_at = enlarger(wall, (w, h)) if wall is not None else None  # uint8 BGR
    region = region or (slice(0, h), slice(0, w))
    oy, ox = region[0].start, region[1].start
    spans: list[tuple[slice, slice, np.ndarray]] = []
    for ys, xs in clipped(band_spans(alpha, alphas), region):
        a = alpha[ys, xs]
        at = (slice(ys.start - oy, ys.stop - oy), slice(xs.start - ox, xs.stop - ox))
        # cvtColor's gray->BGR is ~15x faster than cv2.merge((a, a, a)).
        a3 = cv2.cvtColor(a, cv2.COLOR_GRAY2BGR)
        part = cv2.multiply(fg[ys, xs], a3, scale=1 / 255)
        cv2.bitwise_not(a3, dst=a3)  # 255 - alpha for uint8
        blended = cv2.add(part, cv2.multiply(out[at], a3, scale=1 / 255))
        if wall_at is not None:
            _take_wall_out(blended, fg[ys, xs], a, wall_at(ys, xs))
        spans.append((*at, blended))
    cv2.copyTo(fg[region], alpha[region], out)
    for ys, xs, blended in spans:
        out[ys, xs] = blended
    return out


def clipped(spans: list[tuple[slice, slice]], region: Region) -> list[tuple[slice, slice]]:
    """``spans`` cut to ``region``, those outside it left out."""
    ry, rx = region
    out = []
    for ys, xs in spans:
        y0, y1 = max(ys.start, ry.start), min(ys.stop, ry.stop)
        x0, x1 = max(xs.start, rx.start), min(xs.stop, rx.stop)
        if y0 < y1 and x0 < x1:
            out.append((slice(y0, y1), slice(x0, x1)))
    return out


def band_spans(alpha: np.ndarray, alphas: Shrinks | None = None) -> list[tuple[slice, slice]]:
    """(rows, cols) rectangles that cover every soft pixel (0 < alpha < 255), strip
    by strip (:data:`BLEND_STRIP_ROWS` rows), spans of columns at most
    :data:`BLEND_SPAN_GAP` apart merged: a few per cent of a frame.

    Where ``alpha`` is the bilinear enlargement of ``alphas.enlarged_from`` by a
    whole factor (live: of the refiner's working-size alpha), the band is found
    there (:func:`enlarged_band_spans`): a 36th of the pixels to look at."""
    h, w = alpha.shape
    work = alphas.enlarged_from if alphas is not None else None
    if work is not None:
        sh, sw = work.shape
        if w % sw == 0 and h % sh == 0 and w // sw == h // sh:
            return enlarged_band_spans(work, w // sw)
    rows = BLEND_STRIP_ROWS
    spans = []
    for y0 in range(0, h, rows):
        strip = alpha[y0:y0 + rows]
        # Columns of this strip that may hold band pixels (a superset: any column
        # that is not all 0 or all 255).
        cols = np.flatnonzero((strip.max(axis=0) > 0) & (strip.min(axis=0) < 255))
        spans += [(slice(y0, y0 + rows), slice(x0, x1))
                  for x0, x1 in column_runs(cols, BLEND_SPAN_GAP)]
    return spans


ENLARGED_STRIP = 16
"""Rows of the small alpha per strip for :func:`enlarged_band_spans` (few strips:
each span costs a dozen OpenCV calls, whatever its size)."""


def enlarged_band_spans(small: np.ndarray, k: int) -> list[tuple[slice, slice]]:
    """:func:`band_spans` of ``small`` enlarged k times (bilinear), found on ``small``.

    An enlarged pixel is made from the 2x2 small pixels around it, which lie
    within one small pixel of the one it falls in: it is pure (0 or 255) if
    they all are 0 or all 255.  So the k x k pixels of a small pixel may hold
    band pixels unless its 3x3 neighbourhood is all 0 or all 255.  A superset
    of the band, and blending a pure pixel gives it back unchanged, so the
    blend is the same.
    """
    sh, sw = small.shape
    mixed = (cv2.dilate(small, _KERNEL3) > 0) & (cv2.erode(small, _KERNEL3) < 255)
    strips = -(-sh // ENLARGED_STRIP)
    padded = np.zeros((strips * ENLARGED_STRIP, sw), bool)
    padded[:sh] = mixed
    cols: np.ndarray = np.any(padded.reshape(strips, ENLARGED_STRIP, sw), axis=1)
    gap, h = max(1, BLEND_SPAN_GAP // k), sh * k
    return [(slice(j * ENLARGED_STRIP * k, min(h, (j + 1) * ENLARGED_STRIP * k)),
             slice(i0 * k, i1 * k))
            for j in np.flatnonzero(cols.any(axis=1)).tolist()
            for i0, i1 in column_runs(np.flatnonzero(cols[j]), gap)]


_KERNEL3 = np.ones((3, 3), np.uint8)


def _share_lut(fade: float) -> np.ndarray:
    """alpha -> 255 x the wall's share taken out: (1-a) * min(1, fade*(1-a)), and
    none at alpha 0 (pure new background already) or 255."""
    keep = (255 - np.arange(256, dtype=np.float64)) / 255
    lut = np.round(255 * keep * np.minimum(1.0, fade * keep)).astype(np.uint8)
    lut[0] = lut[255] = 0
    return lut


def _take_wall_out(blended: np.ndarray, fg: np.ndarray, a: np.ndarray,
                   wall: np.ndarray) -> None:
    """Add ``(fg - wall)*(1-a)`` to a blended span's soft pixels, in place: with
    ``blended = fg*a + bg*(1-a)`` that makes ``fg + (bg - wall)*(1-a)``, the wall's
    share swapped for the new background's.  In full where the pixel is mostly
    wall, fading out towards the person (:data:`DECONTAMINATE_FADE`), where an
    alpha a little low would otherwise darken the person by all of it.  Six
    saturating uint8 operations: the signed difference goes up and down apart."""
    share = cv2.cvtColor(cv2.LUT(a, _SHARE), cv2.COLOR_GRAY2BGR)
    up = cv2.multiply(cv2.subtract(fg, wall), share, scale=1 / 255)
    down = cv2.multiply(cv2.subtract(wall, fg), share, scale=1 / 255)
    cv2.add(blended, up, dst=blended)
    cv2.subtract(blended, down, dst=blended)


def enlarger(small: np.ndarray, size: tuple[int, int]
              ) -> Callable[[slice, slice], np.ndarray]:
    """``at(rows, cols)``: that part of ``small`` enlarged to ``size`` (bilinear), without
    enlarging all of it where the size is a whole multiple."""
    w, h = size
    if w % small.shape[1] or h % small.shape[0]:
        full = cv2.resize(small, size, interpolation=cv2.INTER_LINEAR)
        return lambda rows, cols: full[rows, cols]
    return lambda rows, cols: enlarge_part(small, size, rows, cols)


WALL_WORK_WIDTH = 160
"""The width the old background is estimated at: a wall is smooth, and the
estimate only has to carry its colour a few pixels into the soft band."""
DECONTAMINATE_FADE = 1.0
"""The wall is taken out in full where alpha < 1/this, less towards alpha 1."""
_SHARE = _share_lut(DECONTAMINATE_FADE)
SURE_WALL = 4
"""Alphas up to this count as wall for :func:`wall_estimate`."""
WALL_SIGMA = 2.0
"""How far (in pixels at :data:`WALL_WORK_WIDTH`) the estimate reaches in from
where the wall shows."""


def wall_estimate(frame: np.ndarray, alpha: np.ndarray, frames: Shrinks | None = None,
                  alphas: Shrinks | None = None) -> np.ndarray:
    """The old background behind the person, as a small uint8 BGR picture.

    A normalised blur of the frame weighted by sure wall, at
    :data:`WALL_WORK_WIDTH` pixels wide; where no wall shows within its reach
    (under soft hair, say), a blur four times wider fills in, and deep inside
    the person, where none shows at all, the plain blur (the band never reads
    there).
    """
    h, w = alpha.shape
    sw = min(WALL_WORK_WIDTH, w)
    sh = max(1, round(h * sw / w))
    small = shrink(frame, (sw, sh)).astype(np.float32)
    # Only small pixels that are all wall count: one that holds any of the person
    # (or of its soft edge) would carry the person's colour into the estimate.
    _, sure = cv2.threshold(alpha, SURE_WALL, 255, cv2.THRESH_BINARY_INV)
    weight = (shrink(sure, (sw, sh)) == 255).astype(np.float32)
    out = cv2.GaussianBlur(small, (0, 0), WALL_SIGMA)
    weighted = small * weight[..., None]
    # The wide fill-in on a grid four times coarser (it is smooth, and a wide blur
    # at full working size would cost more than everything else here), then the
    # near estimate over it wherever it has one.
    coarse = (max(1, sw // 4), max(1, sh // 4))
    num = cv2.resize(cv2.GaussianBlur(cv2.resize(weighted, coarse, interpolation=cv2.INTER_AREA),
                                      (0, 0), WALL_SIGMA), (sw, sh))
    den = cv2.resize(cv2.GaussianBlur(cv2.resize(weight, coarse, interpolation=cv2.INTER_AREA),
                                      (0, 0), WALL_SIGMA), (sw, sh))
    for n, d in ((num, den), (cv2.GaussianBlur(weighted, (0, 0), WALL_SIGMA),
                              cv2.GaussianBlur(weight, (0, 0), WALL_SIGMA))):
        # Masked division in place: boolean indexing costs ten times as much here.
        np.divide(n, d[..., None], out=out, where=(d > 1e-4)[..., None])
    return cv2.convertScaleAbs(out)


def foreground(frame: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The person's own colour where the edge is soft, for a file with real alpha:
    ``(I - W*(1-a)) / a`` in the band (W from :func:`wall_estimate`), the frame
    elsewhere.  A viewer multiplies it by alpha again, so where alpha is small
    its error is scaled down by alpha too.  A new array."""
    h, w = alpha.shape
    wall_at = enlarger(wall_estimate(frame, alpha), (w, h))
    out = frame.copy()
    soft = (alpha > 0) & (alpha < 255)
    rows, cols = np.nonzero(soft)
    if not rows.size:
        return out
    ys = slice(int(rows.min()), int(rows.max()) + 1)
    xs = slice(int(cols.min()), int(cols.max()) + 1)
    a = alpha[ys, xs][..., None].astype(np.float32) * (1 / 255)
    fg = (frame[ys, xs] - wall_at(ys, xs).astype(np.float32) * (1 - a)) / np.maximum(a, 1 / 255)
    np.clip(fg, 0, 255, out=fg)
    part = out[ys, xs]
    band = soft[ys, xs]
    part[band] = (fg[band] + 0.5).astype(np.uint8)
    return out


LIGHT_STRIP = 16
"""Rows of the light layer per strip when :func:`add_enlarged` looks for its spans."""
LIGHT_GAP = 3
"""Lit columns at most this far apart within a strip are enlarged as one span; at
least 2, so that the spans' enlargements (one source pixel more each side) never
overlap."""


def add_enlarged(dst: np.ndarray, layer: np.ndarray, region: Region | None = None,
                 size: tuple[int, int] | None = None) -> np.ndarray:
    """``dst += resize(layer, dst's size)`` (bilinear, saturating), in place; with
    ``region``, ``dst`` is that part of a frame of ``size`` (width, height).

    The layer is mostly zero (light wrap lights a rim a few pixels deep inside
    the person), so where the size is a whole multiple of the layer's, only
    its lit spans are enlarged and added, strip by strip: at 1080p a tenth of
    the frame instead of all of it.  Returns ``dst``.
    """
    h, w = dst.shape[:2] if size is None else size[::-1]
    ry, rx = region or (slice(0, h), slice(0, w))
    sh, sw = layer.shape[:2]
    if w % sw or h % sh:
        return cv2.add(dst, cv2.resize(layer, (w, h), interpolation=cv2.INTER_LINEAR)[ry, rx],
                       dst=dst)
    kx, ky = w // sw, h // sh
    lit = layer.max(axis=2) > 0 if layer.ndim == 3 else layer > 0
    for j0 in range(ry.start // ky // LIGHT_STRIP * LIGHT_STRIP, -(-ry.stop // ky), LIGHT_STRIP):
        # Output rows of this strip read layer rows j0 - 1 .. j0 + LIGHT_STRIP.
        cols = np.flatnonzero(lit[max(0, j0 - 1):j0 + LIGHT_STRIP + 1].any(axis=0))
        rows = slice(max(ry.start, j0 * ky), min(ry.stop, (j0 + LIGHT_STRIP) * ky))
        for i0, i1 in column_runs(cols, LIGHT_GAP):
            # A lit layer pixel reaches one layer pixel to either side.
            span = slice(max(rx.start, (i0 - 1) * kx), min(rx.stop, (i1 + 1) * kx))
            if rows.start >= rows.stop or span.start >= span.stop:
                continue
            part = dst[rows.start - ry.start:rows.stop - ry.start,
                       span.start - rx.start:span.stop - rx.start]
            cv2.add(part, enlarge_part(layer, (w, h), rows, span), dst=part)
    return dst


def solid(shape: tuple[int, ...], colour: Colour) -> np.ndarray:
    """A BGR frame of one RGB ``colour``."""
    r, g, b = colour
    out = np.empty((shape[0], shape[1], 3), np.uint8)
    # Fill one row, then copy rows: numpy is ~100x slower broadcasting a 3-tuple per pixel.
    out[0] = (b, g, r)
    out[1:] = out[0]
    return out
