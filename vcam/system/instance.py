"""One SelfieCam daemon per user: a lock file in the user's runtime directory.

Two daemons would fight over the webcam and the control socket, so the second
one is told the first one's pid and gives up.  The lock is an ``flock`` on
the file, so it dies with the process: a crash leaves no stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path


def runtime_dir() -> Path:
    """The user's runtime dir ($XDG_RUNTIME_DIR/selfiecam, else a private folder in /tmp)."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and Path(base).is_dir():
        path = Path(base) / "selfiecam"
    else:
        path = Path(tempfile.gettempdir()) / f"selfiecam-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    if path.stat().st_uid != os.getuid():
        raise PermissionError(f"{path} belongs to another user; set XDG_RUNTIME_DIR")
    return path


class AlreadyRunning(RuntimeError):
    """Another daemon of this user holds the lock."""

    def __init__(self, pid: int | None, lock: Path) -> None:
        self.pid = pid
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"SelfieCam is already running ({who}, lock {lock}); "
                         f"stop it first, or drive it with `vcam ctl`")


class InstanceLock:
    """Held for the life of a daemon; ``release()`` (or process exit) frees it."""

    def __init__(self, folder: Path | None = None) -> None:
        self.path = (folder or runtime_dir()) / "vcam.pid"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(self._fd, 32, 0).decode(errors="replace").strip()
            os.close(self._fd)
            raise AlreadyRunning(int(text) if text.isdigit() else None, self.path) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self._fd >= 0:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = -1
