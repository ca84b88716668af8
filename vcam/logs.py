"""Logging set-up for the commands: one format, to stderr."""

from __future__ import annotations

import logging
import sys


def setup_logging(level: str, verbose: bool) -> None:
    """Log at ``level`` (debug, info, warning, error), or debug with ``verbose``."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S",
        stream=sys.stderr, force=True)
