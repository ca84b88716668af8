"""The ``vcam`` command line: parses arguments and hands over to the subcommand.

Each subcommand's options are declared by one small function; the options
``run`` and ``apply`` share (effect, background, blur, model, runtime, config)
are declared once, in :func:`add_picture_options`, and read back with
:meth:`vcam.config.Overrides.from_args`.  Exit codes are in :mod:`vcam.errors`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from vcam import __version__
from vcam.config import BLUR_MAX, BLUR_MIN, PIXEL_FORMATS, Config, ModelChoice, Quality, Runtime
from vcam.stages.effects import effect_names, get_effect
from vcam.stages.looks import LOOKS, look_names

CONFIG_HELP = "config file (default: ~/.config/selfiecam/config.toml if it exists)"


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {v}")
    return v


def effect_help() -> str:
    """Every effect and a few words on it, for ``--effect``'s help."""
    return "; ".join(f"{n}: {get_effect(n).help}" for n in effect_names())


def add_picture_options(p: argparse.ArgumentParser, *, extra_effects: Sequence[str] = ()
                        ) -> None:
    """The options ``run`` and ``apply`` share: what the picture looks like."""
    d = Config()
    p.add_argument("--config", type=str, metavar="PATH", help=CONFIG_HELP)
    p.add_argument("--effect", choices=[*effect_names(), *extra_effects],
                   help=f"{effect_help()} (default: the config's, else {d.effect})")
    p.add_argument("--background", metavar="PATH|COLOR",
                   help="what replace shows: an image, a video (looped) or a colour like "
                        "'#00ff00'")
    p.add_argument("--blur", type=int, metavar=f"{BLUR_MIN}..{BLUR_MAX}",
                   help=f"background blur strength (default: the config's, else {d.blur})")
    p.add_argument("--model", choices=[m.value for m in ModelChoice],
                   help=f"segmentation model (default: the config's, else {d.model})")
    p.add_argument("--runtime", choices=[r.value for r in Runtime],
                   help=f"what runs the model (default: the config's, else {d.runtime})")
    p.add_argument("--looks", metavar="LIST",
                   help="studio looks on top of the effect, comma-separated, each with an "
                        "optional strength 0..100 (0: off), or none: "
                        + "; ".join(f"{n}: {LOOKS[n].help}" for n in look_names())
                        + " (e.g. frame,light=60; default: the config's [looks], else none)")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="debug logging, including MediaPipe's own")


def add_run(sub: argparse._SubParsersAction) -> None:
    from vcam.stages.outputs import output_choices

    d = Config()
    r = sub.add_parser(
        "run", help="run the SelfieCam virtual camera",
        description="Read the webcam, change its background and publish it as the "
                    "SelfieCam virtual camera. Options override config.toml for this run.")
    add_picture_options(r)
    r.add_argument("--source", metavar="DEVICE|FILE",
                   help="camera index, /dev/videoN, or a video file (looped)")
    r.add_argument("--mirror", action=argparse.BooleanOptionalAction, default=None,
                   help="flip the picture horizontally")
    r.add_argument("--output", metavar="virtual|window|FILE.mp4",
                   help=f"where frames go: {output_choices()} (default: virtual)")
    r.add_argument("--device", metavar="/dev/videoN",
                   help="the virtual camera to publish to (default: the one labelled "
                        "SelfieCam; e.g. the SelfieCam-Zoom device for Zoom, see README)")
    r.add_argument("--pixel-format", choices=PIXEL_FORMATS,
                   help=f"what the virtual camera carries (default: the config's, else "
                        f"{d.virtual_camera.pixel_format}; i420 if Zoom shows black)")
    r.add_argument("--frames", type=_positive, metavar="N", help="stop after N output frames")
    r.add_argument("--force", action="store_true",
                   help="let --output FILE replace an existing file (as vcam apply --force)")
    r.add_argument("--no-tray", action="store_true", help="do not show the tray icon")
    r.add_argument("--demo", action="store_true",
                   help="run on the bundled sample clip and cycle through the effects")


def add_apply(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser(
        "apply", help="apply an effect to images, folders of images or video files",
        description="The live effects on files, with real transparency: RGBA PNG for "
                    "images, WebM (VP9 with alpha) or a PNG frame pattern for videos. "
                    "Exit codes: 0 all done, 1 some inputs failed (named; the rest are "
                    "still done), 2 usage or config error. Inputs are never overwritten. "
                    "The live selfie model is made for close-ups of one or a few people; "
                    "--quality best (the default for images) adds a portrait matte where "
                    "the two agree, which mends most groups and wide shots.",
        epilog="mask: the soft person mask itself (8-bit grey, 255 = person).")
    a.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image files (PNG, JPEG, WebP, BMP), folders of images, video files")
    a.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                   help="a file for one input, a folder for several; for a video also a "
                        "frame pattern like out/frame_%%05d.png")
    add_picture_options(a, extra_effects=("mask",))
    a.add_argument("--quality", choices=[q.value for q in Quality],
                   help="best: also a portrait matting model (hair, fine edges; ~0.5 s a "
                        "photo), used only where the selfie model agrees with it; fast: the "
                        "live model alone (default: the config's, else best for images and "
                        "fast for videos)")
    a.add_argument("--force", action="store_true", help="overwrite existing outputs")
    a.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")


def add_ctl(sub: argparse._SubParsersAction) -> None:
    from vcam.control.ctl import commands

    known = commands()
    c = sub.add_parser(
        "ctl", help="change the running SelfieCam live (effect, background, pause...)",
        description="Talk to the running `vcam run` over its control socket "
                    "($XDG_RUNTIME_DIR/selfiecam/ctl.sock, or, where XDG_RUNTIME_DIR is "
                    "not set, $TMPDIR/selfiecam-$UID/ctl.sock): for desktop hotkeys and "
                    "scripts.",
        epilog="commands: " + "; ".join(f"{k} {v}" if v else k for k, v in known.items())
               + ". A background switches the effect to replace.")
    c.add_argument("action", choices=list(known), metavar="COMMAND", help=", ".join(known))
    c.add_argument("value", nargs="?", metavar="ARG", help="the command's argument, if any")
    c.add_argument("--json", action="store_true", help="print the daemon's reply as JSON")


def add_devices(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("devices", help="list cameras and virtual outputs",
                       description="List the physical cameras (with their modes) and the "
                                   "v4l2loopback virtual outputs, and which one is SelfieCam's.")
    d.add_argument("--json", action="store_true", help="machine-readable output")


def add_doctor(sub: argparse._SubParsersAction) -> None:
    dr = sub.add_parser(
        "doctor", help="check that `vcam run` will work, and say how to fix what is missing",
        description="Check the camera, the SelfieCam device, the tray, ffmpeg, the config "
                    "file, the models and OpenCV. Exit code 0 when `vcam run` would work.")
    dr.add_argument("--config", type=str, metavar="PATH", help="config file to check")
    dr.add_argument("--json", action="store_true", help="machine-readable output")


def add_autostart(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser(
        "autostart", help="start SelfieCam at login (systemd user unit + XDG autostart)",
        description="enable: install a systemd user unit (restarts on failure) and an XDG "
                    "autostart entry; disable: remove both; status: exit code 0 when enabled.")
    a.add_argument("action", choices=["enable", "disable", "status"])


def add_bench(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser(
        "bench", help="measure speed against the naive pipeline",
        description="Time SelfieCam's stages on a real clip at several sizes for every "
                    "effect, next to the naive tutorial pipeline, and optionally the live "
                    "threaded pipeline from a camera-paced source.")
    b.add_argument("--clip", metavar="VIDEO", help="footage to use (default: the demo clip)")
    b.add_argument("--sizes", nargs="+", metavar="WxH",
                   help="frame sizes (default: 640x480 1280x720 1920x1080)")
    b.add_argument("--effects", metavar="LIST",
                   help="comma-separated effects, each optionally with looks on: "
                        "blur+frame+light+touchup (default: every effect that needs a mask)")
    b.add_argument("--frames", type=_positive, default=100, metavar="N",
                   help="frames timed per size and effect (default: 100)")
    b.add_argument("--inset", type=float, default=1.0, metavar="F",
                   help="shrink the clip to F (0.2..1) in a grey frame, a person sitting "
                        "back, so the frame look has something to crop (default: 1)")
    b.add_argument("--no-reference", action="store_true", help="skip the naive pipeline")
    b.add_argument("--model", choices=[m.value for m in ModelChoice],
                   help="segmentation model (default: the config default, general)")
    b.add_argument("--runtime", choices=[r.value for r in Runtime],
                   help="what runs the model for SelfieCam's stages (default: auto); the "
                        "naive pipeline always uses MediaPipe Tasks, as the tutorial does")
    b.add_argument("--reuse-still", type=int, metavar="N",
                   help="frames the model's last mask may serve while the picture is "
                        "still (default: the config default, 2; 0 runs the model on "
                        "every frame)")
    b.add_argument("--live", action="store_true",
                   help="also run the threaded pipeline from a paced source to a sink")
    b.add_argument("--live-only", action="store_true", help="only the live run")
    b.add_argument("--live-cases", nargs="+", metavar="WxH@FPS",
                   help="live sources (default: 1920x1080@30 1280x720@60)")
    b.add_argument("--seconds", type=float, default=10.0, metavar="N",
                   help="seconds per live case, after 2 s of warm-up (default: 10)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.add_argument("--verbose", "-v", action="store_true", help="debug logging")


COMMANDS: dict[str, tuple[Callable[[argparse._SubParsersAction], None], str]] = {
    "run": (add_run, "vcam.live.daemon:run"),
    "apply": (add_apply, "vcam.offline.apply:run"),
    "ctl": (add_ctl, "vcam.control.ctl:main"),
    "devices": (add_devices, "vcam.system.devices:main"),
    "doctor": (add_doctor, "vcam.system.doctor:main"),
    "autostart": (add_autostart, "vcam.system.autostart:main"),
    "bench": (add_bench, "vcam.bench.command:run"),
}
"""Each subcommand: the function that declares its options, and where its code is
(imported only when it runs, so ``vcam ctl`` never loads a model)."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vcam",
        description="SelfieCam: a virtual webcam with your background replaced, blurred, "
                    "desaturated or keyed out, live, on the CPU.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add, _ in COMMANDS.values():
        add(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("run", "apply", "bench"):
        from vcam.system.tuning import keep_freed_frames, one_opencv_thread

        keep_freed_frames()
        if args.command == "run":
            one_opencv_thread()
    module, _, name = COMMANDS[args.command][1].partition(":")
    handler: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(module), name)
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
