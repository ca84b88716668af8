"""``vcam apply``: the live effects on still images, folders of them and video files.

The frames go through the very stages the live pipeline uses: the
:class:`~vcam.stages.segment.Segmenter` (VIDEO running mode, one per model and reused
across inputs), the :class:`~vcam.stages.refine.Refiner` (its temporal smoothing runs
over a video's frames as it does live, and is reset between unrelated inputs)
and the effect functions of :mod:`vcam.stages.effects`.  Only what a file can do and a
camera cannot is added here: real alpha (``transparent`` writes RGBA) and the
soft mask itself (``mask``).

Everything that can be checked before the first frame is (formats, overwrites,
the background): such a mistake is a usage error, exit code 2, and nothing is
written.  An input that cannot be read fails on its own, named with the
reason; the others are still processed and the exit code is 1.
"""

from __future__ import annotations

import argparse
import enum
import logging
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from vcam.config import Config, Overrides, load_default
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
    looks_like_image,
    open_video_sink,
    pattern_files,
    read_image,
    write_image,
)
from vcam.offline.stream import MaskStream
from vcam.stages.compositor import Compositor
from vcam.stages.effects import get_effect
from vcam.stages.media import (
    ALPHA_IMAGE_EXTENSIONS,
    ALPHA_VIDEO_EXTENSIONS,
    IMAGE_EXTENSIONS,
    MEDIA_EXTENSIONS,
    VIDEO_EXTENSIONS,
    VideoReader,
)
from vcam.stages.refine import Refiner
from vcam.stages.segment import ModelSpec, Segmenter, pick_model

log = logging.getLogger(__name__)

MASK = "mask"
"""What ``apply`` makes besides the registered effects: the soft person mask itself."""
Render = str
"""What ``apply`` makes: a registered effect's name, or :data:`MASK`."""


def channels_of(render: Render) -> int:
    """Channels of what ``render`` writes: 1 for the mask, else the effect's file channels."""
    if render == MASK:
        return 1
    spec = get_effect(render)
    return spec.file_channels if spec.file_fn else 3


class Kind(enum.Enum):
    IMAGE = "image"
    VIDEO = "video"


@dataclass(frozen=True)
class Job:
    """One input file and where its result goes."""

    source: Path
    target: Path
    kind: Kind


# -- planning: inputs -> jobs ---------------------------------------------------------

def classify(path: Path) -> Kind:
    """Image or video, from the name and, failing that, the contents."""
    if not path.exists():
        raise MediaError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXTENSIONS or (suffix not in VIDEO_EXTENSIONS and looks_like_image(path)):
        return Kind.IMAGE
    VideoReader(path).close()  # raises MediaError if OpenCV cannot decode a frame
    return Kind.VIDEO


def expand(inputs: Iterable[str]) -> tuple[list[tuple[Path, Kind]], list[str], bool]:
    """The input files (folders expanded, not recursively), the inputs that failed
    already, and whether there are several inputs (then OUTPUT is a folder)."""
    found: list[tuple[Path, Kind]] = []
    failed: list[str] = []
    names = list(inputs)
    many = len(names) > 1
    for text in names:
        path = Path(text).expanduser()
        if path.is_dir():
            many = True
            files = sorted(f for f in path.iterdir() if f.is_file() and not f.name.startswith(".")
                           and f.suffix.lower() in MEDIA_EXTENSIONS)
            if not files:
                failed.append(f"{path}: no images or videos in this folder")
            candidates = files
        else:
            candidates = [path]
        for f in candidates:
            try:
                found.append((f, classify(f)))
            except MediaError as e:
                failed.append(str(e))
    return found, failed, many


def default_name(source: Path, kind: Kind, render: Render) -> str:
    """The output file name in an output folder."""
    if kind is Kind.VIDEO:
        return source.stem + (".webm" if channels_of(render) == 4 else ".mp4")
    suffix = source.suffix.lower()
    if channels_of(render) != 3 or suffix not in IMAGE_EXTENSIONS:
        suffix = ".png"
    return source.stem + suffix


def check_format(job: Job, render: Render) -> None:
    """A :class:`UsageError` if ``job.target`` cannot hold what ``render`` makes of the input."""
    target, suffix = job.target, job.target.suffix.lower()
    pattern = is_frame_pattern(target)
    alpha = channels_of(render) == 4
    images = ", ".join(sorted(IMAGE_EXTENSIONS))
    example = target.parent / "frame_%05d.png"
    if job.kind is Kind.IMAGE:
        if pattern or suffix not in IMAGE_EXTENSIONS:
            raise UsageError(f"{target}: {job.source.name} is an image; write it as one of "
                             f"{images}")
        if alpha and suffix not in ALPHA_IMAGE_EXTENSIONS:
            raise UsageError(f"{target}: --effect {render} needs a format with an alpha "
                             f"channel and {suffix} has none; write a .png (or .webp, .tiff)")
        return
    if pattern:
        if suffix not in IMAGE_EXTENSIONS:
            raise UsageError(f"{target}: a frame pattern names image files ({images})")
        if alpha and suffix not in ALPHA_IMAGE_EXTENSIONS:
            raise UsageError(f"{target}: --effect {render} needs frames with an alpha "
                             f"channel and {suffix} has none; use a pattern like {example}")
        return
    if suffix not in VIDEO_EXTENSIONS:
        raise UsageError(f"{target}: {job.source.name} is a video; write a video file "
                         f"({', '.join(sorted(VIDEO_EXTENSIONS))}) or a frame pattern like "
                         f"{example}")
    if alpha and suffix not in ALPHA_VIDEO_EXTENSIONS:
        raise UsageError(f"{target}: --effect {render} needs a format that keeps alpha and "
                         f"{suffix} cannot; write a .webm (VP9 with alpha) or a PNG frame "
                         f"pattern like {example}")


def existing_outputs(target: Path) -> list[Path]:
    """What writing ``target`` would replace (for a frame pattern: the frames there)."""
    if is_frame_pattern(target):
        return pattern_files(target)
    return [target] if target.exists() else []


def plan(inputs: Sequence[str], output: str, render: Render, *,
         force: bool) -> tuple[list[Job], list[str]]:
    """The jobs to run and the inputs that already failed; :class:`UsageError` for a
    command that cannot be carried out (nothing has been written then)."""
    found, failed, many = expand(inputs)
    out = Path(output).expanduser()
    into_folder = many or out.is_dir() or output.endswith(("/", "\\")) or (
        not out.exists() and not out.suffix and not is_frame_pattern(out))
    if many and (out.exists() and not out.is_dir() or out.suffix.lower() in
                 IMAGE_EXTENSIONS | VIDEO_EXTENSIONS or is_frame_pattern(out)):
        raise UsageError(f"{output}: with several inputs (or a folder), OUTPUT is a folder")
    jobs = [Job(src, out / default_name(src, kind, render) if into_folder else out, kind)
            for src, kind in found]
    # Every file named as an input, or in a folder named as one, readable or not.
    sources = {p.resolve() for text in inputs for p in (
        Path(text).expanduser().iterdir() if Path(text).expanduser().is_dir()
        else [Path(text).expanduser()])}
    seen: dict[Path, Path] = {}
    exist: list[Path] = []
    for job in jobs:
        check_format(job, render)
        target = job.target.resolve()
        if target in sources or any(p.resolve() in sources for p in existing_outputs(job.target)):
            raise UsageError(f"{job.target} is an input; apply never overwrites an input: "
                             f"choose another OUTPUT")
        if target in seen:
            raise UsageError(f"{seen[target]} and {job.source} would both be written to "
                             f"{job.target}; give them separate runs or rename one")
        seen[target] = job.source
        exist += existing_outputs(job.target)
    if exist and not force:
        shown = ", ".join(str(p) for p in exist[:3]) + (" ..." if len(exist) > 3 else "")
        raise UsageError(f"output already exists: {shown}; add --force to overwrite")
    return jobs, failed


# -- processing ---------------------------------------------------------------------

class Applier:
    """Applies one :data:`Render` to images and videos, one input at a time, through
    the live :class:`~vcam.stages.compositor.Compositor` in its file mode.

    ``apply(job)`` writes ``job.target`` and returns the number of frames written.
    Not thread-safe.  ``close()`` releases the segmenters and the background.
    A bad background is a :class:`BackgroundError` here, before any frame.
    """

    def __init__(self, cfg: Config, render: Render, *, quiet: bool = False,
                 verbose: bool = False) -> None:
        self.render = render
        # The mask needs only the compositor's refiner: no effect, no background.
        self.cfg = cfg.replace(effect="none" if render == MASK else render)
        self.quiet = quiet
        self._verbose = verbose
        self._segmenters: dict[ModelSpec, Segmenter] = {}
        self.compositor = Compositor(self.cfg, live=False)

    @property
    def refiner(self) -> Refiner:
        return self.compositor.refiner

    @property
    def channels(self) -> int:
        """Channels of what :meth:`frame` returns: 4 BGRA, 1 mask, else 3 BGR."""
        return channels_of(self.render)

    @property
    def needs_mask(self) -> bool:
        return self.render == MASK or get_effect(self.render).needs_mask

    def segmenter(self, width: int, height: int) -> Segmenter:
        """The segmenter for this frame size's model (``auto`` picks by aspect), kept for reuse."""
        spec = pick_model(self.cfg.model, width, height)
        if spec not in self._segmenters:
            self._segmenters[spec] = Segmenter(spec, runtime=self.cfg.runtime,
                                               quiet=not self._verbose)
            log.debug("segmentation model: %s (%dx%d)", spec.name, spec.width, spec.height)
        return self._segmenters[spec]

    def frame(self, image: np.ndarray, t: float) -> np.ndarray:
        """``image`` (BGR) at time ``t`` in its video (0 for a still) -> the output frame."""
        if not self.needs_mask:
            return self.compositor.apply(image, None, t)
        h, w = image.shape[:2]
        confidence = self.segmenter(w, h).segment(image, t)
        return self.render_with(image, t, self.refiner.refine(confidence, image))

    def render_with(self, image: np.ndarray, t: float, alpha: np.ndarray) -> np.ndarray:
        """The output frame for ``image`` with its refined ``alpha``."""
        if self.render == MASK:
            return alpha
        return self.compositor.apply(image, alpha, t)

    def apply(self, job: Job) -> int:
        """Process one input; :class:`MediaError` if it cannot be read or written."""
        # Unrelated inputs must not lean on each other's masks.
        self.refiner.reset()
        job.target.parent.mkdir(parents=True, exist_ok=True)
        if job.kind is Kind.IMAGE:
            write_image(job.target, self.frame(read_image(job.source), 0.0))
            return 1
        return self._video(job)

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
                        rendered = (self.render_with(image, t, alpha)
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
        applier = Applier(cfg, render, quiet=args.quiet, verbose=args.verbose)
    except (ConfigError, UsageError, BackgroundError) as e:
        print(f"vcam: {e}", file=sys.stderr)
        return EXIT_USAGE
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
        print(f"vcam: wrote {where}")
    if failed:
        print(f"vcam: {len(failed)} of {len(failed) + len(written)} inputs failed "
              f"(named above)", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK
