"""Replay a job trace through the real scheduler on a virtual clock and measure the outcome."""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from trainyard.core.errors import UserError
from trainyard.scheduler.items import QueueItem
from trainyard.scheduler.policies import DEFAULT, Policy, get_policy
from trainyard.scheduler.resources import NodeCapacity, Request
from trainyard.scheduler.scheduler import Scheduler
from trainyard.scheduler.tenants import TenantPolicy


@dataclass(frozen=True, slots=True)
class Job:
    """One trace job: submit time and true duration in seconds, GPUs, tenant, estimate."""

    id: str
    submit: float
    duration: float
    gpus: int
    tenant: str = "default"
    estimate: float | None = None
    priority: int = 0


@dataclass
class Outcome:
    """What happened to each job (start times by id) and the cluster-level integrals."""

    starts: dict[str, float] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    busy_gpu_s: float = 0.0
    busy_while_waiting: float = 0.0
    available_while_waiting: float = 0.0
    decisions: int = 0
    capacity: int = 0


def cluster(gpus: int, gpus_per_node: int) -> list[NodeCapacity]:
    """`gpus` GPUs as nodes of `gpus_per_node` (a last, smaller node takes any remainder)."""
    if gpus <= 0 or gpus_per_node <= 0:
        raise ValueError("a simulated cluster needs a positive number of GPUs per node")
    nodes = NodeCapacity.uniform(gpus // gpus_per_node, gpus_per_node)
    if gpus % gpus_per_node:
        nodes.append(NodeCapacity("node-rest", tuple(range(gpus % gpus_per_node))))
    return nodes


def with_noise(jobs: Iterable[Job], sigma: float, seed: int) -> list[Job]:
    """Give each job the estimate duration x exp(N(0, sigma)), drawn in job order from `seed`."""
    rng = random.Random(seed)
    return [replace(j, estimate=j.duration * math.exp(rng.gauss(0.0, sigma))) for j in jobs]


def replay(
    jobs: list[Job],
    nodes: list[NodeCapacity],
    policy: Policy | str = DEFAULT,
    tenants: TenantPolicy | None = None,
    observe: Callable[[float, Scheduler], None] | None = None,
) -> Outcome:
    """Run `jobs` (any order) to completion; event-driven, one decision per distinct time.

    Jobs no node could hold are rejected, not queued. `observe(now, scheduler)` is called
    after every decision (tests use it to look at the state in between).
    """
    scheduler = Scheduler(nodes, get_policy(policy), tenants, multi_node=True)
    total = scheduler.inventory.total_gpus
    outcome = Outcome(capacity=total)
    by_id: dict[str, Job] = {}
    arrivals = sorted(jobs, key=lambda j: (j.submit, j.id))
    ends: list[tuple[float, str]] = []
    busy = 0
    last = arrivals[0].submit if arrivals else 0.0
    i = 0
    while i < len(arrivals) or ends:
        now = min(
            arrivals[i].submit if i < len(arrivals) else math.inf, ends[0][0] if ends else math.inf
        )
        span = now - last
        outcome.busy_gpu_s += busy * span
        if len(scheduler.queue):
            outcome.busy_while_waiting += busy * span
            outcome.available_while_waiting += total * span
        last = now
        while ends and ends[0][0] <= now:
            job = by_id[heapq.heappop(ends)[1]]
            scheduler.finished(job.id)
            busy -= job.gpus
        while i < len(arrivals) and arrivals[i].submit <= now:
            job = arrivals[i]
            i += 1
            try:
                scheduler.submit(_item(job))
            except UserError:  # more GPUs than any placement or the tenant's quota allows
                outcome.rejected.append(job.id)
                continue
            by_id[job.id] = job
        outcome.decisions += 1
        for placement in scheduler.schedule(now):
            job = by_id[placement.id]
            outcome.starts[job.id] = now
            busy += job.gpus
            heapq.heappush(ends, (now + job.duration, job.id))
        if observe is not None:
            observe(now, scheduler)
    return outcome


def _item(job: Job) -> QueueItem:
    return QueueItem(
        job.id, job.tenant, Request(gpus=job.gpus), job.submit, job.priority, job.estimate
    )
