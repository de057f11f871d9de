"""What a waiting item is told: its positions and why it waits."""

from __future__ import annotations

from tests.scheduler.driver import item, nodes
from trainyard.scheduler import Scheduler, TenantPolicy


def test_reason_says_what_is_missing_and_where_the_item_stands() -> None:
    scheduler = Scheduler(nodes(1, 4), "fifo")
    scheduler.submit(item("busy", 3, tenant="team-b"))
    scheduler.schedule(0)
    for n in range(7):
        scheduler.submit(item(f"a{n}", 2, submitted=1 + n))
    scheduler.submit(item("b1", 2, tenant="team-b", submitted=1.5))
    assert scheduler.schedule(10) == []
    waiting = scheduler.waiting()
    assert [w.item.id for w in waiting] == ["a0", "b1", "a1", "a2", "a3", "a4", "a5", "a6"]
    third = waiting[3]
    assert third.reason == "waiting for 2 GPUs, 1 free; position 3 of 7 in tenant team-a"
    assert (third.position, third.of, third.tenant_position, third.tenant_of) == (4, 8, 3, 7)
    assert waiting[1].reason.endswith("position 1 of 1 in tenant team-b")


def test_positions_follow_the_fair_share_order() -> None:
    scheduler = Scheduler(nodes(1, 2), "fair", TenantPolicy())
    for n in range(3):
        scheduler.submit(item(f"a{n}", 1, submitted=n))
    scheduler.schedule(5)  # a0 and a1 run: team-a holds both GPUs
    scheduler.submit(item("b0", 1, tenant="team-b", submitted=6))
    assert [w.item.id for w in scheduler.waiting()] == ["b0", "a2"]


def test_an_item_that_fits_but_was_not_scheduled_yet_says_so() -> None:
    scheduler = Scheduler(nodes(1, 2), "balanced")
    scheduler.submit(item("new"))
    assert scheduler.waiting()[0].reason == (
        "ready to start at the next scheduling pass; position 1 of 1 in tenant team-a"
    )
