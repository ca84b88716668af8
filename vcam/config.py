"""config.toml, parsed once into frozen, validated dataclasses.

Every error is a :class:`ConfigError` that names the file, the key and what is
allowed; the CLI turns it into exit code 2.  Unknown keys are errors with a
did-you-mean, because a misspelt key silently ignored is a setting the user
believes in but never gets.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcam import assets_dir
from vcam.colours import COLOUR_FORMS, Colour, meant_as_colour, parse_colour
from vcam.errors import ConfigError
from vcam.stages.effects import effect_names
from vcam.stages.looks import LooksConfig
from vcam.tables import TableReader, within

BLUR_MIN, BLUR_MAX = 1, 50
"""Background blur strength: 1 (soft) .. 50 (heavy), wherever a blur is given."""


class ModelChoice(enum.StrEnum):
    GENERAL = "general"
    LANDSCAPE = "landscape"
    AUTO = "auto"


class Runtime(enum.StrEnum):
    """What runs the segmentation model (see vcam.stages.segment)."""

    AUTO = "auto"
    LITERT = "litert"
    MEDIAPIPE = "mediapipe"


@dataclass(frozen=True)
class CameraConfig:
    """The physical camera, or a video file that stands in for one (looped)."""

    device: int | str = 0
    width: int = 1280
    height: int = 720
    fps: int = 30
    fourcc: str = "MJPG"


PIXEL_FORMATS = ("yuyv", "i420", "bgr")
"""What the virtual camera carries.  YUYV is what Chrome, Firefox and most apps read
most reliably from v4l2loopback; I420 is what some Zoom versions need (a black or
garbled picture otherwise); "bgr" leaves the conversion (to I420) to pyvirtualcam."""


@dataclass(frozen=True)
class VirtualCameraConfig:
    name: str = "SelfieCam"
    """The v4l2loopback card label to publish to (Linux)."""
    device: str = ""
    """An explicit /dev/videoN; empty means: find the device labelled ``name``."""
    fps: int = 0
    """Output rate; 0 follows the camera."""
    pixel_format: str = "yuyv"
    """One of :data:`PIXEL_FORMATS`."""
    on_demand: bool = True
    """Use the webcam only while an application has SelfieCam open."""


@dataclass(frozen=True)
class RefineConfig:
    """How the model's confidence becomes a frame-size soft alpha (see vcam.stages.refine),
    and how the person's edge meets a replaced background."""

    threshold: float = within(0.5, 0.05, 0.95)
    softness: float = within(0.3, 0.0, 1.0)
    """Width of the soft ramp around ``threshold``; 0 is a hard cut."""
    temporal: bool = True
    temporal_strength: float = within(0.97, 0.0, 0.99)
    """The previous mask's share at most, where the mask is unsure or still (0..0.99)."""
    motion_level: int = within(20, 0, 255)
    """Grey-level change (0..255) that counts as motion: still parts of the picture
    are steadied even where the mask is sure, and an unsure edge that clearly
    moved (about 3x this) is not; 0 = steady unsure pixels only."""
    min_blob: float = within(0.005, 0.0, 0.5)
    """Drop disconnected person blobs smaller than this fraction of the frame; 0 = off."""
    min_hole: float = within(0.0, 0.0, 0.5)
    """Fill holes in the person smaller than this fraction of the frame; 0 = off."""
    guided: bool = True
    """Snap the upsampled mask to the frame's edges with a guided filter."""
    guided_width: int = within(320, 64, 1920)
    """The guided filter works on the frame shrunk by a whole factor to at most
    this wide (past about 512 it stops fitting the CPU's cache and slows down)."""
    guided_radius: int = within(8, 1, 64)
    """Guided filter radius, in pixels of a 640-wide frame."""
    guided_eps: float = within(0.001, 1e-05, 1.0)
    """Guided filter regularisation: larger follows the image's edges less."""
    feather: float = within(0.0, 0.0, 50.0)
    """Outward feather, a blur sigma in pixels of a 640-wide frame; 0 = off."""
    light_wrap: float = within(0.2, 0.0, 1.0)
    """``replace``: how much of the new background's light spills over the
    person's edge, 0 (off) .. 1."""
    light_wrap_width: float = within(6.0, 0.5, 50.0)
    """``replace``: how far the light reaches in, in pixels of a 640-wide frame."""
    decontaminate: bool = True
    """Where the edge is soft, take out the old wall's share of the colour before the
    new background goes in (no pale rim on a dark background); costs ~1 ms at 1080p."""
    hug: float = within(1.0, 0.0, 1.0)
    """How much the soft edge follows the colours (the person's against the wall's)
    where they differ clearly, 0 (off) .. 1: no wall kept outside the person,
    hair strands kept soft; ~0.5 ms at 1080p."""
    choke: float = within(0.0, 0.0, 0.5)
    """Move the soft edge inward by this share of its ramp, so it straddles the true
    edge instead of reaching into the wall; more eats into hair."""
    reuse_still: int = within(2, 0, 10)
    """Live: for how many frames in a row the model's last mask may serve again while
    the picture stays still (see vcam.stages.gate); 0 = run the model on every frame."""


class Quality(enum.StrEnum):
    """How ``vcam apply`` cuts a person out (see vcam.stages.matting)."""

    FAST = "fast"
    """The live selfie model and refinement."""
    BEST = "best"
    """Also the MODNet portrait matte where the selfie model agrees with it (~0.5 s)."""


@dataclass(frozen=True)
class ApplyConfig:
    """``vcam apply``'s own settings."""

    quality: Quality = Quality.BEST
    """For images."""
    video_quality: Quality = Quality.FAST
    """For videos: best costs ~0.5 s a frame (a 72-frame clip: ~40 s instead of ~2)."""


@dataclass(frozen=True)
class Config:
    """The whole configuration.  ``source`` says where it came from, for messages."""

    effect: str = "blur"
    """One of the registered effects (vcam.stages.effects.EFFECTS)."""
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
    looks: LooksConfig = field(default_factory=LooksConfig)
    apply: ApplyConfig = field(default_factory=ApplyConfig)
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


def background_spec(text: str, base: Path | None,
                    error: Callable[[str], Exception]) -> str:
    """A background as the config holds it: a colour as written, a path resolved
    (:func:`resolve_path`).  Text starting with ``#`` is a colour, never a file, so a
    mistyped colour says how a colour must look instead of "no such file"."""
    if not text or parse_colour(text) is not None:
        return text
    if meant_as_colour(text):
        raise error(f"{text!r} is not a colour: give {COLOUR_FORMS}")
    return str(resolve_path(text, base))


def _camera(c: TableReader, base: Path | None) -> CameraConfig:
    dc = CameraConfig()
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
    return camera


def _virtual_camera(v: TableReader) -> VirtualCameraConfig:
    dv = VirtualCameraConfig()
    virtual_camera = VirtualCameraConfig(
        name=v.string("name", dv.name),
        device=v.string("device", dv.device),
        fps=v.integer("fps", dv.fps, 0, 240),
        pixel_format=v.choice("pixel_format", dv.pixel_format, PIXEL_FORMATS),
        on_demand=v.boolean("on_demand", dv.on_demand),
    )
    v.reject_unknown()
    return virtual_camera


def parse(data: Mapping[str, Any], source: str, base: Path | None = None) -> Config:
    """Validate a TOML document (already decoded) into a :class:`Config`."""
    d = Config()
    r = TableReader(source, data)
    effect = r.choice("effect", d.effect, effect_names())
    model = ModelChoice(r.choice("model", d.model.value, tuple(m.value for m in ModelChoice)))
    runtime = Runtime(r.choice("runtime", d.runtime.value, tuple(m.value for m in Runtime)))
    mirror = r.boolean("mirror", d.mirror)
    background = background_spec(r.string("background", d.background), base,
                                 lambda m: r.error("background", m))
    raw_bgs = r.get("backgrounds", [])
    if not isinstance(raw_bgs, list) or not all(isinstance(b, str) for b in raw_bgs):
        raise r.error("backgrounds", f"expected a list of paths, got {raw_bgs!r}")
    backgrounds = tuple(resolve_path(b, base) for b in raw_bgs)
    blur = r.integer("blur", d.blur, BLUR_MIN, BLUR_MAX)
    key_colour = r.colour("key_colour", "#00ff00")
    log_level = r.choice("log_level", d.log_level, _LOG_LEVELS)
    camera = _camera(r.table_of("camera"), base)
    virtual_camera = _virtual_camera(r.table_of("virtual_camera"))
    f = r.table_of("refine")
    refine = f.fields_of(RefineConfig, d.refine)
    f.reject_unknown()
    lk = r.table_of("looks")
    looks = lk.fields_of(LooksConfig, d.looks)
    lk.reject_unknown()
    a = r.table_of("apply")
    qualities = tuple(q.value for q in Quality)
    apply = ApplyConfig(quality=Quality(a.choice("quality", d.apply.quality, qualities)),
                        video_quality=Quality(a.choice("video_quality", d.apply.video_quality,
                                                       qualities)))
    a.reject_unknown()
    r.reject_unknown()
    return Config(
        effect=effect, model=model, runtime=runtime, mirror=mirror, background=background,
        backgrounds=backgrounds, blur=blur, key_colour=key_colour, log_level=log_level,
        camera=camera, virtual_camera=virtual_camera, refine=refine, looks=looks, apply=apply,
        source=source,
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


@dataclass(frozen=True)
class Overrides:
    """Command-line values laid over config.toml for one run; None keeps the file's.

    ``vcam run`` and ``vcam apply`` share these, so a flag means the same in both.
    A bad value is a :class:`ConfigError` whose source is the flag (``--blur``).
    """

    effect: str | None = None
    model: ModelChoice | None = None
    runtime: Runtime | None = None
    mirror: bool | None = None
    blur: int | None = None
    background: str | None = None
    """A colour, or a path relative to the working folder (then the bundled assets)."""
    source: str | None = None
    """A camera index, /dev/videoN or a video file, for ``[camera] device``."""
    device: str | None = None
    """The /dev/videoN to publish to, for ``[virtual_camera] device``."""
    pixel_format: str | None = None
    """For ``[virtual_camera] pixel_format``."""
    looks: str | None = None
    """``--looks frame,light=60``: looks on (at a strength), the others as configured;
    ``none``: all off; ``light=0``: that one off."""

    @classmethod
    def from_args(cls, args: Any) -> Overrides:
        """The options of ``vcam run`` or ``vcam apply`` (an argparse namespace, see
        vcam.cli.add_picture_options); an ``--effect`` that is not a registered
        effect (apply's ``mask``) is left to the command."""
        effect = args.effect if args.effect in effect_names() else None
        return cls(effect=effect, model=ModelChoice(args.model) if args.model else None,
                   runtime=Runtime(args.runtime) if args.runtime else None,
                   mirror=getattr(args, "mirror", None), blur=args.blur,
                   background=args.background, source=getattr(args, "source", None),
                   device=getattr(args, "device", None),
                   pixel_format=getattr(args, "pixel_format", None),
                   looks=getattr(args, "looks", None))

    def over(self, cfg: Config, cwd: Path | None = None) -> Config:
        """``cfg`` with these values laid over it."""
        changes: dict[str, Any] = {}
        if self.effect is not None:
            if self.effect not in effect_names():
                raise ConfigError("--effect", "", f"must be one of {', '.join(effect_names())}, "
                                                  f"got {self.effect!r}")
            changes["effect"] = self.effect
        if self.model is not None:
            changes["model"] = self.model
        if self.runtime is not None:
            changes["runtime"] = self.runtime
        if self.mirror is not None:
            changes["mirror"] = self.mirror
        if self.blur is not None:
            if not BLUR_MIN <= self.blur <= BLUR_MAX:
                raise ConfigError("--blur", "", f"must be from {BLUR_MIN} to {BLUR_MAX}, "
                                                f"got {self.blur}")
            changes["blur"] = self.blur
        if self.background:
            changes["background"] = background_spec(
                self.background, cwd or Path.cwd(),
                lambda m: ConfigError("--background", "", m))
        if self.looks is not None:
            try:
                changes["looks"] = cfg.looks.parse_list(self.looks)
            except ValueError as e:
                raise ConfigError("--looks", "", str(e)) from None
        if self.source:
            device: int | str = int(self.source) if self.source.isdigit() else self.source
            changes["camera"] = dataclasses.replace(cfg.camera, device=device)
        virtual = self._virtual_camera(cfg.virtual_camera)
        if virtual != cfg.virtual_camera:
            changes["virtual_camera"] = virtual
        return cfg.replace(**changes)

    def _virtual_camera(self, vc: VirtualCameraConfig) -> VirtualCameraConfig:
        if self.pixel_format is not None:
            if self.pixel_format not in PIXEL_FORMATS:
                raise ConfigError("--pixel-format", "", f"must be one of "
                                  f"{', '.join(PIXEL_FORMATS)}, got {self.pixel_format!r}")
            vc = dataclasses.replace(vc, pixel_format=self.pixel_format)
        if self.device:
            if not self.device.startswith("/dev/video"):
                raise ConfigError("--device", "", f"expected a /dev/videoN path (see `vcam "
                                  f"devices`), got {self.device!r}")
            vc = dataclasses.replace(vc, device=self.device)
        return vc
