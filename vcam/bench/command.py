"""``vcam bench``: how fast SelfieCam is, stage by stage, against the naive pipeline.

Offline, it plays a real clip (resized to each size and JPEG-encoded, as an
MJPG webcam delivers it) through SelfieCam's own stages -- :class:`Segmenter`,
the :class:`Compositor`'s refinement and effect, and the BGR->I420 conversion
a virtual camera does -- and the same frames through
:class:`~vcam.bench.reference.ReferencePipeline`, one frame at a time on one
thread, and reports per-stage median/p95 ms, frames/s, CPU seconds per frame
and peak RSS.  ``ms_median`` is the pipeline's own work per frame (segment
through output conversion); capture/decode is listed as a stage but left out
of the totals and ratios because both pipelines get the same camera frames.

Live (``--live``), it runs the real threaded :class:`~vcam.live.pipeline.Pipeline`
from a source paced like a camera to a recording sink, and reports the output
rate, dropped frames, capture-to-publish latency, CPU and RSS.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vcam import assets_dir
from vcam.bench.live import bench_live
from vcam.bench.offline import STAGES, bench_offline, case_config, ratios
from vcam.config import Config, ModelChoice, Runtime
from vcam.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from vcam.logs import setup_logging
from vcam.stages.effects import effect_names, get_effect
from vcam.stages.looks import look_names
from vcam.system.tuning import opencv_threads

log = logging.getLogger(__name__)

DEFAULT_SIZES = ((640, 480), (1280, 720), (1920, 1080))
DEFAULT_LIVE = ((1920, 1080, 30.0), (1280, 720, 60.0))
DEFAULT_CLIP = "demo/single_face.mp4"
DEFAULT_BACKGROUND = "backgrounds/dusk-bokeh.jpg"


def default_effects() -> list[str]:
    """Every registered effect that needs a mask, in menu order."""
    return [e for e in effect_names() if get_effect(e).needs_mask]


def machine_info(cfg: Config) -> dict[str, Any]:
    import mediapipe as mp

    from vcam.stages.segment import pick_runtime

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
             "CPU ms/frame", "faults/frame", "peak RSS MB", "model share"],
            ([r["size"], r["effect"], r["pipeline"], *(r["stages"][s] for s in STAGES),
              r["ms_median"], r["ms_p95"], r["fps"],
              (r["cpu_s_per_frame"] or 0) * 1000, r["page_faults_per_frame"], r["peak_rss_mb"],
              "" if r.get("model_share") is None else r["model_share"]]
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
                         f"{c['segment_ms_median']} ms (the model saw "
                         f"{c['model_share']:.0%} of frames), compose "
                         f"{c['compose_ms_median']} ms (medians); thread CPU: {threads}.")
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


def wrong_cases(effects: Sequence[str], inset: float) -> str:
    """What is wrong with ``--effects`` (each ``EFFECT[+LOOK...]``) and ``--inset``; ""."""
    unknown = [e for e in effects if e.split("+")[0] not in effect_names()
               or not set(e.split("+")[1:]) <= set(look_names())]
    if unknown:
        return (f"--effects: unknown {', '.join(unknown)} (choose from "
                f"{', '.join(effect_names())}, each optionally +{'+'.join(look_names())})")
    if not 0.2 <= inset <= 1.0:
        return f"--inset must be from 0.2 to 1, got {inset:g}"
    return ""


def run(args: argparse.Namespace) -> int:
    setup_logging("warning", args.verbose)
    clip = Path(args.clip) if args.clip else assets_dir() / DEFAULT_CLIP
    if not clip.is_file():
        print(f"vcam bench: clip not found: {clip}", file=sys.stderr)
        return EXIT_USAGE
    effects = args.effects.split(",") if args.effects else default_effects()
    wrong = wrong_cases(effects, args.inset)
    if wrong:
        print(f"vcam bench: {wrong}", file=sys.stderr)
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
    if args.reuse_still is not None:
        if not 0 <= args.reuse_still <= 10:
            print(f"vcam bench: --reuse-still must be from 0 to 10, got {args.reuse_still}",
                  file=sys.stderr)
            return EXIT_USAGE
        cfg = cfg.replace(refine=dataclasses.replace(cfg.refine, reuse_still=args.reuse_still))

    def progress(text: str) -> None:
        if not args.json:
            print(f"  ... {text}", file=sys.stderr, flush=True)

    report: dict[str, Any] = {"machine": machine_info(cfg), "clip": str(clip), "results": [],
                              "ratios": [], "live": None}
    try:
        if not args.live_only:
            cases = bench_offline(cfg, clip, sizes, effects, args.frames, not args.no_reference,
                                  progress, args.inset)
            report["results"] = [c.as_dict() for c in cases]
            report["ratios"] = ratios(report["results"])
        if args.live or args.live_only:
            live_cfg = case_config(cfg, effects[0])
            live = []
            for w, h, fps in live_cases:
                progress(f"live {w}x{h}@{fps:g} {effects[0]} for {args.seconds:g} s")
                with opencv_threads(1):  # as vcam run sets it (vcam/tuning.py)
                    live.append(bench_live(live_cfg, clip, w, h, fps, args.seconds,
                                           inset=args.inset))
            report["live"] = {"effect": effects[0], "seconds": args.seconds,
                              "cases": live}
    except (OSError, ValueError, RuntimeError) as e:
        print(f"vcam bench: {e}", file=sys.stderr)
        return EXIT_FAILURE
    print(json.dumps(report, indent=1) if args.json else format_report(report))
    return EXIT_OK
