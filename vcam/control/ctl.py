"""``vcam ctl``: drive a running SelfieCam over a Unix socket.

The daemon listens on ``$XDG_RUNTIME_DIR/selfiecam/ctl.sock`` (mode 0600, in
a folder only the user can enter) and also checks each peer's uid with
``SO_PEERCRED``: only the user who started it may change it.  One request per
connection, one JSON line each way::

    -> {"command": "effect", "arg": "blur"}
    <- {"ok": true, "message": "effect: blur", "status": {...}}
    <- {"ok": false, "error": "unknown effect 'sparkle'; one of: none, ..."}

The client side runs in a hotkey's short-lived process, so nothing here loads a
model or a GUI toolkit; only :func:`commands` reads the effect registry.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import struct
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vcam.control.controller import Controller

log = logging.getLogger(__name__)

SOCKET_NAME = "ctl.sock"
MAX_MESSAGE = 4096
"""Longest request line accepted, in bytes; a longer one gets an error reply."""
READ_TIMEOUT = 0.5
"""Seconds a client may take to send its request line."""

def commands() -> dict[str, str | None]:
    """The commands and the argument each takes (None: no argument); the effects
    and the blur range come from their one definition."""
    from vcam.config import BLUR_MAX, BLUR_MIN, ModelChoice
    from vcam.stages.effects import effect_names
    from vcam.stages.looks import STRENGTH_MAX, look_names

    return {
        "effect": "|".join(effect_names()),
        "background": "next|previous|PATH|COLOUR",
        "blur": f"{BLUR_MIN}..{BLUR_MAX}",
        "model": "|".join(m.value for m in ModelChoice),
        "mirror": "on|off|toggle",
        **{look: f"on|off|toggle|0..{STRENGTH_MAX}" for look in look_names()},
        "pause": None,
        "resume": None,
        "reload": None,
        "status": None,
        "quit": None,
    }


class CtlError(RuntimeError):
    """A control connection failed; the message says why and what to do."""


def socket_path() -> Path:
    """Where the control socket lives for this user: ``ctl.sock`` in the private
    runtime folder (``$XDG_RUNTIME_DIR/selfiecam``, mode 0700)."""
    from vcam.system.instance import runtime_dir

    try:
        return runtime_dir() / SOCKET_NAME
    except OSError as e:
        raise CtlError(f"no runtime folder for the control socket: {e}") from None


def peer_uid(conn: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket (SO_PEERCRED)."""
    fmt = "3i"  # struct ucred: pid, uid, gid
    raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize(fmt))
    return int(struct.unpack(fmt, raw)[1])


def check_peer(conn: socket.socket, expected_uid: int) -> None:
    """Raise :class:`CtlError` unless the peer runs as ``expected_uid``."""
    uid = peer_uid(conn)
    if uid != expected_uid:
        raise CtlError(f"refused: the connection comes from uid {uid}, "
                       f"this SelfieCam belongs to uid {expected_uid}")


def _on_off(arg: str, current: bool) -> bool:
    value = {"on": True, "off": False, "toggle": not current}.get(arg.lower())
    if value is None:
        raise ValueError(f"expected on, off or toggle, got {arg!r}")
    return value


def execute(controller: Controller, command: str, arg: str) -> str:
    """Carry out one command; returns the reply message.  Raises ValueError
    (ControlError is one) with a message for the user when it cannot."""
    from vcam.control.controller import background_label

    known = commands()
    if command not in known:
        raise ValueError(f"unknown command {command!r}; one of: {', '.join(known)}")
    takes = known[command]
    if takes and not arg:
        raise ValueError(f"{command} needs an argument: {takes}")
    if not takes and arg:
        raise ValueError(f"{command} takes no argument, got {arg!r}")
    if command == "effect":
        controller.set_effect(arg)
        return f"effect: {arg}"
    if command == "background":
        if arg in ("next", "previous"):
            new = controller.step_background(1 if arg == "next" else -1)
        else:
            controller.set_background(arg)
            new = controller.background
        return f"background: {background_label(new)}"
    if command == "blur":
        if not arg.isdigit():
            raise ValueError(f"blur takes a whole number {known['blur']}, got {arg!r}")
        controller.set_blur(int(arg))
        return f"blur: {int(arg)}"
    if command == "model":
        controller.set_model(arg)
        return f"model: {arg}"
    if command == "mirror":
        controller.set_mirror(_on_off(arg, controller.config.mirror))
        return f"mirror: {'on' if controller.config.mirror else 'off'}"
    if command in _looks():
        return _set_look(controller, command, arg)
    if command in ("pause", "resume"):
        controller.set_paused(command == "pause")
        return "paused" if command == "pause" else "resumed"
    if command == "reload":
        if not controller.reload():
            raise ValueError(f"config not applied: {controller.config_error}")
        return f"reloaded {controller.config_path}"
    if command == "quit":
        controller.quit()
        return "stopping"
    return "ok"  # status: the reply carries it


def _looks() -> tuple[str, ...]:
    from vcam.stages.looks import look_names

    return look_names()


def _set_look(controller: Controller, name: str, arg: str) -> str:
    """``frame on``, ``light 60`` (on at 60), ``touchup 0`` (off)."""
    if arg.isdigit():
        level = int(arg)
        controller.set_look(name, on=level > 0, strength=level if level > 0 else None)
    else:
        controller.set_look(name, on=_on_off(arg, getattr(controller.config.looks, name)))
    looks = controller.config.looks
    return f"{name}: on ({looks.strength(name)})" if getattr(looks, name) else f"{name}: off"


class ControlServer:
    """Answers ``vcam ctl`` on the control socket, in one thread, until ``close()``."""

    def __init__(self, controller: Controller, path: Path | None = None) -> None:
        self.controller = controller
        self.path = path or socket_path()
        self.uid = os.getuid()
        self._stop = threading.Event()
        self._sock = self._bind()
        self._thread = threading.Thread(target=self._serve, name="vcam-ctl", daemon=True)

    def _bind(self) -> socket.socket:
        if self.path.exists() or self.path.is_symlink():
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.settimeout(0.5)
                probe.connect(str(self.path))
            except OSError:
                self.path.unlink()  # left behind by a daemon that died
            else:
                raise CtlError(f"another SelfieCam already answers on {self.path}")
            finally:
                probe.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(self.path))
            os.chmod(self.path, 0o600)
            sock.listen(8)
        except OSError as e:
            sock.close()
            raise CtlError(f"cannot listen on {self.path}: {e}") from None
        sock.settimeout(0.2)  # so the loop sees close() promptly
        return sock

    def start(self) -> None:
        self._thread.start()
        log.info("control socket: %s (vcam ctl ...)", self.path)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError as e:
                if not self._stop.is_set():
                    log.error("control socket failed: %s", e)
                return
            with conn:
                try:
                    reply = self._handle(conn)
                except CtlError as e:
                    log.warning("%s", e)
                    reply = {"ok": False, "error": str(e)}
                try:
                    conn.sendall(json.dumps(reply).encode() + b"\n")
                except OSError:
                    pass  # the client went away; nothing to tell it

    def _handle(self, conn: socket.socket) -> dict[str, Any]:
        check_peer(conn, self.uid)
        conn.settimeout(READ_TIMEOUT)
        data = b""
        try:
            while b"\n" not in data and len(data) <= MAX_MESSAGE:
                chunk = conn.recv(MAX_MESSAGE)
                if not chunk:
                    break
                data += chunk
        except (TimeoutError, OSError):
            return {"ok": False, "error": "no complete request line within "
                                          f"{READ_TIMEOUT:g} s"}
        line = data.split(b"\n", 1)[0]
        if len(line) > MAX_MESSAGE:
            return {"ok": False, "error": f"request too long (more than {MAX_MESSAGE} bytes)"}
        try:
            request = json.loads(line)
            command, arg = request["command"], request.get("arg") or ""
            if not isinstance(command, str) or not isinstance(arg, str):
                raise TypeError("command and arg must be strings")
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            return {"ok": False, "error": f"malformed request ({e}); expected one JSON line "
                                          f'like {{"command": "effect", "arg": "blur"}}'}
        try:
            message = execute(self.controller, command, arg)
        except ValueError as e:
            return {"ok": False, "error": str(e)}
        status = json.loads(self.controller.status().to_json())
        return {"ok": True, "message": message, "status": status}

    def close(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(1.0)
        self._sock.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def request(command: str, arg: str = "", path: Path | None = None,
            timeout: float = 3.0) -> dict[str, Any]:
    """Send one command to the running daemon and return its reply."""
    line = json.dumps({"command": command, "arg": arg}).encode() + b"\n"
    return exchange(path or socket_path(), line, timeout)


def exchange(path: Path, payload: bytes, timeout: float = 3.0) -> dict[str, Any]:
    """Send ``payload`` as it is and read the daemon's one-line JSON reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise CtlError(f"no SelfieCam is running (nothing answers on {path}); "
                           f"start it with `vcam run`") from None
        except PermissionError:
            raise CtlError(f"cannot connect to {path}: permission denied "
                           f"(it belongs to another user)") from None
        try:
            sock.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before it read it all: the reason is waiting to be read
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    try:
        reply: dict[str, Any] = json.loads(data)
    except ValueError:
        raise CtlError(f"the daemon closed the connection without a reply "
                       f"({len(data)} bytes)") from None
    return reply


def format_status(status: dict[str, Any]) -> str:
    """``vcam ctl status`` for people: one ``key: value`` per line."""
    lines = [f"{k}: {v}" for k, v in status.items() if k != "config_error"]
    if status.get("config_error"):
        lines.append(f"config error: {status['config_error']}")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """The ``vcam ctl`` command; exit 0 done, 1 refused or not running."""
    try:
        reply = request(args.action, args.value or "")
    except (CtlError, OSError) as e:
        print(f"vcam ctl: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(reply))
    elif not reply.get("ok"):
        print(f"vcam ctl: {reply.get('error', 'failed')}", file=sys.stderr)
    elif args.action == "status":
        print(format_status(reply["status"]))
    else:
        print(reply.get("message", "ok"))
    return 0 if reply.get("ok") else 1
