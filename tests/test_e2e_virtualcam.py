"""SelfieCam on a real v4l2loopback device, read by a real consumer (slow: ~1-2 min).

Marked ``e2e``: ``pytest -m "not e2e"`` leaves it out of a quick run.

Runs scripts/e2e-virtualcam.sh: Debian's kernel boots under qemu (software
emulation), loads a v4l2loopback module built from v4l2loopback-dkms with a decoy
device before the "SelfieCam" one, and inside the guest `vcam run --source <demo
clip> --effect replace --background #0000ff` publishes while `ffmpeg -f v4l2` reads
the device. The guest's verdict comes back in result.json, asserted on here: the device
found by its label, frames at the clip's size, blue background around a face that is
not blue, and the on-demand camera off / on / off as ffmpeg opens and closes SelfieCam.
A second run (--setup) has scripts/setup-v4l2loopback.sh load and persist the device
in the guest, twice, then with --zoom-device add the SelfieCam-Zoom device for Zoom.

The first run downloads ~85 MB of Debian packages into
${XDG_CACHE_HOME:-~/.cache}/selfiecam-e2e; later runs reuse them. The script
apt-installs qemu-system-x86, kmod, make, the headers' gcc and ffmpeg when missing.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "e2e-virtualcam.sh"

# The checks guest_check.py makes; each must be there and pass.
EXPECTED_CHECKS = {
    "device by label",
    "producer writes to the device",
    "ffmpeg reads the device",
    "frame size",
    "frame count",
    "advertised rate",
    "frames keep coming",
    "background replaced",
    "face visible",
    "face kept",
    "producer exits cleanly",
    "camera off while nobody watches",
    "camera on while watched",
    "camera off after the reader closes",
}
SETUP_CHECKS = {
    "starts clean",
    "first run succeeds",
    "device labelled SelfieCam at /dev/video10",
    "exclusive_caps in effect",
    "options persisted",
    "loaded at boot",
    "second run succeeds",
    "second run changes nothing",
    "third run, --zoom-device succeeds",
    "SelfieCam-Zoom at /dev/video11 beside SelfieCam",
    "exclusive_caps off on the Zoom device only",
    "two-device options persisted",
}


def _why_qemu_cannot_run() -> str | None:
    """A reason when this machine cannot run the x86-64 guest at all, else None."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return f"needs an x86-64 Linux host, this is {platform.system()} {platform.machine()}"
    if shutil.which("qemu-system-x86_64"):
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return ("qemu-system-x86_64 is missing and cannot be installed here (needs root and "
                "apt-get): apt-get install qemu-system-x86 kmod")
    return None  # the script installs it


def run_e2e(out: Path, *flags: str) -> tuple[dict[str, Any], str]:
    """Run the e2e script; its result.json and a log to show on failure."""
    reason = _why_qemu_cannot_run()
    if reason:
        pytest.skip(reason)
    proc = subprocess.run(["bash", str(SCRIPT), "--out", str(out), *flags],
                          capture_output=True, text=True, timeout=620,
                          stdin=subprocess.DEVNULL)
    log = (f"--- exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n"
           f"{proc.stderr}\n(artifacts in {out})")
    assert proc.returncode != 2, f"the e2e harness could not run:\n{log}"
    result_file = out / "result.json"
    assert result_file.is_file(), f"the guest wrote no result.json:\n{log}"
    result: dict[str, Any] = json.loads(result_file.read_text())
    failed = [f"{c['name']}: {c['detail']}" for c in result["checks"] if not c["ok"]]
    assert not failed, "failed checks:\n" + "\n".join(failed) + "\n" + log
    assert result["status"] == "PASS" and (out / "result").read_text().strip() == "PASS"
    assert proc.returncode == 0, log
    return result, log


def check_names(result: dict[str, Any]) -> set[str]:
    return {c["name"] for c in result["checks"]}


@pytest.mark.e2e
def test_vcam_run_on_a_real_v4l2loopback_device(tmp_path: Path) -> None:
    result, log = run_e2e(tmp_path / "e2e")
    assert result["mode"] == "vcam"
    missing = EXPECTED_CHECKS - check_names(result)
    assert not missing, f"checks missing from the run: {sorted(missing)}\n{log}"
    facts = result["facts"]
    ours = [dev for dev, label in facts["devices"].items() if label == "SelfieCam"]
    assert len(ours) == 1 and len(facts["devices"]) == 2, facts["devices"]
    assert facts["consumer_size"] == facts["clip_size"] == [640, 360]


@pytest.mark.e2e
def test_setup_script_loads_and_persists_selfiecam_on_a_real_kernel(tmp_path: Path) -> None:
    result, log = run_e2e(tmp_path / "e2e", "--setup")
    assert result["mode"] == "setup"
    missing = SETUP_CHECKS - check_names(result)
    assert not missing, f"checks missing from the run: {sorted(missing)}\n{log}"
    assert result["facts"]["devices_after"] == {"/dev/video10": "SelfieCam"}
