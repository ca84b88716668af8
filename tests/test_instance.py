"""One daemon per user, enforced with a real flock across real processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vcam.system.instance import AlreadyRunning, InstanceLock

HOLD = """
import sys, time
from pathlib import Path
from vcam.system.instance import InstanceLock
lock = InstanceLock(Path(sys.argv[1]))
print("locked", flush=True)
time.sleep(30)
"""


def test_second_daemon_is_told_the_first_ones_pid(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[1])
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(AlreadyRunning) as e:
            InstanceLock(tmp_path)
        assert e.value.pid == holder.pid
        assert f"pid {holder.pid}" in str(e.value)
    finally:
        holder.kill()
        holder.wait()
    # The lock died with its process: no stale lock.
    lock = InstanceLock(tmp_path)
    lock.release()
    InstanceLock(tmp_path).release()
