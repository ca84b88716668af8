"""Desktop notifications for what a user in a call must know at once: the camera or
the virtual camera lost, and back; a config.toml edit refused.

They go to the freedesktop notification service (``org.freedesktop.Notifications``
on the session bus) through Gio, which PyGObject brings for the tray anyway.
:class:`Notices` decides what is worth a notification: one on a loss and one on
the recovery, never one per retry.  :class:`Notifier` sends them from its own
thread (a D-Bus call must never hold up the camera's or the output's thread) and,
where there is no PyGObject, no session bus or no notification service, says
so once in the log and stays silent: the log and the tray icon still tell.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from dataclasses import dataclass

from vcam.health import Health, State

log = logging.getLogger(__name__)

BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
APP_NAME = "SelfieCam"
ICON = "camera-web"
URGENCY_NORMAL, URGENCY_CRITICAL = 1, 2
TIMEOUT_MS = 3000
"""How long a call to the notification service may take."""


@dataclass(frozen=True)
class Notice:
    summary: str
    body: str = ""
    urgency: int = URGENCY_NORMAL


class Notifier:
    """Sends :class:`Notice`\\ s in the background; :meth:`close` stops its thread."""

    def __init__(self) -> None:
        # Bounded: a hung service loses notices rather than memory.
        self._queue: queue.Queue[Notice | threading.Event | None] = queue.Queue(maxsize=8)
        self._told = False
        self._last_id = 0
        self._thread = threading.Thread(target=self._run, name="vcam-notify", daemon=True)
        self._thread.start()

    def send(self, notice: Notice) -> None:
        """Queue ``notice``; dropped if eight are waiting (a hung service)."""
        try:
            self._queue.put_nowait(notice)
        except queue.Full:
            log.debug("notification dropped (the service is slow): %s", notice.summary)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until what was queued went out; False if that took over ``timeout`` s."""
        done = threading.Event()
        try:
            self._queue.put(done, timeout=timeout)
        except queue.Full:
            return False
        return done.wait(timeout)

    def close(self) -> None:
        """Send what is queued (briefly), then stop the thread."""
        self.flush(1.0)
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass  # stuck in a call: it is a daemon thread, it ends with the process
        self._thread.join(1.0)

    def _run(self) -> None:
        bus = None
        while (item := self._queue.get()) is not None:
            if isinstance(item, threading.Event):
                item.set()
                continue
            try:
                bus = bus or _session_bus()
                self._last_id = _notify(bus, item, self._last_id)
            except Exception as e:  # no gi, no bus, no service: the same for the user
                # Tried again next time (a service may start after SelfieCam, at login),
                # said once.
                if not self._told:
                    log.info("no desktop notifications (%s); the log and the tray icon "
                             "still tell", _why(e))
                self._told = True


def _session_bus() -> object:
    from gi.repository import Gio

    # Read the address now (not Gio's per-process singleton): the bus of this session.
    address = Gio.dbus_address_get_for_bus_sync(Gio.BusType.SESSION, None)
    flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
             | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
    return Gio.DBusConnection.new_for_address_sync(address, flags, None, None)


def _notify(bus: object, notice: Notice, replaces: int) -> int:
    """One ``Notify`` call; returns the notification's id.  Each replaces the last, so
    "camera back" takes the place of "camera lost" instead of piling up."""
    from gi.repository import Gio, GLib

    args = GLib.Variant("(susssasa{sv}i)", (
        APP_NAME, replaces, ICON, notice.summary, notice.body, [],
        {"urgency": GLib.Variant("y", notice.urgency),
         "desktop-entry": GLib.Variant("s", "selfiecam")}, -1))
    reply = bus.call_sync(BUS_NAME, OBJECT_PATH, BUS_NAME, "Notify", args,  # type: ignore[attr-defined]
                          GLib.VariantType("(u)"), Gio.DBusCallFlags.NONE, TIMEOUT_MS, None)
    return int(reply.unpack()[0])


def _why(e: Exception) -> str:
    if isinstance(e, ImportError):
        return "PyGObject is not installed"
    message = getattr(e, "message", None) or str(e)
    if "ServiceUnknown" in message or "not provided by any" in message:
        return f"no {BUS_NAME} service on the session bus"
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS") and not os.environ.get("XDG_RUNTIME_DIR"):
        return "no D-Bus session bus"
    return message


class Notices:
    """Turns health changes and config errors into notices: one when the camera or the
    virtual camera is lost, one when it is back, one for each refused config edit."""

    LOST = {State.CAMERA_LOST: ("Camera lost", "Reconnecting; the call sees a "
                                               "'Camera lost' picture meanwhile."),
            State.OUTPUT_LOST: ("Virtual camera gone", "SelfieCam's device vanished; "
                                                       "reconnecting.")}
    BACK = {State.CAMERA_LOST: "Camera back", State.OUTPUT_LOST: "Virtual camera back"}

    @staticmethod
    def _back(lost: State, now: State) -> bool:
        """Is the part lost as ``lost`` back, the pipeline now being ``now``?  The camera
        only once frames come (idle or paused, it is merely released); the virtual
        camera as soon as anything but its loss shows (it is back even if idle)."""
        if lost is State.CAMERA_LOST:
            return now is State.LIVE
        return now not in (State.OUTPUT_LOST, State.FAILED)

    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier
        self._lock = threading.Lock()
        self._lost: list[State] = []
        self._config_error = ""

    def on_health(self, health: Health) -> None:
        """A pipeline health listener (called from the thread that saw the change)."""
        with self._lock:
            back = [s for s in self._lost if self._back(s, health.state)]
            self._lost = [s for s in self._lost if s not in back]
            notices = [Notice(self.BACK[s]) for s in back]
            if health.state in self.LOST and health.state not in self._lost:
                self._lost.append(health.state)
                summary, body = self.LOST[health.state]
                notices.append(Notice(summary, f"{body}\n{health.detail}".strip(),
                                      URGENCY_CRITICAL))
        for notice in notices:
            self._notifier.send(notice)

    def on_config_error(self, error: str) -> None:
        """The controller's config error now ("" when the file is fine again)."""
        with self._lock:
            new = bool(error) and error != self._config_error
            self._config_error = error
        if new:
            self._notifier.send(Notice("config.toml not applied",
                                       f"{error}\nThe running settings stay.", URGENCY_NORMAL))
