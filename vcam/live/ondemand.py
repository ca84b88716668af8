"""On-demand capture: use the webcam only while some application watches SelfieCam.

A watcher thread polls who holds the virtual camera device open (other than
us) and idles the pipeline when nobody does: the webcam is released, its light
goes off, and a still goes out at a low rate so the device stays valid for the
next reader.  When a reader appears, capture restarts within one poll period
plus the camera's own start-up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from vcam.system.consumers import process_name, viewers

log = logging.getLogger(__name__)


class OnDemand:
    """Polls ``device`` every ``period`` s and calls ``set_idle(True/False)`` on changes."""

    def __init__(self, device: str, set_idle: Callable[[bool], None], *,
                 period: float = 0.25, grace: float = 2.0,
                 find: Callable[[str], list[int]] | None = None) -> None:
        self.device = device
        self._set_idle = set_idle
        self._period = period
        self._grace = grace
        """A reader that closes and reopens at once (apps probe devices) keeps us live."""
        self._find = find or viewers
        self._stop = threading.Event()
        self.watching: list[int] = []
        self._thread = threading.Thread(target=self._run, name="vcam-ondemand", daemon=True)

    def start(self) -> None:
        self.watching = self._find(self.device)
        self._set_idle(not self.watching)
        if not self.watching:
            log.info("nobody is watching %s: camera off until an application opens it",
                     self.device)
        self._thread.start()

    def _run(self) -> None:
        idle = not self.watching
        unwatched_for = 0.0
        while not self._stop.wait(self._period):
            pids = self._find(self.device)
            self.watching = pids
            if pids and idle:
                idle = False
                unwatched_for = 0.0
                log.info("%s opened SelfieCam: camera on",
                         ", ".join(f"{process_name(p)} ({p})" for p in pids))
                self._set_idle(False)
            elif not pids and not idle:
                unwatched_for += self._period
                if unwatched_for >= self._grace:
                    idle = True
                    log.info("nobody is watching SelfieCam any more: camera off")
                    self._set_idle(True)
            elif pids:
                unwatched_for = 0.0

    def close(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=1)
