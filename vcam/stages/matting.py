"""Portrait matting for files: MODNet, run by onnxruntime, checked by the selfie model.

MODNet (Ke et al., AAAI 2022; Apache-2.0) draws a far finer matte than the
256-pixel selfie model, hair included, but only for portraits: on a wide scene
with small people it misses some and keeps parts of a crowd.  So it is never
taken on its own word.  :func:`combine` lets the selfie model say *where* the
people are and the matte say *what the edge is*, person by person: each of the
selfie model's people whose outline the matte agrees with takes the matte
around them (a hole the selfie model cut through a chest is filled, wall
between arms is cut); one it does not agree with keeps the selfie model's edge; and the matte is
dropped wherever the selfie model sees nobody.

At ~0.5 s a photo on two cores it is for ``vcam apply --quality best``; the live
camera stays on the selfie model (its whole frame budget is 33 ms).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vcam import assets_dir
from vcam.errors import MediaError

log = logging.getLogger(__name__)

MODEL_FILE = "modnet.onnx"
MODEL_SHA256 = "07c308cf0fc7e6e8b2065a12ed7fc07e1de8febb7dc7839d7b7f15dd66584df9"
FETCH = "python scripts/fetch_models.py"
LONGEST_SIDE = 512
"""The matte is made at most this many pixels on the longest side (MODNet's
training size; larger costs time and loses nothing visible in the edge)."""
THREADS = 2
AGREEMENT = 0.75
"""IoU (within a person's surroundings) the matte must reach with the selfie model's
person for its edge to be used there."""
MIN_PERSON = 0.001
"""Parts of the selfie mask smaller than this share of the picture are not judged."""
REACH = 0.03
"""How far around a person (share of the picture's diagonal) the matte may add."""


def model_path() -> Path:
    return assets_dir() / "models" / MODEL_FILE


class MattingModel:
    """``matte(frame)``: HxWx3 uint8 BGR -> HxW float32 alpha 0..1 (a new array).

    Raises :class:`MediaError` naming the fix when onnxruntime or the model file
    is missing or the file is not the one shipped.  Not thread-safe.
    """

    def __init__(self, path: Path | None = None, threads: int = THREADS) -> None:
        path = path or model_path()
        try:
            data = path.read_bytes()
        except OSError:
            raise MediaError(f"the matting model {path} is missing; restore it with: "
                             f"{FETCH}") from None
        if hashlib.sha256(data).hexdigest() != MODEL_SHA256:
            raise MediaError(f"{path} is not the MODNet model SelfieCam ships (sha256 "
                             f"differs); restore it with: {FETCH}")
        try:
            import onnxruntime as ort
        except ImportError:
            raise MediaError("--quality best needs onnxruntime, which is not installed: "
                             "pip install onnxruntime") from None
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(data, sess_options=opts,
                                             providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    @staticmethod
    def input_size(width: int, height: int) -> tuple[int, int]:
        """The model's input size for a ``width`` x ``height`` picture: the longest
        side at most :data:`LONGEST_SIDE`, both sides multiples of 32."""
        scale = min(1.0, LONGEST_SIDE / max(width, height))
        return (max(32, round(width * scale / 32) * 32), max(32, round(height * scale / 32) * 32))

    def matte(self, frame: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        iw, ih = self.input_size(w, h)
        interp = cv2.INTER_AREA if iw < w else cv2.INTER_LINEAR
        rgb = cv2.cvtColor(cv2.resize(frame, (iw, ih), interpolation=interp), cv2.COLOR_BGR2RGB)
        x = rgb.astype(np.float32) * (2 / 255) - 1.0
        out = self._session.run(None, {self._input: x.transpose(2, 0, 1)[None]})[0]
        small = np.ascontiguousarray(out[0, 0], dtype=np.float32)
        return np.clip(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)

    def close(self) -> None:
        del self._session


@dataclass(frozen=True)
class PersonCheck:
    """How the matte compared with one of the selfie model's people."""

    area: int
    """The person's pixels (selfie model, alpha > 127)."""
    agreement: float
    """IoU of the two around the person."""
    used: bool
    """True: the matte's edge is used for this person."""


def combine(selfie: np.ndarray, matte: np.ndarray) -> tuple[np.ndarray, list[PersonCheck]]:
    """The alpha to use (uint8) from the selfie model's ``selfie`` (uint8, refined)
    and the ``matte`` (float32 0..1), both at the picture's size; and how each
    person was judged.  See the module docstring."""
    h, w = selfie.shape
    person = (selfie > 127).view(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(person, connectivity=8)
    reach = max(3, round(REACH * float(np.hypot(w, h))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    matte8 = (matte * 255 + 0.5).astype(np.uint8)
    out = selfie.copy()
    checks: list[PersonCheck] = []
    for i in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if area < MIN_PERSON * h * w:
            continue  # a speck: the selfie model's own word stands
        # Work in the person's box, grown by the reach.
        ys = slice(max(0, y - reach), min(h, y + bh + reach))
        xs = slice(max(0, x - reach), min(w, x + bw + reach))
        lab = labels[ys, xs]
        one = (lab == i).view(np.uint8)
        # The matte may speak for the person's holes too (the selfie model's hole
        # through a chest) and a reach around their outline.
        around = cv2.dilate(_filled(one), kernel) > 0
        # The matte may also cover other people's surroundings: judge it on this
        # person's alone, and never let it reach into another person's pixels.
        mine = around & ((lab == 0) | (lab == i))
        agreement = _iou(matte[ys, xs][mine] > 0.5, one.view(bool)[mine])
        used = agreement >= AGREEMENT
        if used:
            out[ys, xs][mine] = matte8[ys, xs][mine]
        checks.append(PersonCheck(area, agreement, used))
    return out, checks


def _filled(mask: np.ndarray) -> np.ndarray:
    """uint8 0/1 ``mask`` with its holes filled (all that the outside cannot reach)."""
    padded = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    outside = padded.copy()
    cv2.floodFill(outside, None, (0, 0), 1)
    return (1 - outside[1:-1, 1:-1]) | mask


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int((a | b).sum())
    return float((a & b).sum()) / union if union else 1.0


class MatteSmoother:
    """Steadies a video's best-quality alpha: where the picture did not move, most of the
    previous alpha is kept, so a still edge does not shimmer from frame to frame;
    where it moved the new alpha is taken as it is, so nothing trails.  Motion is
    judged on a small grey copy; frames must come in order.  Not thread-safe."""

    MOTION = 12
    """Grey-level change (0..255) at which a pixel counts as moving."""
    KEEP = 0.7
    """The previous alpha's share where the picture is still."""
    WIDTH = 160

    def __init__(self) -> None:
        self._prev: np.ndarray | None = None
        self._prev_gray: np.ndarray | None = None

    def smooth(self, alpha: np.ndarray, frame: np.ndarray) -> np.ndarray:
        h, w = alpha.shape
        sw = min(self.WIDTH, w)
        gray = cv2.cvtColor(cv2.resize(frame, (sw, max(1, round(h * sw / w))),
                                       interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
        out = alpha
        if (self._prev is not None and self._prev_gray is not None
                and self._prev.shape == alpha.shape):
            moved = cv2.dilate(cv2.absdiff(gray, self._prev_gray), np.ones((3, 3), np.uint8))
            still = cv2.resize((moved < self.MOTION).view(np.uint8), (w, h),
                               interpolation=cv2.INTER_NEAREST) > 0
            out = alpha.copy()
            out[still] = cv2.addWeighted(self._prev, self.KEEP, alpha, 1 - self.KEEP, 0)[still]
        self._prev, self._prev_gray = out.copy(), gray
        return out
