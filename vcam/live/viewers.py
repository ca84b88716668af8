"""Extra consumers of the composited frame, beside the pipeline's one output: the
tray's preview window sees exactly what the virtual camera gets, from the same
compositing, not from a second pipeline.

Every call to a viewer (``send`` and ``close``) happens in the output thread:
GUI toolkits hang or abort when a window is used from two threads.  ``add`` and
``remove`` may be called from any thread; they take effect at the next frame.
A viewer whose ``send`` raises (the user closed the window) is closed and
dropped, and its ``on_gone`` is told, so the tray can clear its check.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import numpy as np

from vcam.stages.outputs import Output

log = logging.getLogger(__name__)


class Viewers:
    """The set of extra outputs the output thread feeds (see the module's docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[Output, Callable[[], None] | None] = {}
        self._leaving: list[Output] = []

    def add(self, output: Output, on_gone: Callable[[], None] | None = None) -> None:
        """Send every frame from the next one on to ``output`` too."""
        with self._lock:
            self._active[output] = on_gone

    def remove(self, output: Output) -> None:
        """Stop feeding ``output``; the output thread closes it at its next frame
        (nothing if it was dropped already: an output is closed once)."""
        with self._lock:
            if output in self._active:
                del self._active[output]
                self._leaving.append(output)

    def __len__(self) -> int:
        with self._lock:
            return len(self._active)

    def feed(self, frame: np.ndarray) -> None:
        """Output thread only: close the removed viewers, send ``frame`` to the rest."""
        with self._lock:
            leaving, self._leaving = self._leaving, []
            active = list(self._active.items())
        for output in leaving:
            _close(output)
        for output, on_gone in active:
            try:
                output.send(frame)
            except Exception as e:  # closed by the user, or broken: drop it, never the camera
                log.info("%s: %s; no longer shown", output.description, e)
                with self._lock:
                    self._active.pop(output, None)
                _close(output)
                if on_gone is not None:
                    on_gone()

    def close(self) -> None:
        """Output thread only, at its end: close every viewer."""
        with self._lock:
            every = [*self._leaving, *self._active]
            self._leaving, self._active = [], {}
        for output in every:
            _close(output)


def _close(output: Output) -> None:
    try:
        output.close()
    except Exception:  # a window already gone with its toolkit
        log.debug("closing %s failed", output.description, exc_info=True)
