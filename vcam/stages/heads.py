"""Where the heads are, from the face detector where it finds faces in the person
mask, for auto-framing (vcam.stages.framing).

The mask alone reads a head as the top of the person: a hat, a bun or a
helmet pushed back is taken for the crown, and a mask that takes in a flag or
a chair beside the person widens the "head" several times.  On footage the
looks were not tuned on that put the face 4.9-17.2 % of the picture's height
off its mark.  A face detector knows where the face is.

:class:`FaceTracker` runs :class:`~vcam.stages.face.FaceDetector` a few times a
second on the region below the mask's heads (never the whole frame: the
short-range model wants a face to be a fair share of what it sees), at most
one 128x128 inference per frame, and between runs moves the faces' reading
with the mask's figure.  Where it finds no face inside the mask, the mask's
own figure stands.
"""

from __future__ import annotations

import dataclasses
import logging
import statistics
from collections.abc import Callable

import numpy as np

from vcam.stages.face import Face, FaceDetector
from vcam.stages.figure import FACE_DOWN, Figure

log = logging.getLogger(__name__)

HEAD_PER_FACE = 0.825
"""The mask's head width (vcam.stages.figure) per face-box width, on the clip the
framing was tuned on, so a face-read head frames as tight as a mask-read one."""
FACE_UP = 0.135
"""The framing's face point (the middle of the eyes-to-mouth area, where OpenCV's
frontal-face box has its centre) is this many face widths above the detector
box's centre (tuning clip: 0.137)."""
PERIOD = 0.5
"""Seconds between detections while the figure stays put (2 a second: a detection
is ~1.5 ms at 1080p, and four a second cost the frame look 0.3 ms a frame more
on average for the same centring)."""
MOVING_PERIOD = 1 / 12
"""Seconds between detections while the figure moves: a search a frame would
follow it no better, and a slower cadence makes re-framing lag."""
MOVED = 0.5
"""The figure moved this many head widths since the last detection: detect again now."""
HOLD = 1.0
"""A face reading outlives detections that find no face by this many seconds (a
head turned away for a moment does not throw the framing back to the mask's)."""
ROI_ABOVE, ROI_BELOW, ROI_SIDE = 0.5, 3.5, 1.0
"""The region searched: from this many head widths above the mask's top to this
many below, and this many beyond the heads' span on each side."""
FINER = 0.6
"""When the region's tiles find no face, it is searched again in tiles this
much smaller (a face under ~1/7 of a tile's side is missed)."""
MAX_TILES = 8
"""At most this many inferences per search."""

Region = tuple[int, int, int, int]
"""(x0, y0, x1, y1) in the frame's pixels."""


def face_point(face: Face) -> tuple[float, float]:
    """Where the framing puts the face: its box's centre, raised by :data:`FACE_UP`."""
    cx, cy = face.centre
    return (cx, cy - FACE_UP * face.width)


def face_figure(fig: Figure, faces: list[Face]) -> Figure:
    """``fig`` with its heads read off ``faces`` (at least one): the highest face
    sets the face's height, their mean size the head's, and they span the heads."""
    heads = [HEAD_PER_FACE * f.width for f in faces]
    points = [face_point(f) for f in faces]
    head = statistics.fmean(heads)
    x0 = min(x - h / 2 for (x, _), h in zip(points, heads, strict=True))
    x1 = max(x + h / 2 for (x, _), h in zip(points, heads, strict=True))
    face_y = min(y for _, y in points)
    return dataclasses.replace(fig, top=face_y - FACE_DOWN * head, head=head,
                               heads=(round(x0), round(x1)))


def search_region(fig: Figure, width: int, height: int) -> Region:
    """Where to look for the faces of ``fig``'s people in a ``width`` x ``height`` frame."""
    x0, x1 = fig.heads
    return (max(0, round(x0 - ROI_SIDE * fig.head)), max(0, round(fig.top - ROI_ABOVE * fig.head)),
            min(width, round(x1 + ROI_SIDE * fig.head)),
            min(height, round(fig.top + ROI_BELOW * fig.head)))


def tiles(region: Region, side: float) -> list[Region]:
    """Squares of ``side`` covering ``region``, overlapping by at least a fifth of a side
    (so a face on a seam is whole in one); one square when the region fits in it."""
    x0, y0, x1, y1 = region
    s = max(16, round(side))

    def starts(a: int, b: int) -> list[int]:
        if b - a <= s:
            return [a]
        n = 1 + -(-(b - a - s) // int(0.8 * s))
        return [a + round(i * (b - a - s) / (n - 1)) for i in range(n)]

    return [(x, y, min(x1, x + s), min(y1, y + s))
            for y in starts(y0, y1) for x in starts(x0, x1)]


TOUCH = 0.05
"""A face belongs to a person when the mask covers this share of the area twice its
size around it (hair, neck, shoulders).  Not "the face is on the mask": the selfie
model can miss a face it surrounds (the astronaut photo: 2 % of her face box)."""


def on_people(faces: list[Face], alpha: np.ndarray, fig: Figure) -> list[Face]:
    """The faces that belong to ``fig``'s people in the mask ``alpha`` (HxW uint8):
    the face point inside their box and touching the mask; best first, a face found
    twice (tiles overlap) once."""
    bx0, by0, bx1, by1 = fig.box
    kept: list[Face] = []
    for f in sorted(faces, key=lambda f: -f.score):
        x, y = face_point(f)
        if not (bx0 <= x < bx1 and by0 <= y < by1):
            continue
        x0, y0, x1, y1 = (round(v + d * f.width / 2)
                          for v, d in zip(f.box, (-1, -1, 1, 1), strict=True))
        around = alpha[max(0, y0):max(0, y1), max(0, x0):max(0, x1)]
        if around.size == 0 or np.count_nonzero(around > 127) < TOUCH * around.size:
            continue
        if any(k.box[0] <= x <= k.box[2] and k.box[1] <= y <= k.box[3] for k in kept):
            continue
        kept.append(f)
    return kept


Detect = Callable[[np.ndarray, Region], list[Face]]


class FaceTracker:
    """``figure(frame, alpha, fig, t)`` -> ``fig`` with its heads read off the faces
    the detector finds inside the person mask (``fig`` itself when it finds none,
    or while no detector can run).

    A search covers :func:`search_region` in tiles, one inference per call;
    searches start every :data:`PERIOD` s, or at once when the figure moved.
    ``still`` (photos): each call searches to the end.  ``detect`` replaces the
    detector (made on first use otherwise).  Not thread-safe.
    """

    def __init__(self, *, still: bool = False, detect: Detect | None = None) -> None:
        self.still = still
        self._detect = detect
        self._failed = False
        self._todo: list[Region] = []
        self._found: list[Face] = []
        self._finer = False
        self._searched_t: float | None = None
        self._searched_fig: Figure | None = None
        self._reading: tuple[Figure, Figure] | None = None
        """(the mask's figure, the faces' figure) when the faces were last found."""
        self._read_t = 0.0

    def _detector(self) -> Detect | None:
        if self._detect is None and not self._failed:
            try:
                self._detect = FaceDetector().detect
            except (ImportError, OSError, ValueError) as e:
                self._failed = True
                log.warning("face detector unavailable (%s); framing reads heads off the "
                            "person mask only", e)
        return self._detect

    def figure(self, frame: np.ndarray, alpha: np.ndarray, fig: Figure | None,
               t: float) -> Figure | None:
        """The heads of ``fig`` (the mask's people in ``frame`` at ``t`` s), from faces."""
        if fig is None:
            self._todo, self._reading = [], None
            return None
        detect = self._detector()
        if detect is None:
            return fig
        if not self._todo and self._due(fig, t):
            self._start(fig, frame.shape[1], frame.shape[0], t)
        while self._todo:
            self._found += detect(frame, self._todo.pop(0))
            if not self._todo and not self._finish(fig, alpha, t) and self.still:
                self._start(fig, frame.shape[1], frame.shape[0], t)  # at once, finer
            if not self.still:
                break
        return self._read(fig, t)

    def _due(self, fig: Figure, t: float) -> bool:
        last = self._searched_fig
        if self.still or last is None or self._searched_t is None:
            return True
        moved = max(abs(fig.top - last.top), abs(sum(fig.heads) - sum(last.heads)) / 2)
        since = t - self._searched_t
        return since >= PERIOD or (moved > MOVED * last.head and since >= MOVING_PERIOD)

    def _start(self, fig: Figure, width: int, height: int, t: float) -> None:
        region = search_region(fig, width, height)
        side = (region[3] - region[1]) * (FINER if self._finer else 1.0)
        self._todo = tiles(region, side)[:MAX_TILES]
        self._found = []
        self._searched_t, self._searched_fig = t, fig

    def _finish(self, fig: Figure, alpha: np.ndarray, t: float) -> bool:
        """Take the search's faces; False when it should be redone finer at once."""
        faces = on_people(self._found, alpha, fig)
        if faces:
            self._reading, self._read_t = (fig, face_figure(fig, faces)), t
            return True
        # None at this tile size: try the other next (and keep to the one that finds).
        self._finer = not self._finer
        if self._finer:
            self._searched_t = None
            return False
        if self.still:
            self._reading = None
        return True

    def _read(self, fig: Figure, t: float) -> Figure:
        """The faces' figure moved as the mask's has since they were read."""
        if self._reading is None or (not self.still and t - self._read_t > HOLD + PERIOD):
            return fig
        then, faces = self._reading
        dx = (sum(fig.heads) - sum(then.heads)) / 2
        dy = fig.top - then.top
        x0, x1 = faces.heads
        return dataclasses.replace(faces, top=faces.top + dy, heads=(round(x0 + dx),
                                   round(x1 + dx)), left=fig.left, right=fig.right,
                                   box=fig.box)
