#!/usr/bin/env python3
"""Re-extract the two selfie segmentation models from the mediapipe 0.10.21 wheel.

Current mediapipe wheels ship no model files; 0.10.21 is the newest that does
(Apache-2.0, at mediapipe/modules/selfie_segmentation/).  This downloads that
wheel with pip (no install), copies both .tflite files into assets/models/ and
verifies their sha256.  ``--check`` only verifies the bundled copies.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vcam.stages.segment import MODELS  # noqa: E402

WHEEL_VERSION = "0.10.21"
INSIDE = "mediapipe/modules/selfie_segmentation/"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check(folder: Path) -> bool:
    ok = True
    for spec in MODELS.values():
        path = folder / spec.file
        digest = sha256(path.read_bytes()) if path.is_file() else "missing"
        good = digest == spec.sha256
        ok &= good
        print(f"{'ok ' if good else 'BAD'} {path}  {digest}")
    return ok


def fetch(folder: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        "-d", tmp, f"mediapipe=={WHEEL_VERSION}"], check=True)
        wheels = list(Path(tmp).glob("mediapipe-*.whl"))
        if not wheels:
            sys.exit(f"pip downloaded no mediapipe {WHEEL_VERSION} wheel for this platform")
        with zipfile.ZipFile(wheels[0]) as z:
            for spec in MODELS.values():
                data = z.read(INSIDE + spec.file)
                if sha256(data) != spec.sha256:
                    sys.exit(f"{spec.file} in {wheels[0].name} has sha256 {sha256(data)}, "
                             f"expected {spec.sha256}")
                folder.mkdir(parents=True, exist_ok=True)
                (folder / spec.file).write_bytes(data)
                print(f"extracted {spec.file} from {wheels[0].name}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="only verify the bundled models")
    p.add_argument("--dest", type=Path, default=ROOT / "assets" / "models")
    args = p.parse_args()
    if not args.check:
        fetch(args.dest)
    return 0 if check(args.dest) else 1


if __name__ == "__main__":
    sys.exit(main())
