"""``vcam doctor``: check what ``vcam run`` needs and say how to fix what is missing.

Each check gives ``ok``, ``warn`` (SelfieCam runs, but something is off) or
``FAIL`` (``vcam run`` would not start) with a one-line finding and the fix.
The exit code is 0 only when no check failed.  Modules that need OpenCV are
imported inside their checks, so a broken OpenCV install is reported, not a
traceback.
"""

from __future__ import annotations

import argparse
import enum
import errno
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from vcam.config import Config, ConfigError, load_default, user_config_path

if TYPE_CHECKING:
    from vcam.system.devices import VideoDevice
    from vcam.system.publishing import Ask

OPENCV_FIX = "pip install --force-reinstall --no-deps opencv-contrib-python"
VIDEO_GROUP_FIX = "sudo usermod -aG video $USER, then log out and back in"
PYGOBJECT_FIX = ("sudo apt install libgirepository1.0-dev libcairo2-dev pkg-config "
                 "gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1\n"
                 'pip install "PyGObject<3.51" pycairo')


class Status(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    """One finding: ``fix`` says what to do when ``status`` is not ok."""

    name: str
    status: Status
    detail: str
    fix: str = ""


def check_config(explicit: Path | None) -> tuple[Check, Config]:
    """The config file in use and whether it is valid (the defaults stand in when it is not)."""
    where = explicit or user_config_path()
    try:
        cfg = load_default(explicit)
    except ConfigError as e:
        return Check("config", Status.FAIL, str(e),
                     f"edit {e.source} (the message says what is allowed), or move it aside "
                     f"to run with the defaults"), Config()
    if explicit is None and not where.exists():
        return Check("config", Status.OK,
                     f"no config file, using the defaults (settings go in {where})"), cfg
    return Check("config", Status.OK, f"{cfg.source} is valid"), cfg


def _open_fix(device: VideoDevice) -> str:
    """What to do about a device node that would not open, by its errno."""
    if device.open_errno in (errno.EACCES, errno.EPERM):
        return VIDEO_GROUP_FIX
    if device.open_errno == errno.ENOENT:
        return (f"{device.path} is in sysfs but not in /dev: in a container, pass it through "
                f"(docker run --device {device.path}); otherwise replug or reload its driver")
    if device.open_errno == errno.EBUSY:
        return "another program holds it exclusively: close it (see `vcam devices`)"
    return "see `sudo dmesg | tail` for the driver's complaint"


def _camera_path(spec: int | str) -> str:
    if isinstance(spec, int) or spec.isdigit():
        return f"/dev/video{spec}"
    return os.path.realpath(spec)


def check_camera(cfg: Config, devices: list[VideoDevice],
                 held: Callable[[str], list[str]]) -> Check:
    """The camera ``vcam run`` will open (``camera.device``), and what else is there."""
    from vcam.stages.capture import is_file_source
    from vcam.system.devices import Kind, describe_modes

    spec = cfg.camera.device
    cameras = [d for d in devices if d.kind is Kind.CAMERA]
    listed = ", ".join(f"{d.path} ({d.label})" for d in cameras) or "none"
    config_file = cfg.source if cfg.source != Config().source else user_config_path()
    setting = f"camera.device in {config_file}"
    if is_file_source(spec):
        if Path(str(spec)).is_file():
            return Check("camera", Status.OK, f"camera.device is a video file, {spec} (looped); "
                                              f"cameras here: {listed}")
        return Check("camera", Status.FAIL, f"camera.device is {spec!r}: no such video file",
                     f"set {setting} to a camera (see `vcam devices`) or an existing video")
    path = _camera_path(spec)
    target = next((d for d in devices if d.path == path), None)
    if target is None:
        if not cameras:
            return Check("camera", Status.FAIL, f"no camera found (camera.device is {spec!r})",
                         "plug in a webcam and check that it is listed by `vcam devices`; "
                         "`vcam run --demo` works without one")
        return Check("camera", Status.FAIL, f"camera.device {spec!r}: {path} does not exist; "
                                            f"cameras here: {listed}",
                     f'set {setting} to "{cameras[0].path}"')
    if target.kind in (Kind.VIRTUAL, Kind.OTHER):
        what = "a virtual output" if target.kind is Kind.VIRTUAL else "not a capture device"
        return Check("camera", Status.FAIL,
                     f"camera.device {spec!r} is {path} ({target.label}), {what}; "
                     f"cameras here: {listed}",
                     f'set {setting} to "{cameras[0].path}"' if cameras else
                     "plug in a webcam; `vcam run --demo` works without one")
    if target.error:
        return Check("camera", Status.FAIL, target.error, _open_fix(target))
    detail = f"{path} ({target.label}, {target.driver or 'driver unknown'})"
    if target.modes:
        detail += f": {describe_modes(target.modes, most=4)}"
    holders = held(path)
    others = [h for h in holders if "vcam" not in h]
    if len(others) < len(holders):
        detail += f"; SelfieCam has it open ({', '.join(h for h in holders if 'vcam' in h)})"
    want = (cfg.camera.width, cfg.camera.height)
    if target.modes and want not in {(m.width, m.height) for m in target.modes}:
        return Check("camera", Status.WARN,
                     detail + f"; it has no {want[0]}x{want[1]} mode, so it will pick another",
                     f"set camera.width/height in {config_file} to one of its sizes")
    if others:
        return Check("camera", Status.WARN, detail + f"; in use by {', '.join(others)}",
                     "close that program if SelfieCam reports the camera busy")
    return Check("camera", Status.OK, detail)


NO_MODULES_FIX = ("use a distribution kernel (one that loads modules, as a normal desktop "
                  "install has), or a kernel with v4l2loopback built in; meanwhile "
                  "`vcam run --output window` or `--output FILE.mp4` work")


def check_virtual_camera(cfg: Config, devices: list[VideoDevice],
                         held: Callable[[str], list[str]], sys_root: Path,
                         proc_root: Path = Path("/proc")) -> Check:
    """The v4l2loopback device SelfieCam publishes to: present, label, exclusive_caps, users."""
    from vcam.stages.outputs import SETUP_COMMAND
    from vcam.system.devices import Kind, our_device

    vc = cfg.virtual_camera
    name = "virtual camera"
    ours = our_device(devices, vc.name, vc.device)
    if ours is None:
        loops = [d for d in devices if d.kind is Kind.VIRTUAL]
        if vc.device:
            why = f"virtual_camera.device {vc.device} does not exist"
        elif loops:
            why = (f"no v4l2loopback device labelled {vc.name!r}; there are "
                   + ", ".join(f"{d.path} ({d.label})" for d in loops))
        elif (sys_root / "module" / "v4l2loopback").is_dir():
            why = "v4l2loopback is loaded but made no devices"
        elif not (proc_root / "modules").exists():
            # The setup script's own test: without /proc/modules the kernel has no
            # module support, so running it could only fail after installing packages.
            return Check(name, Status.FAIL,
                         f"no {vc.name!r} device, and this kernel ({os.uname().release}) "
                         f"cannot load modules (no {proc_root / 'modules'}), so "
                         f"v4l2loopback cannot be loaded here", NO_MODULES_FIX)
        else:
            why = f"no {vc.name!r} device: the v4l2loopback module is not loaded"
        return Check(name, Status.FAIL, why, SETUP_COMMAND)
    detail = f"{ours.path} labelled {ours.label!r}"
    if ours.kind is not Kind.VIRTUAL:
        return Check(name, Status.FAIL, f"{detail} is not a v4l2loopback device "
                                        f"({ours.driver or 'unknown driver'})",
                     f"clear virtual_camera.device in the config, then {SETUP_COMMAND}")
    if ours.error:
        return Check(name, Status.FAIL, f"{detail}: {ours.error}", _open_fix(ours))
    users = held(ours.path)
    detail += "; open by " + ", ".join(users) if users else "; no program has it open"
    if ours.exclusive_caps is None:
        detail += "; exclusive_caps unknown"
    elif not ours.exclusive_caps:
        return Check(name, Status.WARN,
                     detail + "; exclusive_caps is off, so Chrome and WebRTC apps do not list it",
                     f"reload it with exclusive_caps=1: {SETUP_COMMAND}")
    else:
        detail += "; exclusive_caps on"
    return Check(name, Status.OK, detail)


_TRAY_PROBE = r"""
import json, os
out = {}
try:
    import gi
    out["pygobject"] = gi.__version__
    gi.require_version("Gtk", "3.0")
    from gi.repository import Gtk
    out["gtk"] = "%d.%d" % (Gtk.get_major_version(), Gtk.get_minor_version())
    for ns in ("AyatanaAppIndicator3", "AppIndicator3"):
        try:
            gi.require_version(ns, "0.1")
            __import__("gi.repository." + ns)
            out["appindicator"] = ns
            break
        except (ImportError, ValueError):
            pass
except (ImportError, ValueError) as e:
    out["gi_error"] = str(e)
try:
    import pystray
    out["backend"] = pystray.Icon.__module__.rsplit("._", 1)[-1]
except Exception as e:
    out["backend_error"] = "%s: %s" % (type(e).__name__, e)
print(json.dumps(out))
"""


def check_tray() -> Check:
    """Which pystray backend a tray icon would get, and whether PyGObject/Gtk 3 are there.

    Probed in a child process: importing pystray without a display raises, and a
    Gtk import should not happen in this one.
    """
    name = "tray"
    try:
        r = subprocess.run([sys.executable, "-c", _TRAY_PROBE], capture_output=True,
                           text=True, timeout=30)
        probe = json.loads(r.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError) as e:
        return Check(name, Status.WARN, f"could not probe the tray ({e})",
                     "run `vcam run --no-tray` if the tray icon misbehaves")
    gi_text = (f"PyGObject {probe['pygobject']}, Gtk {probe.get('gtk', 'missing')}, "
               f"{probe.get('appindicator', 'no AppIndicator')}"
               if "pygobject" in probe else "no PyGObject")
    backend = probe.get("backend")
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if backend is None:
        if not display:
            return Check(name, Status.WARN,
                         f"no display (DISPLAY and WAYLAND_DISPLAY unset), so no tray icon; "
                         f"{gi_text}",
                         "run SelfieCam inside your desktop session, or headless with "
                         "`vcam run --no-tray`" + ("" if "gtk" in probe else
                                                   "; for the tray later:\n" + PYGOBJECT_FIX))
        return Check(name, Status.WARN, f"pystray cannot start: {probe.get('backend_error')}; "
                                        f"{gi_text}", PYGOBJECT_FIX)
    detail = f"pystray backend {backend} ({gi_text})"
    if backend == "appindicator":
        return Check(name, Status.OK, detail)
    forced = os.environ.get("PYSTRAY_BACKEND")
    if forced and "appindicator" in probe:
        return Check(name, Status.WARN, detail + f"; PYSTRAY_BACKEND={forced} chose it",
                     "unset PYSTRAY_BACKEND to get the appindicator tray with its menu")
    if backend == "gtk":
        return Check(name, Status.WARN, detail + "; GNOME shows no GtkStatusIcon",
                     "sudo apt install gir1.2-ayatanaappindicator3-0.1 (and on GNOME the "
                     "AppIndicator extension)")
    return Check(name, Status.WARN, detail + f"; the {backend} backend has no menu",
                 PYGOBJECT_FIX)


def on_gnome_wayland(tray: Check, env: Mapping[str, str] = os.environ) -> Check:
    """The tray check, plus what GNOME on Wayland needs before any tray icon shows."""
    from vcam.system.desktop import (
        WAYLAND_TRAY_FIX,
        WAYLAND_TRAY_NOTE,
        appindicator_extension_installed,
        gnome_on_wayland,
    )

    if not gnome_on_wayland(env):
        return tray
    if appindicator_extension_installed(env):
        return replace(tray, detail=tray.detail + "; GNOME on Wayland: the AppIndicator "
                                                  "extension is installed (no icon? enable it "
                                                  "in Extensions; `vcam ctl` works regardless)")
    fix = f"{tray.fix}\n{WAYLAND_TRAY_FIX}" if tray.fix and tray.status is not Status.OK \
        else WAYLAND_TRAY_FIX
    return Check(tray.name, Status.WARN, f"{tray.detail}; {WAYLAND_TRAY_NOTE}", fix)


def check_ffmpeg() -> Check:
    """ffmpeg is not needed by ``vcam run``; it is the independent consumer that checks it."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        return Check("ffmpeg", Status.WARN, "ffmpeg is not on PATH (needed to test the "
                                            "virtual camera from outside, not to run)",
                     "sudo apt install ffmpeg")
    try:
        first = subprocess.run([exe, "-hide_banner", "-version"], capture_output=True, text=True,
                               timeout=15).stdout.splitlines()
        version = first[0].split()[2] if first and len(first[0].split()) > 2 else "?"
    except (OSError, subprocess.TimeoutExpired):
        version = "?"
    return Check("ffmpeg", Status.OK, f"{exe} (version {version})")


def check_models() -> Check:
    """The bundled models match their sha256, and a runtime for them is installed
    (auto-framing's face detector too: without it framing quietly falls back to
    the mask alone, which only a check here would show)."""
    try:
        from vcam.stages.face import MODEL as FACE_MODEL
        from vcam.stages.segment import MODELS, litert_available, verify_model
    except ImportError as e:
        return Check("models", Status.FAIL, f"cannot load the segmenter module: {e}", OPENCV_FIX)
    found = []
    for spec in (*MODELS.values(), FACE_MODEL):
        try:
            verify_model(spec)
        except (OSError, ValueError) as e:
            finding, _, fix = str(e).partition(". ")
            return Check("models", Status.FAIL, finding, fix)
        found.append(f"{spec.name} {spec.sha256[:12]}")
    if importlib.util.find_spec("mediapipe") is None:
        return Check("models", Status.FAIL, "mediapipe is not installed", "pip install mediapipe")
    version = importlib.metadata.version("mediapipe")
    if litert_available():
        runtime = f"runtime LiteRT {importlib.metadata.version('ai-edge-litert')}"
    else:
        runtime = "runtime MediaPipe Tasks (LiteRT, ~2x faster: pip install ai-edge-litert)"
    return Check("models", Status.OK,
                 f"sha256 ok: {', '.join(found)}; mediapipe {version}; {runtime}")


def check_opencv() -> Check:
    """cv2 imports and is the contrib build (a plain opencv-python overwrites its files)."""
    try:
        import cv2
    except ImportError as e:
        return Check("opencv", Status.FAIL, f"cv2 does not import: {e}", OPENCV_FIX)
    if not hasattr(getattr(cv2, "ximgproc", None), "guidedFilter"):
        return Check("opencv", Status.WARN,
                     f"cv2 {cv2.__version__} lacks cv2.ximgproc: opencv-python or -headless "
                     f"has overwritten opencv-contrib-python",
                     f"pip uninstall opencv-python opencv-python-headless, then {OPENCV_FIX}")
    return Check("opencv", Status.OK, f"cv2 {cv2.__version__} with contrib (cv2.ximgproc)")


def run_checks(config: Path | None, sys_root: Path = Path("/sys"),
               proc_root: Path = Path("/proc"), ask: Ask | None = None) -> list[Check]:
    """Every check, in the order they are printed."""
    config_check, cfg = check_config(config)
    checks: list[Check] = []
    if not sys.platform.startswith("linux"):
        checks.append(Check("devices", Status.WARN, f"camera and virtual camera checks are "
                                                    f"Linux-only (this is {sys.platform})"))
    else:
        try:
            from vcam.system.devices import list_devices, open_by
            from vcam.system.publishing import ask_daemon, check_publishing
        except ImportError as e:
            fail = Check("devices", Status.FAIL, f"cannot inspect video devices: {e}",
                         OPENCV_FIX)
            checks.append(fail)
        else:
            devices = list_devices(sys_root)
            ask = ask or ask_daemon
            users = open_by([d.path for d in devices])

            def held(path: str) -> list[str]:
                return [str(h) for h in users.get(path, []) if h.pid != os.getpid()]

            checks.append(check_camera(cfg, devices, held))
            checks.append(check_virtual_camera(cfg, devices, held, sys_root, proc_root))
            checks.append(Check("publishing", Status.OK, *check_publishing(cfg, devices, ask)))
    checks += [on_gnome_wayland(check_tray()), check_ffmpeg(), config_check, check_models(),
               check_opencv()]
    return checks


def format_report(checks: list[Check]) -> str:
    """One line per check (status, name, finding), the fix indented below it."""
    lines = []
    for c in checks:
        lines.append(f"{c.status.value:<5} {c.name}: {c.detail}")
        if c.fix:  # for a check that is ok: what to try if an application misbehaves
            label = "note" if c.status is Status.OK else "fix"
            indent = " " * (len(label) + 8)
            lines += [f"      {label}: {line}" if i == 0 else f"{indent}{line}"
                      for i, line in enumerate(c.fix.splitlines())]
    failed = [c.name for c in checks if c.status is Status.FAIL]
    lines.append(f"{len(failed)} check(s) failed ({', '.join(failed)}): `vcam run` would not "
                 f"work until they are fixed." if failed else "`vcam run` should work.")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    checks = run_checks(Path(args.config) if args.config else None)
    ok = not any(c.status is Status.FAIL for c in checks)
    if args.json:
        print(json.dumps({"ok": ok, "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        print(format_report(checks))
    return 0 if ok else 1
