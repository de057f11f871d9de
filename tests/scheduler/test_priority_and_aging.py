"""Priority classes, aging, and no starvation."""

from __future__ import annotations

import math

import pytest

from tests.scheduler.driver import item, nodes
from trainyard.scheduler import Policy, Scheduler
from trainyard.scheduler.sim import Job, Outcome, replay


def test_higher_priority_goes_first() -> None:
    scheduler = Scheduler(nodes(1, 1), "priority")
    scheduler.submit(item("running"))
    scheduler.schedule(0)
    scheduler.submit(item("low", submitted=1))
    scheduler.submit(item("high", submitted=2, priority=2))
    scheduler.submit(item("mid", submitted=3, priority=1))
    assert [w.item.id for w in scheduler.waiting()] == ["high", "mid", "low"]
    scheduler.finished("running")
    assert [p.id for p in scheduler.schedule(10)] == ["high"]


def test_one_priority_level_is_worth_an_hour_of_waiting() -> None:
    scheduler = Scheduler(nodes(1, 1), "priority")
    scheduler.submit(item("running"))
    scheduler.schedule(0)
    scheduler.submit(item("old-low", submitted=0))
    scheduler.submit(item("new-high", submitted=3601, priority=1))
    assert [w.item.id for w in scheduler.waiting()] == ["old-low", "new-high"]


@pytest.mark.parametrize("policy", ["priority", "balanced", "fair"])
def test_a_low_priority_item_is_not_starved_by_a_stream_of_urgent_ones(policy: str) -> None:
    # One GPU, always busy: an urgent 10 s job arrives every 10 s for 3 hours.
    stream = [Job(f"u{i:05d}", 10.0 * i, 10.0, 1, "a", 10.0, priority=1) for i in range(1080)]
    low = Job("low", 0.0, 10.0, 1, "a", 10.0)
    outcome = replay([low, *stream], nodes(1, 1), policy)
    # urgent items rank as if submitted an hour earlier: those sent more than an hour after
    # `low` rank behind it, so it starts about an hour in
    assert 3600 <= outcome.starts["low"] <= 3620


def started_around(outcome: Outcome, stream: list[Job], job: str) -> tuple[float, float]:
    """The last submit time of the stream jobs that started before `job`, and the first after."""
    start = outcome.starts[job]
    before = max(j.submit for j in stream if outcome.starts[j.id] < start)
    after = min((j.submit for j in stream if outcome.starts[j.id] > start), default=math.inf)
    return before, after


# One 4-GPU node; a 10 s one-GPU job every 2 s (a little more than the node can do) for 4000 s.
STREAM = [Job(f"s{i:04d}", 2.0 * i, 10.0, 1, "a", 10.0) for i in range(2000)]
BIG = Job("big", 300.0, 100.0, 4, "a", 100.0)


@pytest.mark.parametrize("policy", ["fifo", "shortest"])
def test_first_fit_starves_a_big_job_behind_a_stream_of_small_ones(policy: str) -> None:
    outcome = replay([BIG, *STREAM], nodes(1, 4), policy)
    assert outcome.starts["big"] > STREAM[-1].submit  # only once the stream is over


@pytest.mark.parametrize("policy", ["priority", "fair"])
def test_the_head_gets_a_reservation_so_small_jobs_cannot_starve_it(policy: str) -> None:
    outcome = replay([BIG, *STREAM], nodes(1, 4), policy)
    # arrival order: everything sent before it starts first, nothing sent after it does
    assert started_around(outcome, STREAM, "big") == (298.0, 300.0)
    assert outcome.starts["big"] < 400


def test_the_default_defers_a_long_job_by_4x_its_estimate_then_reserves_for_it() -> None:
    outcome = replay([BIG, *STREAM], nodes(1, 4), "balanced")
    # big ranks as if sent at 300 + 4 x 100; a small one as if sent at its time + 4 x 10
    assert started_around(outcome, STREAM, "big") == (658.0, 660.0)


def test_the_estimate_penalty_is_capped_so_long_jobs_are_not_starved() -> None:
    long = Job("long", 300.0, 10_000.0, 4, "a", 10_000.0)
    capped = Policy("capped", "test", stretch=4.0, max_stretch=600.0, reserve=True)
    outcome = replay([long, *STREAM], nodes(1, 4), capped)
    assert started_around(outcome, STREAM, "long") == (858.0, 860.0)  # 300 + 600 - 40
    uncapped = Policy("uncapped", "test", stretch=4.0, reserve=True)
    outcome = replay([long, *STREAM], nodes(1, 4), uncapped)
    assert outcome.starts["long"] > STREAM[-1].submit
