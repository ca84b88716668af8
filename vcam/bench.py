"""``vcam bench``: how fast SelfieCam is, stage by stage, against the naive pipeline.

Offline, it plays a real clip (resized to each size and JPEG-encoded, as an
MJPG webcam delivers it) through SelfieCam's own stages -- :class:`Segmenter`,
the :class:`Compositor`'s refinement and effect, and the BGR->I420 conversion
a virtual camera does -- and the same frames through
:class:`~vcam.bench_reference.ReferencePipeline`, one frame at a time on one
thread, and reports per-stage median/p95 ms, frames/s, CPU seconds per frame
and peak RSS.  ``ms_median`` is the pipeline's own work per frame (segment
through output conversion); capture/decode is listed as a stage but left out
of the totals and ratios because both pipelines get the same camera frames.

Live (``--live``), it runs the real threaded :class:`~vcam.pipeline.Pipeline`
from a source paced like a camera to a recording sink, and reports the output
rate, dropped frames, capture-to-publish latency, CPU and RSS.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import logging
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from vcam import assets_dir
from vcam.bench_reference import ReferencePipeline
from vcam.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, setup_logging
from vcam.compositor import Compositor
from vcam.config import Config, Effect, ModelChoice, Runtime
from vcam.pipeline import Pipeline
from vcam.segment import Segmenter, pick_model, segmenter_for
from vcam.stream import MaskStream
from vcam.tuning import opencv_threads

log = logging.getLogger(__name__)

STAGES = ("capture", "segment", "refine", "composite", "output")
"""capture = decoding the camera's JPEG; output = the virtual camera's BGR->I420."""
DEFAULT_SIZES = ((640, 480), (1280, 720), (1920, 1080))
DEFAULT_EFFECTS = (Effect.BLUR, Effect.REPLACE, Effect.DESATURATE, Effect.TRANSPARENT)
DEFAULT_LIVE = ((1920, 1080, 30.0), (1280, 720, 60.0))
DEFAULT_CLIP = "demo/single_face.mp4"
DEFAULT_BACKGROUND = "backgrounds/dusk-bokeh.jpg"
MAX_CLIP_FRAMES = 150
JPEG_QUALITY = 90
WARMUP_FRAMES = 5


# -- measuring helpers ---------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if len(values) else float("nan")


def page_faults() -> int:
    """Minor page faults of this process so far (first touches of fresh memory)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def rss_mb() -> float:
    """Resident set size now, MB (Linux /proc; 0 elsewhere)."""
    return _proc_status_kb("VmRSS") / 1024


def reset_peak_rss() -> bool:
    """Restart the kernel's peak-RSS counter (Linux), so each case gets its own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak RSS since :func:`reset_peak_rss` (else since start), MB."""
    kb = _proc_status_kb("VmHWM")
    return (kb or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


def _proc_status_kb(key: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def thread_cpu_s(native_id: int | None) -> float:
    """CPU seconds one thread used so far (Linux /proc), 0 if unknown."""
    if native_id is None:
        return 0.0
    try:
        fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_info(cfg: Config) -> dict[str, Any]:
    import mediapipe as mp

    from vcam.segment import pick_runtime

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "opencv_threads": cv2.getNumThreads(),
        "opencv_threads_live": 1,
        "mediapipe": getattr(mp, "__version__", "?"),
        "runtime": str(pick_runtime(cfg.runtime)),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


# -- the camera stand-in and the virtual-camera stand-in ---------------------------------
class MjpegClip:
    """A real clip at one size, held as JPEGs the way an MJPG webcam sends frames.

    Decoding a JPEG is the capture cost a real 1080p webcam puts on the CPU, and
    keeping only the compressed frames keeps memory flat however long it plays.
    """

    def __init__(self, path: Path, width: int, height: int,
                 max_frames: int = MAX_CLIP_FRAMES) -> None:
        cap = cv2.VideoCapture(str(path))
        self.jpegs: list[np.ndarray] = []
        try:
            while len(self.jpegs) < max_frames:
                ok, image = cap.read()
                if not ok or image is None:
                    break
                if image.shape[:2] != (height, width):
                    image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
                ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
                if ok:
                    self.jpegs.append(data)
        finally:
            cap.release()
        if not self.jpegs:
            raise ValueError(f"{path}: no frames could be read (is it a video OpenCV can decode?)")
        self.width, self.height = width, height
        self.name = path.name

    def decode(self, i: int) -> np.ndarray:
        """Frame ``i`` (looped), BGR uint8, a new array."""
        image = cv2.imdecode(self.jpegs[i % len(self.jpegs)], cv2.IMREAD_COLOR)
        assert image is not None
        return image


class PacedClipSource:
    """A :class:`~vcam.capture.Source` that delivers an :class:`MjpegClip` like a camera:
    one frame every 1/fps s on a fixed clock, decoded on read."""

    def __init__(self, clip: MjpegClip, fps: float) -> None:
        self.clip = clip
        self.width, self.height, self.fps = clip.width, clip.height, fps
        self.description = f"paced {clip.name} {clip.width}x{clip.height}@{fps:g}"
        self.decode_ms: list[float] = []
        self.late = 0
        """Frame slots the reader was too slow for (a camera would drop those)."""
        self._i = 0
        self._t0: float | None = None

    def read(self) -> np.ndarray | None:
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        due = self._t0 + self._i / self.fps
        if due > now:
            time.sleep(due - now)
        elif now - due > 1 / self.fps:
            # The reader fell behind a whole frame: skip ahead like a camera would.
            skip = int((now - due) * self.fps)
            self.late += skip
            self._i += skip
        t0 = time.perf_counter()
        image = self.clip.decode(self._i)
        self.decode_ms.append((time.perf_counter() - t0) * 1000)
        self._i += 1
        return image

    def close(self) -> None:
        pass


class RecordingSink:
    """An :class:`~vcam.output.Output` that does a virtual camera's work without one:
    pyvirtualcam converts each BGR frame to I420 (here cv2.cvtColor into a reused
    buffer) before writing it to the device, and we record when each frame went out."""

    def __init__(self, width: int, height: int) -> None:
        self.description = f"recording sink {width}x{height} (BGR->I420)"
        self._i420 = np.empty((height * 3 // 2, width), np.uint8)
        self.times: list[float] = []

    def send(self, frame: np.ndarray) -> None:
        cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420, dst=self._i420)
        self.times.append(time.monotonic())

    def close(self) -> None:
        pass


# -- offline: one frame at a time, stage by stage -------------------------------------------
@dataclass
class Case:
    """The timings of one pipeline on one size and effect."""

    size: str
    effect: Effect
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

    def as_dict(self) -> dict[str, Any]:
        frames = len(self.total_ms)
        work_s = sum(self.total_ms) / 1000
        return {
            "size": self.size,
            "effect": self.effect.value,
            "pipeline": self.pipeline,
            "frames": frames,
            "ms_median": round(median(self.total_ms), 3),
            "ms_p95": round(percentile(self.total_ms, 95), 3),
            "fps": round(frames / work_s, 1) if work_s else None,
            "cpu_s_per_frame": round(self.cpu_s / frames, 5) if frames else None,
            "page_faults_per_frame": round(self.page_faults / frames, 1) if frames else None,
            "peak_rss_mb": round(self.peak_rss_mb, 1),
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
    """Time ``stages`` as ``vcam apply`` runs a video (:class:`vcam.stream.MaskStream`):
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

    def refine(self, confidence: np.ndarray, frame: np.ndarray) -> np.ndarray: ...

    def composite(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray: ...

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

    def segment(self, frame: np.ndarray, t: float) -> np.ndarray:
        return self._seg.segment(frame, t)

    def refine(self, confidence: np.ndarray, frame: np.ndarray) -> np.ndarray:
        return self._comp.alpha(frame, confidence)

    @functools.cached_property
    def stream(self) -> MaskStream:
        """These stages as vcam apply runs a video; one stream for all rounds."""
        return MaskStream(self._seg.segment, self._comp.refiner)

    def composite(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self._comp.apply(frame, mask)

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
    size, effect = f"{clip.width}x{clip.height}", cfg.effect
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
            time_stages(ours, serial, clip, n, start)
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


def bench_offline(cfg: Config, clip_path: Path, sizes: Iterable[tuple[int, int]],
                  effects: Sequence[Effect], frames: int, reference: bool,
                  progress: Callable[[str], None]) -> list[Case]:
    from vcam.backgrounds import read_image

    bg_image = read_image(Path(cfg.background)) if Path(cfg.background).is_file() else None
    cases: list[Case] = []
    for w, h in sizes:
        clip = MjpegClip(clip_path, w, h)
        seg = segmenter_for(cfg, w, h)
        try:
            for effect in effects:
                c = cfg.replace(effect=effect)
                progress(f"{w}x{h} {effect.value}: vcam"
                         + (" and the reference, in turns" if reference else ""))
                ref = (ReferencePipeline(pick_model(c.model, w, h), effect, bg_image)
                       if reference else None)
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


# -- live: the real threaded pipeline ------------------------------------------------------
@dataclass(frozen=True)
class Counters:
    """What the live run counts, at one moment; two of them make a window."""

    t: float
    cpu: float
    captured: int
    composited: int
    repeated: int
    skipped: int
    sent: int
    unread: int
    decoded: int

    @classmethod
    def take(cls, pipe: Pipeline, source: PacedClipSource, sink: RecordingSink) -> Counters:
        st = pipe.stats
        return cls(time.monotonic(), time.process_time(), st.captured,
                   st.published - st.repeated, st.repeated, st.skipped, len(sink.times),
                   source.late, len(source.decode_ms))


def bench_live(cfg: Config, clip_path: Path, width: int, height: int, fps: float,
               seconds: float, warmup: float = 2.0) -> dict[str, Any]:
    """The threaded pipeline from a paced source to a recording sink for ``seconds``
    (after ``warmup`` s of start-up, which is not counted)."""
    clip = MjpegClip(clip_path, width, height)
    source = PacedClipSource(clip, fps)
    sink = RecordingSink(width, height)
    pipe = Pipeline(cfg, source, sink, fps=fps)
    pipe.start()
    try:
        if pipe.wait(warmup):
            raise RuntimeError(f"the pipeline stopped during warm-up: {pipe.error}")
        a = Counters.take(pipe, source, sink)
        threads = {t.name: thread_cpu_s(t.native_id) for t in pipe.threads}
        rss = [rss_mb()]
        latencies: list[float] = []
        seen = a.composited
        while time.monotonic() < a.t + seconds:
            if pipe.wait(min(0.5, max(0.0, a.t + seconds - time.monotonic()))):
                raise RuntimeError(f"the pipeline stopped: {pipe.error}")
            # The stats keep only the latest latencies: collect the new ones as we go.
            composited = pipe.stats.published - pipe.stats.repeated
            new = min(composited - seen, len(pipe.stats.latency_ms))
            if new > 0:
                latencies.extend(list(pipe.stats.latency_ms)[-new:])
            seen = composited
            rss.append(rss_mb())
        b = Counters.take(pipe, source, sink)
        wall = b.t - a.t
        cpu_percent = 100 * (b.cpu - a.cpu) / wall
        thread_cpu = {t.name: round(100 * (thread_cpu_s(t.native_id) - threads[t.name]) / wall, 1)
                      for t in pipe.threads}
        # MediaPipe runs the model on its own worker threads; they are most of the rest.
        thread_cpu["other"] = round(cpu_percent - sum(thread_cpu.values()), 1)
        sent = sink.times[a.sent:b.sent]
        # The rate between the first and last frame of the window, not the window's edges.
        fps_out = (len(sent) - 1) / (sent[-1] - sent[0]) if len(sent) > 1 else 0.0
        gaps = list(np.diff(sent) * 1000) if len(sent) > 1 else []
        return {
            "size": f"{width}x{height}",
            "source_fps": fps,
            "effect": cfg.effect.value,
            "seconds": round(wall, 2),
            "output_fps": round(fps_out, 2),
            "frames_out": len(sent),
            "captured": b.captured - a.captured,
            "composited": b.composited - a.composited,
            "repeated": b.repeated - a.repeated,
            # Camera frames that never went out: the capture thread was too late to
            # read them, or the output thread never saw them (a newer one came first).
            "dropped": b.unread - a.unread + b.skipped - a.skipped,
            "dropped_unread": b.unread - a.unread,
            "dropped_uncomposited": b.skipped - a.skipped,
            "latency_ms": {"p50": round(median(latencies), 2),
                           "p95": round(percentile(latencies, 95), 2),
                           "max": round(max(latencies, default=float("nan")), 2)},
            "frame_gap_ms_p95": round(percentile(gaps, 95), 2),
            "capture_decode_ms_median": round(median(source.decode_ms[a.decoded:b.decoded]), 2),
            "segment_ms_median": round(median(list(pipe.stats.segment_ms)), 2),
            "compose_ms_median": round(median(list(pipe.stats.compose_ms)), 2),
            "cpu_percent_of_one_core": round(cpu_percent, 1),
            "thread_cpu_percent": thread_cpu,
            "rss_mb": {"start": round(rss[0], 1), "end": round(rss[-1], 1),
                       "max": round(max(rss), 1)},
        }
    finally:
        pipe.stop()


# -- report ---------------------------------------------------------------------------------
def _table(head: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """A Markdown pipe table (readable as text, pasteable into docs)."""
    def cell(v: object) -> str:
        return f"{v:.2f}" if isinstance(v, float) else str(v)

    body = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h)
              for i, h in enumerate(head)]
    fmt = "| " + " | ".join(f"{{:>{w}}}" for w in widths) + " |"
    return [fmt.format(*head), "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|",
            *(fmt.format(*r) for r in body)]


def format_report(report: dict[str, Any]) -> str:
    """The report as text: Markdown tables of the offline results, ratios and live runs."""
    m = report["machine"]
    load = m.get("load_average")
    lines = [f"Machine: {m['cpus']} CPUs ({m['cpu']}), Python {m['python']}, OpenCV "
             f"{m['opencv']}, MediaPipe {m['mediapipe']}"
             + (f"; load average at start {load[0]:.2f}" if load else "") + "."]
    if report["results"]:
        lines += ["", "Offline, one frame at a time (ms per frame: stage medians; total = "
                  "segment..output, capture/decode not included):", ""]
        lines += _table(
            ["size", "effect", "pipeline", *STAGES, "total med", "total p95", "fps",
             "CPU ms/frame", "faults/frame", "peak RSS MB"],
            ([r["size"], r["effect"], r["pipeline"], *(r["stages"][s] for s in STAGES),
              r["ms_median"], r["ms_p95"], r["fps"],
              (r["cpu_s_per_frame"] or 0) * 1000, r["page_faults_per_frame"], r["peak_rss_mb"]]
             for r in report["results"]))
    overlapped = [r for r in report["results"] if r.get("overlapped")]
    if overlapped:
        lines += ["", "vcam as it runs a stream (as vcam apply runs a video): the next frame "
                  "segmented on a second thread while this one is composited and output "
                  "(ms between outputs; prep = share of frames whose refinement prepare "
                  "ran on that thread):", ""]
        lines += _table(
            ["size", "effect", "ms med", "ms p95", "fps", "CPU ms/frame", "faults/frame",
             "prep"],
            ([r["size"], r["effect"], r["overlapped"]["ms_median"], r["overlapped"]["ms_p95"],
              r["overlapped"]["fps"], r["overlapped"]["cpu_s_per_frame"] * 1000,
              r["overlapped"]["page_faults_per_frame"], r["overlapped"]["prepared_on_worker"]]
             for r in overlapped))
    if report["ratios"]:
        lines += ["", "Reference / vcam (medians; the reference is one serial loop):", ""]
        lines += _table(["size", "effect", "ms per frame, stream", "ms per frame, one alone",
                         "CPU ms per frame"],
                        ([q["size"], q["effect"], f"{q['reference_over_vcam']:.2f}x",
                          f"{q['reference_over_vcam_serial']:.2f}x",
                          f"{q['reference_over_vcam_cpu']:.2f}x"] for q in report["ratios"]))
    cases = (report["live"] or {}).get("cases", [])
    if cases:
        lines += ["", "Live, the threaded pipeline from a camera-paced source to a sink "
                  "that does the virtual camera's BGR->I420:", ""]
        lines += _table(
            ["source", "effect", "seconds", "fps out", "dropped", "repeated",
             "latency p50/p95/max ms", "CPU % of one core", "RSS MB start/end/max"],
            ([f"{c['size']}@{c['source_fps']:g}", c["effect"], c["seconds"], c["output_fps"],
              c["dropped"], c["repeated"],
              "{p50:.1f} / {p95:.1f} / {max:.1f}".format(**c["latency_ms"]),
              c["cpu_percent_of_one_core"],
              "{start:.0f} / {end:.0f} / {max:.0f}".format(**c["rss_mb"])] for c in cases))
        for c in cases:
            threads = ", ".join(f"{k} {v}%" for k, v in c["thread_cpu_percent"].items())
            lines.append(f"\n{c['size']}@{c['source_fps']:g}: capture decode "
                         f"{c['capture_decode_ms_median']} ms, segment "
                         f"{c['segment_ms_median']} ms, compose {c['compose_ms_median']} ms "
                         f"(medians); thread CPU: {threads}.")
    return "\n".join(lines)


def parse_size(text: str) -> tuple[int, int]:
    """``1280x720`` -> (1280, 720); ValueError saying what is expected."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"expected a size like 1280x720, got {text!r}") from None
    if w < 16 or h < 16 or w % 2 or h % 2:
        raise ValueError(f"size {text}: width and height must be even and at least 16")
    return w, h


def parse_live_case(text: str) -> tuple[int, int, float]:
    """``1920x1080@30`` -> (1920, 1080, 30.0); the rate defaults to 30."""
    size, _, fps = text.partition("@")
    w, h = parse_size(size)
    try:
        rate = float(fps or 30)
    except ValueError:
        raise ValueError(f"expected a source like 1920x1080@30, got {text!r}") from None
    if not 1 <= rate <= 240:
        raise ValueError(f"source {text}: the rate must be 1 to 240 fps, got {rate:g}")
    return w, h, rate


def run(args: argparse.Namespace) -> int:
    setup_logging("warning", args.verbose)
    clip = Path(args.clip) if args.clip else assets_dir() / DEFAULT_CLIP
    if not clip.is_file():
        print(f"vcam bench: clip not found: {clip}", file=sys.stderr)
        return EXIT_USAGE
    try:
        effects = [Effect(e) for e in args.effects.split(",")] if args.effects else \
            list(DEFAULT_EFFECTS)
    except ValueError as e:
        print(f"vcam bench: --effects: {e} (choose from {', '.join(x.value for x in Effect)})",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        sizes = [parse_size(s) for s in args.sizes] if args.sizes else list(DEFAULT_SIZES)
        live_cases = ([parse_live_case(c) for c in args.live_cases] if args.live_cases
                      else list(DEFAULT_LIVE))
    except ValueError as e:
        print(f"vcam bench: {e}", file=sys.stderr)
        return EXIT_USAGE
    if args.seconds <= 0:
        print(f"vcam bench: --seconds must be more than 0, got {args.seconds:g}", file=sys.stderr)
        return EXIT_USAGE
    cfg = Config(background=str(assets_dir() / DEFAULT_BACKGROUND))
    if args.model:
        cfg = dataclasses.replace(cfg, model=ModelChoice(args.model))
    if args.runtime:
        cfg = dataclasses.replace(cfg, runtime=Runtime(args.runtime))

    def progress(text: str) -> None:
        if not args.json:
            print(f"  ... {text}", file=sys.stderr, flush=True)

    report: dict[str, Any] = {"machine": machine_info(cfg), "clip": str(clip), "results": [],
                              "ratios": [], "live": None}
    try:
        if not args.live_only:
            cases = bench_offline(cfg, clip, sizes, effects, args.frames, not args.no_reference,
                                  progress)
            report["results"] = [c.as_dict() for c in cases]
            report["ratios"] = ratios(report["results"])
        if args.live or args.live_only:
            live_cfg = cfg.replace(effect=effects[0])
            live = []
            for w, h, fps in live_cases:
                progress(f"live {w}x{h}@{fps:g} {live_cfg.effect.value} for {args.seconds:g} s")
                with opencv_threads(1):  # as vcam run sets it (vcam/tuning.py)
                    live.append(bench_live(live_cfg, clip, w, h, fps, args.seconds))
            report["live"] = {"effect": live_cfg.effect.value, "seconds": args.seconds,
                              "cases": live}
    except (OSError, ValueError, RuntimeError) as e:
        print(f"vcam bench: {e}", file=sys.stderr)
        return EXIT_FAILURE
    print(json.dumps(report, indent=1) if args.json else format_report(report))
    return EXIT_OK
