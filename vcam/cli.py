"""The ``vcam`` command line: parses arguments and hands over to the subcommand.

Exit codes: 0 done, 1 a runtime failure (no camera, no virtual camera, ...),
2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from vcam import __version__
from vcam.config import Effect, ModelChoice, Runtime

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {v}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vcam",
        description="SelfieCam: a virtual webcam with your background replaced, blurred, "
                    "desaturated or keyed out, live, on the CPU.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    r = sub.add_parser(
        "run", help="run the SelfieCam virtual camera",
        description="Read the webcam, change its background and publish it as the "
                    "SelfieCam virtual camera. Options override config.toml for this run.")
    r.add_argument("--config", type=str, metavar="PATH",
                   help="config file (default: ~/.config/selfiecam/config.toml if it exists)")
    r.add_argument("--source", metavar="DEVICE|FILE",
                   help="camera index, /dev/videoN, or a video file (looped)")
    r.add_argument("--effect", choices=[e.value for e in Effect])
    r.add_argument("--background", metavar="PATH|COLOR",
                   help="for replace: an image, a video (looped) or a colour like '#00ff00'")
    r.add_argument("--blur", type=int, metavar="1..50", help="background blur strength")
    r.add_argument("--model", choices=[m.value for m in ModelChoice])
    r.add_argument("--mirror", action=argparse.BooleanOptionalAction, default=None,
                   help="flip the picture horizontally")
    r.add_argument("--output", metavar="virtual|window|FILE.mp4",
                   help="where frames go (default: virtual, the SelfieCam camera)")
    r.add_argument("--frames", type=_positive, metavar="N", help="stop after N output frames")
    r.add_argument("--no-tray", action="store_true", help="do not show the tray icon")
    r.add_argument("--demo", action="store_true",
                   help="run on the bundled sample clip and cycle through the effects")
    r.add_argument("--verbose", "-v", action="store_true",
                   help="debug logging, including MediaPipe's own")

    a = sub.add_parser(
        "apply", help="apply an effect to images, folders of images or video files",
        description="The live effects on files, with real transparency: RGBA PNG for "
                    "images, WebM (VP9 with alpha) or a PNG frame pattern for videos. "
                    "Exit codes: 0 all done, 1 some inputs failed (named; the rest are "
                    "still done), 2 usage or config error. Inputs are never overwritten.")
    a.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image files (PNG, JPEG, WebP, BMP), folders of images, video files")
    a.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                   help="a file for one input, a folder for several; for a video also a "
                        "frame pattern like out/frame_%%05d.png")
    a.add_argument("--effect", required=True, choices=[*(e.value for e in Effect), "mask"],
                   help="transparent: real alpha; mask: the soft person mask itself "
                        "(8-bit gray, 255 = person)")
    a.add_argument("--background", metavar="PATH|COLOR",
                   help="for replace: an image, a video (looped) or a colour like '#00ff00'")
    a.add_argument("--blur", type=int, metavar="1..50", help="background blur strength")
    a.add_argument("--model", choices=[m.value for m in ModelChoice])
    a.add_argument("--config", type=str, metavar="PATH",
                   help="config file (default: ~/.config/selfiecam/config.toml if it exists)")
    a.add_argument("--force", action="store_true", help="overwrite existing outputs")
    a.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    a.add_argument("--verbose", "-v", action="store_true",
                   help="debug logging, including MediaPipe's own")

    from vcam.control.ctl import COMMANDS

    c = sub.add_parser(
        "ctl", help="change the running SelfieCam live (effect, background, pause...)",
        description="Talk to the running `vcam run` over its control socket "
                    "($XDG_RUNTIME_DIR/selfiecam/ctl.sock): for desktop hotkeys and scripts.",
        epilog="commands: " + "; ".join(f"{k} {v}" if v else k for k, v in COMMANDS.items())
               + ". A background switches the effect to replace.")
    c.add_argument("action", choices=list(COMMANDS), metavar="COMMAND",
                   help=", ".join(COMMANDS))
    c.add_argument("value", nargs="?", metavar="ARG", help="the command's argument, if any")
    c.add_argument("--json", action="store_true", help="print the daemon's reply as JSON")
    d = sub.add_parser("devices", help="list cameras and virtual outputs",
                       description="List the physical cameras (with their modes) and the "
                                   "v4l2loopback virtual outputs, and which one is SelfieCam's.")
    d.add_argument("--json", action="store_true", help="machine-readable output")

    dr = sub.add_parser(
        "doctor", help="check that `vcam run` will work, and say how to fix what is missing",
        description="Check the camera, the SelfieCam device, the tray, ffmpeg, the config "
                    "file, the models and OpenCV. Exit code 0 when `vcam run` would work.")
    dr.add_argument("--config", type=str, metavar="PATH", help="config file to check")
    dr.add_argument("--json", action="store_true", help="machine-readable output")

    a = sub.add_parser(
        "autostart", help="start SelfieCam at login (systemd user unit + XDG autostart)",
        description="enable: install a systemd user unit (restarts on failure) and an XDG "
                    "autostart entry; disable: remove both; status: exit code 0 when enabled.")
    a.add_argument("action", choices=["enable", "disable", "status"])
    b = sub.add_parser(
        "bench", help="measure speed against the naive pipeline",
        description="Time SelfieCam's stages on a real clip at several sizes for every "
                    "effect, next to the naive tutorial pipeline, and optionally the live "
                    "threaded pipeline from a camera-paced source.")
    b.add_argument("--clip", metavar="VIDEO", help="footage to use (default: the demo clip)")
    b.add_argument("--sizes", nargs="+", metavar="WxH",
                   help="frame sizes (default: 640x480 1280x720 1920x1080)")
    b.add_argument("--effects", metavar="LIST",
                   help="comma-separated effects (default: blur,replace,desaturate,transparent)")
    b.add_argument("--frames", type=_positive, default=100, metavar="N",
                   help="frames timed per size and effect (default: 100)")
    b.add_argument("--no-reference", action="store_true", help="skip the naive pipeline")
    b.add_argument("--model", choices=[m.value for m in ModelChoice],
                   help="segmentation model (default: the config default, general)")
    b.add_argument("--runtime", choices=[r.value for r in Runtime],
                   help="what runs the model for SelfieCam's stages (default: auto); the "
                        "naive pipeline always uses MediaPipe Tasks, as the tutorial does")
    b.add_argument("--live", action="store_true",
                   help="also run the threaded pipeline from a paced source to a sink")
    b.add_argument("--live-only", action="store_true", help="only the live run")
    b.add_argument("--live-cases", nargs="+", metavar="WxH@FPS",
                   help="live sources (default: 1920x1080@30 1280x720@60)")
    b.add_argument("--seconds", type=float, default=10.0, metavar="N",
                   help="seconds per live case, after 2 s of warm-up (default: 10)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    return p


def setup_logging(level: str, verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S",
        stream=sys.stderr, force=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("run", "apply", "bench"):
        from vcam.system.tuning import keep_freed_frames, one_opencv_thread

        keep_freed_frames()
        if args.command == "run":
            one_opencv_thread()
    if args.command == "run":
        from vcam.live.daemon import run

        return run(args)
    if args.command == "apply":
        from vcam.offline import apply

        return apply.run(args)
    if args.command == "ctl":
        from vcam.control.ctl import main as ctl_main

        return ctl_main(args)
    if args.command == "devices":
        from vcam.system.devices import main as devices_main

        return devices_main(args)
    if args.command == "doctor":
        from vcam.system.doctor import main as doctor_main

        return doctor_main(args)
    if args.command == "autostart":
        from vcam.system.autostart import main as autostart_main

        return autostart_main(args)
    if args.command == "bench":
        from vcam.bench.command import run as bench

        return bench(args)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
