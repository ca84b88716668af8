"""The tray's "Show preview": the window ``--output window`` opens, shown beside the
virtual camera as one more consumer of the same composited frames (the
pipeline's :class:`~vcam.live.viewers.Viewers`), and closed again, by the tray
or by the window's own close button.

The window lives in a child process (:mod:`vcam.control.preview_child`): Qt,
which draws OpenCV's windows, crashes a process that loaded the tray's GTK
first.  :class:`WindowProcess` is the output the pipeline feeds; it hands the
newest frame to a writer thread, so a slow window skips frames and never holds
up the virtual camera.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import cv2
import numpy as np

from vcam.control.controller import ControlError, Controller
from vcam.control.keys import PreviewKeys
from vcam.control.preview_child import HEADER
from vcam.slot import LatestSlot
from vcam.stages.outputs import PREVIEW_TITLE, WindowClosed, WindowOutput, no_display
from vcam.stages.placeholder import caption

log = logging.getLogger(__name__)

NO_DISPLAY = ("no preview window: there is no display here (DISPLAY and WAYLAND_DISPLAY "
              "are not set); the virtual camera goes on")


class WindowProcess:
    """The preview window as an output: ``send`` (from the output thread) never
    blocks; once the window is closed it raises :class:`WindowClosed`."""

    MAX_WIDTH = 960
    """Frames wider than this are shrunk first: a preview need not be full HD."""

    def __init__(self, on_key: Callable[[str], None], text: Callable[[], str]) -> None:
        self.description = f"window {PREVIEW_TITLE!r}"
        self._on_key, self._text = on_key, text
        self._caption, self._caption_t = "", 0.0
        self._frames: LatestSlot[np.ndarray] = LatestSlot()
        self._stop, self._gone = threading.Event(), threading.Event()
        self._proc = subprocess.Popen([sys.executable, "-m", "vcam.control.preview_child"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._threads = [threading.Thread(target=target, name=name, daemon=True) for
                         target, name in ((self._write, "vcam-preview-out"),
                                          (self._read_keys, "vcam-preview-keys"))]
        for t in self._threads:
            t.start()

    def send(self, frame: np.ndarray) -> None:
        if self._gone.is_set():
            raise WindowClosed(f"the {PREVIEW_TITLE} window was closed")
        h, w = frame.shape[:2]
        shown = cv2.resize(frame, (self.MAX_WIDTH, round(h * self.MAX_WIDTH / w)),
                           interpolation=cv2.INTER_AREA) if w > self.MAX_WIDTH else frame.copy()
        now = time.monotonic()
        if now - self._caption_t >= 0.5:
            self._caption, self._caption_t = self._text(), now
        self._frames.put(caption(shown, self._caption))

    def _write(self) -> None:
        assert self._proc.stdin is not None
        seen = 0
        try:
            while not self._stop.is_set():
                got = self._frames.wait_newer(seen, 0.2)
                if got is None:
                    continue
                seen, frame = got
                self._proc.stdin.write(HEADER.pack(*frame.shape[:2]))
                self._proc.stdin.write(np.ascontiguousarray(frame).data)
                self._proc.stdin.flush()
        except (OSError, ValueError):  # the window process has gone
            pass
        finally:
            self._gone.set()

    def _read_keys(self) -> None:
        assert self._proc.stdout is not None
        while key := self._proc.stdout.read(1):
            try:
                self._on_key(key.decode("latin-1"))
            except ValueError as e:  # a refused change, as from the tray
                log.warning("%s", e)
        self._gone.set()

    def close(self) -> None:
        self._stop.set()
        self._threads[0].join(1.0)
        with contextlib.suppress(OSError):
            assert self._proc.stdin is not None
            self._proc.stdin.close()
        try:
            self._proc.wait(3.0)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._threads[1].join(1.0)


class Preview:
    """Opens and closes the preview window; ``on_change()`` is called after the window
    comes or goes (also when the user closes it), to redraw the tray's check."""

    def __init__(self, controller: Controller,
                 on_change: Callable[[], None] | None = None) -> None:
        self.controller = controller
        self._on_change = on_change
        self._window: WindowProcess | None = None
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
            opened = WindowProcess(self._keys.press, self._keys.caption)
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

    def _gone(self, window: WindowProcess) -> None:
        """The user closed the window (called from the output thread)."""
        if self._window is window:
            self._window = None
            self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()
