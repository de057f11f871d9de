"""Invariants over random workloads, for every policy: no GPU given twice, gangs on one node,
quotas kept, everything finishes, and fifo never leaves work waiting that fits."""

from __future__ import annotations

import random

import pytest

from tests.scheduler.driver import nodes, run
from trainyard.scheduler import POLICIES, Scheduler, TenantPolicy
from trainyard.scheduler.sim import Job


def workload(seed: int, count: int = 200) -> list[Job]:
    """Jobs of 1 to 8 GPUs from four tenants, with noisy estimates and some priorities."""
    rng = random.Random(seed)
    jobs = []
    for n in range(count):
        duration = float(rng.randint(1, 300))
        estimate = duration * rng.lognormvariate(0, 1) if rng.random() < 0.8 else None
        jobs.append(
            Job(
                f"j{n:03d}",
                float(rng.randint(0, 3000)),
                duration,
                rng.choice([1, 1, 1, 2, 3, 4, 8]),
                rng.choice(["a", "b", "c", "d"]),
                estimate,
                rng.choice([0, 0, 0, 1]),
            )
        )
    return jobs


def invariants(now: float, scheduler: Scheduler) -> list[str]:
    """What must hold after every decision."""
    problems = []
    held: dict[tuple[str, int], str] = {}
    usage: dict[str, int] = {}
    for item, placement in scheduler.running():
        spans = placement.spans
        if sum(len(g) for _, g in spans) != item.gpus:
            problems.append(f"{item.id} got {spans} for {item.gpus} GPUs")
        if item.gpus <= scheduler.inventory.widest and len(spans) > 1:
            problems.append(f"{item.id} spans nodes: {spans}")
        for node, gpus in spans:
            for gpu in gpus:
                if (node, gpu) in held:
                    problems.append(f"{now}: {node}/{gpu} held by {held[node, gpu]} and {item.id}")
                held[node, gpu] = item.id
        usage[item.tenant] = usage.get(item.tenant, 0) + item.gpus
    if usage != scheduler.usage:
        problems.append(f"{now}: usage {scheduler.usage} != {usage}")
    if sum(usage.values()) + scheduler.inventory.free_gpus != scheduler.inventory.total_gpus:
        problems.append(f"{now}: free GPUs do not add up")
    quota = scheduler.tenants.quota("a")
    if quota is not None and usage.get("a", 0) > quota:
        problems.append(f"{now}: tenant a holds {usage['a']} > {quota}")
    return problems


def work_conserving(now: float, scheduler: Scheduler) -> list[str]:
    """Nothing waits that would fit now and is within its quota (first fit, no reservations)."""
    problems = invariants(now, scheduler)
    for entry in scheduler.queue:
        waiting = entry[4]
        quota = scheduler.tenants.quota(waiting.tenant)
        if quota is not None and scheduler.usage.get(waiting.tenant, 0) + waiting.gpus > quota:
            continue
        if scheduler.inventory.fit(waiting.request) is not None:
            problems.append(f"{now}: {entry[2]} fits but waits")
    return problems


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("seed", range(4))
def test_invariants_hold_after_every_decision(policy: str, seed: int) -> None:
    jobs = workload(seed)
    tenants = TenantPolicy(weights={"a": 2, "b": 0.5}, gpu_quota={"a": 6})
    check = work_conserving if policy in ("fifo", "shortest") else invariants
    trace = run(jobs, nodes(3, 8), policy, tenants, check)
    assert trace.checks == []
    too_big = {j.id for j in jobs if j.tenant == "a" and j.gpus > 6}  # over a's quota
    assert set(trace.outcome.rejected) == too_big
    assert len(trace.outcome.starts) == len(jobs) - len(too_big)


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_replays_are_deterministic(policy: str) -> None:
    jobs = workload(7)
    first = run(jobs, nodes(2, 8), policy).outcome.starts
    again = run(list(reversed(jobs)), nodes(2, 8), policy).outcome.starts
    assert first == again
