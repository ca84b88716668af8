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
from vcam.config import Effect, ModelChoice

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
    if args.command == "run":
        from vcam.run import run

        return run(args)
    if args.command == "bench":
        from vcam.bench import run as bench

        return bench(args)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
