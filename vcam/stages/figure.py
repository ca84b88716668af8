"""Where the people are in a frame, read off the person mask: the top of the
heads, the head size and the head-and-shoulders band, for the looks
(vcam.stages.looks) to frame, light and touch up.

The mask is sampled on a coarse grid (:data:`GRID_COLUMNS` across), not
resized: strided reads of a 1080p alpha cost microseconds, and a head is
many grid cells even in a wide shot.  A head is the top of the person mask:
the narrow part above the shoulders.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

GRID_COLUMNS = 160
"""Columns of the sampling grid across the frame."""
MIN_AREA = 0.004
"""A blob smaller than this share of the frame is nobody (the mask's false
positives on a cartoon reach ~0.1%; a head and shoulders far back, ~1%)."""
PERSON_SHARE = 0.15
"""A blob under this share of the largest is not a person either (a child far
back is still several times this)."""
HEAD_ROWS = 0.06
"""The crown's width is read over this share of the frame's height below the top."""
HEAD_SPAN = 1.5
"""The head's width is the mean over this many crown widths below the top."""
HEAD_ASPECT = 1.6
"""A head, hair to chin, is about this much taller than wide."""
FACE_DOWN = 1.0
"""The eyes are about this many head widths below the top of the hair."""
BAND_HEADS = 3.5
"""The head-and-shoulders band reaches this many head widths below the top."""


@dataclass(frozen=True)
class Figure:
    """The people in one frame, in the frame's pixels (floats).

    ``top`` is the highest person row; ``head`` the width of one head (the
    person cells per run in the top rows, so two people side by side do not
    count as one wide head); ``left``/``right`` the head-and-shoulders band's
    extent; ``heads`` (x0, x1) the columns the heads span; ``box`` (x0, y0, x1,
    y1) everyone's bounding box.
    """

    top: float
    head: float
    left: float
    right: float
    heads: tuple[int, int]
    box: tuple[int, int, int, int]

    @property
    def head_height(self) -> float:
        return self.head * HEAD_ASPECT

    @property
    def face_y(self) -> float:
        """About the eyes' height: a bit above the middle of the head."""
        return self.top + FACE_DOWN * self.head

    @property
    def head_box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) around the heads."""
        x0, x1 = self.heads
        return (x0, int(self.top), x1, int(self.top + self.head_height))


def _people(cells: np.ndarray) -> np.ndarray | None:
    """The grid's person cells that belong to someone: blobs of a fair share of the
    largest one (a speck above a head would otherwise be taken for its top)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cells.view(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    least = MIN_AREA * cells.size
    if n < 2 or int(areas.max()) < least:
        return None
    keep = np.flatnonzero(areas >= max(least, PERSON_SHARE * int(areas.max()))) + 1
    return cells if len(keep) == n - 1 else np.isin(labels, keep)


def _run_widths(rows: np.ndarray, soft: np.ndarray) -> np.ndarray:
    """Each row's person coverage (``soft``, 0..1 per cell) per run of person cells
    (``rows``, bool): one person's width in cells, even with several side by side."""
    starts = (rows[:, 1:] & ~rows[:, :-1]).sum(axis=1) + rows[:, 0]
    return soft.sum(axis=1) / np.maximum(starts, 1)


def grid_step(width: int) -> int:
    """The sampling grid's pitch in pixels for a ``width``-wide frame."""
    return max(1, width // GRID_COLUMNS)


def find_figure(alpha: np.ndarray) -> Figure | None:
    """The people in ``alpha`` (HxW uint8, 255 = person), or None when nobody is there."""
    h, w = alpha.shape[:2]
    s = grid_step(w)
    cells = _people(alpha[s // 2::s, s // 2::s] > 127)
    if cells is None:
        return None
    per_row = cells.sum(axis=1)
    rows = np.flatnonzero(per_row >= 2)
    if rows.size == 0:
        return None
    top = int(rows[0])
    # Widths from the soft alpha, not the cells: a head's width then moves smoothly
    # instead of by whole grid cells.
    soft = np.where(cells, alpha[s // 2::s, s // 2::s], 0).astype(np.float32) * (1 / 255)
    crown = _run_widths(cells[top:top + max(2, round(HEAD_ROWS * h / s))],
                        soft[top:top + max(2, round(HEAD_ROWS * h / s))])
    # The crown is narrower than the head: the head's width is the typical width
    # over the next head-height or so (the shoulders start below that).
    span = slice(top, top + max(2, round(HEAD_SPAN * crown.max())))
    head = float(np.mean(_run_widths(cells[span], soft[span]))) * s
    band = cells[top:top + max(2, round(BAND_HEADS * head / s))]
    cols = np.flatnonzero(band.sum(axis=0) >= 1)
    head_cols = np.flatnonzero(cells[top:top + max(1, round(head * HEAD_ASPECT / s))]
                               .any(axis=0))
    all_cols = np.flatnonzero(cells.any(axis=0))
    bottom = int(rows[-1])
    box = (int(all_cols[0]) * s, top * s, min(w, (int(all_cols[-1]) + 1) * s),
           min(h, (bottom + 1) * s))
    return Figure(top=float(top * s), head=head, left=float(cols[0] * s),
                  right=float(min(w, (cols[-1] + 1) * s)),
                  heads=(int(head_cols[0]) * s, min(w, (int(head_cols[-1]) + 1) * s)), box=box)
