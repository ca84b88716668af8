"""``vcam autostart enable|disable|status``: start SelfieCam with the desktop session.

Two files under $XDG_CONFIG_HOME (default ~/.config):

- ``systemd/user/selfiecam.service`` runs ``<this python> -m vcam run`` once the
  graphical session is up (WantedBy/After graphical-session.target, so not on an
  SSH login), restarts it 2 s after a crash, gives up after 10 failed starts in
  a minute, does not retry a config error (exit code 2), and stops with the session.
- ``autostart/selfiecam.desktop`` is for sessions that never start
  graphical-session.target (XFCE, LXQt, i3 with dex ...): it starts the unit
  through the user manager, handing it the display, or runs SelfieCam directly
  where there is no manager.  ``X-systemd-skip=true`` stops systemd-managed
  sessions (GNOME, Plasma) from starting it a second time through
  systemd-xdg-autostart-generator.

``systemctl --user enable/disable`` edit files and work without a running user
manager; ``daemon-reload`` needs one and is skipped with a note when there is none.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import vcam

UNIT = "selfiecam.service"
# Variables a unit started from a non-systemd session needs to reach the display and tray.
SESSION_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "DBUS_SESSION_BUS_ADDRESS",
                     "XDG_CURRENT_DESKTOP")


def config_home() -> Path:
    """$XDG_CONFIG_HOME, or ~/.config when it is unset or (against the spec) relative."""
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    return Path(xdg) if os.path.isabs(xdg) else Path.home() / ".config"


@dataclass(frozen=True)
class Files:
    """Where the autostart files go for a config home."""

    unit: Path
    desktop: Path

    @classmethod
    def under(cls, home: Path) -> Files:
        return cls(home / "systemd" / "user" / UNIT, home / "autostart" / "selfiecam.desktop")


def python() -> str:
    """This interpreter's absolute path, symlinks kept (a venv's python is a symlink that
    only finds the venv's packages under its own name)."""
    return os.path.abspath(sys.executable)


def run_command(interpreter: str) -> list[str]:
    return [interpreter, "-m", "vcam", "run"]


def _systemd_quote(arg: str, executable: bool = False) -> str:
    """One ExecStart= word: ``%`` doubled (specifiers) and, past the executable, ``$``
    (variables); quoted when it has a space.  systemd refuses quotes and backslashes in
    the executable's path, so that is an error here rather than a unit that never starts."""
    if executable and re.search(r"[\"'\\\x00-\x1f]", arg):
        raise ValueError(f"systemd cannot run an executable whose path has quotes, "
                         f"backslashes or control characters: {arg!r}; use a Python "
                         f"installed under a plainer path")
    text = arg.replace("%", "%%")
    if not executable:
        text = text.replace("$", "$$")
    if re.fullmatch(r"[\w@%+=:,./$-]+", text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _desktop_quote(arg: str) -> str:
    """One Exec= word by the Desktop Entry spec: quoted when it has a reserved character,
    then backslashes doubled once more (the string escape) and ``%`` doubled (field codes)."""
    if re.search(r"[\s\"'\\><~|&;$*?#()`]", arg):
        arg = '"' + re.sub(r'(["`$\\])', r"\\\1", arg) + '"'
    return arg.replace("\\", "\\\\").replace("%", "%%")


def unit_text(interpreter: str) -> str:
    """The systemd user unit."""
    exec_start = " ".join(_systemd_quote(a, executable=i == 0)
                          for i, a in enumerate(run_command(interpreter)))
    return f"""\
# Written by `vcam autostart enable`; `vcam autostart disable` removes it.
[Unit]
Description=SelfieCam virtual camera (background blur and replacement)
After=graphical-session.target
PartOf=graphical-session.target
# Bounded retry: after 10 failed starts within a minute systemd gives up;
# `vcam doctor` says why, `systemctl --user restart {UNIT}` tries again.
StartLimitIntervalSec=60
StartLimitBurst=10

[Service]
Type=simple
ExecStart={exec_start}
Restart=on-failure
RestartSec=2
# Exit code 2 is a usage or config error: restarting cannot fix it.
RestartPreventExitStatus=2

[Install]
WantedBy=graphical-session.target
"""


def desktop_text(interpreter: str) -> str:
    """The XDG autostart entry (see the module docstring for why it starts the unit)."""
    script = (f"systemctl --user import-environment {' '.join(SESSION_VARIABLES)} 2>/dev/null; "
              f"systemctl --user start {UNIT} 2>/dev/null || exec "
              + " ".join(shlex.quote(a) for a in run_command(interpreter)))
    exec_line = " ".join(_desktop_quote(a) for a in ["sh", "-c", script])
    return f"""\
[Desktop Entry]
Type=Application
Name=SelfieCam
Comment=Virtual camera with your background blurred or replaced
Exec={exec_line}
Icon=camera-web
Terminal=false
Categories=AudioVideo;Video;
X-GNOME-Autostart-enabled=true
X-systemd-skip=true
"""


def _systemctl(*args: str) -> subprocess.CompletedProcess[str] | None:
    """``systemctl --user ARGS``, or None when systemctl is not installed."""
    exe = shutil.which("systemctl")
    if exe is None:
        return None
    try:
        return subprocess.run([exe, "--user", *args], capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return subprocess.CompletedProcess([exe, "--user", *args], 1, "", str(e))


def _why(r: subprocess.CompletedProcess[str]) -> str:
    return (r.stderr.strip() or r.stdout.strip() or f"exit code {r.returncode}").splitlines()[-1]


def _write(path: Path, text: str) -> str:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return f"unchanged {path}"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return f"wrote {path}"


def _importable_from(interpreter: str) -> str:
    """Where ``interpreter -m vcam`` finds vcam when started outside this folder ('' if not)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    try:
        r = subprocess.run([interpreter, "-c", "import vcam; print(vcam.__file__)"],
                           capture_output=True, text=True, timeout=30, cwd="/", env=env)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return r.stdout.strip() if r.returncode == 0 else ""


def enable(home: Path | None = None, interpreter: str | None = None) -> list[str]:
    """Write both files and enable the unit; the lines say what happened and what to do."""
    interpreter = interpreter or python()
    files = Files.under(home or config_home())
    lines = [_write(files.unit, unit_text(interpreter)),
             _write(files.desktop, desktop_text(interpreter))]
    found = _importable_from(interpreter)
    if not found:
        lines.append(f"warning: {interpreter} cannot import vcam outside this folder, so the "
                     f"unit would fail; install SelfieCam into it first (pip install .)")
    elif Path(found).resolve().parent != Path(vcam.__file__).resolve().parent:
        lines.append(f"note: at login {interpreter} will run vcam from {Path(found).parent}")
    reload = _systemctl("daemon-reload")
    if reload is None:
        lines.append("no systemctl here: the XDG autostart entry starts SelfieCam at login")
        return lines
    r = _systemctl("enable", UNIT)
    if r is None or r.returncode != 0:
        lines.append(f"systemctl --user enable {UNIT} failed ({_why(r) if r else '?'}); "
                     f"run it yourself in your desktop session")
        return lines
    lines.append(f"enabled {UNIT}: SelfieCam starts with your next graphical session")
    if reload.returncode == 0:
        lines.append(f"start it now with: systemctl --user start {UNIT}")
    else:
        lines.append(f"no systemd user manager reachable ({_why(reload)}); it reads the unit "
                     f"at your next login, or run: systemctl --user daemon-reload")
    return lines


def disable(home: Path | None = None) -> list[str]:
    """Disable the unit and remove both files (nothing to do is fine)."""
    files = Files.under(home or config_home())
    lines: list[str] = []
    if files.unit.exists():
        r = _systemctl("disable", UNIT)
        if r is not None and r.returncode != 0:
            lines.append(f"systemctl --user disable {UNIT}: {_why(r)}")
    for path in (files.unit, files.desktop):
        if path.exists():
            path.unlink()
            lines.append(f"removed {path}")
    if not lines:
        return ["autostart was not enabled: nothing to remove"]
    reload = _systemctl("daemon-reload")
    active = _systemctl("is-active", UNIT)
    if reload is not None and reload.returncode == 0 and active and active.returncode == 0:
        lines.append(f"SelfieCam is still running; stop it with: systemctl --user stop {UNIT}")
    return lines


def is_enabled(home: Path | None = None) -> bool:
    """Both files are there (no systemctl call: cheap enough for a menu's check mark)."""
    files = Files.under(home or config_home())
    return files.unit.is_file() and files.desktop.is_file()


def status(home: Path | None = None, interpreter: str | None = None) -> tuple[bool, list[str]]:
    """Whether autostart is enabled (both files present and current), and the details."""
    interpreter = interpreter or python()
    files = Files.under(home or config_home())
    lines: list[str] = []
    enabled = True
    for path, text in ((files.unit, unit_text(interpreter)),
                       (files.desktop, desktop_text(interpreter))):
        if not path.is_file():
            lines.append(f"missing  {path}")
            enabled = False
        elif path.read_text(encoding="utf-8") != text:
            lines.append(f"outdated {path} (run `vcam autostart enable` again)")
        else:
            lines.append(f"present  {path}")
    if files.unit.is_file():
        r = _systemctl("is-enabled", UNIT)
        if r is not None:
            state = r.stdout.strip() or _why(r)
            lines.append(f"systemd: {UNIT} is {state}")
            enabled = enabled and r.returncode == 0
            a = _systemctl("is-active", UNIT)
            if a is not None and a.stdout.strip():
                lines.append(f"systemd: {UNIT} is {a.stdout.strip()} now")
    lines.append("autostart is " + ("enabled" if enabled else "not enabled (vcam autostart "
                                                              "enable)"))
    return enabled, lines


def main(args: argparse.Namespace) -> int:
    try:
        if args.action == "enable":
            print("\n".join(enable()))
            return 0
        if args.action == "disable":
            print("\n".join(disable()))
            return 0
        enabled, lines = status()
    except (OSError, ValueError) as e:
        print(f"vcam: autostart {args.action}: {e}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0 if enabled else 1
