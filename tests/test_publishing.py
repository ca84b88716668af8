"""What `vcam doctor` says for the Zoom and Chrome fixes: the pixel format in use,
each SelfieCam device's exclusive_caps (from v4l2loopback's module parameters in a
kernel-shaped sysfs tree), and whether SelfieCam is publishing right now, asked of
a real running daemon over its control socket.  And the setup script's options
for the extra Zoom device (the e2e test loads them into a real kernel)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO_CLIP
from tests.live_daemon import Daemon
from tests.test_devices import OTHER_LOOP, OURS, make_sysfs
from vcam.config import Config, VirtualCameraConfig
from vcam.system.devices import list_devices
from vcam.system.doctor import run_checks
from vcam.system.publishing import ZOOM_HINT, check_publishing

REPO = Path(__file__).resolve().parents[1]
SETUP = REPO / "scripts" / "setup-v4l2loopback.sh"


def with_zoom_device(root: Path) -> Path:
    """The fake tree, its second loopback device relabelled as --zoom-device makes it
    (exclusive_caps N in the module parameters already)."""
    sysfs = make_sysfs(root)
    (sysfs / "devices" / "virtual" / "video4linux" / f"video{OTHER_LOOP}" / "name").write_text(
        "SelfieCam-Zoom\n")
    return sysfs


def not_running() -> None:
    return None


def test_each_selfiecam_device_with_its_exclusive_caps(tmp_path: Path) -> None:
    devices = list_devices(with_zoom_device(tmp_path / "sys"))
    finding, hint = check_publishing(Config(), devices, not_running)
    assert finding == (
        f"pixel format yuyv (from the config); /dev/video{OURS} 'SelfieCam' exclusive_caps=1 "
        f"(Chrome and WebRTC apps list it); /dev/video{OTHER_LOOP} 'SelfieCam-Zoom' "
        f"exclusive_caps=0 (for Zoom; Chrome does not list it); SelfieCam is not running")
    assert hint == 'Zoom shows black: --pixel-format i420 (or pixel_format = "i420" in ' \
                   '[virtual_camera])'


def test_only_exclusive_devices_point_at_the_zoom_device(tmp_path: Path) -> None:
    devices = list_devices(make_sysfs(tmp_path / "sys"))  # SelfieCam (Y) and an OBS one
    i420 = Config(virtual_camera=VirtualCameraConfig(pixel_format="i420"))
    finding, hint = check_publishing(i420, devices, not_running)
    assert finding.startswith("pixel format i420 (from the config); "
                              f"/dev/video{OURS} 'SelfieCam' exclusive_caps=1")
    assert "OBS" not in finding
    assert hint == ZOOM_HINT  # i420 already: no word on black pictures


def test_the_report_lists_the_publishing_check(tmp_path: Path) -> None:
    sysfs = with_zoom_device(tmp_path / "sys")
    checks = {c.name: c for c in run_checks(None, sysfs, ask=not_running)}
    assert "SelfieCam-Zoom' exclusive_caps=0" in checks["publishing"].detail


def test_doctor_asks_the_running_daemon(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path, ["--source", str(DEMO_CLIP), "--output", str(tmp_path / "o.mp4"),
                               "--no-tray", "--pixel-format", "i420"])
    try:
        daemon.wait_ready(frames=5)
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        env.update(XDG_RUNTIME_DIR=str(daemon.runtime), XDG_CONFIG_HOME=str(tmp_path / "cfg"))
        r = subprocess.run([sys.executable, "-m", "vcam", "doctor", "--json"], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=120)
    finally:
        daemon.close()
    publishing = next(c for c in json.loads(r.stdout)["checks"] if c["name"] == "publishing")
    assert publishing["detail"].startswith("pixel format i420 (in use); ")
    assert "SelfieCam is publishing now to file o.mp4 (live, " in publishing["detail"]
    assert "frames sent)" in publishing["detail"]
    # And with nothing running: said so, from the config.
    r = subprocess.run([sys.executable, "-m", "vcam", "doctor", "--json"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=120)
    publishing = next(c for c in json.loads(r.stdout)["checks"] if c["name"] == "publishing")
    assert publishing["detail"].startswith("pixel format yuyv (from the config); ")
    assert publishing["detail"].endswith("SelfieCam is not running")


@pytest.mark.parametrize(("flags", "options"), [
    ([], "devices=1 video_nr=10 card_label=SelfieCam exclusive_caps=1"),
    (["--zoom-device"], "devices=2 video_nr=10,11 card_label=SelfieCam,SelfieCam-Zoom "
                        "exclusive_caps=1,0"),
    (["--zoom-device", "--video-nr", "4", "--label", "Cam"],
     "devices=2 video_nr=4,5 card_label=Cam,Cam-Zoom exclusive_caps=1,0"),
])
def test_setup_script_options(flags: list[str], options: str) -> None:
    r = subprocess.run(["bash", str(SETUP), *flags, "--print-options"], capture_output=True,
                       text=True, timeout=30)
    assert (r.returncode, r.stdout) == (0, f"options v4l2loopback {options}\n"), r.stderr


def test_pixel_format_and_device_flags_are_checked(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    for flags, says in ((["--pixel-format", "rgb"], "invalid choice: 'rgb'"),
                        (["--device", "video11"], "vcam: --device: expected a /dev/videoN")):
        r = subprocess.run([sys.executable, "-m", "vcam", "run", "--source", str(DEMO_CLIP),
                            "--no-tray", *flags], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 2 and says in r.stderr, r.stderr
