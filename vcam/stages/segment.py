"""Person segmentation with MediaPipe's selfie models.

The segmenter takes a full BGR frame and returns the person confidence at the
model's own input size (256x256 general, 256x144 landscape).  The frame is
first shrunk by a whole factor to at most :data:`FEED_WIDTH` pixels wide,
then sampled down to the model's input exactly as MediaPipe's
``ImageToTensorCalculator`` does it: bilinear, with the frame's corners on the
tensor's corners.  That last step matters more than it looks: a
centre-aligned ``cv2.resize`` instead drops the IoU on the cafeteria photo
from 0.581 to 0.450 (INTER_LINEAR) or 0.519 (INTER_AREA).

Two runtimes run the model (``runtime`` in config.toml):

- ``litert``: :class:`LiteRtModel`, the .tflite file in LiteRT's own
  interpreter (PyPI ``ai-edge-litert``; MediaPipe runs the same TFLite
  kernels inside).  On one thread here the general model takes ~4.5 ms a
  frame, where MediaPipe's graph takes 7-9 ms plus its own worker threads.
- ``mediapipe``: :class:`TasksModel`, MediaPipe Tasks' ``ImageSegmenter``
  in VIDEO mode, for platforms with no LiteRT wheel (macOS on Intel, Linux on
  ARM).

Both get the same pixels and agree on >99% of a webcam frame's pixels at the
0.5 cut (``tests/test_segment.py``).
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import cv2
import numpy as np

from vcam.config import Config, ModelChoice, Runtime
from vcam.stages.modelfile import ModelSpec, model_path, native_stderr_silenced, verify_model
from vcam.stages.resample import halve_then_linear

log = logging.getLogger(__name__)

__all__ = ["ModelSpec", "model_path", "native_stderr_silenced", "verify_model"]


MODELS = {
    ModelChoice.GENERAL: ModelSpec(
        "general", "selfie_segmentation.tflite", 256, 256,
        "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c"),
    ModelChoice.LANDSCAPE: ModelSpec(
        "landscape", "selfie_segmentation_landscape.tflite", 256, 144,
        "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd"),
}


def pick_model(choice: ModelChoice, width: int, height: int) -> ModelSpec:
    """``auto`` takes the landscape model for wide frames (16:9 and wider), else general."""
    if choice is ModelChoice.AUTO:
        # The landscape model is 16:9; 16:10, 3:2 and 4:3 frames do better with general
        # (children photo, 566x350: IoU 0.944 general vs 0.931 landscape).
        choice = ModelChoice.LANDSCAPE if width >= 1.7 * height else ModelChoice.GENERAL
    return MODELS[choice]


FEED_WIDTH = 640
"""Frames wider than this are shrunk by a whole factor before the model's own resize."""


def feed_factor(width: int) -> int:
    """The whole factor that brings ``width`` to at most :data:`FEED_WIDTH`."""
    return max(1, -(-width // FEED_WIDTH))


def corner_aligned(src_w: int, src_h: int, dst_w: int, dst_h: int) -> np.ndarray:
    """The affine map that puts a ``src`` image's corners on a ``dst`` image's
    corners, as MediaPipe's image-to-tensor step maps a frame onto the model's
    input (``cv2.resize`` maps pixel centres instead: half a pixel apart)."""
    return np.array([[dst_w / src_w, 0.0, 0.0], [0.0, dst_h / src_h, 0.0]], np.float64)


def litert_available() -> bool:
    return importlib.util.find_spec("ai_edge_litert") is not None


def pick_runtime(choice: Runtime) -> Runtime:
    """``auto`` is LiteRT when its wheel is installed, else MediaPipe Tasks."""
    if choice is Runtime.AUTO:
        return Runtime.LITERT if litert_available() else Runtime.MEDIAPIPE
    if choice is Runtime.LITERT and not litert_available():
        raise RuntimeError(
            "runtime = \"litert\" but LiteRT is not installed: `pip install ai-edge-litert`, "
            "or set runtime = \"auto\" in config.toml to use MediaPipe Tasks instead")
    return choice


class LiteRtModel:
    """The .tflite model in LiteRT's interpreter (XNNPACK, ``threads`` threads).

    ``infer(bgr)`` takes a BGR uint8 frame of any size and returns the model's
    float32 person confidence at its input size, a fresh array.
    """

    def __init__(self, spec: ModelSpec, path: Path, *, threads: int = 1,
                 quiet: bool = True) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.spec = spec
        with native_stderr_silenced(quiet):
            self._it = Interpreter(model_path=str(path), num_threads=threads)
            self._it.allocate_tensors()
        inp = self._it.get_input_details()[0]
        out = self._it.get_output_details()[0]
        want = (1, spec.height, spec.width, 3)
        if tuple(inp["shape"]) != want or inp["dtype"] != np.float32:
            raise ValueError(f"{path.name}: input {tuple(inp['shape'])} {inp['dtype']}, "
                             f"expected {want} float32")
        self._in, self._out = inp["index"], out["index"]
        self._tensor = np.empty(want, np.float32)

    def infer(self, bgr: np.ndarray, t: float) -> np.ndarray:
        s = self.spec
        h, w = bgr.shape[:2]
        small = cv2.warpAffine(bgr, corner_aligned(w, h, s.width, s.height), (s.width, s.height),
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        # The selfie models take RGB in 0..1 (MediaPipe's tensor range for them).
        np.multiply(rgb, np.float32(1 / 255), out=self._tensor[0], casting="unsafe")
        self._it.set_tensor(self._in, self._tensor)
        self._it.invoke()
        conf: np.ndarray = self._it.get_tensor(self._out)  # a copy: ours to keep
        return conf.reshape(s.height, s.width)

    def close(self) -> None:
        pass


class TasksVideo:
    """MediaPipe Tasks' ImageSegmenter in VIDEO mode, confidence masks only.

    ``segment(rgb, t)`` returns the person confidence at the image's own size:
    a read-only view of MediaPipe's buffer, valid until the next call.  The
    naive reference pipeline of ``vcam bench`` uses it as it is.
    """

    def __init__(self, path: Path, *, quiet: bool = True) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        self._quiet = quiet
        options = vision.ImageSegmenterOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=vision.RunningMode.VIDEO,
            output_confidence_masks=True,
            output_category_mask=False,
        )
        with native_stderr_silenced(quiet):
            self._seg = vision.ImageSegmenter.create_from_options(options)
        self._last_ts = -1
        self._first = True

    def segment(self, rgb: np.ndarray, t: float) -> np.ndarray:
        import mediapipe as mp

        # MediaPipe wants strictly increasing timestamps over the segmenter's life.
        ts = max(int(t * 1000), self._last_ts + 1)
        self._last_ts = ts
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        with native_stderr_silenced(self._quiet and self._first):
            result = self._seg.segment_for_video(image, ts)
        self._first = False
        conf = result.confidence_masks[0].numpy_view()
        return conf.reshape(conf.shape[0], conf.shape[1])

    def close(self) -> None:
        self._seg.close()


class TasksModel:
    """:class:`TasksVideo` with ``infer`` as :class:`LiteRtModel`'s."""

    def __init__(self, spec: ModelSpec, path: Path, *, quiet: bool = True) -> None:
        self.spec = spec
        self._tasks = TasksVideo(path, quiet=quiet)

    def infer(self, bgr: np.ndarray, t: float) -> np.ndarray:
        conf = self._tasks.segment(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), t)
        # MediaPipe returns the mask at the size it was given; its buffer is
        # read-only and reused, and the resize makes our own copy.
        return cv2.resize(conf, (self.spec.width, self.spec.height), interpolation=cv2.INTER_AREA)

    def close(self) -> None:
        self._tasks.close()


class Segmenter:
    """Turns BGR frames into person-confidence masks.

    ``segment(frame, t)`` returns a float32 HxW array in 0..1 (1 = person) at
    the model's input size, a fresh copy owned by the caller; ``t`` is the
    frame's monotonic capture time.  Not thread-safe: one thread uses a
    segmenter.  ``runtime`` says which runtime it picked.
    """

    def __init__(self, spec: ModelSpec, *, quiet: bool = True,
                 runtime: Runtime = Runtime.AUTO) -> None:
        self.spec = spec
        path = verify_model(spec)
        self.asked = runtime
        self.runtime = pick_runtime(runtime)
        self._model: LiteRtModel | TasksModel
        if self.runtime is Runtime.LITERT:
            self._model = LiteRtModel(spec, path, quiet=quiet)
        else:
            self._model = TasksModel(spec, path, quiet=quiet)

    def segment(self, frame: np.ndarray, t: float) -> np.ndarray:
        """Person confidence for ``frame`` (BGR uint8) captured at monotonic time ``t``."""
        return self.infer(self.feed(frame), t)

    @staticmethod
    def feed(frame: np.ndarray) -> np.ndarray:
        """``frame`` shrunk by a whole factor to at most :data:`FEED_WIDTH` wide
        (itself when it already is), ready for :meth:`infer`."""
        h, w = frame.shape[:2]
        k = feed_factor(w)
        return halve_then_linear(frame, (w // k, h // k)) if k > 1 else frame

    def infer(self, small: np.ndarray, t: float) -> np.ndarray:
        """Person confidence for a frame :meth:`feed` has shrunk."""
        return self._model.infer(small, t)

    def close(self) -> None:
        self._model.close()


def segmenter_for(cfg: Config, width: int, height: int, *, quiet: bool = True) -> Segmenter:
    """The segmenter ``cfg`` asks for (model and runtime) for ``width`` x ``height`` frames."""
    return Segmenter(pick_model(cfg.model, width, height), runtime=cfg.runtime, quiet=quiet)


def fits(seg: Segmenter, cfg: Config, width: int, height: int) -> bool:
    """Whether ``seg`` is still the segmenter ``cfg`` asks for at this size."""
    return seg.spec == pick_model(cfg.model, width, height) and seg.asked == cfg.runtime
