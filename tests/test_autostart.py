"""`vcam autostart`: the files written under a temporary XDG_CONFIG_HOME, read back by
systemd's and GLib's own parsers, enabled and disabled with the real systemctl (which edits
files without a running user manager), twice over."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vcam.system import autostart
from vcam.system.autostart import Files, desktop_text, disable, enable, status, unit_text

REPO = Path(__file__).resolve().parents[1]
GENERATOR = Path("/usr/lib/systemd/user-generators/systemd-xdg-autostart-generator")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config home of our own and no user bus, so systemctl works on files only."""
    config = tmp_path / "config"
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    return config


def parse_unit(path: Path) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(path.read_text())
    return unit


def desktop_argv(path: Path) -> list[str]:
    """Exec= as a desktop launches it: GLib reads the key file, %% becomes %, then the
    quoting is undone (g_shell_parse_argv, as g_app_info_launch does)."""
    gi = pytest.importorskip("gi", reason="PyGObject reads the desktop entry")
    gi.require_version("GLib", "2.0")
    from gi.repository import GLib

    kf = GLib.KeyFile()
    kf.load_from_file(str(path), GLib.KeyFileFlags.NONE)
    assert kf.get_string("Desktop Entry", "Type") == "Application"
    assert kf.get_boolean("Desktop Entry", "X-systemd-skip") is True
    ok, argv = GLib.shell_parse_argv(kf.get_string("Desktop Entry", "Exec").replace("%%", "%"))
    assert ok
    return list(argv)


def test_enable_writes_the_unit_and_the_autostart_entry(home: Path) -> None:
    lines = enable()
    files = Files.under(home)
    assert lines[:2] == [f"wrote {files.unit}", f"wrote {files.desktop}"]
    unit = parse_unit(files.unit)
    assert unit["Service"]["ExecStart"] == f"{os.path.abspath(sys.executable)} -m vcam run"
    assert unit["Service"]["Restart"] == "on-failure"
    assert unit["Service"]["RestartSec"] == "2"
    assert unit["Service"]["RestartPreventExitStatus"] == "2"
    assert unit["Unit"]["After"] == unit["Unit"]["PartOf"] == "graphical-session.target"
    assert unit["Install"]["WantedBy"] == "graphical-session.target"
    argv = desktop_argv(files.desktop)
    assert argv[:2] == ["sh", "-c"]
    assert argv[2].endswith(f"|| exec {os.path.abspath(sys.executable)} -m vcam run")
    assert "systemctl --user start selfiecam.service" in argv[2]
    if shutil.which("systemctl"):
        wants = home / "systemd" / "user" / "graphical-session.target.wants" / "selfiecam.service"
        assert wants.is_symlink() and wants.resolve() == files.unit.resolve()
        assert any(line.startswith("enabled selfiecam.service") for line in lines)
        # No user manager here: enable still works on files, the reload is left for login.
        assert any("no systemd user manager reachable" in line for line in lines)


def test_enable_and_disable_twice_are_fine(home: Path) -> None:
    enable()
    files = Files.under(home)
    first = (files.unit.read_text(), files.desktop.read_text())
    again = enable()
    assert again[:2] == [f"unchanged {files.unit}", f"unchanged {files.desktop}"]
    assert (files.unit.read_text(), files.desktop.read_text()) == first
    enabled, report = status()
    assert enabled, report
    assert report[-1] == "autostart is enabled"

    removed = disable()
    assert f"removed {files.unit}" in removed and f"removed {files.desktop}" in removed
    assert not files.unit.exists() and not files.desktop.exists()
    assert not (home / "systemd" / "user" / "graphical-session.target.wants" /
                "selfiecam.service").exists()
    assert disable() == ["autostart was not enabled: nothing to remove"]
    enabled, report = status()
    assert not enabled and report[-1].startswith("autostart is not enabled")


def test_status_notices_a_unit_for_another_interpreter(home: Path) -> None:
    enable(interpreter="/usr/bin/python3")
    enabled, report = status()
    assert enabled
    assert sum("outdated" in line for line in report) == 2


def test_xdg_config_home_must_be_absolute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")
    assert autostart.config_home() == Path.home() / ".config"
    monkeypatch.setenv("XDG_CONFIG_HOME", "/elsewhere")
    assert autostart.config_home() == Path("/elsewhere")


def test_awkward_interpreter_paths_survive_both_quotings(home: Path, tmp_path: Path) -> None:
    """A python under a folder with a space, $ and % (a venv in 'My 100% $work' ...)."""
    odd = tmp_path / "My 100% $work" / "python"
    odd.parent.mkdir()
    odd.symlink_to(sys.executable)
    files = Files.under(home)
    files.unit.parent.mkdir(parents=True)
    files.desktop.parent.mkdir(parents=True)
    files.unit.write_text(unit_text(str(odd)))
    files.desktop.write_text(desktop_text(str(odd)))
    assert desktop_argv(files.desktop)[2].endswith(f"exec '{odd}' -m vcam run")
    verify = verify_unit(files.unit)
    assert verify.returncode == 0, verify.stderr
    with pytest.raises(ValueError, match="quotes"):
        unit_text("/opt/it's/python")


def verify_unit(path: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (apt install systemd)")
    return subprocess.run(["systemd-analyze", "--user", "verify", str(path)],
                          capture_output=True, text=True, timeout=60)


def test_systemd_analyze_verifies_the_unit(home: Path, tmp_path: Path) -> None:
    enable()
    r = verify_unit(Files.under(home).unit)
    assert r.returncode == 0, r.stdout + r.stderr
    # The same check does catch a unit whose program is missing.
    broken = tmp_path / "broken" / "selfiecam.service"
    broken.parent.mkdir()
    broken.write_text(unit_text("/nonexistent/python"))
    bad = verify_unit(broken)
    assert bad.returncode != 0 and "/nonexistent/python" in bad.stdout + bad.stderr


def test_systemd_sessions_skip_the_autostart_entry(home: Path, tmp_path: Path) -> None:
    """systemd-xdg-autostart-generator (GNOME, Plasma) makes no second service from it."""
    if not GENERATOR.is_file():
        pytest.skip(f"{GENERATOR} is not installed")
    enable()
    control = home / "autostart" / "control.desktop"
    control.write_text(Files.under(home).desktop.read_text().replace("X-systemd-skip=true\n", ""))
    out = [tmp_path / "gen" / d for d in ("normal", "early", "late")]
    for d in out:
        d.mkdir(parents=True)
    env = {**os.environ, "XDG_CONFIG_DIRS": str(tmp_path / "none")}
    subprocess.run([str(GENERATOR), *map(str, out)], check=True, env=env, timeout=60)
    assert {p.name for d in out for p in d.rglob("*.service")} == \
        {"app-control@autostart.service"}


def test_vcam_autostart_cli(home: Path) -> None:
    def vcam(action: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "vcam", "autostart", action],
                              capture_output=True, text=True, cwd=REPO, timeout=60)

    assert vcam("status").returncode == 1
    on = vcam("enable")
    assert on.returncode == 0, on.stderr
    assert f"wrote {Files.under(home).unit}" in on.stdout
    assert vcam("status").returncode == 0
    off = vcam("disable")
    assert off.returncode == 0 and f"removed {Files.under(home).desktop}" in off.stdout
    assert vcam("status").returncode == 1
