"""Where composited frames go: the SelfieCam virtual camera, a preview window or a
file, and the one registry of them (pyvirtualcam's ``register_backend`` is the model).

``vcam run --output`` takes a name from :data:`OUTPUTS` (``virtual``, ``window``)
or a file whose extension is in :data:`FILE_OUTPUTS`; anything else is an
:class:`~vcam.errors.OutputError` that lists what exists.  A new output is one
class and one :func:`register_output` (or :func:`register_file_output`).  The
platform specifics of the virtual camera (v4l2loopback labels on Linux, OBS
elsewhere) stay in this module.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from vcam.config import PIXEL_FORMATS, VirtualCameraConfig
from vcam.errors import OutputError
from vcam.stages.encode import FfmpegSink, OpenCvWriter, ffmpeg
from vcam.stages.placeholder import caption

log = logging.getLogger(__name__)

SETUP_COMMAND = "sudo scripts/setup-v4l2loopback.sh"
V4L2_SYSFS = Path("/sys/class/video4linux")


class Output(Protocol):
    """The contract every output keeps.

    ``send(frame)`` takes one HxWx3 uint8 BGR frame of the size the output was
    opened with; the caller keeps the array (the output copies what it needs
    before ``send`` returns and never writes into it).  A failure raises, and
    the caller decides whether to retry (vcam.live.reconnect).  ``close()`` is
    called exactly once, from the thread that sent the frames (GUI toolkits hang
    when a window is closed from another thread), and releases the device.
    """

    description: str
    """What it is, for the log: device, size, rate, format."""

    def send(self, frame: np.ndarray) -> None: ...

    def close(self) -> None: ...


class NamedOutput(Output, Protocol):
    label: str
    """A few words for the tray's status line: ``SelfieCam /dev/video4``, ``file out.mp4``."""
    reconnects: bool
    """True: it can vanish and come back (a device), so a failed send is retried."""
    watched_through: str | None
    """A device whose other readers are the viewers (on-demand capture idles the
    camera while there are none); None: always watched."""


@dataclass(frozen=True)
class OutputRequest:
    """What an output is opened for."""

    width: int
    height: int
    fps: float
    virtual: VirtualCameraConfig = field(default_factory=VirtualCameraConfig)
    on_key: Callable[[str], None] | None = None
    """A preview window's key presses, one character each."""
    caption: Callable[[], str] | None = None
    """A line a preview window draws in its corner (effect, fps), refreshed twice a second."""
    overwrite: bool = False
    """A file output may replace an existing file."""


OutputFactory = Callable[[str, OutputRequest], NamedOutput]
"""Opens an output for its spec (the name, or the file path) or raises OutputError."""

OUTPUTS: dict[str, tuple[OutputFactory, str]] = {}
"""Outputs by name, each with a few words for ``--help``."""
FILE_OUTPUTS: dict[str, OutputFactory] = {}
"""File outputs by lower-case extension (with the dot)."""


def register_output(name: str, factory: OutputFactory, help: str) -> None:
    """Make ``--output NAME`` open ``factory(NAME, request)``."""
    OUTPUTS[name] = (factory, help)


def register_file_output(extension: str, factory: OutputFactory) -> None:
    """Make ``--output FILE.EXT`` open ``factory(FILE, request)``."""
    FILE_OUTPUTS[extension.lower()] = factory


def output_choices() -> str:
    """What ``--output`` takes, in words."""
    names = ", ".join(f"{n} ({h})" for n, (_, h) in OUTPUTS.items())
    return f"{names}, or a video file ending in {', '.join(sorted(FILE_OUTPUTS))}"


def open_output(spec: str, request: OutputRequest) -> NamedOutput:
    """The output ``spec`` names; :class:`OutputError` for one that does not exist."""
    if spec in OUTPUTS:
        return OUTPUTS[spec][0](spec, request)
    scheme, sep, _ = spec.partition("://")
    if sep:
        raise OutputError(f"--output {spec}: SelfieCam has no {scheme}:// output; it has "
                          f"{output_choices()}")
    suffix = Path(spec).suffix.lower()
    if suffix not in FILE_OUTPUTS:
        what = f"a {suffix} file" if suffix else "a name without an extension"
        raise OutputError(f"--output {spec}: {what} is no output; SelfieCam has "
                          f"{output_choices()}")
    return FILE_OUTPUTS[suffix](spec, request)


def v4l2_devices(sysfs: Path = V4L2_SYSFS) -> dict[str, str]:
    """``{"/dev/videoN": card label}`` for every video4linux device."""
    found: dict[str, str] = {}
    if not sysfs.is_dir():
        return found
    for d in sorted(sysfs.glob("video*"), key=lambda p: (len(p.name), p.name)):
        try:
            found[f"/dev/{d.name}"] = (d / "name").read_text(encoding="utf-8").strip()
        except OSError:
            continue
    return found


def find_labelled_device(label: str, sysfs: Path = V4L2_SYSFS) -> str:
    """The /dev/videoN whose card label is ``label``; :class:`OutputError` if there is none.

    pyvirtualcam takes the first loopback device it finds whatever its label,
    which may belong to another program, so we pick ours by label.
    """
    devices = v4l2_devices(sysfs)
    for dev, name in devices.items():
        if name == label:
            return dev
    seen = ", ".join(f"{d} ({n})" for d, n in devices.items()) or "none"
    raise OutputError(
        f"no v4l2loopback device labelled {label!r} (video devices: {seen}).\n"
        f"Create it with: {SETUP_COMMAND}\n"
        f"(or record to a file instead: vcam run --output demo.mp4)")


_CONVERSIONS = {"yuyv": cv2.COLOR_BGR2YUV_YUY2, "i420": cv2.COLOR_BGR2YUV_I420}


class VirtualCamera:
    """The SelfieCam virtual camera through pyvirtualcam.

    On Linux it publishes to the v4l2loopback device labelled ``name`` (or the
    explicit ``device``); on Windows and macOS to OBS's virtual camera, whose
    name OBS fixes.  ``backend`` selects a pyvirtualcam backend by name.
    """

    def __init__(self, width: int, height: int, fps: float, *, name: str = "SelfieCam",
                 device: str = "", backend: str | None = None, pixel_format: str = "yuyv"
                 ) -> None:
        import pyvirtualcam

        if pixel_format not in PIXEL_FORMATS:
            raise OutputError(f"pixel format {pixel_format!r} is not one of "
                              f"{', '.join(PIXEL_FORMATS)}")
        if pixel_format != "bgr" and (width % 2 or height % 2):
            raise OutputError(f"{pixel_format} needs an even frame size, got {width}x{height}")
        self._convert = _CONVERSIONS.get(pixel_format)
        fmt = {"yuyv": pyvirtualcam.PixelFormat.YUYV, "i420": pyvirtualcam.PixelFormat.I420,
               "bgr": pyvirtualcam.PixelFormat.BGR}[pixel_format]

        if backend is None:
            backend = "v4l2loopback" if platform.system() == "Linux" else "obs"
        if backend == "v4l2loopback" and not device:
            device = find_labelled_device(name)
        if backend not in pyvirtualcam.camera.BACKENDS:
            raise OutputError(f"pyvirtualcam has no backend {backend!r} on this platform "
                              f"(it has: {', '.join(pyvirtualcam.camera.BACKENDS) or 'none'})")
        try:
            self._cam = pyvirtualcam.Camera(width, height, fps, fmt=fmt,
                                            device=device or None, backend=backend)
        except RuntimeError as e:
            hint = (f"Create the device with: {SETUP_COMMAND}" if backend == "v4l2loopback"
                    else "Install OBS Studio (28 or newer) and start its Virtual Camera once.")
            raise OutputError(f"cannot open the virtual camera: {e}\n{hint}") from None
        self.device = self._cam.device
        self.description = f"{name} ({self.device}, {width}x{height}@{fps:g}, {pixel_format})"
        self.label = f"{name} {self.device}" if self.device else name
        self.reconnects = True
        self.watched_through: str | None = self.device or None

    @classmethod
    def open(cls, spec: str, r: OutputRequest) -> VirtualCamera:
        vc = r.virtual
        return cls(r.width, r.height, r.fps, name=vc.name, device=vc.device,
                   pixel_format=vc.pixel_format)

    def send(self, frame: np.ndarray) -> None:
        """Send one HxWx3 BGR frame (converted here to the camera's pixel format)."""
        if self._convert is not None:
            frame = cv2.cvtColor(frame, self._convert)
        self._cam.send(frame)

    def close(self) -> None:
        self._cam.close()


class FileOutput:
    """Records the stream to a video file: H.264 through ffmpeg (the writer ``vcam
    apply`` uses) where ffmpeg is installed, so browsers play the recording; else
    OpenCV's mp4v, with a warning saying how to get H.264."""

    def __init__(self, path: Path, width: int, height: int, fps: float) -> None:
        self.path = path
        self._writer: FfmpegSink | OpenCvWriter
        if ffmpeg() is not None:
            self._writer = FfmpegSink(path, width, height, fps, 3, live=True)
            codec = "H.264"
        else:
            log.warning("ffmpeg not found: recording %s as MPEG-4 Part 2, which browsers do "
                        "not play; for H.264: sudo apt install ffmpeg", path)
            self._writer = OpenCvWriter(path, width, height, fps)
            codec = "mp4v"
        self.description = f"file {path} ({width}x{height}@{fps:g}, {codec})"
        self.label = f"file {path.name}"
        self.reconnects = False
        self.watched_through: str | None = None

    @classmethod
    def open(cls, spec: str, r: OutputRequest) -> FileOutput:
        """The same rule as ``vcam apply``: an existing file is kept unless
        ``r.overwrite``, and a folder that does not exist is an error, not made."""
        path = Path(spec).expanduser()
        if not path.parent.is_dir():
            raise OutputError(f"--output {spec}: the folder {path.parent} does not exist")
        if path.exists() and not r.overwrite:
            raise OutputError(f"--output {spec}: the file exists; add --force to overwrite it")
        return cls(path, r.width, r.height, r.fps)

    def send(self, frame: np.ndarray) -> None:
        self._writer.send(frame)

    def close(self) -> None:
        self._writer.close()


PREVIEW_TITLE = "SelfieCam preview"


def no_display() -> bool:
    """True where a window cannot open.  Qt then aborts the whole process (exit 134,
    a core dump and a message about reinstalling), so callers say so first."""
    return (platform.system() == "Linux" and not os.environ.get("DISPLAY")
            and not os.environ.get("WAYLAND_DISPLAY"))


class WindowClosed(OutputError):
    """The user closed a ``closable`` preview window."""


class WindowOutput:
    """An OpenCV preview window.  Key presses go to ``on_key`` (one character);
    ``caption()`` (effect, fps...) is drawn in a corner, refreshed twice a second.
    ``closable``: once the user has closed the window, ``send`` raises
    :class:`WindowClosed` instead of opening it again."""

    LABEL = "preview window"

    def __init__(self, title: str, on_key: Callable[[str], None] | None = None,
                 caption: Callable[[], str] | None = None, *, closable: bool = False) -> None:
        self.title = title
        self.closable = closable
        self.description = f"window {title!r}"
        self.label = self.LABEL
        self.reconnects = False
        self.watched_through: str | None = None
        self._on_key = on_key
        self._caption = caption
        self._text = ""
        self._text_t = 0.0
        self._opened = False

    @classmethod
    def open(cls, spec: str, r: OutputRequest) -> WindowOutput:
        if no_display():
            raise OutputError("--output window needs a display, and there is none here "
                              "(DISPLAY and WAYLAND_DISPLAY are not set); record to a file "
                              "instead: --output demo.mp4")
        return cls(PREVIEW_TITLE, r.on_key, r.caption)

    def send(self, frame: np.ndarray) -> None:
        if self._caption is not None:
            now = time.monotonic()
            if now - self._text_t >= 0.5:
                self._text, self._text_t = self._caption(), now
            frame = caption(frame.copy(), self._text)
        try:
            cv2.imshow(self.title, frame)
            self._opened = True
        except cv2.error as e:
            raise OutputError(f"cannot open a preview window ({e.msg.strip()}); "
                              f"is there a display? Record to a file instead: --output demo.mp4"
                              ) from None
        key = cv2.waitKey(1) & 0xFF
        if key != 0xFF and self._on_key is not None:
            self._on_key(chr(key))
        if self.closable and not self._visible():
            self._opened = False  # the toolkit has destroyed it already
            raise WindowClosed(f"the {self.title} window was closed")

    def _visible(self) -> bool:
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
        except cv2.error:  # Qt: the window closed by the user is gone altogether
            return False

    def close(self) -> None:
        if self._opened:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)


register_output("virtual", VirtualCamera.open, "the SelfieCam virtual camera")
register_output("window", WindowOutput.open, "a preview window")
for _ext in (".mp4", ".avi", ".mkv"):
    register_file_output(_ext, FileOutput.open)
