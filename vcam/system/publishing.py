"""``vcam doctor``'s "publishing" check: the facts the Zoom and Chrome fixes in the
README depend on.  Which pixel format goes out (Zoom shows black for some; I420
fixes it), every SelfieCam device with its ``exclusive_caps`` (Chrome lists a
loopback device only with it on; some Zoom versions only with it off), and
whether SelfieCam is publishing right now, asked of the running daemon.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vcam.config import Config
from vcam.system.devices import Kind, VideoDevice

Ask = Callable[[], dict[str, Any] | None]
"""The running daemon's ``vcam ctl status`` (its ``status`` object), None if none runs."""
ZOOM_HINT = "Zoom lists no SelfieCam: sudo scripts/setup-v4l2loopback.sh --zoom-device"


def ask_daemon() -> dict[str, Any] | None:
    """``vcam ctl status`` of the running SelfieCam, or None when none answers."""
    # The client half of vcam.control.ctl only: no model, no GUI toolkit.
    from vcam.control.ctl import CtlError, request

    try:
        reply = request("status", timeout=2.0)
    except (CtlError, OSError):
        return None
    status = reply.get("status") if reply.get("ok") else None
    return status if isinstance(status, dict) else None


def _caps(device: VideoDevice) -> str:
    if device.exclusive_caps is None:
        return "exclusive_caps unknown"
    return ("exclusive_caps=1 (Chrome and WebRTC apps list it)" if device.exclusive_caps
            else "exclusive_caps=0 (for Zoom; Chrome does not list it)")


def ours(cfg: Config, devices: list[VideoDevice]) -> list[VideoDevice]:
    """The v4l2loopback devices whose label starts with the configured name
    (``SelfieCam``, ``SelfieCam-Zoom``), and the configured device itself."""
    name = cfg.virtual_camera.name
    return [d for d in devices if (d.kind is Kind.VIRTUAL and d.label.startswith(name))
            or d.path == cfg.virtual_camera.device]


def check_publishing(cfg: Config, devices: list[VideoDevice], ask: Ask = ask_daemon
                     ) -> tuple[str, str]:
    """(finding, hint): the pixel format in use, each SelfieCam device's exclusive_caps,
    and what the running daemon publishes to now."""
    status = ask()
    if status is None:
        running = "SelfieCam is not running"
        fmt = f"pixel format {cfg.virtual_camera.pixel_format} (from the config)"
    else:
        running = (f"SelfieCam is publishing now to {status.get('output', '?')} "
                   f"({status.get('state', '?')}, {status.get('published', 0)} frames sent)")
        fmt = f"pixel format {status.get('pixel_format', '?')} (in use)"
    mine = ours(cfg, devices)
    listed = "; ".join(f"{d.path} {d.label!r} {_caps(d)}" for d in mine) or \
        f"no {cfg.virtual_camera.name} device"
    hints = []
    if (status or {}).get("pixel_format", cfg.virtual_camera.pixel_format) != "i420":
        hints.append("Zoom shows black: --pixel-format i420 (or pixel_format = \"i420\" "
                     "in [virtual_camera])")
    if mine and all(d.exclusive_caps for d in mine):
        hints.append(ZOOM_HINT)
    return f"{fmt}; {listed}; {running}", "\n".join(hints)
