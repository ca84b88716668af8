"""The studio looks, and the one registry of them that every surface reads.

A look changes how the person looks, on top of any background effect:
``frame`` (auto-framing, vcam.stages.framing), ``light`` (studio light) and
``touchup`` (skin smoothing, both vcam.stages.light).  Each is listed once in
:data:`LOOKS` as a :class:`LookSpec`; the tray's Looks menu, ``vcam ctl``,
``vcam run``/``apply``'s options and config.toml's ``[looks]`` all read it.
A look's switch and strength are the :class:`LooksConfig` fields named after
it (``light``, ``light_strength``), so a new look is one class, one
:func:`register_look` and its fields.

:class:`LookChain` runs the enabled ones around the effect: those that work on
the person (light, touch-up) on a copy of the camera frame before it, those
that work on the picture (the spotlight, the crop) after it, so the effect
still sees the camera's full resolution and the crop is one resize.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from vcam.stages.blend import Region, part
from vcam.stages.figure import Figure, find_figure
from vcam.stages.framing import Framer, FrameSettings, enlarge
from vcam.stages.heads import FaceTracker
from vcam.stages.light import StudioLight, lift, smooth_skin, spotlight
from vcam.tables import within

STRENGTH_MAX = 100
"""A look's strength: 0 (least) .. 100 (most)."""


@dataclass(frozen=True)
class LooksConfig:
    """``[looks]`` in config.toml: each look's switch and strength, then how each behaves.

    All off by default: each changes how people see the user, which nobody should
    find switched on without asking (and auto-framing moves the picture)."""

    frame: bool = False
    """Auto-framing: crop to the heads and shoulders, following smoothly."""
    frame_strength: int = within(50, 0, STRENGTH_MAX)
    """How tight: 0 shows the upper body, 100 the head and shoulders."""
    frame_max_zoom: float = within(2.0, 1.0, 4.0)
    """Never enlarge the camera picture more than this."""
    frame_head: float = within(0.33, 0.15, 0.6)
    """Where the face goes, as a share of the picture's height from the top."""
    frame_dead_zone: float = within(0.06, 0.0, 0.3)
    """A move of less than this share of the crop does not move it at all."""
    frame_settle: float = within(0.6, 0.1, 5.0)
    """About how many seconds a re-frame takes (critically damped: no overshoot)."""
    frame_speed: float = within(0.6, 0.05, 5.0)
    """Fastest pan or zoom, in picture widths per second."""
    light: bool = False
    """Studio light: lift an under-exposed person (the face measured), not the room."""
    light_strength: int = within(75, 0, STRENGTH_MAX)
    """How much of the way to ``light_target`` the face is lifted."""
    light_target: int = within(125, 60, 200)
    """The face brightness (grey 0..255) the light aims at; brighter faces are left."""
    light_spotlight: float = within(0.0, 0.0, 0.6)
    """Darken the background by this share while the light is on; 0 = off."""
    touchup: bool = False
    """Touch-up: smooth the face's skin, keeping eyes, brows, lips and hair sharp."""
    touchup_strength: int = within(50, 0, STRENGTH_MAX)
    """How much the skin is smoothed."""

    def __str__(self) -> str:
        """The looks on with their strengths, ``frame 50, light 75``, or ``none``."""
        return ", ".join(f"{n} {self.strength(n)}" for n in self.enabled()) or "none"

    def enabled(self) -> tuple[str, ...]:
        """The looks switched on, in menu order."""
        return tuple(n for n in look_names() if getattr(self, n))

    def strength(self, name: str) -> int:
        return int(getattr(self, f"{name}_strength"))

    def with_look(self, name: str, *, on: bool | None = None,
                  strength: int | None = None) -> LooksConfig:
        """These settings with look ``name`` switched and/or at ``strength``;
        :class:`ValueError` saying what is allowed otherwise."""
        if name not in LOOKS:
            raise ValueError(f"unknown look {name!r}; one of: {', '.join(look_names())}")
        changes: dict[str, bool | int] = {}
        if strength is not None:
            if not 0 <= strength <= STRENGTH_MAX:
                raise ValueError(f"{name} strength must be from 0 to {STRENGTH_MAX}, "
                                 f"got {strength}")
            changes[f"{name}_strength"] = strength
        if on is not None:
            changes[name] = on
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


    def parse_list(self, text: str) -> LooksConfig:
        """These settings with ``frame,light=60`` laid over them (``name=0``: off;
        ``none``: every look off); :class:`ValueError` for anything else."""
        looks = self
        if text.strip() == "none":
            return dataclasses.replace(self, **dict.fromkeys(look_names(), False))
        for item in filter(None, (p.strip() for p in text.split(","))):
            name, _, level = item.partition("=")
            if level and not level.isdigit():
                raise ValueError(f"{item!r}: a strength is a whole number 0..{STRENGTH_MAX}")
            n = int(level) if level else None
            looks = looks.with_look(name.strip(), on=n != 0, strength=n or None)
        return looks


class Look(Protocol):
    """One enabled look's state for a stream of frames of one size."""

    def configure(self, cfg: LooksConfig) -> None:
        """Take new settings, keeping what was learnt (where the crop is)."""

    def before(self, work: np.ndarray, alpha: np.ndarray, fig: Figure | None,
               t: float) -> None:
        """Change the camera frame ``work`` (a copy, HxWx3 BGR) in place."""

    def after(self, out: np.ndarray, alpha: np.ndarray | None, fig: Figure | None,
              t: float) -> np.ndarray:
        """The effect's result ``out`` (owned, may be changed) -> the picture.  With
        auto-framing, ``out`` and ``alpha`` are the crop's part (``fig`` is whole)."""


LookMaker = Callable[[LooksConfig, int, int, bool], Look]
"""``make(settings, width, height, still)``: a look's fresh state."""


@dataclass(frozen=True)
class LookSpec:
    """One look and how every surface shows it."""

    name: str
    """The name the CLI, config.toml, ``vcam ctl`` and the tray share."""
    make: LookMaker
    label: str
    """The tray menu's text."""
    order: int
    """Place in menus and lists (smaller first)."""
    help: str = ""
    """A few words for ``--help``."""
    touches_person: bool = True
    """It changes the camera frame before the effect (so the chain copies it)."""


LOOKS: dict[str, LookSpec] = {}
"""Every look by name; fill it with :func:`register_look`."""


def register_look(spec: LookSpec) -> LookSpec:
    """Add ``spec`` to :data:`LOOKS`; a name taken, or without its two
    :class:`LooksConfig` fields, is an error."""
    if spec.name in LOOKS:
        raise ValueError(f"a look named {spec.name!r} is already registered")
    fields = {f.name: f for f in dataclasses.fields(LooksConfig)}
    if spec.name not in fields or f"{spec.name}_strength" not in fields:
        raise ValueError(f"look {spec.name!r} needs LooksConfig fields {spec.name!r} (bool) "
                         f"and {spec.name + '_strength'!r} (int 0..{STRENGTH_MAX})")
    LOOKS[spec.name] = spec
    return spec


def look_names() -> tuple[str, ...]:
    """The registered looks' names, in menu order."""
    return tuple(s.name for s in sorted(LOOKS.values(), key=lambda s: s.order))


LOOK_LEVELS = {"Subtle": 25, "Medium": 50, "Strong": 75, "Full": 100}
"""The strengths the tray offers (config.toml and ``vcam ctl`` take any 0..100)."""


class FrameLook:
    """``frame``: where the crop is; :class:`LookChain` cuts it out of the finished
    picture and enlarges it.  The heads are read off the faces the detector finds
    in the mask (vcam.stages.heads), else off the mask."""

    def __init__(self, cfg: LooksConfig, width: int, height: int, still: bool) -> None:
        self.framer = Framer(width, height, self._settings(cfg), still=still)
        self.faces = FaceTracker(still=still)

    @staticmethod
    def _settings(cfg: LooksConfig) -> FrameSettings:
        return FrameSettings(strength=cfg.frame_strength, max_zoom=cfg.frame_max_zoom,
                             head=cfg.frame_head, dead_zone=cfg.frame_dead_zone,
                             settle=cfg.frame_settle, speed=cfg.frame_speed)

    def configure(self, cfg: LooksConfig) -> None:
        self.framer.settings = self._settings(cfg)

    def before(self, work: np.ndarray, alpha: np.ndarray, fig: Figure | None,
               t: float) -> None:
        return None

    def after(self, out: np.ndarray, alpha: np.ndarray | None, fig: Figure | None,
              t: float) -> np.ndarray:
        return out

    def rect(self, frame: np.ndarray, alpha: np.ndarray | None, fig: Figure | None,
             t: float) -> tuple[int, int, int, int]:
        """The crop for ``frame`` (the camera's) with its mask ``alpha`` and the mask's
        people ``fig`` (``alpha`` None: no mask yet, the crop stays put)."""
        if alpha is None:
            return self.framer.current()
        return self.framer.rect(self.faces.figure(frame, alpha, fig, t), t)


class LightLook:
    """``light``: the lift on the person before the effect, the spotlight after it."""

    def __init__(self, cfg: LooksConfig, width: int, height: int, still: bool) -> None:
        self.cfg = cfg
        self.state = StudioLight(still=still)

    def configure(self, cfg: LooksConfig) -> None:
        self.cfg = cfg

    def before(self, work: np.ndarray, alpha: np.ndarray, fig: Figure | None,
               t: float) -> None:
        if fig is not None:
            c = self.cfg
            lift(work, alpha, fig, self.state.gamma(work, alpha, fig, c.light_target,
                                                    c.light_strength, t))

    def after(self, out: np.ndarray, alpha: np.ndarray | None, fig: Figure | None,
              t: float) -> np.ndarray:
        if alpha is None or self.cfg.light_spotlight <= 0:
            return out
        return spotlight(out, alpha, self.cfg.light_spotlight * self.cfg.light_strength / 100)


class TouchupLook:
    """``touchup``: the skin smoothed before the effect."""

    def __init__(self, cfg: LooksConfig, width: int, height: int, still: bool) -> None:
        self.cfg = cfg

    def configure(self, cfg: LooksConfig) -> None:
        self.cfg = cfg

    def before(self, work: np.ndarray, alpha: np.ndarray, fig: Figure | None,
               t: float) -> None:
        if fig is not None:
            smooth_skin(work, alpha, fig, self.cfg.touchup_strength)

    def after(self, out: np.ndarray, alpha: np.ndarray | None, fig: Figure | None,
              t: float) -> np.ndarray:
        return out


class LookChain:
    """The enabled looks around an effect: ``run(frame, alpha, t, effect)`` -> picture.

    ``still``: each frame stands alone (photos: framed at once, nothing smoothed).
    Not thread-safe; one per stream of frames.
    """

    def __init__(self, cfg: LooksConfig, *, still: bool = False) -> None:
        self.cfg = cfg
        self.still = still
        self._states: dict[str, Look] = {}
        self._size = (0, 0)
        self._figure: tuple[np.ndarray, Figure | None] | None = None

    @property
    def active(self) -> tuple[str, ...]:
        return self.cfg.enabled()

    def configure(self, cfg: LooksConfig) -> None:
        """New settings from the next frame on; a look kept on keeps its state."""
        self.cfg = cfg
        for name in list(self._states):
            if getattr(cfg, name):
                self._states[name].configure(cfg)
            else:
                del self._states[name]

    def reset(self, *, still: bool | None = None) -> None:
        """Forget every look's state (a new, unrelated input)."""
        self._states.clear()
        if still is not None:
            self.still = still

    def crop(self) -> tuple[int, int, int, int] | None:
        """Where the framing's crop is now (x0, y0, w, h), None while it is off."""
        look = self._states.get("frame")
        return look.framer.current() if isinstance(look, FrameLook) else None

    def _state(self, name: str, width: int, height: int) -> Look:
        if (width, height) != self._size:
            self._states.clear()
            self._size = (width, height)
        if name not in self._states:
            self._states[name] = LOOKS[name].make(self.cfg, width, height, self.still)
        return self._states[name]

    def _figure_of(self, alpha: np.ndarray | None) -> Figure | None:
        """Where the people are in ``alpha``; live, a still picture hands on the same
        alpha array again (vcam.stages.gate), and its figure is the same."""
        if alpha is None:
            return None
        last = self._figure
        if last is None or last[0] is not alpha:
            last = self._figure = (alpha, find_figure(alpha))
        return last[1]

    def run(self, frame: np.ndarray, alpha: np.ndarray | None, t: float,
            effect: Callable[[np.ndarray, np.ndarray | None, Region | None], np.ndarray],
            *, mirror: bool = False) -> np.ndarray:
        """``effect(frame, alpha, region)`` with the enabled looks around it (``alpha``
        None: no mask yet, only the crop is kept where it was), flipped left to
        right if ``mirror`` (in the crop's one resize, when there is one).

        The effect reads the whole camera frame, at the camera's resolution, but
        makes only the crop's part of its output (``region``; None: all of it):
        its small layers (blur, wall, light) come from the whole frame as ever,
        and only their full-size work is cut to the crop, so the part is the
        same, pixel for pixel, as that part of the whole.  The crop is then one
        resize.  Cutting the camera frame to the crop before the effect instead
        was measured slower: its size is no whole multiple of the effects'
        working sizes, and their fast paths fall away."""
        names = self.active
        if not names:
            return flipped(effect(frame, alpha, None), mirror)
        h, w = frame.shape[:2]
        looks = [(LOOKS[n], self._state(n, w, h)) for n in names]
        fig = self._figure_of(alpha)
        work = frame
        if alpha is not None and any(spec.touches_person for spec, _ in looks):
            work = frame.copy()
            for _, look in looks:
                look.before(work, alpha, fig, t)
        region: Region | None = None
        framing = self._states.get("frame")
        if isinstance(framing, FrameLook):
            x0, y0, cw, ch = framing.rect(frame, alpha, fig, t)
            if (cw, ch) != (w, h):
                region = (slice(y0, y0 + ch), slice(x0, x0 + cw))
        out = effect(work, alpha, region)
        cut = part(alpha, region) if alpha is not None else None
        for _, look in looks:
            out = look.after(out, cut, fig, t)
        return enlarge(out, (w, h), mirror=mirror) if region else flipped(out, mirror)


def flipped(out: np.ndarray, mirror: bool) -> np.ndarray:
    """``out`` (owned) flipped left to right in place if ``mirror``."""
    if mirror:
        cv2.flip(out, 1, dst=out)
    return out


for _spec in (
    LookSpec("frame", FrameLook, "Auto-framing", 10, touches_person=False,
             help="follow your head and shoulders with a smooth crop"),
    LookSpec("light", LightLook, "Studio light", 20,
             help="lift an under-exposed face, not the room"),
    LookSpec("touchup", TouchupLook, "Touch-up", 30, help="smooth the skin of the face"),
):
    register_look(_spec)
