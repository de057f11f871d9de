"""Small builders and an event-driven driver for scheduler tests (the simulator's replay)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from trainyard.scheduler import NodeCapacity, Policy, QueueItem, Request, Scheduler, TenantPolicy
from trainyard.scheduler.sim import Job, Outcome, replay


def item(
    item_id: str,
    gpus: int = 1,
    tenant: str = "team-a",
    submitted: float = 0.0,
    priority: int = 0,
    estimate: float | None = None,
    preemptible: bool = False,
) -> QueueItem:
    """A queue item asking for `gpus` GPUs."""
    return QueueItem(
        item_id, tenant, Request(gpus=gpus), submitted, priority, estimate, preemptible
    )


def nodes(count: int, gpus: int) -> list[NodeCapacity]:
    """`count` nodes with `gpus` GPUs each."""
    return NodeCapacity.uniform(count, gpus)


@dataclass
class Trace:
    """What a replay did, decision by decision."""

    outcome: Outcome
    # per decision: (now, {tenant: running GPUs}, {tenant: waiting items})
    states: list[tuple[float, dict[str, int], dict[str, int]]] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)


def run(
    jobs: list[Job],
    cluster: list[NodeCapacity],
    policy: Policy | str,
    tenants: TenantPolicy | None = None,
    check: Callable[[float, Scheduler], list[str]] | None = None,
) -> Trace:
    """Replay `jobs`, recording tenant usage and queue sizes after every decision."""
    states: list[tuple[float, dict[str, int], dict[str, int]]] = []
    problems: list[str] = []

    def observe(now: float, scheduler: Scheduler) -> None:
        states.append((now, dict(scheduler.usage), dict(scheduler.queue.count)))
        if check is not None:
            problems.extend(check(now, scheduler))

    outcome = replay(jobs, cluster, policy, tenants, observe)
    return Trace(outcome, states, problems)
