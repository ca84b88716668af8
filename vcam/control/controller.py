"""The live state of a running SelfieCam, and the one place that changes it.

The tray menu, ``vcam ctl`` (over the control socket), the config-file watcher
and the preview window's keys all call a :class:`Controller`; it makes a new
:class:`~vcam.config.Config` for each change and hands it to the pipeline,
which applies it from the next frame.  Nothing restarts: not the camera, not
the virtual camera.  Listeners (the tray) are told after every change.
"""

from __future__ import annotations

import enum
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from vcam import assets_dir
from vcam.colours import COLOUR_FORMS, hex_colour, meant_as_colour, parse_colour
from vcam.config import BLUR_MAX, BLUR_MIN, Config, ModelChoice, load
from vcam.control.userconfig import add_background, remove_background
from vcam.errors import ConfigError
from vcam.health import Health, HealthCallback, State, overall
from vcam.stages.effects import effect_names, get_effect
from vcam.stages.media import MEDIA_EXTENSIONS

if TYPE_CHECKING:
    from vcam.live.pipeline import Stats
    from vcam.live.viewers import Viewers

log = logging.getLogger(__name__)

LIVE_FIELDS = ("effect", "model", "mirror", "background", "backgrounds", "blur", "key_colour",
               "log_level", "refine", "looks")
"""Config fields that change on the next frame; camera and virtual camera need a restart."""

BACKGROUND_EFFECT = "replace"
"""What choosing a background switches to: choosing one means wanting to see it."""

BLUR_LEVELS = {"Light": 6, "Medium": 12, "Strong": 25, "Heavy": 50}
"""The blur strengths the tray offers (config.toml and ``vcam ctl blur`` take any in
BLUR_MIN..BLUR_MAX)."""


class ControlError(ValueError):
    """A control request cannot be carried out; the message says what is allowed."""


class Target(Protocol):
    """What the controller drives: :class:`vcam.live.pipeline.Pipeline` is one."""

    done: threading.Event
    stats: Stats
    viewers: Viewers

    @property
    def health(self) -> Health: ...

    def add_health_listener(self, listener: HealthCallback) -> None: ...

    @property
    def config(self) -> Config: ...

    @property
    def paused(self) -> bool: ...

    def configure(self, cfg: Config) -> None: ...

    def set_paused(self, paused: bool) -> None: ...


@dataclass(frozen=True)
class Status:
    """A snapshot of the running state, for the tray's status line and ``vcam ctl status``."""

    effect: str
    background: str
    blur: int
    model: str
    mirror: bool
    paused: bool
    fps: float
    published: int
    camera: str
    output: str
    pixel_format: str
    """What the virtual camera carries (the running config's; Zoom may need i420)."""
    state: str
    """A :class:`~vcam.health.State`: live, starting, idle, paused, camera lost, ..."""
    detail: str
    """What goes with the state: the error, the device, when it is retried."""
    config: str
    config_error: str
    looks: str = "none"
    """The looks switched on, with their strengths: ``frame 50, light 75``, or ``none``."""

    @property
    def health(self) -> Health:
        return Health(State(self.state), self.detail)

    @property
    def error(self) -> bool:
        """Something the user should look at (the tray's error badge)."""
        return State(self.state).is_error

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    def summary(self) -> str:
        """One line for the tray: fps, camera, device."""
        state = self.state if self.state != State.LIVE else f"{self.fps:.0f} fps"
        return f"{state} · {self.camera} · {self.output}"

    def why(self) -> str:
        """The state and its detail in one line: ``virtual camera lost: ... (retrying in 1 s)``."""
        return str(self.health)


def bundled_backgrounds() -> list[Path]:
    """The images and videos in the bundled ``assets/backgrounds/``."""
    folder = assets_dir() / "backgrounds"
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in MEDIA_EXTENSIONS) \
        if folder.is_dir() else []


def canonical(spec: str) -> str:
    """A background spelt one way: a colour as is, an existing file as its resolved path."""
    if not spec or parse_colour(spec) is not None:
        return spec
    path = Path(spec).expanduser()
    return str(path.resolve()) if path.exists() else spec


def background_label(spec: str) -> str:
    """How a background is named in menus: a colour as ``#rrggbb``, a file by its name."""
    return f"Colour {spec}" if parse_colour(spec) is not None else Path(spec).name


class Controller:
    """Owns the live Config and applies changes to the pipeline; safe from any thread.

    ``config_path`` is the config.toml being watched (it may not exist yet);
    ``camera`` and ``output`` name the running devices for the status line, briefly.
    """

    def __init__(self, target: Target, config_path: Path | None, *, camera: str = "",
                 output: str = "") -> None:
        self._target = target
        self._lock = threading.RLock()
        self._listeners: list[Callable[[], None]] = []
        self.config_path = config_path
        self.camera = camera
        self.output = output
        self.config_error = ""
        self._file_cfg = self._read_file_quietly()
        self._rate_t, self._rate_n = time.monotonic(), 0
        self._fps = 0.0
        # A lost camera or virtual camera shows in the tray at once, not at its next poll.
        target.add_health_listener(lambda _health: self._notify())

    # -- reading --------------------------------------------------------------
    @property
    def config(self) -> Config:
        return self._target.config

    @property
    def paused(self) -> bool:
        return self._target.paused

    @property
    def viewers(self) -> Viewers:
        """Where a preview window joins the frames the virtual camera gets."""
        return self._target.viewers

    def backgrounds(self) -> list[str]:
        """What the Backgrounds menu and ``background next`` cycle through, in order:
        the configured ones, then the bundled ones, then the current one if it is
        neither (a colour, say)."""
        cfg = self.config
        seen = dict.fromkeys(canonical(str(p)) for p in (*cfg.backgrounds,
                                                          *bundled_backgrounds()))
        current = canonical(cfg.background)
        if current and current not in seen:
            seen[current] = None
        return list(seen)

    @property
    def background(self) -> str:
        """The current background, spelt as in :meth:`backgrounds`."""
        return canonical(self.config.background)

    def status(self) -> Status:
        """The running state now; fps is measured over the last few seconds."""
        cfg = self.config
        published = self._target.stats.published
        with self._lock:
            now = time.monotonic()
            if now - self._rate_t >= 0.5:
                self._fps = (published - self._rate_n) / (now - self._rate_t)
                self._rate_t, self._rate_n = now, published
            fps = self._fps
        health = overall([self._target.health, Health(State.CONFIG_ERROR, self.config_error)
                          if self.config_error else None])
        return Status(
            effect=cfg.effect, background=cfg.background, blur=cfg.blur,
            model=cfg.model.value, mirror=cfg.mirror, paused=self.paused,
            fps=round(fps, 1), published=published, camera=self.camera, output=self.output,
            pixel_format=cfg.virtual_camera.pixel_format, state=health.state.value,
            detail=health.detail, config=self._config_shown(), config_error=self.config_error,
            looks=str(cfg.looks))

    def _config_shown(self) -> str:
        """The config file for the status: a file that is not there is not "in use"."""
        path = self.config_path
        if path is None:
            return ""
        return str(path) if path.exists() else f"{path} (not created yet: defaults in use)"

    # -- changing -------------------------------------------------------------
    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every change (from the thread that made it)."""
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # a broken listener must not undo the change
                log.exception("state listener failed")

    def _apply(self, **changes: Any) -> None:
        with self._lock:
            cfg = self.config.replace(**changes)
            self._target.configure(cfg)
        log.info("live: %s", ", ".join(f"{k}={_show(v)}" for k, v in changes.items()))
        self._notify()

    def set_effect(self, effect: str) -> None:
        if effect not in effect_names():
            raise ControlError(f"unknown effect {effect!r}; one of: {', '.join(effect_names())}")
        self._apply(effect=effect)

    def set_background(self, spec: str) -> None:
        """Show ``spec`` (a colour, or an image or video path) and switch to ``replace``:
        choosing a background means wanting to see it."""
        if meant_as_colour(spec) and parse_colour(spec) is None:
            raise ControlError(f"background {spec!r} is not a colour: give {COLOUR_FORMS}")
        if parse_colour(spec) is None:
            path = Path(spec).expanduser()
            if not path.is_file():
                raise ControlError(f"background {spec!r}: no such file (give an image or "
                                   f"video path, a colour like '#336699', next or previous)")
            spec = str(path.resolve())
        self._apply(background=spec, effect=BACKGROUND_EFFECT)

    def user_backgrounds(self) -> list[str]:
        """The backgrounds config.toml lists (those "Remove this background" may take out)."""
        return [canonical(str(p)) for p in self.config.backgrounds]

    def _file_backgrounds(self, file_cfg: Config) -> dict[str, Any]:
        """Take the file's new ``backgrounds`` as read: the watcher, reading the file
        this wrote, then finds nothing new in it (no reload of its own)."""
        self._file_cfg = (self._file_cfg or Config()).replace(backgrounds=file_cfg.backgrounds)
        return {"backgrounds": file_cfg.backgrounds}

    def _writable_config(self) -> Path:
        if self.config_path is None:
            raise ControlError("no config file to keep the background in (start vcam with "
                               "--config PATH, or without it for ~/.config/selfiecam)")
        return self.config_path

    def add_background(self, path: Path) -> None:
        """Show the image or video ``path`` now and append it to config.toml's
        ``backgrounds`` (the tray's "Add background…").  ControlError if it is no
        image or video; ConfigError (file and key named) if config.toml is not valid
        as it stands, which is then left as it is."""
        config_path = self._writable_config()
        path = path.expanduser().resolve()
        if not path.is_file() or path.suffix.lower() not in MEDIA_EXTENSIONS:
            raise ControlError(f"{path} is not an image or video file (one of "
                               f"{', '.join(sorted(MEDIA_EXTENSIONS))})")
        with self._lock:
            changes = self._file_backgrounds(add_background(config_path, path))
            changes["background"] = str(path)
            if not get_effect(self.config.effect).needs_background:
                log.info("effect %s shows no background; switching to %s to show %s",
                         self.config.effect, BACKGROUND_EFFECT, path.name)
                changes["effect"] = BACKGROUND_EFFECT
            self._apply(**changes)
        log.info("added %s to backgrounds in %s", path, config_path)

    def remove_background(self, spec: str) -> None:
        """Take ``spec`` out of config.toml's ``backgrounds``; if it is showing, the one
        after it in :meth:`backgrounds` shows instead (as "next" would)."""
        config_path = self._writable_config()
        target = canonical(spec)
        with self._lock:
            choices = self.backgrounds()
            changes = self._file_backgrounds(remove_background(config_path, Path(target)))
            if self.background == target:
                rest = [c for c in choices if c != target]
                i = choices.index(target) if target in choices else 0
                changes["background"] = rest[i % len(rest)] if rest else Config().background
            self._apply(**changes)
        log.info("removed %s from backgrounds in %s", target, config_path)

    def step_background(self, step: int = 1) -> str:
        """Move ``step`` places through :meth:`backgrounds` (wrapping); returns the new one."""
        with self._lock:
            choices = self.backgrounds()
            current = self.background
            i = choices.index(current) if current in choices else -1
            new = choices[(i + step) % len(choices)]
            self.set_background(new)
        return new

    def set_blur(self, blur: int) -> None:
        if not BLUR_MIN <= blur <= BLUR_MAX:
            raise ControlError(f"blur must be from {BLUR_MIN} to {BLUR_MAX}, got {blur}")
        self._apply(blur=blur)

    def set_look(self, name: str, *, on: bool | None = None, strength: int | None = None) -> None:
        """Switch look ``name`` on or off and/or set its strength; ValueError if not allowed."""
        self._apply(looks=self.config.looks.with_look(name, on=on, strength=strength))

    def set_model(self, model: ModelChoice | str) -> None:
        self._apply(model=_member(ModelChoice, model, "model"))

    def set_mirror(self, mirror: bool) -> None:
        self._apply(mirror=mirror)

    def set_paused(self, paused: bool) -> None:
        """Paused: the camera is released (its light goes off) and a still frame is sent."""
        self._target.set_paused(paused)
        log.info("live: %s", "paused" if paused else "resumed")
        self._notify()

    def quit(self) -> None:
        """Stop the daemon (the run loop sees the pipeline done and shuts everything down)."""
        log.info("quit requested")
        self._target.done.set()

    # -- config file ----------------------------------------------------------
    def _read_file_quietly(self) -> Config | None:
        if self.config_path is None or not self.config_path.exists():
            return None
        try:
            return load(self.config_path)
        except ConfigError:
            return None  # the first load already reported it, or the watcher will

    def reload(self, *, edits_only: bool = False) -> bool:
        """Read the config file again and apply it; False if it is bad (the running
        settings stay, and the error shows in the log and the tray).

        ``edits_only`` (the file watcher) applies only the keys that changed in the
        file since it was last read, so a tray choice or a command-line flag stays
        until the file itself says otherwise; a plain reload takes every live key
        from the file.
        """
        path = self.config_path
        if path is None:
            raise ControlError("no config file to reload (start vcam with --config PATH, "
                               "or create ~/.config/selfiecam/config.toml)")
        if not path.exists():
            if edits_only:
                log.info("%s was removed; keeping the running settings", path)
                return True
            raise ControlError(f"{path} does not exist; nothing to reload")
        try:
            new = load(path)
        except ConfigError as e:
            self.config_error = str(e)
            log.error("config not applied, keeping the running settings: %s", e)
            self._notify()
            return False
        with self._lock:
            old = self._file_cfg or Config()
            fields = [f for f in LIVE_FIELDS
                      if not edits_only or getattr(new, f) != getattr(old, f)]
            for part in ("camera", "virtual_camera"):
                if getattr(new, part) != getattr(old, part):
                    log.warning("config: [%s] changed; restart vcam to apply it", part)
            self._file_cfg = new
            self.config_error = ""
            changes = {f: getattr(new, f) for f in fields
                       if getattr(new, f) != getattr(self.config, f)}
            if "log_level" in changes:
                logging.getLogger().setLevel(new.log_level.upper())
            if changes:
                self._apply(**changes)
            else:
                log.info("config %s read; nothing to change", path)
                self._notify()
        return True


E = TypeVar("E", bound=enum.StrEnum)


def _member(kind: type[E], value: E | str, what: str) -> E:
    try:
        return kind(value)
    except ValueError:
        raise ControlError(f"unknown {what} {value!r}; one of: "
                           f"{', '.join(m.value for m in kind)}") from None


def _show(value: object) -> str:
    if isinstance(value, ModelChoice):
        return value.value
    if isinstance(value, tuple) and len(value) == 3 and all(isinstance(c, int) for c in value):
        return hex_colour(value)
    if isinstance(value, tuple):  # backgrounds: by name, as the menu shows them
        return "[" + ", ".join(Path(p).name for p in value) + "]"
    return str(value)
