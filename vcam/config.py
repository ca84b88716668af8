"""config.toml, parsed once into frozen, validated dataclasses.

Every error is a :class:`ConfigError` that names the file, the key and what is
allowed; the CLI turns it into exit code 2.  Unknown keys are errors with a
did-you-mean, because a misspelt key silently ignored is a setting the user
believes in but never gets.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcam import assets_dir

Colour = tuple[int, int, int]
"""An RGB colour, each channel 0..255."""


class Effect(enum.StrEnum):
    """The effects, by the names the CLI, the tray and config.toml share."""

    NONE = "none"
    REPLACE = "replace"
    BLUR = "blur"
    DESATURATE = "desaturate"
    TRANSPARENT = "transparent"


class ModelChoice(enum.StrEnum):
    GENERAL = "general"
    LANDSCAPE = "landscape"
    AUTO = "auto"


class Runtime(enum.StrEnum):
    """What runs the segmentation model (see vcam.stages.segment)."""

    AUTO = "auto"
    LITERT = "litert"
    MEDIAPIPE = "mediapipe"


class ConfigError(ValueError):
    """A configuration value is wrong; the message names file, key and what is allowed."""

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source = source
        self.key = key
        super().__init__(f"{source}: {key}: {message}")


NAMED_COLOURS: dict[str, Colour] = {
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "red": (255, 0, 0),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
    "magenta": (255, 0, 255),
}
_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


def parse_colour(text: str) -> Colour | None:
    """``#rrggbb``, ``rrggbb`` or a name from :data:`NAMED_COLOURS`; None if it is none of these."""
    text = text.strip()
    if text.lower() in NAMED_COLOURS:
        return NAMED_COLOURS[text.lower()]
    m = _HEX.match(text)
    if not m:
        return None
    v = int(m.group(1), 16)
    return (v >> 16) & 255, (v >> 8) & 255, v & 255


def hex_colour(colour: Colour) -> str:
    """``(r, g, b)`` as ``#rrggbb``."""
    return "#{:02x}{:02x}{:02x}".format(*colour)


@dataclass(frozen=True)
class CameraConfig:
    """The physical camera, or a video file that stands in for one (looped)."""

    device: int | str = 0
    width: int = 1280
    height: int = 720
    fps: int = 30
    fourcc: str = "MJPG"


@dataclass(frozen=True)
class VirtualCameraConfig:
    name: str = "SelfieCam"
    """The v4l2loopback card label to publish to (Linux)."""
    device: str = ""
    """An explicit /dev/videoN; empty means: find the device labelled ``name``."""
    fps: int = 0
    """Output rate; 0 follows the camera."""
    pixel_format: str = "yuyv"
    """yuyv | i420 | bgr (see vcam.stages.outputs.PIXEL_FORMATS)."""
    on_demand: bool = True
    """Use the webcam only while an application has SelfieCam open."""


@dataclass(frozen=True)
class RefineConfig:
    """How the model's confidence becomes a frame-size soft alpha (see vcam.stages.refine),
    and how the person's edge meets a replaced background."""

    threshold: float = 0.5
    softness: float = 0.3
    """Width of the soft ramp around ``threshold``; 0 is a hard cut."""
    temporal: bool = True
    temporal_strength: float = 0.97
    """The previous mask's share at most, where the mask is unsure or still (0..0.99)."""
    motion_level: int = 20
    """Grey-level change (0..255) that counts as motion: still parts of the picture
    are steadied even where the mask is sure, and an unsure edge that clearly
    moved (about 3x this) is not; 0 = steady unsure pixels only."""
    min_blob: float = 0.005
    """Drop disconnected person blobs smaller than this fraction of the frame; 0 = off."""
    min_hole: float = 0.0
    """Fill holes in the person smaller than this fraction of the frame; 0 = off."""
    guided: bool = True
    """Snap the upsampled mask to the frame's edges with a guided filter."""
    guided_width: int = 320
    """The guided filter works on the frame shrunk by a whole factor to at most
    this wide (past about 512 it stops fitting the CPU's cache and slows down)."""
    guided_radius: int = 8
    """Guided filter radius, in pixels of a 640-wide frame."""
    guided_eps: float = 0.001
    """Guided filter regularisation: larger follows the image's edges less."""
    feather: float = 0.0
    """Outward feather, a blur sigma in pixels of a 640-wide frame; 0 = off."""
    light_wrap: float = 0.2
    """``replace``: how much of the new background's light spills over the
    person's edge, 0 (off) .. 1."""
    light_wrap_width: float = 6.0
    """``replace``: how far the light reaches in, in pixels of a 640-wide frame."""


@dataclass(frozen=True)
class Config:
    """The whole configuration.  ``source`` says where it came from, for messages."""

    effect: Effect = Effect.BLUR
    model: ModelChoice = ModelChoice.GENERAL
    """general by default: on the 16:9 test clips the landscape model's raw mask flips
    ~10x more pixels per frame (0.0072 vs 0.0006), for ~1.5 ms less per frame."""
    runtime: Runtime = Runtime.AUTO
    """auto: LiteRT's interpreter where its wheel is installed, else MediaPipe Tasks."""
    mirror: bool = False
    background: str = "white"
    """What ``replace`` shows: a colour, or an image or video path."""
    backgrounds: tuple[Path, ...] = ()
    """The backgrounds the tray and ``ctl background next`` cycle through."""
    blur: int = 12
    """Background blur strength, 1 (soft) .. 50 (heavy)."""
    key_colour: Colour = (0, 255, 0)
    log_level: str = "info"
    camera: CameraConfig = field(default_factory=CameraConfig)
    virtual_camera: VirtualCameraConfig = field(default_factory=VirtualCameraConfig)
    refine: RefineConfig = field(default_factory=RefineConfig)
    source: str = "<defaults>"

    def replace(self, **changes: Any) -> Config:
        """A new Config with ``changes`` applied (the running one is never mutated)."""
        return dataclasses.replace(self, **changes)


def user_config_path() -> Path:
    """Where the user's config.toml lives on this platform."""
    if os.name == "nt":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif os.uname().sysname == "Darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "selfiecam" / "config.toml"


_LOG_LEVELS = ("debug", "info", "warning", "error")


class _Reader:
    """Pulls typed values out of one TOML table, remembering which keys were used."""

    def __init__(self, source: str, table: Mapping[str, Any], prefix: str = "") -> None:
        self.source = source
        self.table = table
        self.prefix = prefix
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def error(self, name: str, message: str) -> ConfigError:
        return ConfigError(self.source, self.key(name), message)

    def get(self, name: str, default: Any) -> Any:
        self.used.add(name)
        return self.table.get(name, default)

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        v = self.get(name, default)
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.error(name, f"expected a whole number from {lo} to {hi}, got {v!r}")
        if not lo <= v <= hi:
            raise self.error(name, f"must be from {lo} to {hi}, got {v}")
        return v

    def boolean(self, name: str, default: bool) -> bool:
        v = self.get(name, default)
        if not isinstance(v, bool):
            raise self.error(name, f"expected true or false, got {v!r}")
        return v

    def string(self, name: str, default: str) -> str:
        v = self.get(name, default)
        if not isinstance(v, str):
            raise self.error(name, f"expected a string, got {v!r}")
        return v

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        v = self.string(name, default)
        if v not in allowed:
            raise self.error(
                name, f"must be one of {', '.join(allowed)}, got {v!r}{_hint(v, allowed)}")
        return v

    def number(self, name: str, default: float, lo: float, hi: float) -> float:
        v = self.get(name, default)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.error(name, f"expected a number from {lo} to {hi}, got {v!r}")
        if not lo <= v <= hi:
            raise self.error(name, f"must be from {lo} to {hi}, got {v}")
        return float(v)

    def colour(self, name: str, default: str) -> Colour:
        v = self.string(name, default)
        c = parse_colour(v)
        if c is None:
            raise self.error(name, f"expected a colour like '#00ff00' or a name "
                                   f"({', '.join(NAMED_COLOURS)}), got {v!r}")
        return c

    def table_of(self, name: str) -> _Reader:
        v = self.get(name, {})
        if not isinstance(v, Mapping):
            raise self.error(name, f"expected a table [{self.key(name)}], got {v!r}")
        return _Reader(self.source, v, f"{self.key(name)}.")

    def reject_unknown(self) -> None:
        for k in self.table:
            if k not in self.used:
                raise self.error(k, f"unknown key{_hint(k, tuple(self.used))}")


def _hint(word: str, allowed: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(allowed), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def resolve_path(text: str, base: Path | None) -> Path:
    """A path from config: ``~`` expanded, relative to the config file's folder,
    and, when not found there, relative to the bundled assets (so
    ``backgrounds/dusk.png`` names a bundled background)."""
    p = Path(os.path.expanduser(text))
    if p.is_absolute():
        return p
    if base is not None and (base / p).exists():
        return base / p
    if (assets_dir() / p).exists():
        return assets_dir() / p
    return (base / p) if base is not None else p


def parse(data: Mapping[str, Any], source: str, base: Path | None = None) -> Config:
    """Validate a TOML document (already decoded) into a :class:`Config`."""
    d = Config()
    r = _Reader(source, data)
    effect = Effect(r.choice("effect", d.effect.value, tuple(e.value for e in Effect)))
    model = ModelChoice(r.choice("model", d.model.value, tuple(m.value for m in ModelChoice)))
    runtime = Runtime(r.choice("runtime", d.runtime.value, tuple(m.value for m in Runtime)))
    mirror = r.boolean("mirror", d.mirror)
    background = r.string("background", d.background)
    if parse_colour(background) is None and background:
        background = str(resolve_path(background, base))
    raw_bgs = r.get("backgrounds", [])
    if not isinstance(raw_bgs, list) or not all(isinstance(b, str) for b in raw_bgs):
        raise r.error("backgrounds", f"expected a list of paths, got {raw_bgs!r}")
    backgrounds = tuple(resolve_path(b, base) for b in raw_bgs)
    blur = r.integer("blur", d.blur, 1, 50)
    key_colour = r.colour("key_colour", "#00ff00")
    log_level = r.choice("log_level", d.log_level, _LOG_LEVELS)

    c = r.table_of("camera")
    dc = d.camera
    device = c.get("device", dc.device)
    if isinstance(device, bool) or not isinstance(device, int | str) or device == "":
        raise c.error("device", f"expected a camera index (0, 1, ...), a /dev/videoN path "
                                f"or a video file, got {device!r}")
    if isinstance(device, int) and device < 0:
        raise c.error("device", f"a camera index is 0 or more, got {device}")
    if isinstance(device, str) and not device.startswith("/dev/") and not device.isdigit():
        device = str(resolve_path(device, base))
    camera = CameraConfig(
        device=device,
        width=c.integer("width", dc.width, 160, 7680),
        height=c.integer("height", dc.height, 120, 4320),
        fps=c.integer("fps", dc.fps, 1, 240),
        fourcc=c.string("fourcc", dc.fourcc),
    )
    if len(camera.fourcc) not in (0, 4):
        raise c.error("fourcc", f"expected four characters such as 'MJPG' or 'YUYV' "
                                f"(or '' for the camera's default), got {camera.fourcc!r}")
    c.reject_unknown()

    v = r.table_of("virtual_camera")
    dv = d.virtual_camera
    virtual_camera = VirtualCameraConfig(
        name=v.string("name", dv.name),
        device=v.string("device", dv.device),
        fps=v.integer("fps", dv.fps, 0, 240),
        pixel_format=v.choice("pixel_format", dv.pixel_format, ("yuyv", "i420", "bgr")),
        on_demand=v.boolean("on_demand", dv.on_demand),
    )
    v.reject_unknown()

    f = r.table_of("refine")
    dr = d.refine
    refine = RefineConfig(
        threshold=f.number("threshold", dr.threshold, 0.05, 0.95),
        softness=f.number("softness", dr.softness, 0.0, 1.0),
        temporal=f.boolean("temporal", dr.temporal),
        temporal_strength=f.number("temporal_strength", dr.temporal_strength, 0.0, 0.99),
        motion_level=f.integer("motion_level", dr.motion_level, 0, 255),
        min_blob=f.number("min_blob", dr.min_blob, 0.0, 0.5),
        min_hole=f.number("min_hole", dr.min_hole, 0.0, 0.5),
        guided=f.boolean("guided", dr.guided),
        guided_width=f.integer("guided_width", dr.guided_width, 64, 1920),
        guided_radius=f.integer("guided_radius", dr.guided_radius, 1, 64),
        guided_eps=f.number("guided_eps", dr.guided_eps, 1e-5, 1.0),
        feather=f.number("feather", dr.feather, 0.0, 50.0),
        light_wrap=f.number("light_wrap", dr.light_wrap, 0.0, 1.0),
        light_wrap_width=f.number("light_wrap_width", dr.light_wrap_width, 0.5, 50.0),
    )
    f.reject_unknown()
    r.reject_unknown()
    return Config(
        effect=effect, model=model, runtime=runtime, mirror=mirror, background=background,
        backgrounds=backgrounds, blur=blur, key_colour=key_colour, log_level=log_level,
        camera=camera, virtual_camera=virtual_camera, refine=refine, source=source,
    )


def load(path: Path) -> Config:
    """Read and validate ``path``."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, "(file)", "no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(source, "(file)", f"cannot read it: {e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(source, "(syntax)", f"not valid TOML: {e}") from None
    return parse(data, source, path.resolve().parent)


def load_default(explicit: Path | None) -> Config:
    """``explicit`` if given, else the user's config.toml if it exists, else the defaults."""
    if explicit is not None:
        return load(explicit)
    user = user_config_path()
    if user.exists():
        return load(user)
    return Config()
