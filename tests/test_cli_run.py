"""`vcam run` as a user runs it: real process, real clip, real files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from tests.conftest import DEMO_CLIP
from tests.live_daemon import mean_colour, read_frames

REPO = Path(__file__).resolve().parents[1]


def vcam(*args: str, cwd: Path = REPO, env: dict | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vcam", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env)


def clean_env(tmp_path: Path) -> dict[str, str]:
    """No user config, no display: what a fresh machine has."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_RUNTIME_DIR"] = str(tmp_path / "run")
    (tmp_path / "run").mkdir(exist_ok=True, mode=0o700)
    return env


def frames_of(path: Path) -> tuple[int, int, int]:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    return n, int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))


def test_records_the_requested_frames(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    r = vcam("run", "--source", str(DEMO_CLIP), "--effect", "desaturate", "--output", str(out),
             "--frames", "40", "--no-tray", env=clean_env(tmp_path))
    assert r.returncode == 0, r.stderr
    assert frames_of(out) == (40, 640, 360)
    # MediaPipe's own start-up chatter stays out of the user's terminal.
    assert "XNNPACK" not in r.stderr and "InitGoogle" not in r.stderr


def test_demo_records_a_file_when_there_is_no_screen_or_selfiecam(tmp_path: Path) -> None:
    r = vcam("run", "--demo", "--frames", "30", cwd=tmp_path, env=clean_env(tmp_path))
    if Path("/sys/class/video4linux").exists() and "SelfieCam" in " ".join(
            p.read_text() for p in Path("/sys/class/video4linux").glob("video*/name")):
        pytest.skip("a real SelfieCam device exists here; the demo would publish to it")
    assert r.returncode == 0, r.stderr
    assert "selfiecam-demo.mp4" in r.stdout
    assert frames_of(tmp_path / "selfiecam-demo.mp4") == (30, 640, 360)


def test_no_virtual_camera_fails_fast_with_the_fix(tmp_path: Path) -> None:
    t0 = time.monotonic()
    r = vcam("run", "--source", str(DEMO_CLIP), "--no-tray", env=clean_env(tmp_path))
    assert time.monotonic() - t0 < 15
    assert r.returncode == 1
    assert "SelfieCam" in r.stderr and "scripts/setup-v4l2loopback.sh" in r.stderr
    assert "Traceback" not in r.stderr


def test_no_camera_names_the_device_and_what_was_found(tmp_path: Path) -> None:
    r = vcam("run", "--source", "7", "--output", str(tmp_path / "x.mp4"),
             env=clean_env(tmp_path))
    assert r.returncode == 1
    assert "cannot open camera 7" in r.stderr and "video devices found" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_video_file(tmp_path: Path) -> None:
    r = vcam("run", "--source", str(tmp_path / "nope.mp4"), "--output", str(tmp_path / "x.mp4"),
             env=clean_env(tmp_path))
    assert r.returncode == 1 and "nope.mp4" in r.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_within_a_second(tmp_path: Path, sig: signal.Signals) -> None:
    out = tmp_path / "out.mp4"
    p = subprocess.Popen([sys.executable, "-m", "vcam", "run", "--source", str(DEMO_CLIP),
                          "--effect", "blur", "--output", str(out), "--no-tray"],
                         cwd=REPO, env=clean_env(tmp_path), stderr=subprocess.PIPE, text=True)
    assert p.stderr is not None
    for line in p.stderr:
        if "output:" in line:
            break
    time.sleep(1.0)
    t0 = time.monotonic()
    p.send_signal(sig)
    rc = p.wait(timeout=10)
    took = time.monotonic() - t0
    assert rc == 0
    print(f"vcam run stopped by {sig.name} in {took:.2f} s")
    assert took < 1.0, f"took {took:.2f} s to stop"
    n, w, h = frames_of(out)
    assert n >= 20 and (w, h) == (640, 360)


def test_help_explains_itself() -> None:
    r = vcam("run", "--help")
    assert r.returncode == 0
    for flag in ("--source", "--effect", "--background", "--model", "--output", "--frames",
                 "--no-tray", "--demo", "--verbose"):
        assert flag in r.stdout


def start_daemon(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    """A real `vcam run` on the demo clip; returns once its output is open."""
    p = subprocess.Popen([sys.executable, "-m", "vcam", "run", "--source", str(DEMO_CLIP),
                          "--no-tray", *args], cwd=REPO, env=env or clean_env(tmp_path),
                         stderr=subprocess.PIPE, text=True)
    assert p.stderr is not None
    for line in p.stderr:
        if "output:" in line:
            return p
    raise AssertionError(f"daemon did not start (exit {p.wait()})")


def test_one_daemon_per_user(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    first = start_daemon(tmp_path, "--output", str(tmp_path / "a.mp4"), env=env)
    try:
        r = vcam("run", "--source", "0", "--output", str(tmp_path / "b.mp4"), env=env,
                 timeout=30)
        assert r.returncode == 1
        assert f"already running (pid {first.pid}" in r.stderr
        assert not (tmp_path / "b.mp4").exists()
    finally:
        first.terminate()
        assert first.wait(10) == 0
    # Once it is gone, the next one may start.
    r = vcam("run", "--source", str(DEMO_CLIP), "--output", str(tmp_path / "c.mp4"),
             "--frames", "5", "--no-tray", env=env)
    assert r.returncode == 0, r.stderr


def test_sighup_reloads_the_config(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    before = 'effect = "none"\n'
    after = 'effect = "replace"\nbackground = "#ff00ff"\n'
    cfg.write_text(before.ljust(len(after) - 1, "#") + "\n")
    out = tmp_path / "out.mp4"
    p = start_daemon(tmp_path, "--config", str(cfg), "--output", str(out))
    try:
        time.sleep(1.0)
        # Rewrite it in place with the same size and mtime, so only SIGHUP (not the
        # file watcher, which looks at mtime, size and inode) can see the change.
        st = cfg.stat()
        with open(cfg, "r+") as f:
            f.write(after)
        assert cfg.stat().st_size == st.st_size
        os.utime(cfg, ns=(st.st_atime_ns, st.st_mtime_ns))
        p.send_signal(signal.SIGHUP)
        time.sleep(2.0)
    finally:
        p.terminate()
        assert p.wait(10) == 0
    corners = [mean_colour(f) for f in read_frames(out)]
    magenta = [abs(c[0] - 255) < 20 and c[1] < 30 and abs(c[2] - 255) < 20 for c in corners]
    assert not magenta[0] and magenta[-1], "SIGHUP should have switched to a magenta background"
