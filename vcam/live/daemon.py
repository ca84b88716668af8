"""``vcam run``: set up source, output and pipeline from config and flags, run until stopped."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Protocol

from vcam import assets_dir
from vcam.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, setup_logging
from vcam.config import (
    Config,
    ConfigError,
    Effect,
    ModelChoice,
    load_default,
    parse_colour,
    resolve_path,
    user_config_path,
)
from vcam.control.controller import Controller
from vcam.control.ctl import ControlServer, CtlError
from vcam.control.tray import TrayError, open_tray
from vcam.control.watch import ConfigWatcher
from vcam.live.ondemand import OnDemand
from vcam.live.pipeline import Pipeline
from vcam.stages.capture import Source, SourceError, open_source
from vcam.stages.outputs import (
    FileOutput,
    Output,
    OutputError,
    ReconnectingOutput,
    VirtualCamera,
    WindowOutput,
)
from vcam.stages.segment import segmenter_for
from vcam.system.instance import AlreadyRunning, InstanceLock

log = logging.getLogger("vcam")

DEMO_CLIP = "demo/single_face.mp4"
DEMO_EFFECTS = (Effect.BLUR, Effect.REPLACE, Effect.DESATURATE, Effect.TRANSPARENT)
DEMO_BACKGROUND = "backgrounds/dusk-bokeh.jpg"
DEMO_SECONDS_PER_EFFECT = 2.4
DEMO_FILE = "selfiecam-demo.mp4"


def config_from_args(args: argparse.Namespace) -> Config:
    """config.toml with this run's flags laid over it."""
    cfg = load_default(Path(args.config) if args.config else None)
    changes: dict[str, object] = {}
    if args.effect:
        changes["effect"] = Effect(args.effect)
    if args.model:
        changes["model"] = ModelChoice(args.model)
    if args.mirror is not None:
        changes["mirror"] = args.mirror
    if args.blur is not None:
        if not 1 <= args.blur <= 50:
            raise ConfigError("--blur", "blur", f"must be from 1 to 50, got {args.blur}")
        changes["blur"] = args.blur
    if args.background:
        bg = args.background
        if parse_colour(bg) is None:
            bg = str(resolve_path(bg, Path.cwd()))
        changes["background"] = bg
    if args.demo:
        changes.setdefault("effect", DEMO_EFFECTS[0])
        if not args.background:
            changes["background"] = str(assets_dir() / DEMO_BACKGROUND)
    if args.source or args.demo:
        src = args.source or str(assets_dir() / DEMO_CLIP)
        changes["camera"] = cfg.camera.__class__(
            **{**cfg.camera.__dict__, "device": int(src) if src.isdigit() else src})
    return cfg.replace(**changes)


def choose_output(args: argparse.Namespace, cfg: Config) -> str:
    if args.output:
        return str(args.output)
    if not args.demo:
        return "virtual"
    from vcam.stages.outputs import v4l2_devices

    if cfg.virtual_camera.name in v4l2_devices().values():
        return "virtual"
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.name == "nt":
        return "window"
    return DEMO_FILE


def open_output(kind: str, cfg: Config, source: Source, fps: float,
                on_key: Callable[[str], None] | None = None,
                caption: Callable[[], str] | None = None) -> Output:
    if kind == "virtual":
        vc = cfg.virtual_camera
        return VirtualCamera(source.width, source.height, fps, name=vc.name, device=vc.device,
                             pixel_format=vc.pixel_format)
    if kind == "window":
        return WindowOutput("SelfieCam preview", on_key, caption)
    return FileOutput(Path(kind), source.width, source.height, fps)


def preload_model(cfg: Config, width: int, height: int, verbose: bool) -> None:
    """Load the model once up front, so a broken model fails before the camera starts."""
    seg = segmenter_for(cfg, width, height, quiet=not verbose)
    log.info("segmentation: %s model, %s runtime", seg.spec.name, seg.runtime)
    seg.close()


def short_name(spec: int | str, device: Source | Output, cfg: Config) -> str:
    """A few words for the tray's status line: ``camera 0``, ``clip.mp4``,
    ``SelfieCam /dev/video4``, ``file out.mp4``."""
    if isinstance(device, VirtualCamera):
        return f"{cfg.virtual_camera.name} {device.device}"
    if isinstance(device, FileOutput):
        return f"file {device.path.name}"
    if isinstance(device, WindowOutput):
        return "preview window"
    text = str(spec)
    return f"camera {text}" if text.isdigit() or text.startswith("/dev/") else Path(text).name


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


def run(args: argparse.Namespace) -> int:
    try:
        cfg = config_from_args(args)
    except ConfigError as e:
        setup_logging("info", args.verbose)
        print(f"vcam: config error: {e}", file=sys.stderr)
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
    cam = cfg.camera
    try:
        source = open_source(cam.device, cam.width, cam.height, cam.fps, cam.fourcc)
    except SourceError as e:
        print(f"vcam: {e}", file=sys.stderr)
        return EXIT_FAILURE
    log.info("source: %s", source.description)

    def reopen() -> Source:
        return open_source(cam.device, cam.width, cam.height, cam.fps, cam.fourcc)

    kind = choose_output(args, cfg)
    fps = cfg.virtual_camera.fps or source.fps
    frames = args.frames
    if args.demo and kind == DEMO_FILE and frames is None:
        frames = round(DEMO_SECONDS_PER_EFFECT * source.fps) * len(DEMO_EFFECTS)
    controller: Controller | None = None

    def on_key(ch: str) -> None:
        if controller is None:
            return
        keys = {"n": Effect.NONE, "r": Effect.REPLACE, "l": Effect.BLUR,
                "d": Effect.DESATURATE, "t": Effect.TRANSPARENT}
        if ch in ("q", "\x1b"):
            controller.quit()
        elif ch == "b":
            controller.step_background(1)
        elif ch == "m":
            controller.set_mirror(not controller.config.mirror)
        elif ch in keys:
            controller.set_effect(keys[ch])

    def caption() -> str:
        if controller is None:
            return ""
        st = controller.status()
        return f"{st.effect} | {st.fps:.0f} fps | keys l r b d t n m q"

    try:
        preload_model(cfg, source.width, source.height, args.verbose)
        first = open_output(kind, cfg, source, fps, on_key, caption)
    except (OutputError, OSError, ValueError) as e:
        source.close()
        print(f"vcam: {e}", file=sys.stderr)
        return EXIT_FAILURE
    log.info("output: %s", first.description)
    output_name = short_name(kind, first, cfg)
    output: Output = first
    if isinstance(first, VirtualCamera):
        # A virtual camera that vanishes (module unloaded, device removed) is reopened
        # with back-off while the pipeline runs on.
        output = ReconnectingOutput(lambda: open_output(kind, cfg, source, fps), first)

    # A file source is reopened too: resuming after a pause needs it.
    pipeline = Pipeline(cfg, source, output, reopen=reopen,
                        segmenter=lambda c, w, h: segmenter_for(c, w, h,
                                                                quiet=not args.verbose),
                        fps=fps, max_frames=frames)
    config_path = Path(args.config) if args.config else user_config_path()
    controller = Controller(pipeline, config_path, camera=short_name(cam.device, source, cfg),
                            output=output_name)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        pipeline.done.set()

    def on_hangup(_signum: int, _frame: FrameType | None) -> None:
        log.info("SIGHUP: reloading %s", config_path)
        controller.reload()

    demo_step = round(DEMO_SECONDS_PER_EFFECT * fps)

    def tick() -> None:
        if args.demo and not args.effect:
            effect = DEMO_EFFECTS[(pipeline.stats.published // demo_step) % len(DEMO_EFFECTS)]
            if effect is not controller.config.effect:
                controller.set_effect(effect)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hangup)
    t0 = time.monotonic()
    services = start_services(controller, config_path)
    pipeline.start()
    if isinstance(first, VirtualCamera) and cfg.virtual_camera.on_demand:
        watch = OnDemand(first.device, pipeline.set_idle)
        watch.start()
        services.append(watch)
    try:
        tray = None if args.no_tray else open_tray(controller)
        try:
            if tray is not None:
                tray.run(pipeline.done, tick)  # blocks this (main) thread: GUI toolkits want it
        except TrayError as e:
            log.warning("%s; running headless (control it with `vcam ctl`)", e)
        while not pipeline.wait(0.1):
            tick()
    finally:
        for service in services:
            service.close()
        pipeline.stop()
        for s, h in previous.items():
            signal.signal(s, h)
    took = time.monotonic() - t0
    st = pipeline.stats
    log.info("stopped after %.1f s: %d frames published (%.1f fps), %d repeated, %d skipped",
             took, st.published, st.published / max(took, 1e-9), st.repeated, st.skipped)
    if pipeline.error is not None:
        print(f"vcam: stopped by an error: {pipeline.error}", file=sys.stderr)
        return EXIT_FAILURE
    if isinstance(output, FileOutput):
        print(f"vcam: wrote {st.published} frames to {output.path}")
    return EXIT_OK
