"""Finding the processes that hold a device open, on real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Holder
from vcam.errors import SourceError
from vcam.stages.capture import CameraSource
from vcam.system.consumers import held_by_others, holders, is_probe, process_name, viewers


def test_sees_another_process_holding_the_file_and_not_after(
        tmp_path: Path, hold_open: Callable[[Path], Holder]) -> None:
    dev = tmp_path / "video10"
    dev.write_bytes(b"")
    assert holders(dev) == []
    child = hold_open(dev)
    assert holders(dev) == [child.pid]
    assert process_name(child.pid).startswith("python")
    # Our own handle is left out when asked.
    with open(dev, "rb"):
        assert holders(dev, exclude=frozenset({child.pid})) == [os.getpid()]
        assert holders(dev, exclude=frozenset({os.getpid()})) == [child.pid]
    child.release()
    deadline = time.monotonic() + 2
    while holders(dev) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert holders(dev) == []


def test_missing_device_has_no_holders(tmp_path: Path) -> None:
    assert holders(tmp_path / "absent") == []


def test_busy_camera_names_the_program_holding_it(
        tmp_path: Path, hold_open: Callable[[Path], Holder]) -> None:
    dev = tmp_path / "video0"  # stands in for a camera node another program holds
    dev.write_bytes(b"")
    holder = hold_open(dev)
    with pytest.raises(SourceError) as e:
        CameraSource(str(dev), 640, 480, 30, held_by=held_by_others)
    msg = str(e.value)
    assert "is busy: python" in msg and f"(pid {holder.pid}) has it open" in msg
    holder.release()
    with pytest.raises(SourceError, match="video devices found"):
        CameraSource(str(dev), 640, 480, 30, held_by=held_by_others)


def test_our_own_probes_are_no_viewers(tmp_path: Path) -> None:
    """`vcam doctor` opening SelfieCam for a moment must not switch the webcam on."""
    dev = tmp_path / "video10"
    dev.write_bytes(b"")
    hold = (f"import sys, time; f = open({str(dev)!r}, 'rb'); print('open', flush=True); "
            "time.sleep(60)")
    procs = {name: subprocess.Popen([sys.executable, "-c", hold, *argv], stdout=subprocess.PIPE,
                                    text=True)
             for name, argv in {"doctor": ["-m", "vcam", "doctor"],
                                "zoom": ["--app", "zoom"]}.items()}
    try:
        for p in procs.values():
            assert p.stdout is not None and p.stdout.readline().strip() == "open"
        assert sorted(holders(dev)) == sorted(p.pid for p in procs.values())
        assert is_probe(procs["doctor"].pid) and not is_probe(procs["zoom"].pid)
        assert viewers(dev) == [procs["zoom"].pid]
    finally:
        for p in procs.values():
            p.kill()
            p.wait()
