"""A latest-value slot: the hand-off between the pipeline's threads.

A producer overwrites; a consumer waits for something newer than what it last
saw.  Nothing can queue up: a slow consumer skips values instead of falling
behind, which is what a live camera wants (a stale frame is worth nothing).
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Holds one value and a version number that counts every ``put``."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._value: T | None = None
        self._version = 0

    def put(self, value: T) -> int:
        """Replace the value; returns its version (1 for the first)."""
        with self._cond:
            self._value = value
            self._version += 1
            self._cond.notify_all()
            return self._version

    def latest(self) -> tuple[int, T | None]:
        """The current (version, value) without waiting; (0, None) before the first put."""
        with self._cond:
            return self._version, self._value

    def wait_newer(self, seen: int, timeout: float) -> tuple[int, T] | None:
        """Wait up to ``timeout`` s for a version above ``seen``; None on time-out."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._version > seen, timeout):
                return None
            assert self._value is not None
            return self._version, self._value
