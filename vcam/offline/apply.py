"""``vcam apply``: the live effects on still images, folders of them and video files.

The frames go through the very stages the live pipeline uses: the
:class:`~vcam.stages.segment.Segmenter` (VIDEO running mode, one per model and reused
across inputs) and the :class:`~vcam.stages.compositor.Compositor` in its file mode
(its refiner's temporal smoothing runs over a video's frames as it does live, and
is reset between unrelated inputs).  Only what a file can do and a camera cannot
is added here: real alpha (``transparent`` writes RGBA), the soft mask itself
(``mask``), and at ``--quality best`` the portrait matte (vcam.stages.matting).

Everything that can be checked before the first frame is (vcam.offline.plan:
formats, overwrites; and the background): such a mistake is a usage error, exit
code 2, and nothing is written.  An input that cannot be read fails on its own, named with the
reason; the others are still processed and the exit code is 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from vcam.config import Config, Overrides, Quality, load_default
from vcam.errors import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    BackgroundError,
    ConfigError,
    MediaError,
    UsageError,
)
from vcam.logs import setup_logging
from vcam.offline.media_io import (
    is_frame_pattern,
    open_video_sink,
    read_image,
    write_image,
)
from vcam.offline.plan import MASK, Job, Kind, Render, channels_of, existing_outputs, plan
from vcam.offline.stream import MaskStream
from vcam.stages.compositor import Compositor, needs_mask
from vcam.stages.matting import MatteSmoother, MattingModel, combine
from vcam.stages.media import (
    VideoReader,
)
from vcam.stages.refine import Refiner
from vcam.stages.segment import ModelSpec, Segmenter, pick_model

log = logging.getLogger(__name__)

# -- processing ---------------------------------------------------------------------

class Applier:
    """Applies one :data:`Render` to images and videos, one input at a time, through
    the live :class:`~vcam.stages.compositor.Compositor` in its file mode.

    ``apply(job)`` writes ``job.target`` and returns the number of frames written.
    Not thread-safe.  ``close()`` releases the segmenters and the background.
    A bad background is a :class:`BackgroundError` here, before any frame.
    """

    def __init__(self, cfg: Config, render: Render, *, quiet: bool = False,
                 verbose: bool = False, quality: Quality | None = None) -> None:
        """``quality`` overrides the config's for images and videos alike.  A missing
        matting model or onnxruntime is a :class:`MediaError` here, naming the fix."""
        self.render = render
        # The mask needs only the compositor's refiner: no effect, no background.
        self.cfg = cfg.replace(effect="none" if render == MASK else render)
        self.quiet = quiet
        self._verbose = verbose
        self.image_quality = quality or cfg.apply.quality
        self.video_quality = quality or cfg.apply.video_quality
        self._segmenters: dict[ModelSpec, Segmenter] = {}
        self.compositor = Compositor(self.cfg, live=False)
        self._matting: MattingModel | None = None
        if Quality.BEST in (self.image_quality, self.video_quality) and self.needs_mask:
            self._matting = MattingModel()
        self.seconds = 0.0
        self.frames = 0
        """Time spent and frames written, for the summary."""

    @property
    def refiner(self) -> Refiner:
        return self.compositor.refiner

    @property
    def channels(self) -> int:
        """Channels of what :meth:`frame` returns: 4 BGRA, 1 mask, else 3 BGR."""
        return channels_of(self.render)

    @property
    def needs_mask(self) -> bool:
        return self.render == MASK or needs_mask(self.cfg)

    def segmenter(self, width: int, height: int) -> Segmenter:
        """The segmenter for this frame size's model (``auto`` picks by aspect), kept for reuse."""
        spec = pick_model(self.cfg.model, width, height)
        if spec not in self._segmenters:
            self._segmenters[spec] = Segmenter(spec, runtime=self.cfg.runtime,
                                               quiet=not self._verbose)
            log.debug("segmentation model: %s (%dx%d)", spec.name, spec.width, spec.height)
        return self._segmenters[spec]

    def frame(self, image: np.ndarray, t: float, quality: Quality | None = None) -> np.ndarray:
        """``image`` (BGR) at time ``t`` in its video (0 for a still) -> the output
        frame, at ``quality`` (default: the one for images)."""
        if not self.needs_mask:
            return self.compositor.apply(image, None, t)
        h, w = image.shape[:2]
        confidence = self.segmenter(w, h).segment(image, t)
        alpha = self.refiner.refine(confidence, image)
        if (quality or self.image_quality) is Quality.BEST:
            alpha = self.best(image, alpha)
        return self.render_with(image, t, alpha)

    def best(self, image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """The selfie model's ``alpha`` with the portrait matte's edge where the two
        agree (:func:`vcam.stages.matting.combine`)."""
        assert self._matting is not None
        combined, checks = combine(alpha, self._matting.matte(image))
        log.debug("matte used for %d of %d people (agreement %s)", sum(c.used for c in checks),
                  len(checks), ", ".join(f"{c.agreement:.2f}" for c in checks))
        return combined

    def render_with(self, image: np.ndarray, t: float, alpha: np.ndarray) -> np.ndarray:
        """The output frame for ``image`` with its refined ``alpha``."""
        if self.render == MASK:
            return alpha
        return self.compositor.apply(image, alpha, t)

    def apply(self, job: Job) -> int:
        """Process one input; :class:`MediaError` if it cannot be read or written."""
        # Unrelated inputs must not lean on each other's masks (or framing); a photo
        # is framed at once, a video follows its people by the frames' time.
        self.compositor.reset(still=job.kind is Kind.IMAGE)
        job.target.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        try:
            if job.kind is Kind.IMAGE:
                write_image(job.target, self.frame(read_image(job.source), 0.0))
                count = 1
            else:
                count = self._video(job)
        finally:
            self.seconds += time.perf_counter() - t0
        self.frames += count
        return count

    def _video(self, job: Job) -> int:
        reader = VideoReader(job.source)
        try:
            for stale in existing_outputs(job.target) if is_frame_pattern(job.target) else []:
                stale.unlink()  # --force: frames of an older, longer run must not linger
            sink = open_video_sink(job.target, reader.width, reader.height, reader.fps,
                                   self.channels, audio_from=job.source)
            count = 0
            with tqdm(total=reader.frame_count or None, unit="frame", desc=job.source.name,
                      disable=self.quiet, leave=False, dynamic_ncols=True) as bar:
                try:
                    frames = self._timed_frames(reader)
                    if not self.needs_mask:
                        rendered: Iterator[np.ndarray] = (self.compositor.apply(image, None, t)
                                                          for image, t in frames)
                    else:
                        # The next frame is segmented while this one is composited
                        # and encoded (vcam/stream.py).
                        stream = MaskStream(self.segmenter, self.refiner)
                        steady = MatteSmoother() if self.video_quality is Quality.BEST else None
                        rendered = (self.render_with(image, t, alpha if steady is None else
                                                     steady.smooth(self.best(image, alpha),
                                                                   image))
                                    for image, t, alpha in stream.run(frames))
                    for out in rendered:
                        sink.send(out)
                        count += 1
                        bar.update()
                except BaseException:
                    sink.abort()
                    raise
            sink.close()
        finally:
            reader.close()
        log.debug("%s: %d frames -> %s", job.source, count, job.target)
        return count

    @staticmethod
    def _timed_frames(reader: VideoReader) -> Iterator[tuple[np.ndarray, float]]:
        i = 0
        while (image := reader.read()) is not None:
            # Timestamps from the frame index: the file's clock, not ours.
            yield image, i / reader.fps
            i += 1

    def close(self) -> None:
        for seg in self._segmenters.values():
            seg.close()
        self._segmenters.clear()
        self.compositor.close()


# -- the command --------------------------------------------------------------------

def config_from_args(args: argparse.Namespace) -> Config:
    """config.toml with this command's flags laid over it, as ``vcam run`` lays its own."""
    return Overrides.from_args(args).over(load_default(Path(args.config) if args.config
                                                       else None))


def _say(message: str) -> None:
    tqdm.write(f"vcam: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Carry out ``vcam apply``; returns the exit code."""
    try:
        cfg = config_from_args(args)
        render: Render = args.effect or cfg.effect
        setup_logging(cfg.log_level, args.verbose)
        jobs, failed = plan(args.inputs, args.output, render, force=args.force)
        applier = Applier(cfg, render, quiet=args.quiet, verbose=args.verbose,
                          quality=Quality(args.quality) if args.quality else None)
    except (ConfigError, UsageError, BackgroundError) as e:
        print(f"vcam: {e}", file=sys.stderr)
        return EXIT_USAGE
    except MediaError as e:  # a missing matting model or onnxruntime: the fix is named
        print(f"vcam: {e}", file=sys.stderr)
        return EXIT_FAILURE
    for message in failed:
        _say(message)
    written: list[Path] = []
    try:
        with logging_redirect_tqdm(), tqdm(jobs, unit="file", disable=args.quiet or len(jobs) < 2,
                                           dynamic_ncols=True) as bar:
            for job in bar:
                try:
                    applier.apply(job)
                    written.append(job.target)
                except (MediaError, OSError, ValueError, cv2.error) as e:
                    text = str(e)
                    failed.append(text if text.startswith(str(job.source)) else
                                  f"{job.source}: {text}")
                    _say(failed[-1])
    except KeyboardInterrupt:
        print("vcam: interrupted; unfinished outputs removed", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        applier.close()
    if not args.quiet and written:
        where = written[0] if len(written) == 1 else f"{len(written)} files in {args.output}"
        print(f"vcam: wrote {where} ({applier.frames} frame{'s' * (applier.frames != 1)}, "
              f"{applier.seconds / max(applier.frames, 1):.2f} s a frame)")
    if failed:
        print(f"vcam: {len(failed)} of {len(failed) + len(written)} inputs failed "
              f"(named above)", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK
