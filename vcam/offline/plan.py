"""Planning ``vcam apply``: the inputs named on the command line -> the jobs to run.

Everything that can be checked before the first frame is checked here
(formats, overwrites, inputs that cannot be read): such a mistake is a
:class:`~vcam.errors.UsageError` and nothing is written.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vcam.errors import MediaError, UsageError
from vcam.offline.media_io import is_frame_pattern, looks_like_image, pattern_files
from vcam.stages.effects import get_effect
from vcam.stages.media import (
    ALPHA_IMAGE_EXTENSIONS,
    ALPHA_VIDEO_EXTENSIONS,
    IMAGE_EXTENSIONS,
    MEDIA_EXTENSIONS,
    VIDEO_EXTENSIONS,
    VideoReader,
)

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
    into_folder = many or out.is_dir() or output.endswith(("/", "\\"))
    if not into_folder and not out.exists() and not out.suffix and not is_frame_pattern(out):
        # One input and a bare name: a folder made silently surprised people.
        raise UsageError(f"{output}: OUTPUT has no extension; name a file (like "
                         f"{out.name}.png or {out.name}.mp4) or a folder ending in / "
                         f"({out.name}/)")
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


