"""Watch config.toml and report edits, by polling its modification time.

Polling (once a second by default) needs no extra package and works on every
file system; an edit shows up within about two intervals.  Editors save in
steps (truncate, write; or write a temp file and rename), so a change is
reported only once the file has stayed the same for one interval.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

Signature = tuple[int, int, int] | None
"""(mtime in ns, size, inode) of the file, or None while it does not exist."""


def signature(path: Path) -> Signature:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


class ConfigWatcher:
    """Calls ``on_change()`` from its own thread after ``path`` was edited, created
    or deleted; until ``close()``."""

    def __init__(self, path: Path, on_change: Callable[[], object], interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        self._on_change = on_change
        self._seen = signature(path)  # now: an edit made before the thread runs still counts
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vcam-config-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            now = signature(self.path)
            if now == self._seen:
                continue
            # Settle: wait until the editor has finished writing.
            while not self._stop.wait(min(self.interval, 0.25)):
                later = signature(self.path)
                if later == now:
                    break
                now = later
            if self._stop.is_set():
                return
            self._seen = now
            log.info("%s changed; reloading it", self.path)
            try:
                self._on_change()
            except Exception:  # the watcher must outlive a bad reload
                log.exception("reloading %s failed", self.path)

    def close(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(1.0)
