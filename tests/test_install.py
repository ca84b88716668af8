"""scripts/install.sh against the distribution's own Python, which refuses `pip install`
outside a virtual environment (PEP 668), in a fresh HOME: install, run the README's
demo from the installed link, uninstall, nothing left."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import cv2
import pytest

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = Path("/usr/bin/python3")

pytestmark = pytest.mark.skipif(not SYSTEM_PYTHON.exists(), reason="no /usr/bin/python3 here")


def fresh_env(home: Path) -> dict[str, str]:
    """A login's environment: the system's PATH only, a new HOME.  pip's own settings
    (index, cache) are passed on, so the machine's package registry is used."""
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
    env.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
    return env


def test_install_run_and_uninstall_with_the_system_python(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = fresh_env(home)
    refused = subprocess.run([str(SYSTEM_PYTHON), "-m", "pip", "install", "--dry-run", str(ROOT)],
                             env=env, capture_output=True, text=True, timeout=120)
    if (Path("/usr/lib/python3.11/EXTERNALLY-MANAGED").exists()
            or "externally-managed" in refused.stderr):
        assert refused.returncode != 0, "the system Python should refuse pip (PEP 668)"
    r = subprocess.run([str(ROOT / "scripts" / "install.sh"), "--python", str(SYSTEM_PYTHON),
                        "--no-virtualcam"], env=env, capture_output=True, text=True,
                       timeout=1500, stdin=subprocess.DEVNULL)
    print(r.stdout[-2000:], r.stderr[-2000:])
    assert r.returncode == 0, r.stderr
    vcam = home / ".local" / "bin" / "vcam"
    assert vcam.is_symlink() and "is not on your PATH" in r.stdout
    assert (home / ".local/share/applications/selfiecam.desktop").read_text().count(
        f"Exec={vcam} run") == 1
    again = subprocess.run([str(ROOT / "scripts" / "install.sh"), "--python",
                            str(SYSTEM_PYTHON), "--no-virtualcam", "--no-system"], env=env,
                           capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert again.returncode == 0 and "created" not in again.stdout, "running it twice is a no-op"

    assert subprocess.run([str(vcam), "--help"], env=env, capture_output=True,
                          timeout=60).returncode == 0
    work = tmp_path / "work"
    work.mkdir()
    demo = subprocess.run([str(vcam), "run", "--demo", "--frames", "30"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stderr
    cap = cv2.VideoCapture(str(work / "selfiecam-demo.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 30
    cap.release()
    # It ran from its own environment, not from this checkout or the system's Python.
    assert subprocess.run([str(SYSTEM_PYTHON), "-c", "import vcam"], env=env, cwd=tmp_path,
                          capture_output=True).returncode != 0

    (home / ".config" / "selfiecam").mkdir(parents=True)
    (home / ".config" / "selfiecam" / "config.toml").write_text('effect = "blur"\n')
    gone = subprocess.run([str(ROOT / "scripts" / "install.sh"), "--uninstall"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert gone.returncode == 0, gone.stderr
    left = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert left == [".config", ".config/selfiecam", ".config/selfiecam/config.toml"], left
