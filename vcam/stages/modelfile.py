"""A bundled model file: what it is (:class:`ModelSpec`), where it is, and the check
that it is the file we shipped; and the one way to quiet the native runtimes'
start-up chatter.  Shared by the segmenter (vcam.stages.segment) and the face
detector (vcam.stages.face); it imports no configuration, so either may be
imported from anywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vcam import assets_dir


@dataclass(frozen=True)
class ModelSpec:
    """A bundled model: its name, file in ``assets/models/``, input size and sha256."""

    name: str
    file: str
    width: int
    height: int
    sha256: str


def model_path(spec: ModelSpec) -> Path:
    return assets_dir() / "models" / spec.file


def verify_model(spec: ModelSpec) -> Path:
    """The model file, checked against its known sha256."""
    path = model_path(spec)
    if not path.is_file():
        raise FileNotFoundError(
            f"model file missing: {path}. Reinstall SelfieCam, or restore it with "
            f"`python scripts/fetch_models.py`.")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != spec.sha256:
        raise ValueError(f"model file {path} is damaged: sha256 {digest} != {spec.sha256}. "
                         f"Restore it with `python scripts/fetch_models.py`.")
    return path


@contextlib.contextmanager
def native_stderr_silenced(enabled: bool = True) -> Iterator[None]:
    """Send fd 2 to /dev/null for the duration.

    MediaPipe's native code (absl, TFLite) writes start-up chatter straight to
    fd 2; environment variables do not silence it, only this does.
    """
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
