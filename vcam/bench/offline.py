"""``vcam bench`` offline: SelfieCam's stages and the naive reference on the same frames.

Each size and effect is timed three ways -- vcam one frame alone (every
stage in series), vcam as a stream (:class:`vcam.offline.stream.MaskStream`, as
``vcam apply`` runs a video) and the reference -- in rounds, the pipelines
taking turns.  ``ms_median`` of a result is one frame alone, segment through
output conversion; capture/decode is listed as a stage but left out of the
totals and ratios because both pipelines get the same camera frames.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vcam.bench.media import MjpegClip, RecordingSink
from vcam.bench.probes import median, page_faults, peak_rss_mb, percentile, reset_peak_rss
from vcam.bench.reference import EFFECTS as REFERENCE_EFFECTS
from vcam.bench.reference import ReferencePipeline
from vcam.config import Config
from vcam.offline.stream import MaskStream
from vcam.stages.compositor import Compositor, Cut
from vcam.stages.gate import Segmented, StillGate
from vcam.stages.segment import Segmenter, pick_model, segmenter_for
from vcam.system.tuning import opencv_threads

STAGES = ("capture", "segment", "refine", "composite", "output")
"""capture = decoding the camera's JPEG; output = the virtual camera's BGR->I420."""
WARMUP_FRAMES = 5


@dataclass
class Case:
    """The timings of one pipeline on one size and effect."""

    size: str
    effect: str
    pipeline: str
    stage_ms: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})
    total_ms: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    page_faults: int = 0
    peak_rss_mb: float = 0.0
    overlapped_ms: list[float] = field(default_factory=list)
    """Between consecutive outputs when the next frame is segmented during this
    one's refine, composite and output (vcam only)."""
    overlapped_cpu_s: float = 0.0
    overlapped_page_faults: int = 0
    prepared_ahead: int = 0
    """Frames of the stream whose refinement prepare ran on the worker thread."""
    model_runs: int = 0
    """Frames (warm-up included) the model saw, of :attr:`model_frames` (vcam alone):
    the rest reused its last mask, the picture being still (vcam.stages.gate)."""
    model_frames: int = 0

    def as_dict(self) -> dict[str, Any]:
        frames = len(self.total_ms)
        work_s = sum(self.total_ms) / 1000
        return {
            "size": self.size,
            "effect": self.effect,
            "pipeline": self.pipeline,
            "frames": frames,
            "ms_median": round(median(self.total_ms), 3),
            "ms_p95": round(percentile(self.total_ms, 95), 3),
            "fps": round(frames / work_s, 1) if work_s else None,
            "cpu_s_per_frame": round(self.cpu_s / frames, 5) if frames else None,
            "page_faults_per_frame": round(self.page_faults / frames, 1) if frames else None,
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "model_share": (round(self.model_runs / self.model_frames, 2)
                            if self.model_frames else None),
            "stages": {s: round(median(v), 3) for s, v in self.stage_ms.items()},
            "stages_p95": {s: round(percentile(v, 95), 3) for s, v in self.stage_ms.items()},
            "overlapped": self._overlapped(),
        }

    def _overlapped(self) -> dict[str, Any] | None:
        n = len(self.overlapped_ms)
        if not n:
            return None
        return {"frames": n,
                "ms_median": round(median(self.overlapped_ms), 3),
                "ms_p95": round(percentile(self.overlapped_ms, 95), 3),
                "fps": round(n * 1000 / sum(self.overlapped_ms), 1),
                "cpu_s_per_frame": round(self.overlapped_cpu_s / n, 5),
                "page_faults_per_frame": round(self.overlapped_page_faults / n, 1),
                "prepared_on_worker": round(self.prepared_ahead / n, 2)}


class Laps:
    """Stage laps of one frame: ``mark(stage)`` ends ``stage`` and starts the next."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self._t = time.perf_counter()

    def mark(self, stage: str) -> None:
        now = time.perf_counter()
        self.ms[stage] = (now - self._t) * 1000
        self._t = now


Work = Callable[[np.ndarray, Laps], None]


def time_case(case: Case, clip: MjpegClip, frames: int, work: Work, start: int = 0) -> Case:
    """Run ``work(frame, laps)`` on ``frames`` frames from the clip's frame
    ``start`` on, after a few unmeasured ones."""
    reset_peak_rss()
    for i in range(frames + WARMUP_FRAMES):
        t = time.perf_counter()
        frame = clip.decode(start + i)
        capture_ms = (time.perf_counter() - t) * 1000
        c0, f0 = time.process_time(), page_faults()
        laps = Laps()
        work(frame, laps)
        if i < WARMUP_FRAMES:
            continue
        case.cpu_s += time.process_time() - c0
        case.page_faults += page_faults() - f0
        case.stage_ms["capture"].append(capture_ms)
        for stage, ms in laps.ms.items():
            case.stage_ms[stage].append(ms)
        case.total_ms.append(sum(laps.ms.values()))
    case.peak_rss_mb = max(case.peak_rss_mb, peak_rss_mb())
    return case


RING_FRAMES = 30
"""Frames decoded up front for the overlapped run, so it times no JPEG decoding."""


def time_overlapped(case: Case, clip: MjpegClip, frames: int, stages: VcamStages) -> Case:
    """Time ``stages`` as ``vcam apply`` runs a video (:class:`vcam.offline.stream.MaskStream`):
    the next frame segmented on a worker thread while this one is composited
    and output; records the time between consecutive outputs."""
    ring = [clip.decode(i) for i in range(min(RING_FRAMES, len(clip.jpegs)))]
    total = frames + WARMUP_FRAMES
    t_prev = c_start = 0.0
    f_start = p_start = 0
    stream = stages.stream
    for i, (frame, _, alpha) in enumerate(stream.run(
            (ring[i % len(ring)], time.monotonic()) for i in range(total))):
        stages.output(stages.composite(frame, alpha))
        now = time.perf_counter()
        if i == WARMUP_FRAMES - 1:
            c_start, f_start = time.process_time(), page_faults()
            p_start = stream.prepared_ahead
        elif i >= WARMUP_FRAMES:
            case.overlapped_ms.append((now - t_prev) * 1000)
        t_prev = now
    case.overlapped_cpu_s += time.process_time() - c_start
    case.overlapped_page_faults += page_faults() - f_start
    # The worker runs one frame ahead: it may have prepared a frame past the last.
    case.prepared_ahead += min(stream.prepared_ahead - p_start, frames)
    return case


class Stages(Protocol):
    """One pipeline as four timed steps (both SelfieCam's and the reference)."""

    def segment(self, frame: np.ndarray, t: float) -> np.ndarray: ...

    def refine(self, confidence: np.ndarray, frame: np.ndarray) -> Any: ...

    def composite(self, frame: np.ndarray, mask: Any) -> np.ndarray: ...

    def output(self, image: np.ndarray) -> None: ...

    def close(self) -> None: ...


class VcamStages:
    """SelfieCam's stages, as the segmentation and output threads run them: the
    :class:`Segmenter`, the :class:`Compositor`'s refinement and effect, and the
    virtual camera's colour conversion (:class:`RecordingSink`)."""

    def __init__(self, cfg: Config, segmenter: Segmenter, width: int, height: int) -> None:
        self._seg = segmenter
        self._comp = Compositor(cfg)
        self._sink = RecordingSink(width, height)
        self._gate = StillGate(cfg.refine.reuse_still)
        self._last: Segmented | None = None
        self.model_runs = 0

    def segment(self, frame: np.ndarray, t: float) -> np.ndarray:
        # The feed is kept for refine and composite, as the live pipeline hands it
        # on; the model's last mask serves again while the picture is still.
        self._last = self._gate.segment(self._seg, frame, t)
        self.model_runs += self._last.fresh
        return self._last.confidence

    def refine(self, confidence: np.ndarray, frame: np.ndarray) -> Cut:
        last = self._last
        return self._comp.cut(confidence, frame, last.feed if last else None,
                              last is not None and not last.fresh)

    @functools.cached_property
    def stream(self) -> MaskStream:
        """These stages as vcam apply runs a video; one stream for all rounds."""
        return MaskStream(lambda w, h: self._seg, self._comp.refiner)

    def composite(self, frame: np.ndarray, mask: Cut | np.ndarray) -> np.ndarray:
        if isinstance(mask, np.ndarray):  # from the stream, as vcam apply makes it
            return self._comp.apply(frame, mask)
        return self._comp.apply(frame, mask.alpha, 0.0, mask.frames, mask.alphas)

    def output(self, image: np.ndarray) -> None:
        self._sink.send(image)

    def close(self) -> None:
        self._comp.close()  # the segmenter is shared between cases and closed by its owner


def time_stages(case: Case, stages: Stages, clip: MjpegClip, frames: int,
                start: int = 0) -> Case:
    """Time ``stages`` one frame at a time, every stage in series."""
    def work(frame: np.ndarray, laps: Laps) -> None:
        conf = stages.segment(frame, time.monotonic())
        laps.mark("segment")
        mask = stages.refine(conf, frame)
        laps.mark("refine")
        out = stages.composite(frame, mask)
        laps.mark("composite")
        stages.output(out)
        laps.mark("output")

    return time_case(case, clip, frames, work, start)


ROUNDS = 5
"""The frames of each case are timed in this many rounds, the pipelines taking
turns, so a slow spell of a shared machine falls on all of them alike."""


def bench_effect(cfg: Config, segmenter: Segmenter, clip: MjpegClip, frames: int,
                 reference: ReferencePipeline | None) -> list[Case]:
    """vcam one frame alone, vcam as a stream, and the reference, in turns."""
    size, effect = f"{clip.width}x{clip.height}", case_name(cfg)
    ours = Case(size, effect, "vcam")
    ref = Case(size, effect, "reference")
    serial = VcamStages(cfg, segmenter, clip.width, clip.height)
    stream = VcamStages(cfg, segmenter, clip.width, clip.height)
    start = 0
    try:
        for r in range(ROUNDS):
            n = frames // ROUNDS + (r < frames % ROUNDS)
            if n == 0:
                continue
            with opencv_threads(1):  # as vcam run sets it (vcam/system/tuning.py)
                runs = serial.model_runs
                time_stages(ours, serial, clip, n, start)
                ours.model_runs += serial.model_runs - runs
                ours.model_frames += n + WARMUP_FRAMES
            time_overlapped(ours, clip, n, stream)
            if reference is not None:
                time_stages(ref, reference, clip, n, start)
            start += n + WARMUP_FRAMES
    finally:
        serial.close()
        stream.close()
        if reference is not None:
            reference.close()
    return [ours, ref] if reference is not None else [ours]


def case_config(cfg: Config, case: str) -> Config:
    """``cfg`` for a case named ``blur`` or ``blur+frame+light`` (an effect, then looks on)."""
    effect, *looks = case.split("+")
    return cfg.replace(effect=effect, looks=cfg.looks.parse_list(",".join(looks) or "none"))


def case_name(cfg: Config) -> str:
    """The case's name back: the effect and the looks on, ``blur+frame``."""
    return "+".join((cfg.effect, *cfg.looks.enabled()))


def bench_offline(cfg: Config, clip_path: Path, sizes: Iterable[tuple[int, int]],
                  effects: Sequence[str], frames: int, reference: bool,
                  progress: Callable[[str], None], inset: float = 1.0) -> list[Case]:
    from vcam.stages.backgrounds import read_image

    bg_image = read_image(Path(cfg.background)) if Path(cfg.background).is_file() else None
    cases: list[Case] = []
    for w, h in sizes:
        clip = MjpegClip(clip_path, w, h, inset=inset)
        seg = segmenter_for(cfg, w, h)
        try:
            for effect in effects:
                c = case_config(cfg, effect)
                with_ref = reference and effect in REFERENCE_EFFECTS
                progress(f"{w}x{h} {effect}: vcam"
                         + (" and the reference, in turns" if with_ref else ""))
                ref = (ReferencePipeline(pick_model(c.model, w, h), effect, bg_image)
                       if with_ref else None)
                cases += bench_effect(c, seg, clip, frames, ref)
        finally:
            seg.close()
    return cases


def ratios(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ours = {(r["size"], r["effect"]): r for r in results if r["pipeline"] == "vcam"}
    out = []
    for r in results:
        if r["pipeline"] != "reference" or (r["size"], r["effect"]) not in ours:
            continue
        mine = ours[(r["size"], r["effect"])]
        both = mine.get("overlapped") or mine
        out.append({"size": r["size"], "effect": r["effect"],
                    # As vcam runs a stream (live, or vcam apply on a video): the next
                    # frame is segmented while this one is composited.
                    "reference_over_vcam": round(r["ms_median"] / both["ms_median"], 2),
                    # One frame alone, every stage one after the other.
                    "reference_over_vcam_serial": round(r["ms_median"] / mine["ms_median"], 2),
                    # CPU time per frame: steadier than wall time when the machine is busy.
                    "reference_over_vcam_cpu": round(r["cpu_s_per_frame"]
                                                     / both["cpu_s_per_frame"], 2)})
    return out


