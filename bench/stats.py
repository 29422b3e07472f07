"""Percentiles, memory and the summary of a measured run."""

from __future__ import annotations

import math
import resource
from typing import Any

from bench.driver import Run


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of already sorted values."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def peak_rss_mb() -> float:
    """The highest resident set size of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """The current resident set size of this process."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def summarize(run: Run) -> dict[str, Any]:
    """Throughput (updates over the time spent in parse + process) and latency percentiles in ms."""
    values = sorted(run.latencies)
    busy = math.fsum(values)
    return {
        "updates": run.updates,
        "updates_per_s": run.updates / busy,
        "wall_updates_per_s": run.updates / run.wall_s,
        "mean_ms": busy / run.updates * 1000,
        "p50_ms": percentile(values, 50) * 1000,
        "p95_ms": percentile(values, 95) * 1000,
        "p99_ms": percentile(values, 99) * 1000,
        "max_ms": values[-1] * 1000,
    }
