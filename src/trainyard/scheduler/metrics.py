"""Figures of a replay: job completion and waiting times, utilization, fairness across tenants."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from trainyard.scheduler.sim import Job, Outcome


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted `values` (0.0 if there are none)."""
    if not values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(values)))
    return values[rank - 1]


def jain(values: Sequence[float]) -> float:
    """Jain's fairness index: 1.0 when all values are equal, 1/n when one holds everything."""
    if not values:
        return 1.0
    squares = sum(v * v for v in values)
    return sum(values) ** 2 / (len(values) * squares) if squares else 1.0


def summarize(policy: str, jobs: Sequence[Job], outcome: Outcome) -> dict[str, Any]:
    """The simulator's report (wall time is the caller's to add: the domain reads no clock).

    Slowdown is completion time over run time (run time at least 1 s); fairness is Jain's
    index over the tenants' mean slowdowns.
    """
    done = [j for j in jobs if j.id in outcome.starts]
    jct = sorted(outcome.starts[j.id] + j.duration - j.submit for j in done)
    wait = sorted(outcome.starts[j.id] - j.submit for j in done)
    slowdowns: dict[str, list[float]] = {}
    for job in done:
        time = outcome.starts[job.id] + job.duration - job.submit
        slowdowns.setdefault(job.tenant, []).append(time / max(job.duration, 1.0))
    first = min((j.submit for j in done), default=0.0)
    last = max((outcome.starts[j.id] + j.duration for j in done), default=first)
    makespan = last - first
    capacity = outcome.capacity * makespan
    return {
        "policy": policy,
        "jobs": len(done),
        "rejected": len(outcome.rejected),
        "avg_jct_s": sum(jct) / len(jct) if jct else 0.0,
        "p50_jct_s": percentile(jct, 0.5),
        "p99_jct_s": percentile(jct, 0.99),
        "avg_wait_s": sum(wait) / len(wait) if wait else 0.0,
        "p99_wait_s": percentile(wait, 0.99),
        "max_wait_s": wait[-1] if wait else 0.0,
        "util_while_waiting": (
            outcome.busy_while_waiting / outcome.available_while_waiting
            if outcome.available_while_waiting
            else 1.0
        ),
        "utilization": outcome.busy_gpu_s / capacity if capacity else 0.0,
        "makespan_s": makespan,
        "fairness_jain": jain([sum(s) / len(s) for s in slowdowns.values()]),
    }
