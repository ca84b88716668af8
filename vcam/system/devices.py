"""What video devices this machine has: physical cameras and virtual (v4l2loopback) outputs.

Linux only.  Names come from sysfs (``/sys/class/video4linux/videoN/name``,
through :func:`vcam.stages.outputs.v4l2_devices`); what a device *is* comes from the
driver itself, through the VIDIOC_QUERYCAP ioctl on the /dev node, and a
camera's modes from VIDIOC_ENUM_FMT / _FRAMESIZES / _FRAMEINTERVALS.  When a
node cannot be opened (no permission, a container without /dev), sysfs alone
still tells a v4l2loopback device (it adds a ``max_openers`` attribute) from a
camera (a ``device/driver`` link such as uvcvideo), and the module parameters
tell v4l2loopback's ``exclusive_caps``.

Opening a node only queries it: nothing is streamed, a camera's light stays off.
"""

from __future__ import annotations

import argparse
import enum
import errno
import fcntl
import os
import struct
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vcam.stages.outputs import SETUP_COMMAND, v4l2_devices
from vcam.system.consumers import holders_of

SYS = Path("/sys")
PROC = Path("/proc")
LOOPBACK_DRIVER = "v4l2 loopback"
"""The driver name v4l2loopback reports in VIDIOC_QUERYCAP (pyvirtualcam looks for it too)."""


def _ioc(direction: int, nr: int, size: int) -> int:
    """The ioctl request number, as the kernel's _IOC('V', nr, size) macro builds it."""
    return (direction << 30) | (size << 16) | (ord("V") << 8) | nr


_READ, _READ_WRITE = 2, 3
# struct v4l2_capability: driver[16] card[32] bus_info[32] version capabilities device_caps
# reserved[3]
_CAPABILITY = struct.Struct("16s32s32sIII12x")
# struct v4l2_fmtdesc: index type flags description[32] pixelformat mbus_code reserved[3]
_FMTDESC = struct.Struct("III32sII12x")
# struct v4l2_frmsizeenum: index pixel_format type, a union of six u32, reserved[2]
_FRMSIZE = struct.Struct("III6I8x")
# struct v4l2_frmivalenum: index pixel_format width height type, a union of six u32, reserved[2]
_FRMIVAL = struct.Struct("IIIII6I8x")
VIDIOC_QUERYCAP = _ioc(_READ, 0, _CAPABILITY.size)
VIDIOC_ENUM_FMT = _ioc(_READ_WRITE, 2, _FMTDESC.size)
VIDIOC_ENUM_FRAMESIZES = _ioc(_READ_WRITE, 74, _FRMSIZE.size)
VIDIOC_ENUM_FRAMEINTERVALS = _ioc(_READ_WRITE, 75, _FRMIVAL.size)

CAP_VIDEO_CAPTURE = 0x00000001
CAP_VIDEO_OUTPUT = 0x00000002
CAP_VIDEO_M2M_MPLANE = 0x00004000
CAP_VIDEO_M2M = 0x00008000
CAP_VIDEO_CAPTURE_MPLANE = 0x00001000
CAP_DEVICE_CAPS = 0x80000000
_BUF_TYPE_VIDEO_CAPTURE = 1
_FRMSIZE_DISCRETE = 1
_FRMIVAL_DISCRETE = 1
# Drivers end every enumeration with EINVAL; these caps only guard against one that never does.
_MAX_ENUM = 256


class Kind(enum.StrEnum):
    CAMERA = "camera"
    """Delivers pictures: a webcam, a capture card."""
    VIRTUAL = "virtual"
    """A v4l2loopback device: programs like SelfieCam publish to it, video apps read it."""
    OTHER = "other"
    """A UVC metadata node, a codec (mem-to-mem), ...: nothing to capture from."""
    UNKNOWN = "unknown"
    """The node could not be opened and sysfs does not tell (see ``error``)."""


@dataclass(frozen=True)
class Mode:
    """One picture format a camera offers: ``fps`` lists its frame rates, fastest first."""

    fourcc: str
    width: int
    height: int
    fps: tuple[float, ...] = ()

    def __str__(self) -> str:
        rates = "/".join(f"{r:g}" for r in self.fps)
        return f"{self.fourcc} {self.width}x{self.height}" + (f"@{rates}" if rates else "")


@dataclass(frozen=True)
class VideoDevice:
    """One /dev/videoN node.

    ``caps`` are the device capabilities the driver reported (None when the node
    could not be opened; ``error`` then says why).  ``exclusive_caps`` is only
    known for v4l2loopback devices: True means it announces CAPTURE only while
    a program publishes to it, which Chrome and WebRTC apps need to list it.
    """

    path: str
    label: str
    kind: Kind
    driver: str = ""
    bus: str = ""
    caps: int | None = None
    exclusive_caps: bool | None = None
    modes: tuple[Mode, ...] = ()
    error: str = ""
    open_errno: int = 0
    """The errno of the failed open (EACCES: not in the video group), 0 when it opened."""

    @property
    def number(self) -> int:
        """N of /dev/videoN."""
        return _number(self.path)


@dataclass(frozen=True)
class Holder:
    """A process that has a device open."""

    pid: int
    command: str

    def __str__(self) -> str:
        return f"{self.pid} ({self.command})"


@dataclass
class _Query:
    driver: str
    card: str
    bus: str
    caps: int
    modes: list[Mode] = field(default_factory=list)


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace").strip()


def _fourcc(code: int) -> str:
    return struct.pack("<I", code).decode("ascii", "replace").strip()


def _enumerate(fd: int, request: int, st: struct.Struct, *head: int) -> Iterator[tuple[int, ...]]:
    """Run an ENUM ioctl with index 0, 1, ... until the driver says EINVAL."""
    for index in range(_MAX_ENUM):
        # Every ENUM struct starts with u32 fields: the index, then what the caller fixes.
        buf = bytearray(st.size)
        struct.pack_into(f"{1 + len(head)}I", buf, 0, index, *head)
        try:
            fcntl.ioctl(fd, request, buf, True)
        except OSError as e:
            if e.errno in (errno.EINVAL, errno.ENOTTY):
                return
            raise
        yield st.unpack(buf)


def _frame_rates(fd: int, fourcc: int, width: int, height: int) -> tuple[float, ...]:
    rates: set[float] = set()
    for iv in _enumerate(fd, VIDIOC_ENUM_FRAMEINTERVALS, _FRMIVAL, fourcc, width, height):
        kind, num, den = iv[4], iv[5], iv[6]
        if num:
            rates.add(round(den / num, 2))
        if kind != _FRMIVAL_DISCRETE:
            # Continuous/stepwise: the union holds min, max, step; min interval = max fps.
            if iv[7]:
                rates.add(round(iv[8] / iv[7], 2))
            break
    return tuple(sorted(rates, reverse=True))


def _camera_modes(fd: int) -> list[Mode]:
    modes: list[Mode] = []
    for fmt in _enumerate(fd, VIDIOC_ENUM_FMT, _FMTDESC, _BUF_TYPE_VIDEO_CAPTURE):
        code = fmt[4]
        for size in _enumerate(fd, VIDIOC_ENUM_FRAMESIZES, _FRMSIZE, code):
            kind, u = size[2], size[3:9]
            if kind == _FRMSIZE_DISCRETE:
                sizes = [(u[0], u[1])]
            else:
                # Stepwise/continuous (min_w, max_w, step_w, min_h, max_h, step_h): the ends.
                sizes = [(u[0], u[3]), (u[1], u[4])]
            for w, h in sizes:
                modes.append(Mode(_fourcc(code), w, h, _frame_rates(fd, code, w, h)))
            if kind != _FRMSIZE_DISCRETE:
                break
    return modes


def query(path: str) -> _Query:
    """Ask the driver behind ``path`` what it is (and, for a capture device, its modes).

    Raises OSError when the node cannot be opened or is not a V4L2 device.
    """
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        buf = bytearray(_CAPABILITY.size)
        fcntl.ioctl(fd, VIDIOC_QUERYCAP, buf, True)
        driver, card, bus, _version, caps, device_caps = _CAPABILITY.unpack(buf)
        q = _Query(_text(driver), _text(card), _text(bus),
                   device_caps if caps & CAP_DEVICE_CAPS else caps)
        if q.caps & CAP_VIDEO_CAPTURE and q.driver != LOOPBACK_DRIVER:
            q.modes = _camera_modes(fd)
        return q
    finally:
        os.close(fd)


def _sysfs_driver(node: Path) -> str:
    try:
        return os.path.basename(os.readlink(node / "device" / "driver"))
    except OSError:
        return ""


def _kind_from_caps(caps: int, driver: str) -> Kind:
    if driver == LOOPBACK_DRIVER:
        return Kind.VIRTUAL
    if caps & (CAP_VIDEO_M2M | CAP_VIDEO_M2M_MPLANE):
        return Kind.OTHER
    if caps & (CAP_VIDEO_CAPTURE | CAP_VIDEO_CAPTURE_MPLANE):
        return Kind.CAMERA
    return Kind.OTHER


def loopback_exclusive_caps(number: int, loopback_numbers: list[int],
                            sys_root: Path = SYS) -> bool | None:
    """v4l2loopback's ``exclusive_caps`` for /dev/video``number``, from the module parameters.

    The parameters are arrays indexed by the order the module created its
    devices in; ``video_nr`` says which /dev number each got (-1: the next
    free one, so the auto-numbered devices follow in ascending order).
    None when the module is not loaded or the device is not one it created.
    """
    params = sys_root / "module" / "v4l2loopback" / "parameters"
    try:
        exclusive = [v.strip() in ("Y", "1") for v in
                     (params / "exclusive_caps").read_text().split(",")]
        numbers = [int(v) for v in (params / "video_nr").read_text().split(",") if v.strip()]
    except (OSError, ValueError):
        return None
    if number in numbers:
        index = numbers.index(number)
    else:
        auto = [i for i, n in enumerate(numbers) if n == -1]
        unclaimed = sorted(n for n in loopback_numbers if n not in numbers)
        if number not in unclaimed or unclaimed.index(number) >= len(auto):
            return None
        index = auto[unclaimed.index(number)]
    return exclusive[index] if index < len(exclusive) else None


def _number(path: str) -> int:
    return int(path.removeprefix("/dev/video"))


@dataclass(frozen=True)
class _Probe:
    """What sysfs and the driver said about one node, before it is classified."""

    path: str
    label: str
    node: Path
    """Its /sys/class/video4linux/videoN folder."""
    q: _Query | None
    error: OSError | None

    @property
    def loopback(self) -> bool:
        # Without the driver's word: v4l2loopback adds max_openers to its devices' sysfs.
        return self.q.driver == LOOPBACK_DRIVER if self.q else (self.node / "max_openers").exists()


def _classify(p: _Probe, loopbacks: list[int], sys_root: Path) -> VideoDevice:
    exclusive: bool | None = None
    if p.loopback:
        kind = Kind.VIRTUAL
        if p.q is not None:
            # With exclusive_caps off it announces both; with it on, only one at a time.
            both = CAP_VIDEO_CAPTURE | CAP_VIDEO_OUTPUT
            exclusive = p.q.caps & both != both
        else:
            exclusive = loopback_exclusive_caps(_number(p.path), loopbacks, sys_root)
    elif p.q is not None:
        kind = _kind_from_caps(p.q.caps, p.q.driver)
    elif _sysfs_driver(p.node):
        # A UVC camera registers its picture node first (index 0), then a metadata node.
        index = p.node / "index"
        kind = Kind.CAMERA if not index.exists() or index.read_text().strip() == "0" \
            else Kind.OTHER
    else:
        kind = Kind.UNKNOWN
    if p.q is not None:
        return VideoDevice(p.path, p.label, kind, p.q.driver, p.q.bus, p.q.caps, exclusive,
                           tuple(p.q.modes))
    assert p.error is not None
    return VideoDevice(p.path, p.label, kind, _sysfs_driver(p.node), exclusive_caps=exclusive,
                       error=f"cannot open {p.path}: {p.error.strerror or p.error}",
                       open_errno=p.error.errno or 0)


def list_devices(sys_root: Path = SYS) -> list[VideoDevice]:
    """Every video4linux device, classified; cameras come with their modes."""
    v4l = sys_root / "class" / "video4linux"
    probes: list[_Probe] = []
    for path, label in v4l2_devices(v4l).items():
        try:
            probes.append(_Probe(path, label, v4l / Path(path).name, query(path), None))
        except OSError as e:
            probes.append(_Probe(path, label, v4l / Path(path).name, None, e))
    loopbacks = [_number(p.path) for p in probes if p.loopback]
    return [_classify(p, loopbacks, sys_root) for p in probes]


def open_by(paths: list[str], proc: Path = PROC) -> dict[str, list[Holder]]:
    """For each of ``paths``, the processes that have it open (from /proc/PID/fd links).

    Only processes we may inspect are seen: all of them as root, our own otherwise.
    """
    return {path: [Holder(pid, _command(proc / str(pid))) for pid in pids]
            for path, pids in holders_of(paths, proc).items()}


def _command(pid_dir: Path) -> str:
    """``python3 -m vcam run`` style: the command line, else the process name."""
    try:
        argv = (pid_dir / "cmdline").read_bytes().split(b"\0")
        text = " ".join(os.path.basename(a.decode(errors="replace")) if i == 0 else
                        a.decode(errors="replace") for i, a in enumerate(argv) if a)
        if text:
            # One line, however the program was started (python -c "<script>" has newlines).
            return " ".join(text.split())[:80]
        return (pid_dir / "comm").read_text().strip()
    except OSError:
        return "?"


def describe_modes(modes: tuple[Mode, ...], most: int = 6) -> str:
    """``MJPG 1280x720@30, 640x480@30/15; YUYV 640x480@30`` (``most`` sizes per format)."""
    by_format: dict[str, list[Mode]] = {}
    for m in modes:
        by_format.setdefault(m.fourcc, []).append(m)
    parts = []
    for fourcc, ms in by_format.items():
        ms.sort(key=lambda m: m.width * m.height, reverse=True)
        sizes = [str(m).removeprefix(f"{fourcc} ") for m in ms[:most]]
        more = f" (+{len(ms) - most} more)" if len(ms) > most else ""
        parts.append(f"{fourcc} {', '.join(sizes)}{more}")
    return "; ".join(parts)


def our_device(devices: list[VideoDevice], name: str, device: str = "") -> VideoDevice | None:
    """The virtual output ``vcam run`` publishes to: ``device`` if given, else the one
    labelled ``name`` (as :func:`vcam.stages.outputs.find_labelled_device` chooses it)."""
    for d in devices:
        if (d.path == device) if device else (d.label == name and d.kind is Kind.VIRTUAL):
            return d
    return None


def _line(d: VideoDevice, held: list[Holder], ours: bool) -> list[str]:
    head = f"  {d.path:<13} {d.label}"
    notes = [n for n in (d.driver, d.bus) if n]
    if d.kind is Kind.VIRTUAL:
        notes = ["SelfieCam's output" if ours else "not SelfieCam's"]
        if d.exclusive_caps is not None:
            notes.append(f"exclusive_caps {'on' if d.exclusive_caps else 'off'}")
    if held:
        notes.append("open by " + ", ".join(map(str, held)))
    if d.error:
        notes.append(d.error)
    lines = [head + (f"  ({'; '.join(notes)})" if notes else "")]
    if d.modes:
        lines.append(f"      {describe_modes(d.modes)}")
    return lines


def main(args: argparse.Namespace) -> int:
    """``vcam devices``: print the cameras and virtual outputs (``--json`` for machines)."""
    import json

    from vcam.config import ConfigError, VirtualCameraConfig, load_default

    try:
        vc = load_default(None).virtual_camera
    except ConfigError:
        vc = VirtualCameraConfig()
    devices = list_devices()
    held = open_by([d.path for d in devices])
    ours = our_device(devices, vc.name, vc.device)
    if args.json:
        rows = [{**asdict(d), "open_by": [asdict(h) for h in held[d.path]],
                 "selfiecam": d is ours} for d in devices]
        print(json.dumps({"devices": rows}, indent=2))
        return 0
    groups = [("Cameras", Kind.CAMERA, "none found: plug in a webcam (`vcam run --demo` "
                                        "works without one)"),
              ("Virtual outputs (v4l2loopback)", Kind.VIRTUAL,
               f"none: create SelfieCam with `{SETUP_COMMAND}`"),
              ("Other video devices", Kind.OTHER, ""),
              ("Could not be inspected", Kind.UNKNOWN, "")]
    for title, kind, if_none in groups:
        members = [d for d in devices if d.kind is kind]
        if not members and not if_none:
            continue
        print(f"{title}:" + ("" if members else f" {if_none}"))
        for d in members:
            print("\n".join(_line(d, held[d.path], d is ours)))
    return 0
