"""A real ``vcam run`` daemon in a subprocess, for the live-control tests.

It gets its own XDG_RUNTIME_DIR (so its control socket is private to the test)
and XDG_CONFIG_HOME (so the developer's config.toml is never read).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tests import conftest
from vcam.control.ctl import CtlError, request

ROOT = Path(__file__).resolve().parents[1]

DOOR = (slice(10, 140), slice(400, 520))
"""A background region of the demo clip with sharp edges (door panels), never the person."""
CORNER = (slice(0, 60), slice(0, 60))
"""The top-left corner of the demo clip: background (a wall)."""


class Daemon:
    """``python -m vcam run ARGS`` with a private runtime dir; ``close()`` ends it."""

    def __init__(self, tmp: Path, args: list[str], *, wrap: list[str] | None = None,
                 env: dict[str, str] | None = None) -> None:
        # mkdtemp under /tmp, not pytest's tmp_path: another uid must be able to reach the
        # socket when a test opens the folder up on purpose.
        self.runtime = Path(tempfile.mkdtemp(prefix="vcam-rt-"))
        self.socket = self.runtime / "selfiecam" / "ctl.sock"
        self.log = tmp / "daemon.log"
        full_env = {k: v for k, v in os.environ.items() if k != "PYSTRAY_BACKEND"}
        full_env.update(XDG_RUNTIME_DIR=str(self.runtime), XDG_CONFIG_HOME=str(tmp / "xdg-config"),
                        **(env or {}))
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen([*(wrap or []), sys.executable, "-m", "vcam", "run", *args],
                                     cwd=ROOT, env=full_env, stdout=self._log_file,
                                     stderr=subprocess.STDOUT)

    def ctl(self, command: str, arg: str = "") -> dict[str, Any]:
        return request(command, arg, path=self.socket)

    def wait_ready(self, frames: int = 15, timeout: float = 60.0) -> dict[str, Any]:
        """Wait until the control socket answers and ``frames`` frames went out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"daemon exited:\n{self.log.read_text()}"
            try:
                reply = self.ctl("status")
                if reply["status"]["published"] >= frames:
                    return reply
            except CtlError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"daemon not ready in {timeout} s:\n{self.log.read_text()}")

    def wait_frames(self, n: int, timeout: float = 10.0) -> int:
        """Let ``n`` more frames go out; returns the published count then."""
        start = self.ctl("status")["status"]["published"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.ctl("status")["status"]["published"]
            if now >= start + n:
                return int(now)
            time.sleep(0.05)
        raise AssertionError(f"no {n} frames in {timeout} s")

    def close(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> float:
        """Signal the daemon and wait; returns how long it took to exit."""
        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        took = time.monotonic() - t0
        self._log_file.close()
        shutil.rmtree(self.runtime, ignore_errors=True)
        return took


def read_frames(path: Path) -> list[np.ndarray]:
    """Every frame of a recorded video."""
    return conftest.read_frames(path, 10**9)


def sharpness(frame: np.ndarray, region: tuple[slice, slice] = DOOR) -> float:
    """Mean absolute Laplacian of a region: high for the door's edges, low once blurred."""
    grey = cv2.cvtColor(frame[region], cv2.COLOR_BGR2GRAY)
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())


def mean_colour(frame: np.ndarray, region: tuple[slice, slice] = CORNER) -> np.ndarray:
    return np.asarray(frame[region].reshape(-1, 3).mean(axis=0))
