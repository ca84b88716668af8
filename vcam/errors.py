"""Exit codes and the exception types every layer raises.

Each message says what is wrong and, where there is one, the fix: the CLI
prints it as it is.  Exit codes: 0 done, 1 a runtime failure (no camera, no
virtual camera, an input that failed), 2 a usage or configuration error.
"""

from __future__ import annotations

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class ConfigError(ValueError):
    """A configuration value is wrong; the message names file, key and what is allowed.

    ``source`` is the file (or ``--flag`` for a command-line value), ``key``
    the setting within it.
    """

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source = source
        self.key = key
        super().__init__(f"{source}: {key}: {message}" if key else f"{source}: {message}")


class UsageError(ValueError):
    """The command asks for something impossible (exit code 2); the message says the fix."""


class SourceError(RuntimeError):
    """A source could not be opened or stopped delivering frames."""


class OutputError(RuntimeError):
    """An output could not be opened; the message says what is missing and the fix."""


class BackgroundError(ValueError):
    """A background could not be loaded; the message says which and why."""


class MediaError(RuntimeError):
    """A file could not be read or written; the message names it and says why."""
