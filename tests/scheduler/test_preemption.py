"""Preemption: only items marked preemptible, only for a better-ranked blocked item."""

from __future__ import annotations

import pytest

from tests.scheduler.driver import item, nodes
from trainyard.core.errors import NotFoundError
from trainyard.scheduler import Scheduler, TenantPolicy


def busy_node(policy: str = "priority", preemptible: bool = True) -> Scheduler:
    """One 4-GPU node, full with a 3-GPU and a 1-GPU item of priority 0."""
    scheduler = Scheduler(nodes(1, 4), policy)
    scheduler.submit(item("low3", 3, submitted=0, preemptible=preemptible))
    scheduler.submit(item("low1", 1, submitted=1, preemptible=preemptible))
    scheduler.schedule(2)
    return scheduler


def test_a_higher_priority_item_preempts_what_it_needs_and_the_victim_requeues() -> None:
    scheduler = busy_node()
    scheduler.submit(item("urgent", 2, submitted=10, priority=5))
    assert scheduler.schedule(10) == []
    assert scheduler.preemptions(10) == ["low3"]
    assert scheduler.preemptions(11) == []  # nothing more while the victim is stopping
    scheduler.requeue("low3")
    placed = scheduler.schedule(12)
    assert [p.id for p in placed] == ["urgent"]
    waiting = scheduler.waiting()
    assert [(w.item.id, w.item.submitted) for w in waiting] == [("low3", 0)]


def test_items_not_marked_preemptible_are_never_stopped() -> None:
    scheduler = busy_node(preemptible=False)
    scheduler.submit(item("urgent", 2, submitted=10, priority=5))
    scheduler.schedule(10)
    assert scheduler.preemptions(10) == []


def test_an_item_that_would_outrank_its_replacement_is_not_preempted() -> None:
    scheduler = busy_node()
    # priority 1 is worth an hour: submitted two hours later, it ranks after the running ones
    scheduler.submit(item("later", 2, submitted=7200, priority=1))
    scheduler.schedule(7200)
    assert scheduler.preemptions(7200) == []


def test_fifo_never_preempts() -> None:
    scheduler = busy_node("fifo")
    scheduler.submit(item("urgent", 2, submitted=10, priority=5))
    assert scheduler.preemptions(10) == []


def test_a_tenant_under_its_share_may_preempt_one_over_it() -> None:
    scheduler = Scheduler(nodes(1, 4), "fair", TenantPolicy())
    for n in range(4):
        scheduler.submit(item(f"a{n}", 1, submitted=n, preemptible=True))
    scheduler.schedule(5)
    scheduler.submit(item("b0", 1, tenant="team-b", submitted=6))
    scheduler.schedule(6)
    assert scheduler.preemptions(6) == ["a3"]  # the most recently started: least work lost
    scheduler.requeue("a3")
    assert [p.id for p in scheduler.schedule(7)] == ["b0"]
    scheduler.submit(item("b1", 1, tenant="team-b", submitted=8))
    scheduler.schedule(8)
    assert scheduler.preemptions(8) == ["a2"]  # 3 vs 1: team-a is still over its half
    scheduler.requeue("a2")
    scheduler.schedule(9)
    scheduler.submit(item("b2", 1, tenant="team-b", submitted=10))
    scheduler.schedule(10)
    assert scheduler.preemptions(10) == []  # 2 vs 2: even


def test_requeue_and_finished_need_a_running_item() -> None:
    scheduler = Scheduler(nodes(1, 1), "priority")
    with pytest.raises(NotFoundError):
        scheduler.requeue("ghost")
