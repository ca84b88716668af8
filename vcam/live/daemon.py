"""``vcam run``: set up source, output and pipeline from config and flags, run until stopped.

:func:`run` takes the instance lock, :func:`open_devices` opens the camera and
the output (a missing one fails here, before any thread starts),
:func:`build` makes the pipeline and its controller, and :func:`serve` runs
them with the control surfaces until a signal, ``quit`` or the frame count.
Whatever a thread is doing, the process ends within a second of SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Protocol

import numpy as np

from vcam import assets_dir
from vcam.config import Config, Overrides, load_default, user_config_path
from vcam.control.controller import Controller
from vcam.control.ctl import ControlServer, CtlError
from vcam.control.keys import PreviewKeys
from vcam.control.notify import Notices, Notifier
from vcam.control.tray import TrayError, open_tray
from vcam.control.watch import ConfigWatcher
from vcam.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, ConfigError, OutputError, SourceError
from vcam.live.ondemand import OnDemand
from vcam.live.pipeline import Pipeline
from vcam.logs import setup_logging
from vcam.stages.capture import Source, is_file_source, open_source
from vcam.stages.effects import effect_names, get_effect
from vcam.stages.outputs import (
    OUTPUTS,
    NamedOutput,
    OutputRequest,
    open_output,
    v4l2_devices,
)
from vcam.stages.segment import Segmenter, fits, segmenter_for
from vcam.system.consumers import held_by_others
from vcam.system.instance import AlreadyRunning, InstanceLock

log = logging.getLogger("vcam")

DEMO_CLIP = "demo/single_face.mp4"
DEMO_BACKGROUND = "backgrounds/dusk-bokeh.jpg"
DEMO_SECONDS_PER_EFFECT = 2.4
DEMO_FILE = "selfiecam-demo.mp4"
STOP_DEADLINE = 0.8
"""Seconds the threads get to stop after a signal; then the process exits anyway."""


def demo_effects() -> list[str]:
    """What ``--demo`` cycles through: the registered effects that have a place in it."""
    shown = [get_effect(n) for n in effect_names() if get_effect(n).demo is not None]
    return [s.name for s in sorted(shown, key=lambda s: s.demo or 0)]


def config_from_args(args: argparse.Namespace) -> Config:
    """config.toml with this run's flags laid over it (and the demo's clip and look)."""
    cfg = Overrides.from_args(args).over(load_default(Path(args.config) if args.config
                                                      else None))
    if args.demo:
        demo: dict[str, object] = {}
        if not args.effect:
            demo["effect"] = demo_effects()[0]
        if not args.background:
            demo["background"] = str(assets_dir() / DEMO_BACKGROUND)
        if not args.source:
            demo["camera"] = cfg.camera.__class__(
                **{**cfg.camera.__dict__, "device": str(assets_dir() / DEMO_CLIP)})
        cfg = cfg.replace(**demo)
    return cfg


def choose_output(args: argparse.Namespace, cfg: Config) -> tuple[str, str]:
    """The ``--output`` to open and why it is that one (for the start-up log)."""
    if args.output:
        return str(args.output), "--output"
    if not args.demo:
        return "virtual", "the default"
    if cfg.virtual_camera.name in v4l2_devices().values():
        return "virtual", f"the {cfg.virtual_camera.name} device exists"
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.name == "nt":
        return "window", f"no {cfg.virtual_camera.name} device, and there is a display"
    return DEMO_FILE, f"no {cfg.virtual_camera.name} device and no display"


def camera_name(spec: int | str) -> str:
    """A few words for the tray's status line: ``camera 0``, ``clip.mp4``."""
    return Path(str(spec)).name if is_file_source(spec) else f"camera {spec}"


def open_camera(cfg: Config) -> Source:
    """The configured camera (or clip); a busy one names the program holding it."""
    cam = cfg.camera
    return open_source(cam.device, cam.width, cam.height, cam.fps, cam.fourcc,
                       held_by=held_by_others)


@dataclass
class Devices:
    """What :func:`open_devices` opened: the camera, the output and the model."""

    source: Source
    output: NamedOutput
    spec: str
    request: OutputRequest
    segmenter: Segmenter

    def reopen_output(self) -> NamedOutput:
        return open_output(self.spec, self.request)


def open_devices(args: argparse.Namespace, cfg: Config,
                 on_key: Callable[[str], None], caption: Callable[[], str]) -> Devices:
    """Open the camera, load (and warm) the model, open the output; raises
    SourceError or OutputError with the fix, closing what it opened."""
    source = open_camera(cfg)
    log.info("source: %s", source.description)
    spec, why = choose_output(args, cfg)
    fps = cfg.virtual_camera.fps or source.fps
    # The demo's own recording is replaced each run; a file the user named only with --force.
    request = OutputRequest(source.width, source.height, fps, cfg.virtual_camera, on_key,
                            caption, overwrite=args.force or not args.output)
    try:
        # Loaded up front, so a broken model fails before the camera starts.
        seg = segmenter_for(cfg, source.width, source.height, quiet=not args.verbose)
        # One frame through it now: the runtime sets up its kernels on the first
        # call (seconds on a slow or emulated CPU), which must not fall on the
        # first frames a viewer sees.
        seg.segment(np.zeros((source.height, source.width, 3), np.uint8), 0.0)
        log.info("segmentation: %s model, %s runtime", seg.spec.name, seg.runtime)
        try:
            output = open_output(spec, request)
        except BaseException:
            seg.close()
            raise
    except BaseException:
        source.close()
        raise
    log.info("output: %s (%s)", output.description, why)
    return Devices(source, output, spec, request, seg)


def _segmenters(first: Segmenter, verbose: bool) -> Callable[[Config, int, int], Segmenter]:
    """The pipeline's segmenter factory: the one already loaded first, then new ones."""
    spare = [first]

    def make(cfg: Config, width: int, height: int) -> Segmenter:
        if spare and fits(spare[0], cfg, width, height):
            return spare.pop()
        for seg in spare:
            seg.close()
        spare.clear()
        return segmenter_for(cfg, width, height, quiet=not verbose)
    return make


class _Service(Protocol):
    def close(self) -> None: ...


def start_services(controller: Controller, config_path: Path) -> list[_Service]:
    """The control socket and the config watcher; either may be missing (with a warning)."""
    services: list[_Service] = []
    try:
        server = ControlServer(controller)
        server.start()
        services.append(server)
    except CtlError as e:
        log.warning("no live control (vcam ctl): %s", e)
    watcher = ConfigWatcher(config_path, lambda: controller.reload(edits_only=True))
    watcher.start()
    services.append(watcher)
    return services


def start_notices(pipeline: Pipeline, controller: Controller) -> Notifier:
    """Desktop notifications: the camera or the virtual camera lost and back, a
    config.toml edit refused (said once in the log where there is no service)."""
    notifier = Notifier()
    notices = Notices(notifier)
    pipeline.add_health_listener(notices.on_health)
    controller.subscribe(lambda: notices.on_config_error(controller.config_error))
    return notifier


def run(args: argparse.Namespace) -> int:
    """The ``vcam run`` command; returns the exit code."""
    try:
        cfg = config_from_args(args)
    except ConfigError as e:
        setup_logging("info", args.verbose)
        where = "" if e.source.startswith("--") else "config error: "
        print(f"vcam: {where}{e}", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(cfg.log_level, args.verbose)
    try:
        lock = InstanceLock()
    except (AlreadyRunning, OSError) as e:
        print(f"vcam: {e}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        return _run(args, cfg)
    finally:
        lock.release()


def _run(args: argparse.Namespace, cfg: Config) -> int:
    keys = PreviewKeys()
    try:
        dev = open_devices(args, cfg, keys.press, keys.caption)
    except (SourceError, OutputError, OSError, ValueError) as e:
        print(f"vcam: {e}", file=sys.stderr)
        return EXIT_FAILURE
    log.info("effect: %s; background: %s", cfg.effect, cfg.background)
    pipeline, controller = build(args, cfg, dev)
    keys.controller = controller
    services = start_services(controller, controller.config_path or user_config_path())
    services.append(start_notices(pipeline, controller))
    watched = dev.output.watched_through
    on_demand = OnDemand(watched, pipeline.set_idle) \
        if watched and cfg.virtual_camera.on_demand else None
    tick = _demo_tick(controller, pipeline, dev.request.fps) if args.demo and not args.effect \
        else None
    return serve(pipeline, controller, services, on_demand=on_demand, tray=not args.no_tray,
                 tick=tick, file=dev.spec if dev.spec not in OUTPUTS else "")


def build(args: argparse.Namespace, cfg: Config, dev: Devices) -> tuple[Pipeline, Controller]:
    """The pipeline over the opened devices, and the controller every surface calls."""
    frames = args.frames
    if args.demo and dev.spec == DEMO_FILE and frames is None:
        frames = round(DEMO_SECONDS_PER_EFFECT * dev.source.fps) * len(demo_effects())
    # A virtual camera that vanishes (module unloaded, device removed) is reopened
    # with back-off while the pipeline runs on; a file source is reopened too:
    # resuming after a pause needs it.
    pipeline = Pipeline(cfg, dev.source, dev.output, reopen=lambda: open_camera(cfg),
                        reopen_output=dev.reopen_output if dev.output.reconnects else None,
                        segmenter=_segmenters(dev.segmenter, args.verbose),
                        fps=dev.request.fps, max_frames=frames)
    config_path = Path(args.config) if args.config else user_config_path()
    controller = Controller(pipeline, config_path, camera=camera_name(cfg.camera.device),
                            output=dev.output.label)
    return pipeline, controller


def _demo_tick(controller: Controller, pipeline: Pipeline, fps: float) -> Callable[[], None]:
    """Every few seconds the next of the demo's effects."""
    step = round(DEMO_SECONDS_PER_EFFECT * fps)
    effects = demo_effects()

    def tick() -> None:
        effect = effects[(pipeline.stats.published // step) % len(effects)]
        if effect != controller.config.effect:
            controller.set_effect(effect)
    return tick


def serve(pipeline: Pipeline, controller: Controller, services: list[_Service], *,
          on_demand: OnDemand | None = None, tray: bool = True,
          tick: Callable[[], None] | None = None, file: str = "") -> int:
    """Run until a signal, ``quit``, a fatal error or the frame count; returns the exit code.

    ``services`` are running already; ``on_demand`` starts once the pipeline has.
    ``file``: the file being written, to say so at the end.  On the way out every
    service is closed and the pipeline given
    :data:`STOP_DEADLINE` s; a thread still stuck after that (blocked in I/O) is
    left behind: the pipeline's threads are daemons, so the process ends anyway.
    """
    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        pipeline.done.set()

    def on_hangup(_signum: int, _frame: FrameType | None) -> None:
        log.info("SIGHUP: reloading %s", controller.config_path)
        controller.reload()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hangup)
    t0 = time.monotonic()
    pipeline.start()
    if on_demand is not None:
        on_demand.start()
        services = [*services, on_demand]
    try:
        icon = open_tray(controller) if tray else None
        try:
            if icon is not None:
                icon.run(pipeline.done, tick)  # blocks this (main) thread: GUI toolkits want it
        except TrayError as e:
            log.warning("%s; running headless (control it with `vcam ctl`)", e)
        while not pipeline.wait(0.1):
            if tick is not None:
                tick()
    finally:
        for service in services:
            service.close()
        pipeline.stop(STOP_DEADLINE)
        for s, h in previous.items():
            signal.signal(s, h)
    stuck = pipeline.stuck_threads()
    if stuck:
        log.warning("exiting with %s still blocked; the system releases what it holds",
                    ", ".join(t.name for t in stuck))
    took = time.monotonic() - t0
    st = pipeline.stats
    log.info("stopped after %.1f s: %d frames published (%.1f fps), %d repeated, %d skipped",
             took, st.published, st.published / max(took, 1e-9), st.repeated, st.skipped)
    if pipeline.error is not None:
        print(f"vcam: stopped by an error: {pipeline.error}", file=sys.stderr)
        return EXIT_FAILURE
    if file:
        print(f"vcam: wrote {st.published} frames to {file}")
    return EXIT_OK
