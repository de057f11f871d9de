"""Backfill around the reserved head, which it never delays (by the estimates)."""

from __future__ import annotations

import random

import pytest

from tests.scheduler.driver import item, nodes
from trainyard.scheduler import Scheduler
from trainyard.scheduler.sim import Job, replay

# One 4-GPU node: `r` holds 2 GPUs until 100; `head` needs all 4; two 1-GPU jobs could use the
# free pair now, one ending before 100 and one long after.
JOBS = [
    Job("r", 0.0, 100.0, 2, "a", 100.0),
    Job("head", 1.0, 50.0, 4, "a", 50.0),
    Job("short", 2.0, 50.0, 1, "a", 50.0),
    Job("long", 3.0, 500.0, 1, "a", 500.0),
]


@pytest.mark.parametrize("policy", ["priority", "fair", "balanced"])
def test_backfill_uses_idle_gpus_without_delaying_the_head(policy: str) -> None:
    starts = replay(JOBS, nodes(1, 4), policy).starts
    assert starts["short"] == 2.0  # fits in the hole: ends at 52, before the head's start
    assert starts["head"] == 100.0  # exactly when `r` ends
    assert starts["long"] == 150.0  # would have pushed the head back to 503


def test_fifo_lets_small_jobs_delay_a_big_one() -> None:
    starts = replay(JOBS, nodes(1, 4), "fifo").starts
    assert starts["long"] == 3.0
    assert starts["head"] == 503.0


def test_long_items_may_use_what_the_head_leaves_over() -> None:
    jobs = [
        Job("r", 0.0, 100.0, 3, "a", 100.0),
        Job("head", 1.0, 50.0, 2, "a", 50.0),  # at 100, 4 GPUs are free: 2 to spare
        Job("long", 2.0, 500.0, 1, "a", 500.0),
    ]
    starts = replay(jobs, nodes(1, 4), "balanced").starts
    assert starts == {"r": 0.0, "head": 100.0, "long": 2.0}


def test_items_without_estimates_never_backfill_a_reserved_node() -> None:
    scheduler = Scheduler(nodes(1, 4), "priority")
    scheduler.submit(item("r", 2, estimate=100))
    scheduler.schedule(0)
    scheduler.submit(item("head", 4, submitted=1))
    scheduler.submit(item("unknown", 1, submitted=2))
    scheduler.submit(item("quick", 1, submitted=3, estimate=10))
    assert [p.id for p in scheduler.schedule(5)] == ["quick"]
    held = scheduler.waiting(now=5)[1]
    assert held.item.id == "unknown"
    assert held.reason == (
        "waiting for 1 GPU, 1 free but held for head (4 GPUs, expected to start in 1m35s);"
        " position 2 of 2 in tenant team-a"
    )


def random_jobs(rng: random.Random, count: int) -> list[Job]:
    """Jobs of 1 to 8 GPUs, exact estimates, arriving faster than 2 x 8 GPUs can serve."""
    jobs = []
    for n in range(count):
        gpus = rng.choice([1, 1, 1, 1, 2, 2, 4, 8, 12])
        duration = float(rng.randint(1, 400))
        tenant = rng.choice("abc")
        jobs.append(Job(f"j{n:03d}", float(rng.randint(0, 2000)), duration, gpus, tenant, duration))
    return jobs


@pytest.mark.parametrize("policy", ["priority", "fair", "balanced"])
@pytest.mark.parametrize("seed", range(12))
def test_a_reserved_start_is_never_delayed_when_estimates_are_exact(policy: str, seed: int) -> None:
    jobs = random_jobs(random.Random(seed), 150)
    promised: dict[str, float] = {}

    def remember(now: float, scheduler: Scheduler) -> None:
        held = scheduler.reservation
        if held is not None and held.item.id == scheduler.head:
            promised.setdefault(held.item.id, held.start)

    outcome = replay(jobs, nodes(2, 8), policy, observe=remember)
    assert promised, "the scenario should make some gang wait for a reservation"
    late = {
        i: (outcome.starts[i], start) for i, start in promised.items() if outcome.starts[i] > start
    }
    assert late == {}
