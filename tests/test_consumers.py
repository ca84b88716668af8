"""Finding the processes that hold a device open, on real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vcam.capture import CameraSource, SourceError
from vcam.consumers import holders, process_name


def test_sees_another_process_holding_the_file_and_not_after(tmp_path: Path) -> None:
    dev = tmp_path / "video10"
    dev.write_bytes(b"")
    assert holders(dev) == []
    child = subprocess.Popen(
        [sys.executable, "-c",
         f"import sys,time; f=open({str(dev)!r}, 'rb'); print('open', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "open"
        assert holders(dev) == [child.pid]
        assert process_name(child.pid).startswith("python")
        # Our own handle is left out when asked.
        with open(dev, "rb"):
            assert holders(dev, exclude=frozenset({child.pid})) == [os.getpid()]
            assert holders(dev, exclude=frozenset({os.getpid()})) == [child.pid]
    finally:
        child.kill()
        child.wait()
    deadline = time.monotonic() + 2
    while holders(dev) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert holders(dev) == []


def test_missing_device_has_no_holders(tmp_path: Path) -> None:
    assert holders(tmp_path / "absent") == []


def test_busy_camera_names_the_program_holding_it(tmp_path: Path) -> None:
    dev = tmp_path / "video0"  # stands in for a camera node another program holds
    dev.write_bytes(b"")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import time; f = open({str(dev)!r}, 'rb'); print('open', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(SourceError) as e:
            CameraSource(str(dev), 640, 480, 30)
        msg = str(e.value)
        assert "is busy: python" in msg and f"(pid {holder.pid}) has it open" in msg
    finally:
        holder.kill()
        holder.wait()
    with pytest.raises(SourceError, match="video devices found"):
        CameraSource(str(dev), 640, 480, 30)
