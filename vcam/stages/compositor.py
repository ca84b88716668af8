"""The compositor: one camera frame and its mask -> the frame we publish or write.

One class serves the live pipeline and ``vcam apply``.  It owns the refiner
(temporal state) and the open background, and applies the registered effect
the current :class:`~vcam.config.Config` names.  A config change swaps in a new
background only when the background itself changed.

Live and files differ in what a failure means, not in how a picture is made:

- live (``live=True``): a failing effect passes frames through (logged once),
  a bad background falls back to white, a video background plays in
  wall-clock time, and the mirror applies;
- files (``live=False``): failures raise, a bad background is an error before
  the first frame, a video background is stepped by the frame's time, no
  mirror (it is for the live picture), and an effect's ``file_fn`` is used
  where it has one (``transparent`` writes real alpha).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from vcam.config import Config
from vcam.stages.backgrounds import Background, load_background, open_background
from vcam.stages.blend import Region, part
from vcam.stages.effects import EffectParams, EffectSpec, get_effect
from vcam.stages.looks import LookChain, flipped
from vcam.stages.refine import Refiner
from vcam.stages.resample import Shrinks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cut:
    """A frame's refined alpha, and the frame and alpha shrunk on the way to it."""

    alpha: np.ndarray
    frames: Shrinks
    alphas: Shrinks


class Compositor:
    """``compose(frame, confidence, t)`` -> frame; not thread-safe (one thread uses it)."""

    def __init__(self, cfg: Config, *, live: bool = True) -> None:
        self.cfg = cfg
        self.live = live
        self.refiner = Refiner(cfg.refine, still=not live)
        self.looks = LookChain(cfg.looks)
        self._background: Background | None = None
        self._background_spec = ""
        self._failed: set[tuple[str, str]] = set()
        self._backgrounds: Shrinks | None = None
        self._last_cut: Cut | None = None
        self._last_confidence: np.ndarray | None = None
        self._load_background()

    @property
    def effect(self) -> EffectSpec:
        return get_effect(self.cfg.effect)

    @property
    def needs_mask(self) -> bool:
        """The effect or a look needs the person mask (else the segmenter may rest)."""
        return needs_mask(self.cfg)

    @property
    def channels(self) -> int:
        """Channels of what :meth:`apply` returns: 3 (BGR), or the file effect's (4: BGRA)."""
        spec = self.effect
        return spec.file_channels if not self.live and spec.file_fn else 3

    @property
    def background(self) -> Background | None:
        """The open background (None until an effect that reads one is chosen)."""
        return self._background

    def _load_background(self) -> None:
        """Open the configured background if the effect reads one and it changed."""
        cfg = self.cfg
        if not self.effect.needs_background or (
                self._background is not None and cfg.background == self._background_spec):
            return
        new = (load_background(cfg.background) if self.live
               else open_background(cfg.background, realtime=False))
        if self._background is not None:
            self._background.close()
        self._background, self._background_spec = new, cfg.background

    def configure(self, cfg: Config) -> None:
        """Take a new configuration from the next frame on."""
        old, self.cfg = self.cfg, cfg
        if cfg.refine != old.refine:
            self.refiner = Refiner(cfg.refine, still=not self.live)
            self._last_cut = None
        self.looks.configure(cfg.looks)
        self._load_background()

    def reset(self, *, still: bool = False) -> None:
        """A new, unrelated input (``vcam apply``): forget the masks and the framing;
        ``still``: a photo, framed at once."""
        self.refiner.reset()
        self._last_cut = None
        self.looks.reset(still=still)

    def compose(self, frame: np.ndarray, confidence: np.ndarray | None,
                t: float = 0.0, small: np.ndarray | None = None,
                still: bool = False) -> np.ndarray:
        """The output for ``frame`` (at time ``t`` s).  With no mask yet, the frame
        passes through.  ``small``: the same frame already shrunk (the
        segmenter's feed), which every stage that wants it small starts from.
        ``still``: the picture has not changed since the frame ``confidence`` was
        made for (vcam.stages.gate), so if the last frame had that same
        confidence its alpha serves again, unrefined."""
        if not self.needs_mask or confidence is None:
            return self.apply(frame, None, t)
        try:
            cut = self.cut(confidence, frame, small, still)
        except Exception as e:
            if not self.live:
                raise
            self._failed_once(e)
            return self.apply(frame, None, t)
        return self.apply(frame, cut.alpha, t, cut.frames, cut.alphas)

    def cut(self, confidence: np.ndarray, frame: np.ndarray,
            small: np.ndarray | None = None, still: bool = False) -> Cut:
        """The refined alpha for ``frame``, with the shrunk copies made on the way
        (``small`` and ``still`` as for :meth:`compose`)."""
        frames = Shrinks(frame) if small is None else Shrinks(frame, small)
        last = self._last_cut
        if (still and last is not None and confidence is self._last_confidence
                and last.alpha.shape == frame.shape[:2]):
            return Cut(last.alpha, frames, last.alphas)
        alpha = self.refiner.refine(confidence, frame, small)
        # For files the band is redone at full size after the working-size alpha.
        work = self.refiner.last_work if not self.refiner.still else None
        self._last_confidence = confidence
        self._last_cut = Cut(alpha, frames, Shrinks(alpha) if work is None
                             else Shrinks(alpha, enlarged_from=work))
        return self._last_cut

    def params(self, width: int, height: int, t: float, frames: Shrinks | None = None,
               alphas: Shrinks | None = None, region: Region | None = None) -> EffectParams:
        """The settings the effect reads, for a ``width`` x ``height`` frame at ``t``."""
        cfg, spec = self.cfg, self.effect
        background = None
        if spec.needs_background and self._background is not None:
            background = self._background.frame(width, height, t)
            # A still background is the same array frame after frame: shrink it once.
            if self._backgrounds is None or self._backgrounds.image is not background:
                self._backgrounds = Shrinks(background)
        return EffectParams(background=background, blur=cfg.blur, key_colour=cfg.key_colour,
                            light_wrap=cfg.refine.light_wrap,
                            light_wrap_width=cfg.refine.light_wrap_width,
                            decontaminate=cfg.refine.decontaminate, frames=frames,
                            alphas=alphas, region=region,
                            backgrounds=self._backgrounds if background is not None else None)

    def apply(self, frame: np.ndarray, alpha: np.ndarray | None, t: float = 0.0,
              frames: Shrinks | None = None, alphas: Shrinks | None = None) -> np.ndarray:
        """The effect and the looks (and, live, the mirror) for ``frame`` with its refined
        ``alpha`` (None: no mask, the frame passes through); ``frames`` and ``alphas``
        hold copies of them already shrunk.  Live, the looks follow the wall clock;
        files, ``t``."""
        def effect(f: np.ndarray, a: np.ndarray | None, region: Region | None) -> np.ndarray:
            # A look that lit or smoothed the person made a new frame: its shrunk
            # copies are not the camera frame's.
            return self._effect(f, a, t, frames if f is frame else None,
                                alphas if a is alpha else None, region)

        mirror = self.live and self.cfg.mirror
        try:
            return self.looks.run(frame, alpha, time.monotonic() if self.live else t, effect,
                                  mirror=mirror)
        except Exception as e:
            if not self.live:
                raise
            self._failed_once(e)  # a failing look must not stop the stream either
            return flipped(self._effect(frame, alpha, t, frames, alphas), mirror)

    def _effect(self, frame: np.ndarray, alpha: np.ndarray | None, t: float,
                frames: Shrinks | None, alphas: Shrinks | None,
                region: Region | None = None) -> np.ndarray:
        """The effect's output, or its ``region`` only."""
        spec = self.effect
        if not spec.needs_mask or alpha is None:
            return part(frame, region).copy()
        h, w = frame.shape[:2]
        try:
            if not self.live and spec.file_fn:
                # A file's own output (real alpha) is made whole, then cut.
                out = spec.file_fn(frame, alpha, self.params(w, h, t, frames, alphas))
                return part(out, region)
            return spec.fn(frame, alpha, self.params(w, h, t, frames, alphas, region))
        except Exception as e:
            if not self.live:
                raise
            self._failed_once(e)
            return part(frame, region).copy()

    def _failed_once(self, e: Exception) -> None:
        """One bad frame or background must not stop the stream: the frame passes
        through, and each distinct failure is logged once."""
        key = (self.cfg.effect, type(e).__name__)
        if key not in self._failed:
            self._failed.add(key)
            log.error("effect %s failed (%s); passing frames through", self.cfg.effect, e)

    def close(self) -> None:
        if self._background is not None:
            self._background.close()


def needs_mask(cfg: Config) -> bool:
    """``cfg``'s effect or one of its looks needs the person mask."""
    return get_effect(cfg.effect).needs_mask or bool(cfg.looks.enabled())
