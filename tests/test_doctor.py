"""`vcam doctor`: the real command on this machine (no camera, no v4l2loopback), each check
on a kernel-shaped sysfs tree and on real config files, and the tray probe under Xvfb."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DEMO_CLIP
from tests.test_devices import CAM, OTHER_LOOP, OURS, make_sysfs
from vcam.config import CameraConfig, Config, VirtualCameraConfig
from vcam.system.devices import Kind, Mode, VideoDevice, list_devices
from vcam.system.doctor import (
    Check,
    Status,
    check_camera,
    check_config,
    check_opencv,
    check_tray,
    check_virtual_camera,
    format_report,
)

REPO = Path(__file__).resolve().parents[1]
SETUP = "sudo scripts/setup-v4l2loopback.sh"
LOADS_MODULES = Path("/proc/modules").exists()
"""False on a kernel built without module support (this machine): doctor then says
so instead of suggesting the setup script, which could only fail."""


def nobody(path: str) -> list[str]:
    return []


def doctor(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    return subprocess.run([sys.executable, "-m", "vcam", "doctor", *args], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=120)


@pytest.fixture
def bare_machine() -> None:
    if list(Path("/sys/class/video4linux").glob("video*")):
        pytest.skip("this machine has video devices; the bare-machine expectations do not hold")


@pytest.mark.usefixtures("bare_machine")
def test_doctor_on_this_machine_fails_on_camera_and_selfiecam_with_fixes(tmp_path: Path) -> None:
    r = doctor(tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stdout.splitlines()

    def line_after(prefix: str) -> str:
        i = next(i for i, line in enumerate(lines) if line.startswith(prefix))
        return lines[i + 1]

    assert line_after("FAIL  camera: no camera found").startswith("      fix: plug in a webcam")
    if LOADS_MODULES:
        assert line_after("FAIL  virtual camera: no 'SelfieCam' device: the v4l2loopback "
                          "module is not loaded") == f"      fix: {SETUP}"
    else:
        assert line_after("FAIL  virtual camera: no 'SelfieCam' device, and this kernel (") \
            .startswith("      fix: use a distribution kernel")
        assert "cannot load modules (no /proc/modules)" in r.stdout
        assert SETUP not in r.stdout
    assert any(line.startswith("ok    config: no config file, using the defaults")
               for line in lines)
    assert any(line.startswith("ok    models: sha256 ok: general 9ee168ec7c8f, landscape "
                               "a77d03f4659b, face bbff11cebd1e") for line in lines)
    assert line_after("warn  tray: no display").startswith("      fix: run SelfieCam inside")
    assert lines[-1].startswith("2 check(s) failed (camera, virtual camera)")


@pytest.mark.usefixtures("bare_machine")
def test_doctor_json_and_a_broken_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('effect = "blurr"\n')
    r = doctor(tmp_path, "--json", "--config", str(bad))
    assert r.returncode == 1
    report = json.loads(r.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["ok"] is False
    assert list(checks) == ["camera", "virtual camera", "publishing", "tray", "ffmpeg",
                            "config", "models", "opencv"]
    assert {c["status"] for c in checks.values()} <= {"ok", "warn", "FAIL"}
    assert checks["config"]["status"] == "FAIL"
    assert "effect" in checks["config"]["detail"] and "did you mean 'blur'" in \
        checks["config"]["detail"]
    assert str(bad) in checks["config"]["fix"]
    assert (checks["virtual camera"]["fix"] == SETUP) is LOADS_MODULES
    assert all(c["fix"] for c in checks.values() if c["status"] == "FAIL")


def test_config_check_names_the_file_in_use(tmp_path: Path) -> None:
    good = tmp_path / "config.toml"
    good.write_text('effect = "replace"\nbackground = "#00ff00"\n[camera]\nwidth = 640\n'
                    'height = 480\n')
    check, cfg = check_config(good)
    assert (check.status, check.detail) == (Status.OK, f"{good} is valid")
    assert cfg.camera.width == 640
    missing, defaults = check_config(tmp_path / "nope.toml")
    assert missing.status is Status.FAIL and "no such file" in missing.detail
    assert defaults == Config()


def on(device: int | str, width: int = 1280, height: int = 720) -> Config:
    return Config(camera=CameraConfig(device=device, width=width, height=height))


def test_camera_check_on_the_sysfs_tree(tmp_path: Path) -> None:
    devices = list_devices(make_sysfs(tmp_path / "sys"))
    cam = f"/dev/video{CAM}"
    # The camera is in sysfs but its node is not in /dev, as in a container without --device.
    missing_node = check_camera(on(CAM), devices, nobody)
    assert missing_node.status is Status.FAIL
    assert f"docker run --device {cam}" in missing_node.fix
    virtual = check_camera(on(f"/dev/video{OURS}"), devices, nobody)
    assert virtual.status is Status.FAIL and "a virtual output" in virtual.detail
    assert virtual.fix.startswith('set camera.device in ') and virtual.fix.endswith(f'"{cam}"')
    absent = check_camera(on(7), devices, nobody)
    assert absent.status is Status.FAIL and "/dev/video7 does not exist" in absent.detail
    assert f"{cam} (Integrated Camera" in absent.detail
    clip = check_camera(on(str(DEMO_CLIP)), devices, nobody)
    assert clip.status is Status.OK and "video file" in clip.detail
    gone = check_camera(on(str(tmp_path / "gone.mp4")), devices, nobody)
    assert gone.status is Status.FAIL and "no such video file" in gone.detail


def test_camera_check_reads_modes_and_who_holds_it() -> None:
    cam = VideoDevice("/dev/video4", "HD Webcam", Kind.CAMERA, "uvcvideo",
                      modes=(Mode("MJPG", 1280, 720, (30.0,)), Mode("YUYV", 640, 480, (30.0,))))
    ok = check_camera(on("/dev/video4"), [cam], nobody)
    assert ok == Check("camera", Status.OK,
                       "/dev/video4 (HD Webcam, uvcvideo): MJPG 1280x720@30; YUYV 640x480@30")
    odd = check_camera(on(4, 1920, 1080), [cam], nobody)
    assert odd.status is Status.WARN and "no 1920x1080 mode" in odd.detail
    busy = check_camera(on(4), [cam], lambda p: ["4242 (zoom)"] if p == cam.path else [])
    assert busy.status is Status.WARN and "in use by 4242 (zoom)" in busy.detail
    ours = check_camera(on(4), [cam], lambda p: ["77 (python3 -m vcam run)"])
    assert ours.status is Status.OK
    assert ours.detail.endswith("; SelfieCam has it open (77 (python3 -m vcam run))")


def test_virtual_camera_check(tmp_path: Path) -> None:
    sysfs = make_sysfs(tmp_path / "sys")
    devices = list_devices(sysfs)
    named = Config(virtual_camera=VirtualCameraConfig(name="SelfieCam"))
    unopened = check_virtual_camera(named, devices, nobody, sysfs)
    assert unopened.status is Status.FAIL and f"/dev/video{OURS} labelled 'SelfieCam'" in \
        unopened.detail
    other = check_virtual_camera(Config(virtual_camera=VirtualCameraConfig(name="Mine")),
                                 devices, nobody, sysfs)
    assert other.status is Status.FAIL and other.fix == SETUP
    assert f"/dev/video{OTHER_LOOP} (OBS Virtual Camera)" in other.detail
    empty = tmp_path / "empty"
    (empty / "module" / "v4l2loopback").mkdir(parents=True)
    assert "loaded but made no devices" in check_virtual_camera(named, [], nobody, empty).detail

    def loop(exclusive: bool | None) -> VideoDevice:
        return VideoDevice("/dev/video10", "SelfieCam", Kind.VIRTUAL, "v4l2 loopback",
                           caps=0x2, exclusive_caps=exclusive)

    good = check_virtual_camera(named, [loop(True)], lambda p: ["900 (zoom)"], sysfs)
    assert good == Check("virtual camera", Status.OK, "/dev/video10 labelled 'SelfieCam'; "
                                                      "open by 900 (zoom); exclusive_caps on")
    chrome_blind = check_virtual_camera(named, [loop(False)], nobody, sysfs)
    assert chrome_blind.status is Status.WARN and "Chrome" in chrome_blind.detail
    assert chrome_blind.fix == f"reload it with exclusive_caps=1: {SETUP}"


def test_a_kernel_without_modules_is_named_not_sent_to_the_setup_script(tmp_path: Path) -> None:
    """The setup script's own test (no /proc/modules: no module support), on two
    proc roots: one without ``modules`` (this machine's kind), one with it."""
    named = Config(virtual_camera=VirtualCameraConfig(name="SelfieCam"))
    no_modules, loads = tmp_path / "proc-bare", tmp_path / "proc"
    no_modules.mkdir()
    loads.mkdir()
    (loads / "modules").write_text("snd 1 0 - Live 0x0\n")
    bare = check_virtual_camera(named, [], nobody, tmp_path / "sys", no_modules)
    assert bare.status is Status.FAIL
    assert "cannot load modules" in bare.detail and str(no_modules / "modules") in bare.detail
    assert "setup-v4l2loopback" not in bare.fix and "distribution kernel" in bare.fix
    normal = check_virtual_camera(named, [], nobody, tmp_path / "sys", loads)
    assert normal == Check("virtual camera", Status.FAIL, "no 'SelfieCam' device: the "
                           "v4l2loopback module is not loaded", SETUP)


def test_opencv_is_the_contrib_build() -> None:
    check = check_opencv()
    assert check.status is Status.OK and "cv2.ximgproc" in check.detail


@pytest.fixture
def xvfb() -> Iterator[str]:
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt install xvfb)")
    n = next(n for n in range(150, 250) if not Path(f"/tmp/.X{n}-lock").exists())
    proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "320x240x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{n}").exists():
        assert time.monotonic() < deadline and proc.poll() is None, "Xvfb did not start"
        time.sleep(0.05)
    yield f":{n}"
    proc.terminate()
    proc.wait(10)


def test_tray_check_with_and_without_a_display(xvfb: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("PYSTRAY_BACKEND", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    headless = check_tray()
    assert headless.status is Status.WARN and "--no-tray" in headless.fix
    monkeypatch.setenv("DISPLAY", xvfb)
    desk = check_tray()
    assert desk.detail.startswith("pystray backend ")
    if "no AppIndicator" in desk.detail or "no PyGObject" in desk.detail:
        assert desk.status is Status.WARN and desk.fix
    else:  # gir1.2-ayatanaappindicator3-0.1 and PyGObject: the tray with a menu
        assert desk.status is Status.OK and "backend appindicator" in desk.detail
    monkeypatch.setenv("PYSTRAY_BACKEND", "xorg")
    forced = check_tray()
    assert forced.status is Status.WARN and "xorg" in forced.detail


def test_report_format() -> None:
    checks = [Check("config", Status.OK, "fine"),
              Check("tray", Status.WARN, "no display", "run it in your session\nor not"),
              Check("camera", Status.FAIL, "no camera", "plug one in")]
    assert format_report(checks).splitlines() == [
        "ok    config: fine",
        "warn  tray: no display",
        "      fix: run it in your session",
        "           or not",
        "FAIL  camera: no camera",
        "      fix: plug one in",
        "1 check(s) failed (camera): `vcam run` would not work until they are fixed.",
    ]
    assert format_report(checks[:2]).splitlines()[-1] == "`vcam run` should work."


def test_a_damaged_face_model_fails_the_models_check(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Auto-framing falls back to the mask alone without its face detector, quietly:
    doctor is where a damaged copy shows, named, with the command that restores it."""
    from vcam.stages import modelfile
    from vcam.system.doctor import check_models

    shutil.copytree(REPO / "assets" / "models", tmp_path / "models")
    face = tmp_path / "models" / "face_detection_short_range.tflite"
    data = bytearray(face.read_bytes())
    data[len(data) // 2] ^= 0xFF
    face.write_bytes(bytes(data))
    monkeypatch.setattr(modelfile, "assets_dir", lambda: tmp_path)
    check = check_models()
    assert check.status is Status.FAIL
    assert "face_detection_short_range.tflite is damaged" in check.detail
    assert "scripts/fetch_models.py" in check.fix
