"""The compositor: one camera frame and the latest mask -> the frame we publish.

It owns the refiner (temporal state) and the open background, and applies the
effect the current :class:`~vcam.config.Config` selects.  A config change
swaps in a new background only when the background itself changed.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from vcam.config import Config, Effect
from vcam.stages.backgrounds import Background, load_background
from vcam.stages.effects import EffectParams, apply_effect
from vcam.stages.refine import Refiner

log = logging.getLogger(__name__)


class Compositor:
    """``compose(frame, confidence)`` -> BGR frame; not thread-safe (one thread uses it)."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.refiner = Refiner(cfg.refine)
        self._background: Background = load_background(cfg.background)
        self._failed: set[tuple[Effect, str]] = set()

    @property
    def background(self) -> Background:
        return self._background

    def configure(self, cfg: Config) -> None:
        """Take a new configuration from the next frame on."""
        old, self.cfg = self.cfg, cfg
        if cfg.refine != old.refine:
            self.refiner = Refiner(cfg.refine)
        if cfg.background != old.background:
            new = load_background(cfg.background)
            self._background.close()
            self._background = new

    def alpha(self, frame: np.ndarray, confidence: np.ndarray) -> np.ndarray:
        """The refined frame-size alpha for ``frame``."""
        return self.refiner.refine(confidence, frame)

    def compose(self, frame: np.ndarray, confidence: np.ndarray | None) -> np.ndarray:
        """The published frame.  With no mask yet, the frame passes through."""
        if self.cfg.effect is Effect.NONE or confidence is None:
            return self.apply(frame, None)
        try:
            alpha = self.alpha(frame, confidence)
        except Exception as e:
            self._failed_once(e)
            return self.apply(frame, None)
        return self.apply(frame, alpha)

    def apply(self, frame: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
        """The effect (and mirror) for ``frame`` with its refined ``alpha`` (None: no mask)."""
        cfg = self.cfg
        if cfg.effect is Effect.NONE or alpha is None:
            out = frame.copy()
        else:
            try:
                h, w = frame.shape[:2]
                params = EffectParams(
                    background=(self._background.frame(w, h)
                                if cfg.effect is Effect.REPLACE else None),
                    blur=cfg.blur,
                    key_colour=cfg.key_colour,
                    light_wrap=cfg.refine.light_wrap,
                    light_wrap_width=cfg.refine.light_wrap_width,
                )
                out = apply_effect(cfg.effect, frame, alpha, params)
            except Exception as e:
                self._failed_once(e)
                out = frame.copy()
        if cfg.mirror:
            cv2.flip(out, 1, dst=out)
        return out

    def _failed_once(self, e: Exception) -> None:
        """One bad frame or background must not stop the stream: the frame passes
        through, and each distinct failure is logged once."""
        key = (self.cfg.effect, type(e).__name__)
        if key not in self._failed:
            self._failed.add(key)
            log.error("effect %s failed (%s); passing frames through", self.cfg.effect, e)

    def close(self) -> None:
        self._background.close()
