"""The e2e guest checkers' common parts: named checks, the verdict files, device queries.

A checker adds each check as it makes it (printed at once, so the guest log tells
the story even when the guest dies later), then ``Report.write(out)`` leaves
``result`` (first line PASS or FAIL, read by scripts/e2e-virtualcam.sh) and
``result.json`` (every check and fact, read by tests/test_e2e_virtualcam.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path

VIDIOC_QUERYCAP = 0x80685600  # _IOR('V', 0, struct v4l2_capability), 104 bytes
V4L2_CAP_VIDEO_CAPTURE = 0x1
V4L2_CAP_VIDEO_OUTPUT = 0x2
V4L2_CAP_DEVICE_CAPS = 0x80000000


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    mode: str
    checks: list[Check] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        """Record and print one check; returns ``ok`` so a caller can stop early."""
        self.checks.append(Check(name, ok, detail))
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)
        return ok

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def write(self, out: Path, what: str) -> int:
        """Write the verdict files into ``out``; the exit status (0 PASS, 1 FAIL)."""
        verdict = "PASS" if self.passed else "FAIL"
        (out / "result.json").write_text(
            json.dumps({"status": verdict, **asdict(self)}, indent=2, default=str))
        (out / "result").write_text(verdict + "\n")
        print(f"{verdict}: {what} ({self.mode})", flush=True)
        return 0 if verdict == "PASS" else 1


def find_devices() -> dict[str, str]:
    """Map /dev/videoN to its v4l2 card label."""
    found = {}
    for entry in sorted(Path("/sys/class/video4linux").glob("video*")):
        found[f"/dev/{entry.name}"] = (entry / "name").read_text().strip()
    return found


def device_caps(device: str) -> int:
    """The device's V4L2 capabilities now (0 if it cannot be opened or queried).

    With exclusive_caps=1 a loopback device offers VIDEO_OUTPUT until a producer
    writes, and VIDEO_CAPTURE (only) while one does: what Chrome needs.
    """
    try:
        fd = os.open(device, os.O_RDWR | os.O_NONBLOCK)
    except OSError:
        return 0
    try:
        buf = bytearray(104)
        fcntl.ioctl(fd, VIDIOC_QUERYCAP, buf)
    except OSError:
        return 0
    finally:
        os.close(fd)
    caps, per_device = struct.unpack_from("<II", buf, 84)
    return per_device if caps & V4L2_CAP_DEVICE_CAPS else caps
