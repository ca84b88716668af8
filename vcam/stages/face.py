"""Face detection with MediaPipe's short-range BlazeFace model, in LiteRT.

The model (``face_detection_short_range.tflite`` from the ``mediapipe==0.10.21``
wheel, Apache-2.0) takes a 128x128 RGB image in -1..1 and scores 896 SSD
anchors: ``classificators`` (1x896x1, a logit per anchor) and ``regressors``
(1x896x16: the box's centre offset and size, then six keypoints, in the
tensor's pixels, relative to the anchor).  Decoding follows the options of
MediaPipe's ``face_detection_short_range`` graph: anchors on four layers of
strides 8, 16, 16, 16 with offset 0.5 and a fixed unit size (two per cell at
stride 8, six per cell at stride 16, the three stride-16 layers sharing one
grid), scores clipped to +-100 before the sigmoid, boxes scaled by 128, and
a weighted non-max suppression (IoU 0.3) that averages the overlapping boxes
by their scores.  An image that is not square is letterboxed into the input
(scaled to fit, centred, black bars), as MediaPipe's ``keep_aspect_ratio``.

The model is for faces near the camera: a face should be a fair share of what
it is shown (at least ~1/10 of the side).  Callers with a wide frame pass the
region where a head is (``roi``), not the whole frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vcam.stages.modelfile import ModelSpec, native_stderr_silenced, verify_model
from vcam.stages.resample import halve_toward

MODEL = ModelSpec("face", "face_detection_short_range.tflite", 128, 128,
                  "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8")
INPUT = 128
STRIDES = (8, 16, 16, 16)
ANCHOR_OFFSET = 0.5
MIN_SCORE = 0.75
"""A face's least score.  MediaPipe's graph keeps 0.5, but the cartoon faces of
the no-person clip score up to 0.61 while real faces on every real clip and
photo here score 0.92-0.96."""
NMS_IOU = 0.3
"""Boxes overlapping the best one by more than this are the same face."""
SCORE_CLIP = 100.0

Box = tuple[float, float, float, float]
"""(x0, y0, x1, y1) in an image's pixels."""


@dataclass(frozen=True)
class Face:
    """One face in an image's pixels: ``box`` (x0, y0, x1, y1, about brows to chin
    and cheek to cheek), ``score`` 0..1, and ``keypoints``: the right eye, left
    eye, nose tip, mouth centre, right and left ear tragion, (x, y) each (right and
    left as the person's own)."""

    box: Box
    score: float
    keypoints: tuple[tuple[float, float], ...]

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def centre(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        return ((x0 + x1) / 2, (y0 + y1) / 2)


def ssd_anchors(size: int = INPUT, strides: tuple[int, ...] = STRIDES) -> np.ndarray:
    """The anchors' centres (Nx2, x and y in 0..1 of the input), in the model's order:
    layer by layer, and within a run of layers of the same stride one grid whose
    cells hold two anchors per layer (one for the aspect ratio 1.0, one for the
    interpolated scale; with a fixed anchor size both are the cell's centre)."""
    centres = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        cells = -(-size // strides[i])
        per_cell = 2 * (j - i)
        ys, xs = np.mgrid[0:cells, 0:cells].astype(np.float32)
        grid = np.stack([(xs + ANCHOR_OFFSET) / cells, (ys + ANCHOR_OFFSET) / cells], axis=-1)
        centres.append(np.repeat(grid.reshape(-1, 2), per_cell, axis=0))
        i = j
    return np.concatenate(centres)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of ``box`` (4,) with each of ``boxes`` (Nx4), x0 y0 x1 y1."""
    w = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    h = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = w * h
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return np.asarray(inter / np.maximum(area + areas - inter, 1e-9))


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, points: np.ndarray,
                 iou: float = NMS_IOU) -> list[tuple[np.ndarray, float, np.ndarray]]:
    """(box, score, keypoints) per face: the best remaining box with all those it
    overlaps by more than ``iou`` averaged in by score (steadier than keeping the
    best box alone), with the best one's score."""
    order = np.argsort(-scores)
    boxes, scores, points = boxes[order], scores[order], points[order]
    left = np.ones(len(scores), bool)
    out = []
    for k in range(len(scores)):
        if not left[k]:
            continue
        same = left & (_iou(boxes[k], boxes) > iou)
        same[k] = True
        left &= ~same
        w = scores[same] / scores[same].sum()
        out.append((w @ boxes[same], float(scores[k]), np.tensordot(w, points[same], 1)))
    return out


def letterbox(image: np.ndarray, size: int = INPUT) -> tuple[np.ndarray, float, float, float]:
    """``image`` (BGR) scaled to fit a ``size`` square, centred on black: (square,
    scale, left pad, top pad); an input pixel p maps to p * scale + pad."""
    h, w = image.shape[:2]
    k = size / max(w, h)
    fit = (max(1, round(w * k)), max(1, round(h * k)))
    # Halvings first: a straight INTER_AREA from 1080p to 128 wide costs ~6 ms.
    small = halve_toward(image, fit)
    small = cv2.resize(small, fit, interpolation=cv2.INTER_AREA)
    px, py = (size - fit[0]) // 2, (size - fit[1]) // 2
    square = np.zeros((size, size, 3), np.uint8)
    square[py:py + fit[1], px:px + fit[0]] = small
    return square, fit[0] / w, float(px), float(py)


class FaceDetector:
    """``detect(bgr, roi)`` -> the faces in a BGR uint8 image (or in its region
    ``roi``), best first, in the image's pixels.  One LiteRT interpreter on
    ``threads`` threads; not thread-safe.  Raises :class:`FileNotFoundError` or
    :class:`ValueError` (as the segmenter does) for a missing or damaged model,
    :class:`ImportError` without LiteRT."""

    def __init__(self, *, threads: int = 1, quiet: bool = True,
                 min_score: float = MIN_SCORE) -> None:
        from ai_edge_litert.interpreter import Interpreter

        path = verify_model(MODEL)
        self.min_score = min_score
        with native_stderr_silenced(quiet):
            self._it = Interpreter(model_path=str(path), num_threads=threads)
            self._it.allocate_tensors()
        inp = self._it.get_input_details()[0]
        want = (1, INPUT, INPUT, 3)
        if tuple(inp["shape"]) != want or inp["dtype"] != np.float32:
            raise ValueError(f"{path.name}: input {tuple(inp['shape'])} {inp['dtype']}, "
                             f"expected {want} float32")
        self._anchors = ssd_anchors()
        outs = {int(o["shape"][-1]): o for o in self._it.get_output_details()}
        if (set(outs) != {1, 16}
                or any(int(o["shape"][1]) != len(self._anchors) for o in outs.values())):
            raise ValueError(f"{path.name}: outputs {[tuple(o['shape']) for o in outs.values()]}, "
                             f"expected (1, {len(self._anchors)}, 16) and "
                             f"(1, {len(self._anchors)}, 1)")
        self._in = inp["index"]
        self._scores, self._boxes = outs[1]["index"], outs[16]["index"]
        self._tensor = np.empty(want, np.float32)

    def detect(self, bgr: np.ndarray, roi: tuple[int, int, int, int] | None = None
               ) -> list[Face]:
        """The faces in ``bgr`` (HxWx3 uint8), or only in its part ``roi`` (x0, y0,
        x1, y1, clipped to the image), scored at least ``min_score``, best first."""
        ox, oy = 0, 0
        if roi is not None:
            h, w = bgr.shape[:2]
            ox, oy = max(0, roi[0]), max(0, roi[1])
            bgr = bgr[oy:min(h, roi[3]), ox:min(w, roi[2])]
            if bgr.shape[0] < 8 or bgr.shape[1] < 8:
                return []
        square, k, px, py = letterbox(bgr)
        rgb = cv2.cvtColor(square, cv2.COLOR_BGR2RGB)
        np.multiply(rgb, np.float32(2 / 255), out=self._tensor[0], casting="unsafe")
        self._tensor -= 1.0
        self._it.set_tensor(self._in, self._tensor)
        self._it.invoke()
        # float64: exp(100) is past float32's range.
        logits = self._it.get_tensor(self._scores).reshape(-1).astype(np.float64)
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -SCORE_CLIP, SCORE_CLIP)))
        keep = np.flatnonzero(scores >= self.min_score)
        if keep.size == 0:
            return []
        raw = self._it.get_tensor(self._boxes).reshape(-1, 16)[keep] / INPUT
        anchors = self._anchors[keep]
        centre = raw[:, :2] + anchors
        half = raw[:, 2:4] / 2
        boxes = np.concatenate([centre - half, centre + half], axis=1) * INPUT
        points = (raw[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]) * INPUT

        def back(xy: np.ndarray) -> np.ndarray:  # tensor pixels -> the image's
            return (xy - (px, py)) / k + (ox, oy)

        faces = []
        for box, score, pts in weighted_nms(boxes, scores[keep], points):
            x0, y0 = back(box[:2])
            x1, y1 = back(box[2:])
            faces.append(Face((float(x0), float(y0), float(x1), float(y1)), score,
                              tuple((float(x), float(y)) for x, y in back(pts))))
        return faces

    def close(self) -> None:
        pass
