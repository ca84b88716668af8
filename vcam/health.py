"""What state SelfieCam is in, as a type: the tray, ``vcam ctl status`` and the log
all show one :class:`Health`.

Parts that can fail (the camera, the virtual camera) report through a
:data:`HealthCallback` instead of raising into the thread that uses them
(picamera2's ``error_callback``); the pipeline keeps the latest report of
each part and :func:`overall` picks the one the user must see.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


class State(enum.StrEnum):
    """The states, by the words ``vcam ctl status`` prints."""

    STARTING = "starting"
    """The camera is being opened (at start, or after an idle spell or a pause)."""
    LIVE = "live"
    IDLE = "idle"
    """Nobody watches SelfieCam: the camera is off, a still goes out now and then."""
    PAUSED = "paused"
    CAMERA_LOST = "camera lost"
    """The camera failed or stopped sending frames; it is being reopened."""
    OUTPUT_LOST = "virtual camera lost"
    """The virtual camera vanished (device removed, module unloaded); it is being reopened."""
    CONFIG_ERROR = "config error"
    """A config.toml edit was refused; the running settings stay."""
    FAILED = "failed"
    """A thread died: the daemon stops."""

    @property
    def is_error(self) -> bool:
        """Something the user should look at (the tray shows its error badge)."""
        return self in _ERRORS


_ERRORS = frozenset({State.CAMERA_LOST, State.OUTPUT_LOST, State.CONFIG_ERROR, State.FAILED})

PRIORITY = (State.FAILED, State.OUTPUT_LOST, State.CAMERA_LOST, State.CONFIG_ERROR,
            State.PAUSED, State.IDLE, State.STARTING, State.LIVE)
"""When several parts report, the first state here is the one shown: a lost virtual
camera matters more than a pause, since the viewer then gets nothing at all."""


@dataclass(frozen=True)
class Health:
    """One state and the detail that goes with it (the error, the device, the retry)."""

    state: State
    detail: str = ""
    since: float = field(default_factory=time.monotonic, compare=False)
    """``time.monotonic()`` when this state was reported."""

    def __str__(self) -> str:
        return f"{self.state}: {self.detail}" if self.detail else str(self.state)


HealthCallback = Callable[[Health], None]
"""Told of every change of a part's health, from the thread that saw it."""


def overall(reports: Iterable[Health | None]) -> Health:
    """The report the user must see among ``reports`` (None: a part with nothing to say)."""
    present = [h for h in reports if h is not None]
    if not present:
        return Health(State.LIVE)
    return min(present, key=lambda h: PRIORITY.index(h.state))
