"""``vcam bench --live``: the real threaded pipeline from a paced source to a recording sink."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vcam.bench.media import MjpegClip, PacedClipSource, RecordingSink
from vcam.bench.offline import case_name
from vcam.bench.probes import median, percentile, rss_mb, thread_cpu_s
from vcam.config import Config
from vcam.live.pipeline import Pipeline


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


def _watch(pipe: Pipeline, a: Counters, seconds: float) -> tuple[list[float], list[float]]:
    """Run ``seconds`` from ``a``; the capture-to-publish latencies and RSS samples seen."""
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
    return latencies, rss


def bench_live(cfg: Config, clip_path: Path, width: int, height: int, fps: float,
               seconds: float, warmup: float = 2.0, inset: float = 1.0) -> dict[str, Any]:
    """The threaded pipeline from a paced source to a recording sink for ``seconds``
    (after ``warmup`` s of start-up, which is not counted)."""
    clip = MjpegClip(clip_path, width, height, inset=inset)
    source = PacedClipSource(clip, fps)
    sink = RecordingSink(width, height)
    pipe = Pipeline(cfg, source, sink, fps=fps)
    pipe.start()
    try:
        if pipe.wait(warmup):
            raise RuntimeError(f"the pipeline stopped during warm-up: {pipe.error}")
        a = Counters.take(pipe, source, sink)
        threads = {t.name: thread_cpu_s(t.native_id) for t in pipe.threads}
        latencies, rss = _watch(pipe, a, seconds)
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
            "effect": case_name(cfg),
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
            # The rest of the masks were the model's last one again (a still picture).
            "model_share": round(pipe.stats.segmented
                                 / max(1, pipe.stats.segmented + pipe.stats.reused), 2),
            "compose_ms_median": round(median(list(pipe.stats.compose_ms)), 2),
            "cpu_percent_of_one_core": round(cpu_percent, 1),
            "thread_cpu_percent": thread_cpu,
            "rss_mb": {"start": round(rss[0], 1), "end": round(rss[-1], 1),
                       "max": round(max(rss), 1)},
        }
    finally:
        pipe.stop()


