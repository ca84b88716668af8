"""Runs inside the e2e guest (scripts/e2e-virtualcam.sh --setup): scripts/setup-v4l2loopback.sh
on a real kernel.

The guest's root is the host's under a throw-away overlay, with the kernel's modules
(v4l2loopback built here included) at /lib/modules/$(uname -r) and nothing loaded yet.
The setup script runs twice (with --no-install: the guest has no network):

1. the first run writes /etc/modprobe.d/selfiecam.conf and
   /etc/modules-load.d/selfiecam.conf, loads v4l2loopback and finds /dev/video10
   labelled SelfieCam, offering output only until a producer writes (exclusive_caps);
2. the second run changes nothing and says so;
3. a third run with --zoom-device reloads the module with a second device,
   /dev/video11 labelled SelfieCam-Zoom, without exclusive_caps (capture and output
   offered at once, as Zoom wants), /dev/video10 keeping it.

Writes ``result``/``result.json`` into the output folder; exit status 0 on PASS.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

from verdict import (
    V4L2_CAP_VIDEO_CAPTURE,
    V4L2_CAP_VIDEO_OUTPUT,
    Report,
    device_caps,
    find_devices,
)

MODPROBE_CONF = Path("/etc/modprobe.d/selfiecam.conf")
MODULES_LOAD_CONF = Path("/etc/modules-load.d/selfiecam.conf")
WANT_OPTIONS = "options v4l2loopback devices=1 video_nr=10 card_label=SelfieCam exclusive_caps=1"
WANT_ZOOM_OPTIONS = ("options v4l2loopback devices=2 video_nr=10,11 "
                     "card_label=SelfieCam,SelfieCam-Zoom exclusive_caps=1,0")


def run_setup(script: Path, report: Report, name: str, *extra: str
              ) -> subprocess.CompletedProcess[str]:
    t0 = time.monotonic()
    res = subprocess.run(["bash", str(script), "--no-install", *extra], capture_output=True,
                         text=True, timeout=120)
    output = (res.stdout + res.stderr).strip()
    print(f"--- {name} (exit {res.returncode}, {time.monotonic() - t0:.1f}s)\n{output}",
          flush=True)
    report.add(f"{name} succeeds", res.returncode == 0,
               f"exit {res.returncode}: {output.splitlines()[-1] if output else '(no output)'}")
    return res


def mtimes() -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in (MODPROBE_CONF, MODULES_LOAD_CONF) if p.exists()}


def run(script: Path, report: Report) -> None:
    loaded = Path("/sys/module/v4l2loopback").exists()
    report.facts["devices_before"] = find_devices()
    if not report.add("starts clean", not loaded and not MODPROBE_CONF.exists(),
                      f"v4l2loopback loaded: {loaded}, {MODPROBE_CONF} exists: "
                      f"{MODPROBE_CONF.exists()}"):
        return

    run_setup(script, report, "first run")
    devices = find_devices()
    report.facts["devices_after"] = devices
    report.add("device labelled SelfieCam at /dev/video10",
               devices.get("/dev/video10") == "SelfieCam", f"devices: {devices}")
    caps = device_caps("/dev/video10")
    report.add("exclusive_caps in effect",
               bool(caps & V4L2_CAP_VIDEO_OUTPUT) and not caps & V4L2_CAP_VIDEO_CAPTURE,
               f"with no producer /dev/video10 offers caps {caps:#x}: output only, so "
               "browsers do not list it until SelfieCam writes")
    conf = MODPROBE_CONF.read_text() if MODPROBE_CONF.exists() else ""
    report.add("options persisted", WANT_OPTIONS in conf.splitlines(),
               f"{MODPROBE_CONF}: {conf.strip()!r}")
    load = MODULES_LOAD_CONF.read_text() if MODULES_LOAD_CONF.exists() else ""
    report.add("loaded at boot", "v4l2loopback" in load.split(),
               f"{MODULES_LOAD_CONF}: {load.strip()!r}")

    before = mtimes()
    second = run_setup(script, report, "second run")
    report.add("second run changes nothing",
               mtimes() == before and "nothing to do" in second.stdout
               and find_devices() == devices,
               f"files untouched: {mtimes() == before}; said: {second.stdout.strip()!r}")

    run_setup(script, report, "third run, --zoom-device", "--zoom-device")
    devices = find_devices()
    report.add("SelfieCam-Zoom at /dev/video11 beside SelfieCam",
               devices.get("/dev/video10") == "SelfieCam"
               and devices.get("/dev/video11") == "SelfieCam-Zoom", f"devices: {devices}")
    both = V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_VIDEO_CAPTURE
    zoom_caps, caps = device_caps("/dev/video11"), device_caps("/dev/video10")
    report.add("exclusive_caps off on the Zoom device only",
               zoom_caps & both == both and caps & both == V4L2_CAP_VIDEO_OUTPUT,
               f"/dev/video11 caps {zoom_caps:#x} (capture and output), /dev/video10 {caps:#x}")
    conf = MODPROBE_CONF.read_text() if MODPROBE_CONF.exists() else ""
    report.add("two-device options persisted", WANT_ZOOM_OPTIONS in conf.splitlines(),
               f"{MODPROBE_CONF}: {conf.strip()!r}")


def main() -> int:
    repo = Path(__file__).resolve().parents[2]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    report = Report("setup")
    try:
        run(repo / "scripts" / "setup-v4l2loopback.sh", report)
    except Exception as exc:  # the verdict file must be written whatever happens
        report.add("harness", False, f"{type(exc).__name__}: {exc}")
    return report.write(args.out, "setup-v4l2loopback.sh on a real kernel")


if __name__ == "__main__":
    raise SystemExit(main())
