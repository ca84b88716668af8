"""What ``vcam bench`` reads off the process: percentiles, page faults, RSS, thread CPU."""

from __future__ import annotations

import os
import resource
import statistics
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if len(values) else float("nan")


def page_faults() -> int:
    """Minor page faults of this process so far (first touches of fresh memory)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def rss_mb() -> float:
    """Resident set size now, MB (Linux /proc; 0 elsewhere)."""
    return _proc_status_kb("VmRSS") / 1024


def reset_peak_rss() -> bool:
    """Restart the kernel's peak-RSS counter (Linux), so each case gets its own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak RSS since :func:`reset_peak_rss` (else since start), MB."""
    kb = _proc_status_kb("VmHWM")
    return (kb or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


def _proc_status_kb(key: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def thread_cpu_s(native_id: int | None) -> float:
    """CPU seconds one thread used so far (Linux /proc), 0 if unknown."""
    if native_id is None:
        return 0.0
    try:
        fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


