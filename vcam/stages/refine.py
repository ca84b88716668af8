"""Mask refinement: the model's low-resolution confidence -> a frame-size soft alpha.

``Refiner.refine(confidence, frame)`` takes the segmenter's float32 confidence
(model size, 0..1, e.g. 256x256) and the BGR uint8 frame it came from, and
returns a new HxW uint8 alpha at the frame's size (255 = person).  Neither
input is modified or kept: the temporal state lives in the refiner's own
buffer, never in a view of the model's (reused) output.

The steps, each switched and tuned by :class:`vcam.config.RefineConfig`:

1. a soft ramp around the threshold instead of a hard cut (model size);
2. removal of small disconnected person blobs and small holes (model size);
3. edge-aware upsampling: a guided filter with the frame (in grey) as guide
   snaps the mask to the picture's edges, at a working size: the frame shrunk
   by a whole factor to at most ``guided_width`` wide;
3b. the edge pulled onto the person by colour (``hug``, :mod:`vcam.stages.matte`),
   so it no longer reaches into a pale wall; for files also closed gaps cut;
4. temporal smoothing that leans on the previous mask only where the mask is
   unsure or the picture did not move, so edges stop flickering but a moving
   person leaves no trail (working size, uint8);
5. an optional feather that grows outward only, and ``choke`` (working size);
6. one resize to the frame's size; for files, the soft band redone at the
   frame's own resolution by colour.

Live, all the heavy work is at model or working size, in uint8 where it can
be; the only full-resolution operations are the grey conversion and the
final resize.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vcam.config import RefineConfig
from vcam.stages import matte
from vcam.stages.resample import halve_toward


def _uncertainty_lut() -> np.ndarray:
    """How unsure an alpha is (0..255 -> 0..1): the square root of its binary
    entropy, 1 at 0.5 and 0 at 0 and 1; the root widens the steadied rim."""
    a = np.clip(np.arange(256, dtype=np.float64) / 255, 1e-9, 1 - 1e-9)
    return np.sqrt(-(a * np.log2(a) + (1 - a) * np.log2(1 - a)))


CONFIDENCE_SIGMA = 0.7
"""Gaussian sigma, in model pixels, applied to the confidence before the ramp."""
SURE = 8
"""Alphas within this of 0 or 255 are taken as sure (see :meth:`Refiner.finish`)."""


class Refiner:
    """Confidence -> frame-size uint8 alpha; keeps the previous mask for smoothing.

    Not thread-safe: one thread (the compositor's) uses a refiner.  Call
    :meth:`reset` when the scene, the source or the model changes.
    """

    def __init__(self, cfg: RefineConfig, *, still: bool = False) -> None:
        """``still``: the frames are photos or a file, not a live camera, so there is
        time to match the edge in colour, cut closed gaps and redo the band at the
        frame's own resolution (:mod:`vcam.stages.matte`; ~10 ms more at 1080p)."""
        self.cfg = cfg
        self.still = still
        # Our own buffers, never views of the segmenter's: the previous smoothed
        # alpha and the grey frame it came from (working size, uint8).
        self._prev: np.ndarray | None = None
        self._prev_gray: np.ndarray | None = None
        self.last_work: np.ndarray | None = None
        """The last alpha :meth:`finish` made, at working size: live, the frame-size
        alpha is exactly its enlargement, so stages that want the alpha small
        shrink this instead (see :class:`~vcam.stages.resample.Shrinks`)."""
        # Lookup tables, uint8 -> 0..255.  With m = motion_level (grey levels):
        # unsure: alpha -> the previous mask's share for an unsure pixel;
        # still: change -> its share for a still pixel, full below m/3, none from m;
        # settled: change -> how much of the unsure share survives motion, all
        # below 1.8 m, none from 3.6 m (a clearly moving edge).
        strength = 255.0 * cfg.temporal_strength
        self._unsure_lut = np.round(_uncertainty_lut() * strength).astype(np.uint8)
        m = max(cfg.motion_level, 1)
        change = np.arange(256, dtype=np.float64)
        stillness = np.clip((m - change) * (1.5 / m), 0.0, 1.0)
        self._still_lut = np.round(stillness * strength).astype(np.uint8)
        settled = np.clip((3.6 * m - change) / (1.8 * m), 0.0, 1.0)
        self._settled_lut = np.round(settled * 255).astype(np.uint8)
        # The choke moves the ramp's foot inward: alphas up to choke*255 become 0
        # and the rest is stretched back to 0..255.
        lo = max(SURE, cfg.choke * 255.0)
        sure = np.clip((np.arange(256) - lo) * 255.0 / (255 - SURE - lo), 0, 255)
        self._sure_lut = np.round(sure).astype(np.uint8)

    def reset(self) -> None:
        """Forget the previous mask (a new scene, a new source or a new model)."""
        self._prev = None
        self._prev_gray = None

    def soft(self, confidence: np.ndarray) -> np.ndarray:
        """Confidence -> alpha in 0..1 (float32) with a smoothstep ramp of width
        ``softness`` around ``threshold`` instead of a hard cut."""
        lo = self.cfg.threshold - self.cfg.softness / 2
        t = (confidence - np.float32(lo)) * np.float32(1.0 / max(self.cfg.softness, 1e-3))
        np.clip(t, 0.0, 1.0, out=t)
        return t * t * (np.float32(3.0) - np.float32(2.0) * t)

    def smooth(self, alpha8: np.ndarray, gray: np.ndarray) -> np.ndarray:
        """Blend in the previous mask where the mask is unsure or the picture is still.

        ``alpha8`` and ``gray`` are uint8 at the same (working) size.  The
        previous mask's share is ``temporal_strength`` times the larger of

        - the mask's uncertainty (:func:`_uncertainty_lut`: 1 at 0.5, 0 at 0 or 1),
          faded out where the grey frame clearly changed (a moving edge), and
        - the stillness of the picture (1 where the grey frame changed by less
          than a third of ``motion_level``, 0 from ``motion_level`` up).

        A moving person changes the picture and is sure inside and out, so it
        takes the new mask at once; a still or unsure rim is steadied.  Returns
        a new array; the state is copied into the refiner's own buffers.
        """
        cfg = self.cfg
        if (self._prev is None or self._prev_gray is None
                or self._prev.shape != alpha8.shape):
            self._prev = alpha8.copy()
            self._prev_gray = gray.copy()
            return alpha8
        keep = cv2.LUT(alpha8, self._unsure_lut)
        if cfg.motion_level > 0:
            # Dilated so an edge that moved counts as moving on both of its sides.
            motion = cv2.dilate(cv2.absdiff(gray, self._prev_gray), _KERNEL3)
            # Where the picture clearly moved, even an unsure rim takes the new mask
            # (no trail); where it is still, even a sure pixel is steadied.
            keep = cv2.multiply(keep, cv2.LUT(motion, self._settled_lut), scale=1 / 255)
            keep = cv2.max(keep, cv2.LUT(motion, self._still_lut))
        out = cv2.add(cv2.multiply(self._prev, keep, scale=1 / 255),
                      cv2.multiply(alpha8, cv2.bitwise_not(keep), scale=1 / 255))
        np.copyto(self._prev, out)
        np.copyto(self._prev_gray, gray)
        return out

    def remove_specks(self, alpha8: np.ndarray) -> np.ndarray:
        """Drop person blobs smaller than ``min_blob`` and fill holes smaller than
        ``min_hole`` (fractions of the mask's area); ``alpha8`` is uint8, edited in place.

        Blobs are connected regions of alpha above a quarter, so the parts of one
        person that the model split apart still count as one; a dropped blob
        takes its soft rim with it.  The largest blob always stays (one
        small, far-away person is still the person).
        """
        area = alpha8.shape[0] * alpha8.shape[1]
        if self.cfg.min_blob > 0:
            drop = _small_parts(alpha8 > 63, self.cfg.min_blob * area)
            if drop is not None:
                rim = cv2.dilate(drop, _KERNEL3, iterations=2)
                alpha8[(rim > 0) & ((alpha8 <= 127) | (drop > 0))] = 0
        if self.cfg.min_hole > 0:
            fill = _small_parts(alpha8 <= 127, self.cfg.min_hole * area)
            if fill is not None:
                alpha8[fill > 0] = 255
        return alpha8

    def work_colour(self, frame: np.ndarray, small: np.ndarray | None = None) -> np.ndarray:
        """The frame (BGR) at working size: shrunk by the smallest whole factor
        that makes it at most ``guided_width`` wide.  Exact halvings go first
        (OpenCV's fast area path), then one last area resize if needed.

        ``small``, the same frame already shrunk (the segmenter's feed), is
        started from instead when it is still at least the working size: at
        1080p that skips halving 2 million pixels again."""
        return self._to_work_size(frame, small, grey=False)

    def work_gray(self, frame: np.ndarray, small: np.ndarray | None = None) -> np.ndarray:
        """:meth:`work_colour` in grey (the guide of the guided filter); converted
        first, so the halvings move one channel, not three."""
        return self._to_work_size(frame, small, grey=True)

    def _to_work_size(self, frame: np.ndarray, small: np.ndarray | None,
                      grey: bool) -> np.ndarray:
        h, w = frame.shape[:2]
        k = -(-w // self.cfg.guided_width)
        tw, th = max(1, w // k), max(1, h // k)
        if small is not None and small.shape[1] >= tw and small.shape[0] >= th:
            frame = small
        out = halve_toward(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if grey else frame, (tw, th))
        if out.shape[:2] != (th, tw):
            out = cv2.resize(out, (tw, th), interpolation=cv2.INTER_AREA)
        return out

    def snap(self, alpha8: np.ndarray, gray: np.ndarray) -> np.ndarray:
        """Model-size uint8 alpha -> working-size uint8 alpha (``gray``'s size),
        snapped to the picture's edges by a guided filter when ``guided`` is on."""
        cfg = self.cfg
        wh, ww = gray.shape
        src = cv2.resize(alpha8, (ww, wh), interpolation=cv2.INTER_LINEAR)
        if not cfg.guided:
            return src
        # Radius in pixels of a 640-wide frame, so the filter reaches as far into
        # the picture at any size; eps on a 0..1 scale, the guide is 0..255.
        radius = max(1, round(cfg.guided_radius * ww / 640))
        guided = cv2.ximgproc.guidedFilter(gray, src, radius,
                                           cfg.guided_eps * 255.0 * 255.0, dDepth=-1)
        # Where the picture is flat the guided filter is a double box blur, which
        # eats into thin or small parts of a person.  Subtract that blur's own
        # change so only the pull towards the picture's edges is left.
        k = (2 * radius + 1, 2 * radius + 1)
        flat = cv2.boxFilter(cv2.boxFilter(src, cv2.CV_16S, k), cv2.CV_16S, k)
        snapped = cv2.add(cv2.subtract(guided, flat, dtype=cv2.CV_16S), src, dtype=cv2.CV_16S)
        return cv2.convertScaleAbs(snapped)

    def finish(self, work: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """Working-size alpha -> ``size`` (w, h), feathered outward if asked."""
        cfg = self.cfg
        if cfg.feather > 0:
            # max(alpha, blur(alpha)) only adds alpha outside the edge: the person
            # keeps their full opacity and the background side gets a soft rim.
            sigma = cfg.feather * work.shape[1] / 640
            work = cv2.max(work, cv2.GaussianBlur(work, (0, 0), sigma))
        # The guided filter and the smoothing leave faint tails (alpha 1-7 and
        # 248-254) a few pixels into the background and the person; at frame
        # size they are a third of the soft band the compositor must blend
        # pixel by pixel.  Taking them as sure (and stretching what lies
        # between) changes the cut at 127 on 0.005 % of pixels and saves
        # ~0.5 ms of blending a 1080p frame.
        work = self.last_work = cv2.LUT(work, self._sure_lut)
        if (work.shape[1], work.shape[0]) == size:
            return work.copy()
        return cv2.resize(work, size, interpolation=cv2.INTER_LINEAR)

    def refine(self, confidence: np.ndarray, frame: np.ndarray,
               small: np.ndarray | None = None) -> np.ndarray:
        """The frame-size uint8 alpha (255 = person) for ``frame``.

        ``confidence`` is the model's float32 HxW 0..1 person confidence for this
        frame, at any size (usually the model's); ``frame`` is HxWx3 uint8 BGR;
        ``small`` optionally the same frame already shrunk (see :meth:`work_gray`).
        """
        return self.complete(self.prepare(confidence, frame, small))

    def prepare(self, confidence: np.ndarray, frame: np.ndarray,
                small: np.ndarray | None = None) -> Prepared:
        """Steps 1-3, which need only this frame and its confidence (and
        optionally ``small``, see :meth:`work_gray`).

        Keeps no state, so another thread may run it for the next frame while
        :meth:`complete` runs for this one (``vcam apply`` does).
        """
        if confidence.dtype != np.float32:
            confidence = confidence.astype(np.float32)
        # A touch of blur on the model's own grid.  The defaults were tuned on
        # confidence that had made MediaPipe's round trip (up to the frame,
        # back down), which smooths it about this much; on the raw output the
        # children photo's IoU drops from 0.955 to 0.949.
        # Five taps: OpenCV's own size for this sigma is seven, whose outer pair
        # weighs 1e-4 and costs twice as much on a float 256x256 (0.57 -> 0.25 ms).
        confidence = cv2.GaussianBlur(confidence, (5, 5), CONFIDENCE_SIGMA)
        alpha8 = self.remove_specks(cv2.convertScaleAbs(self.soft(confidence), alpha=255.0))
        fg = wall = None
        if self.cfg.hug > 0 and self.still:
            colour = self.work_colour(frame, small)
            gray = cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY)
            snapped, fg, wall = matte.hug(self.snap(alpha8, gray), colour, self.cfg.hug,
                                          gaps=True)
        elif self.cfg.hug > 0:
            # Live: by brightness alone, a third of the work; a pale wall behind
            # a person, the case that glows, differs from them in brightness.
            gray = self.work_gray(frame, small)
            snapped, fg, wall = matte.hug(self.snap(alpha8, gray), gray, self.cfg.hug,
                                          gaps=False)
        else:
            gray = self.work_gray(frame, small)
            snapped = self.snap(alpha8, gray)
        return Prepared(snapped, gray, (frame.shape[1], frame.shape[0]), frame, fg, wall)

    def complete(self, prepared: Prepared) -> np.ndarray:
        """Steps 4-6: smoothing against the previous mask, feather, frame size.
        Frames must come here in order."""
        work = prepared.alpha
        if self.cfg.temporal:
            work = self.smooth(work, prepared.gray)
        alpha = self.finish(work, prepared.size)
        if (self.still and prepared.fg is not None and prepared.wall is not None
                and prepared.frame is not None):
            matte.sharpen(alpha, prepared.frame, prepared.fg, prepared.wall, self.cfg.hug)
        return alpha

@dataclass(frozen=True)
class Prepared:
    """A frame's mask after :meth:`Refiner.prepare`: snapped, not yet smoothed."""

    alpha: np.ndarray
    """uint8 alpha at working size."""
    gray: np.ndarray
    """The frame in grey at working size."""
    size: tuple[int, int]
    """The frame's (width, height)."""
    frame: np.ndarray | None = None
    """The frame itself (for :func:`vcam.stages.matte.sharpen`; not written to)."""
    fg: np.ndarray | None = None
    """The person's colour around each pixel (float32 BGR, working size), or None."""
    wall: np.ndarray | None = None
    """The wall's colour around each pixel (float32 BGR, working size), or None."""


_KERNEL3 = np.ones((3, 3), np.uint8)



def _small_parts(mask: np.ndarray, min_area: float) -> np.ndarray | None:
    """uint8 mask (255) of the connected parts of boolean ``mask`` smaller than
    ``min_area`` pixels, the largest part excepted; None if there are none."""
    # Plain labelling is ~6x cheaper than connectedComponentsWithStats, and
    # most frames have one part: sizes are counted only when there are more.
    n, labels = cv2.connectedComponents(mask.view(np.uint8), connectivity=8)
    if n <= 2:
        return None
    sizes = np.bincount(labels.ravel(), minlength=n)[1:]
    small = np.flatnonzero(sizes < min_area) + 1
    small = small[small != 1 + int(np.argmax(sizes))]
    if not small.size:
        return None
    return np.isin(labels, small).view(np.uint8) * np.uint8(255)


