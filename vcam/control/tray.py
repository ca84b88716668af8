"""The tray icon and its menu (pystray), over the shared
:class:`~vcam.control.controller.Controller`.

pystray is imported only here and only when a tray is wanted: with no display
``import pystray`` raises ``Xlib.error.DisplayNameError``, and its ``xorg``
backend (the one left when PyGObject is missing) has no menus.  In both cases
:func:`load_pystray` says why and the daemon runs headless.

Menu callbacks run in the tray's main loop (the main thread); they only call
the controller, which swaps the pipeline's config for the next frame.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from PIL import Image

from vcam.config import BLUR_MAX, BLUR_MIN, Config, ModelChoice
from vcam.control.controller import BLUR_LEVELS, Controller, Status, background_label
from vcam.control.icon import draw_icon
from vcam.control.preview import Preview
from vcam.stages.effects import effect_names, get_effect
from vcam.stages.looks import LOOK_LEVELS, LOOKS, look_names
from vcam.system import autostart
from vcam.system.desktop import WAYLAND_TRAY_NOTE, gnome_on_wayland

if TYPE_CHECKING:
    from vcam.control.chooser import BackgroundChooser

log = logging.getLogger(__name__)

INSTALL_HINT = "install PyGObject for a tray menu: scripts/install-tray-deps.sh"
STATUS_EVERY = 1.0
"""Seconds between refreshes of the status line while the tray runs."""


def load_pystray() -> tuple[ModuleType | None, str]:
    """pystray with a backend that has menus, or None and the reason there is none.

    ``PYSTRAY_BACKEND`` (pystray's own variable) picks a backend explicitly.
    The GLib backends also need a D-Bus session bus.
    """
    if (not os.environ.get("PYSTRAY_BACKEND") and sys.platform.startswith("linux")
            and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))):
        return None, "no display"
    try:
        import pystray
    except Exception as e:  # ImportError, or Xlib.error.DisplayNameError with no X server
        return None, f"no tray backend ({type(e).__name__}: {e}); {INSTALL_HINT}"
    if not pystray.Icon.HAS_MENU:
        return None, f"pystray's {backend_name(pystray)} backend has no menus; {INSTALL_HINT}"
    if backend_name(pystray) in ("gtk", "appindicator"):
        from gi.repository import Gio, GLib

        try:
            Gio.bus_get_sync(Gio.BusType.SESSION, None)
        except GLib.Error as e:
            return None, f"no D-Bus session bus ({e.message})"
    return pystray, ""


def backend_name(pystray: ModuleType) -> str:
    """``gtk``, ``appindicator``, ``xorg``, ``dummy``... from pystray's Icon class."""
    name = str(pystray.Icon.__module__).rsplit(".", 1)[-1].lstrip("_")
    return "dummy" if name == "base" else name  # the dummy backend is the bare base class


def starter_config(cfg: Config) -> str:
    """A small config.toml holding the live settings, for "Open config file" when
    there is none yet (the documented full one is config.toml in the sources)."""
    def q(text: str) -> str:
        return json.dumps(text)  # a JSON string is a valid TOML basic string

    lines = [
        "# SelfieCam configuration: edits apply live while vcam runs.",
        "# Every key is documented in config.toml at the top of SelfieCam's sources.",
        "",
        f"effect = {q(cfg.effect)}  # {' | '.join(effect_names())}",
        f"model = {q(cfg.model.value)}  # general | landscape | auto",
        f"mirror = {str(cfg.mirror).lower()}",
        f"background = {q(cfg.background)}",
        "backgrounds = [" + ", ".join(q(str(p)) for p in cfg.backgrounds) + "]",
        f"blur = {cfg.blur}  # {BLUR_MIN} .. {BLUR_MAX}",
    ]
    return "\n".join(lines) + "\n"


def open_in_editor(path: Path) -> None:
    """Open ``path`` with the desktop's default application (xdg-open on Linux)."""
    opener = {"darwin": "open", "win32": ""}.get(sys.platform, "xdg-open")
    if sys.platform == "win32":
        os.startfile(path)  # type: ignore[attr-defined]  # Windows only
        return
    if shutil.which(opener) is None:
        log.warning("cannot open %s: %s is not installed; edit the file yourself", path, opener)
        return
    subprocess.Popen([opener, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)


def _equals(get: Callable[[], object], value: object) -> Callable[[], bool]:
    """A radio item's check: is the live value ``value``?"""
    return lambda: get() == value


def tooltip(status: Status) -> str:
    """The icon's hover text: what is wrong and why, or that all is well."""
    return f"SelfieCam: {status.why()}" if status.error else f"SelfieCam: {status.summary()}"


class TrayError(RuntimeError):
    """The tray could not start; the daemon goes on headless."""


class Tray:
    """The tray icon: ``run(until)`` blocks the calling (main) thread until ``until`` is set.

    ``pystray`` is the module :func:`load_pystray` returned.  Building a Tray
    shows nothing; the menu model is inspectable (``tray.icon.menu``) without
    running it.
    """

    def __init__(self, controller: Controller, pystray: ModuleType) -> None:
        self.controller = controller
        self.backend = backend_name(pystray)
        self._ps = pystray
        self._running = False
        self._failed = False
        self._shown: tuple[str, bool, bool] | None = None
        self._status_t = 0.0
        self._chooser: BackgroundChooser | None = None
        self.preview = Preview(controller, on_change=self.refresh)
        status = controller.status()
        self.icon = pystray.Icon("selfiecam", self._image(), tooltip(status), self._menu())
        controller.subscribe(self.refresh)

    # -- the menu model -------------------------------------------------------
    def _do(self, fn: Callable[..., Any], *args: Any) -> Callable[[], None]:
        """A menu action calling ``fn(*args)``; a refused change is logged, not raised
        into the GUI loop."""
        def action() -> None:
            try:
                fn(*args)
            except ValueError as e:
                log.warning("%s", e)
        return action

    def _radio(self, text: str, action: Callable[[], None],
               checked: Callable[[], bool]) -> Any:
        return self._ps.MenuItem(text, action, checked=lambda _item: checked(), radio=True)

    def _menu(self) -> Any:
        ps, c = self._ps, self.controller
        item, sep = ps.MenuItem, ps.Menu.SEPARATOR
        effects = [self._radio(get_effect(e).label, self._do(c.set_effect, e),
                               _equals(lambda: c.config.effect, e)) for e in effect_names()]
        blur_levels = [self._radio(f"{name} ({v})", self._do(c.set_blur, v),
                                   _equals(lambda: c.config.blur, v))
                       for name, v in BLUR_LEVELS.items()]
        models = [self._radio(m.value.capitalize(), self._do(c.set_model, m),
                              _equals(lambda: c.config.model, m)) for m in ModelChoice]
        return ps.Menu(
            item(lambda _item: self.status_text(), None, enabled=False),
            item(lambda _item: f"Config error: {c.config_error}"[:100], None, enabled=False,
                 visible=lambda _item: bool(c.config_error)),
            sep,
            *effects,
            sep,
            item("Background", ps.Menu(self._background_items)),
            item("Blur strength", ps.Menu(
                *blur_levels,
                item(lambda _item: f"Custom ({c.config.blur})", None, enabled=False,
                     checked=lambda _item: True, radio=True,
                     visible=lambda _item: c.config.blur not in BLUR_LEVELS.values()))),
            item("Looks", self._looks_menu()),
            item("Model", ps.Menu(*models)),
            item("Mirror", self._do(lambda: c.set_mirror(not c.config.mirror)),
                 checked=lambda _item: c.config.mirror),
            item("Pause", self._do(lambda: c.set_paused(not c.paused)),
                 checked=lambda _item: c.paused),
            item("Show preview", self._do(self.preview.toggle),
                 checked=lambda _item: self.preview.shown),
            sep,
            item("Start at login", self._do(self.toggle_autostart),
                 checked=lambda _item: autostart.is_enabled()),
            sep,
            item("Open config file", self._do(self.open_config),
                 enabled=lambda _item: c.config_path is not None),
            item("Reload config", self._do(c.reload),
                 enabled=lambda _item: c.config_path is not None),
            sep,
            item("Quit", self._do(c.quit)),
        )

    def _looks_menu(self) -> Any:
        """A check item per look (vcam.stages.looks), then a strength submenu each."""
        ps, c = self._ps, self.controller
        checks = [ps.MenuItem(LOOKS[n].label, self._do(self.toggle_look, n),
                              checked=lambda _item, n=n: bool(getattr(c.config.looks, n)))
                  for n in look_names()]
        levels = [ps.MenuItem(f"{LOOKS[n].label} strength", ps.Menu(*(
            self._radio(f"{label} ({v})", self._do(functools.partial(c.set_look, n, strength=v)),
                        _equals(functools.partial(self.look_strength, n), v))
            for label, v in LOOK_LEVELS.items()))) for n in look_names()]
        return ps.Menu(*checks, ps.Menu.SEPARATOR, *levels)

    def look_strength(self, name: str) -> int:
        return self.controller.config.looks.strength(name)

    def toggle_look(self, name: str) -> None:
        """A look's check item: switch it the other way."""
        c = self.controller
        c.set_look(name, on=not getattr(c.config.looks, name))

    def _background_items(self) -> list[Any]:
        """The Backgrounds submenu, built each time the menu is (the list can change)."""
        c = self.controller
        item = self._ps.MenuItem
        items = [self._radio(background_label(b), self._do(c.set_background, b),
                             _equals(lambda: c.background, b)) for b in c.backgrounds()]
        return [*items, self._ps.Menu.SEPARATOR,
                item("Next background", self._do(c.step_background, 1)),
                # A GTK dialog needs GTK's main loop: the gtk and appindicator backends run it.
                item("Add background…", self._do(self.add_background),
                     enabled=lambda _item: self.has_gtk and c.config_path is not None),
                item("Remove this background",
                     self._do(lambda: c.remove_background(c.background)),
                     visible=lambda _item: c.background in c.user_backgrounds())]

    @property
    def has_gtk(self) -> bool:
        """The backend runs GTK's main loop (dialogs and windows can open from the menu)."""
        return self.backend in ("gtk", "appindicator")

    def add_background(self) -> None:
        """"Add background…": GTK's file chooser; the choice goes to the controller."""
        from vcam.control.chooser import BackgroundChooser

        if self._chooser is None or not self._chooser.open:
            self._chooser = BackgroundChooser(self.controller.add_background)
        self._chooser.show()

    def status_text(self) -> str:
        """The menu's first line: the state if it is wrong, fps and devices otherwise."""
        status = self.controller.status()
        if status.config_error:
            return f"Config error · {status.summary()}"
        if status.error:
            return f"{status.why()}"[:100]
        return status.summary()

    def toggle_autostart(self) -> None:
        """The "Start at login" item: ``vcam autostart enable`` or ``disable``."""
        lines = autostart.disable() if autostart.is_enabled() else autostart.enable()
        for line in lines:
            log.info("autostart: %s", line)
        self.refresh()

    def open_config(self) -> None:
        path = self.controller.config_path
        if path is None:
            return
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(starter_config(self.controller.config), encoding="utf-8")
            log.info("created %s", path)
        open_in_editor(path)

    # -- keeping the icon current ---------------------------------------------
    def _image(self) -> Image.Image:
        status = self.controller.status()
        self._shown = (self.controller.config.effect, status.paused, status.error)
        return draw_icon(*self._shown)

    def refresh(self) -> None:
        """Redraw the icon if the state changed, and rebuild the menu (status line)."""
        status = self.controller.status()
        if (self.controller.config.effect, status.paused, status.error) != self._shown:
            self.icon.icon = self._image()
        self.icon.title = tooltip(status)
        if self._running:  # a backend builds its native menu only once it runs
            self.icon.update_menu()
        self._status_t = time.monotonic()

    def run(self, until: threading.Event, tick: Callable[[], None] | None = None) -> None:
        """Show the icon and run the tray's loop in this (the main) thread until
        ``until`` is set; ``tick()`` is called every 0.1 s meanwhile, from another thread.
        """
        handler = signal.getsignal(signal.SIGINT)

        def setup(icon: Any) -> None:
            if self._failed:
                return  # the loop never started; run() went on without it
            icon.visible = True
            self._running = True
            self._restore_sigint(handler)
            try:
                while not until.wait(0.1):
                    if tick is not None:
                        tick()
                    if time.monotonic() - self._status_t >= STATUS_EVERY:
                        self.refresh()
            finally:
                self._running = False
                icon.stop()

        log.info("tray icon: pystray %s backend", self.backend)
        try:
            self.icon.run(setup)
        except Exception as e:  # e.g. no notification service while finalising
            if self._running or until.is_set():
                log.debug("tray loop ended with %s: %s", type(e).__name__, e)
                return
            # It failed before it was ready: pystray's setup thread still waits for
            # that (and would keep the process alive); release it, then go headless.
            self._failed = True
            self.icon._mark_ready()
            raise TrayError(f"the tray icon failed to start ({type(e).__name__}: {e})") from e

    def _restore_sigint(self, handler: Any) -> None:
        """pystray's GLib backends set SIGINT to the default action (kill at once);
        put our handler back, from inside the main loop, so Ctrl+C stops cleanly."""
        if not self.has_gtk or not callable(handler):
            return
        from gi.repository import GLib

        def restore() -> bool:
            signal.signal(signal.SIGINT, handler)
            return False  # once
        GLib.idle_add(restore)


def open_tray(controller: Controller) -> Tray | None:
    """A Tray, or None after a one-line notice when there is no usable tray."""
    if gnome_on_wayland():
        # pystray starts fine there, but GNOME shows nothing without the extension.
        log.info("%s", WAYLAND_TRAY_NOTE)
    pystray, reason = load_pystray()
    if pystray is None:
        log.warning("no tray icon: %s; running headless (control it with `vcam ctl`)", reason)
        return None
    try:
        return Tray(controller, pystray)
    except Exception as e:  # a backend that imports but cannot make an icon
        log.warning("no tray icon (%s: %s); running headless (control it with `vcam ctl`)",
                    type(e).__name__, e)
        return None
