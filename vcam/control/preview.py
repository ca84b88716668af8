"""The tray's "Show preview": the window ``--output window`` opens, shown beside the
virtual camera as one more consumer of the same composited frames (the
pipeline's :class:`~vcam.live.viewers.Viewers`), and closed again, by the tray
or by the window's own close button.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from vcam.control.controller import ControlError, Controller
from vcam.control.keys import PreviewKeys
from vcam.stages.outputs import PREVIEW_TITLE, WindowOutput, no_display

log = logging.getLogger(__name__)

NO_DISPLAY = ("no preview window: there is no display here (DISPLAY and WAYLAND_DISPLAY "
              "are not set); the virtual camera goes on")


class Preview:
    """Opens and closes the preview window; ``on_change()`` is called after the window
    comes or goes (also when the user closes it), to redraw the tray's check."""

    def __init__(self, controller: Controller,
                 on_change: Callable[[], None] | None = None) -> None:
        self.controller = controller
        self._on_change = on_change
        self._window: WindowOutput | None = None
        self._keys = PreviewKeys()
        self._keys.controller = controller

    @property
    def shown(self) -> bool:
        return self._window is not None

    def set_shown(self, shown: bool) -> None:
        """Open or close the window; ControlError (said in the log by the tray) where
        there is no display."""
        if shown == self.shown:
            return
        if shown:
            if no_display():
                raise ControlError(NO_DISPLAY)
            if self.controller.output == WindowOutput.LABEL:
                # --output window: OpenCV would draw both into the one window of that title.
                raise ControlError("the output is the preview window already")
            opened = WindowOutput(PREVIEW_TITLE, self._keys.press, self._keys.caption,
                                  closable=True)
            self._window = opened
            self.controller.viewers.add(opened, on_gone=lambda: self._gone(opened))
            log.info("preview window opened beside %s", self.controller.output or "the output")
        elif self._window is not None:
            self.controller.viewers.remove(self._window)
            self._window = None
            log.info("preview window closed")
        self._changed()

    def toggle(self) -> None:
        self.set_shown(not self.shown)

    def _gone(self, window: WindowOutput) -> None:
        """The user closed the window (called from the output thread)."""
        if self._window is window:
            self._window = None
            self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()
