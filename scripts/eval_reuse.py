"""What reusing the model's mask on still frames costs (issue 16's quality bar).

Runs each real clip in ../shared/media/video (and the demo clip) through the
live path twice, the model on every frame and with :class:`vcam.stages.gate.StillGate`
letting the last mask serve while the picture is still, and reports the share
of frames the model saw and how far the reused alphas are from the
every-frame ones.  Then the moving ground-truth sequences of
``eval_quality.py`` (a real matte moving over a pale wall): IoU against the
truth with and without reuse.

    python3 scripts/eval_reuse.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from eval_quality import MOTIONS, _warp, children_matte, over  # noqa: E402

from vcam.config import Config, ModelChoice  # noqa: E402
from vcam.stages.compositor import Compositor  # noqa: E402
from vcam.stages.gate import StillGate  # noqa: E402
from vcam.stages.segment import MODELS, Segmenter  # noqa: E402


class LivePath:
    """The segmentation and output threads' work for one frame, in series."""

    def __init__(self, seg: Segmenter, reuse: int) -> None:
        self.seg, self.gate = seg, StillGate(reuse)
        self.comp = Compositor(Config(effect="replace", background="#1c2a48"))
        self.runs = 0

    def alpha(self, frame: np.ndarray, t: float) -> np.ndarray:
        got = self.gate.segment(self.seg, frame, t)
        self.runs += got.fresh
        return self.comp.cut(got.confidence, frame, got.feed, not got.fresh).alpha


def frames_of(path: Path, size: tuple[int, int] | None) -> list[np.ndarray]:
    cap, out = cv2.VideoCapture(str(path)), []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        out.append(cv2.resize(f, size) if size else f)
    return out


def compare(frames: list[np.ndarray], reuse: int) -> tuple[float, float, float, float]:
    """(model share, mean IoU, worst IoU, mean |alpha difference|) of reuse vs none."""
    seg_a, seg_b = Segmenter(MODELS[ModelChoice.GENERAL]), Segmenter(MODELS[ModelChoice.GENERAL])
    every, gated = LivePath(seg_a, 0), LivePath(seg_b, reuse)
    ious, diffs = [], []
    for i, f in enumerate(frames):
        a, b = every.alpha(f, i / 30) > 127, gated.alpha(f, i / 30)
        union = (a | (b > 127)).sum()
        ious.append(((a & (b > 127)).sum() / union) if union else 1.0)
        diffs.append(float(np.mean(np.abs(every.comp._last_cut.alpha.astype(np.int16) - b))))
    seg_a.close()
    seg_b.close()
    return (gated.runs / len(frames), float(np.mean(ious)), float(np.min(ious)),
            float(np.mean(diffs)))


def moving(media: Path, reuse: int, frames: int = 30) -> dict[str, tuple[float, float]]:
    """Per motion: (model share, mean IoU against the truth) over a pale wall."""
    m = children_matte(media)
    h, w = m.alpha.shape
    wall = np.full((h, w, 3), 235, np.uint8)
    out = {}
    for motion in MOTIONS:
        seg = Segmenter(MODELS[ModelChoice.GENERAL])
        path, ious = LivePath(seg, reuse), []
        for i in range(frames):
            warp = _warp(motion, i, w, h)
            fg = cv2.warpPerspective(m.fg, warp, (w, h), flags=cv2.INTER_LINEAR)
            a = cv2.warpPerspective(m.alpha, warp, (w, h), flags=cv2.INTER_LINEAR)
            est = path.alpha(over(fg, a, wall), i / 30) > 127
            truth = a > 0.5
            ious.append((est & truth).sum() / max(1, (est | truth).sum()))
        seg.close()
        out[motion] = (path.runs / frames, float(np.mean(ious)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--reuse", type=int, default=Config().refine.reuse_still)
    ap.add_argument("--size", default="1280x720", help="clips are scaled to this")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    clips = [ROOT / "assets" / "demo" / "single_face.mp4",
             *sorted((args.shared / "media" / "video").glob("pyfeat_*_960x540.*"))]
    print(f"reuse_still={args.reuse}, clips at {args.size}: alpha with reuse vs the model "
          "on every frame")
    print(f"{'clip':44s} {'model share':>11s} {'IoU mean':>9s} {'IoU min':>8s} {'|da| mean':>9s}")
    for clip in clips:
        share, mean_iou, min_iou, diff = compare(frames_of(clip, size), args.reuse)  # type: ignore[arg-type]
        print(f"{clip.name:44s} {share:11.2f} {mean_iou:9.4f} {min_iou:8.4f} {diff:9.3f}")
    print("\nmoving ground truth (children matte over a pale wall): IoU against the truth")
    none, some = moving(args.shared / "media", 0), moving(args.shared / "media", args.reuse)
    for motion in MOTIONS:
        print(f"{motion:12s} every frame {none[motion][1]:.4f}   reuse {some[motion][1]:.4f} "
              f"(model share {some[motion][0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
