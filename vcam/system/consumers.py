"""Who is watching: the processes that hold the SelfieCam device open.

v4l2loopback says nothing about its readers, so we look at every process's
open files (/proc/PID/fd), as `fuser` does; only our own user's processes
are visible, which are the ones that matter (Zoom, Chrome, OBS run as the
user).  A scan of a desktop's /proc takes a few milliseconds, so polling a
couple of times a second costs nothing noticeable.
"""

from __future__ import annotations

import os
from pathlib import Path


def holders_of(paths: list[str], proc: Path = Path("/proc"),
               exclude: frozenset[int] = frozenset()) -> dict[str, list[int]]:
    """For each of ``paths``, the PIDs (ascending) that have it open, except ``exclude``.

    Matches each process's /proc/PID/fd links against the paths' real paths: one
    readlink per descriptor, no stat of what it points to.
    """
    targets = {os.path.realpath(p): p for p in paths}
    found: dict[str, list[int]] = {p: [] for p in paths}
    pids = sorted(int(e.name) for e in proc.iterdir() if e.name.isdigit())
    for pid in pids:
        if pid in exclude:
            continue
        try:
            fds = list((proc / str(pid) / "fd").iterdir())
        except OSError:
            continue  # gone, or another user's
        links = set()
        for fd in fds:
            try:
                links.add(os.readlink(fd))
            except OSError:
                continue  # closed between the listing and the readlink
        for target in links & targets.keys():
            found[targets[target]].append(pid)
    return found


def holders(device: str | Path, proc: Path = Path("/proc"),
            exclude: frozenset[int] = frozenset()) -> list[int]:
    """PIDs with ``device`` open, except those in ``exclude``."""
    return holders_of([str(device)], proc, exclude)[str(device)]


def process_name(pid: int, proc: Path = Path("/proc")) -> str:
    """The command name of ``pid`` (for messages), or '?'."""
    try:
        return (proc / str(pid) / "comm").read_text().strip()
    except OSError:
        return "?"


def held_by_others(device: str) -> str:
    """'zoom (pid 123), obs (pid 456)': the other processes holding ``device``, or ''."""
    pids = holders(device, exclude=frozenset({os.getpid()}))
    return ", ".join(f"{process_name(p)} (pid {p})" for p in pids)


PROBES = ("doctor", "devices")
"""Our own commands that open the device only to look at it."""


def is_probe(pid: int, proc: Path = Path("/proc")) -> bool:
    """True for a ``vcam doctor`` / ``vcam devices`` process: it opens the device for a
    moment to read its capabilities and is no viewer."""
    try:
        args = (proc / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    words = [a.decode(errors="replace") for a in args if a]
    for i, w in enumerate(words):
        if w == "vcam" or w.endswith("/vcam") or (w == "-m" and words[i + 1:i + 2] == ["vcam"]):
            rest = words[i + 1:] if w != "-m" else words[i + 2:]
            return bool(rest) and rest[0] in PROBES
    return False


def viewers(device: str | Path, proc: Path = Path("/proc")) -> list[int]:
    """The processes watching ``device``: its holders but ourselves and our own probes."""
    return [p for p in holders(device, proc, exclude=frozenset({os.getpid()}))
            if not is_probe(p, proc)]
