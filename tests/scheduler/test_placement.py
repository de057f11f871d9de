"""Gang placement: concrete GPU indices, one node per gang, best fit, unavailable GPUs."""

from __future__ import annotations

import pytest

from tests.scheduler.driver import item, nodes
from trainyard.core.errors import ConflictError, NotFoundError, UserError
from trainyard.scheduler import NodeCapacity, Placement, QueueItem, Request, Scheduler


def test_a_multi_gpu_request_gets_concrete_indices_on_one_node() -> None:
    scheduler = Scheduler(nodes(2, 4), "fifo")
    scheduler.submit(item("one", 1))
    scheduler.submit(item("three", 3, submitted=1))
    scheduler.submit(item("four", 4, submitted=2))
    placed = {p.id: p for p in scheduler.schedule(10)}
    assert placed["one"] == Placement("one", "node-0", (0,))
    assert placed["three"] == Placement("three", "node-0", (1, 2, 3))
    assert placed["four"] == Placement("four", "node-1", (0, 1, 2, 3))


def test_best_fit_keeps_whole_nodes_for_big_gangs() -> None:
    scheduler = Scheduler(nodes(2, 4), "fifo")
    scheduler.submit(item("a", 3))
    scheduler.schedule(0)  # node-0 has 1 GPU left
    scheduler.submit(item("small", 1, submitted=1))
    scheduler.submit(item("big", 4, submitted=2))
    placed = {p.id: p for p in scheduler.schedule(1)}
    assert placed["small"].node == "node-0"  # the fullest node that fits
    assert placed["big"].node == "node-1"


def test_a_gang_never_spans_nodes_even_when_enough_gpus_are_free() -> None:
    scheduler = Scheduler(nodes(2, 4), "fifo")
    scheduler.submit(item("x", 2))
    scheduler.submit(item("y", 3, submitted=1))
    scheduler.submit(item("z", 3, submitted=2))
    placed = scheduler.schedule(0)
    assert [(p.id, p.node) for p in placed] == [("x", "node-0"), ("y", "node-1")]
    assert scheduler.waiting()[0].reason == (
        "waiting for 3 GPUs on one node, 3 free (at most 2 on a node); "
        "position 1 of 1 in tenant team-a"
    )
    scheduler.finished("x")
    assert scheduler.schedule(1) == [Placement("z", "node-0", (0, 1, 2))]


def test_requests_no_node_can_hold_are_refused_at_submit() -> None:
    scheduler = Scheduler(nodes(4, 8))
    with pytest.raises(UserError, match="needs 16 GPUs on one node; the largest node has 8"):
        scheduler.submit(item("huge", 16))
    cpu_heavy = QueueItem("cpu", "team-a", Request(cpu=64), 0)
    with pytest.raises(UserError, match="CPU and memory"):
        Scheduler([NodeCapacity("n", (0,), cpu=8, memory=2**34)]).submit(cpu_heavy)


def test_wide_gangs_take_whole_nodes_when_allowed() -> None:
    scheduler = Scheduler(nodes(4, 4), "fifo", multi_node=True)
    scheduler.submit(item("small", 1))
    scheduler.submit(item("wide", 10, submitted=1))
    placed = {p.id: p for p in scheduler.schedule(0)}
    wide = placed["wide"]
    assert [len(g) for _, g in wide.spans] == [4, 4, 2]
    assert "node-0" not in {n for n, _ in wide.spans[:2]}  # whole free nodes first
    with pytest.raises(UserError, match="the cluster has 16"):
        scheduler.submit(item("too-wide", 17))


def test_cpu_and_memory_must_fit_on_the_same_node() -> None:
    host = [
        NodeCapacity("a", (0, 1), cpu=4, memory=8 * 2**30),
        NodeCapacity("b", (0, 1), cpu=16, memory=64 * 2**30),
    ]
    scheduler = Scheduler(host, "fifo")
    scheduler.submit(QueueItem("fat", "t", Request(gpus=1, cpu=8, memory=32 * 2**30), 0))
    scheduler.submit(QueueItem("thin", "t", Request(cpu=3), 1))
    scheduler.submit(QueueItem("wide", "t", Request(gpus=1, cpu=6), 2))
    placed = {p.id: p for p in scheduler.schedule(0)}
    assert placed["fat"].node == "b"
    # CPU-only work goes where the fewest GPUs are free, keeping GPUs together elsewhere
    assert placed["thin"].node == "b" and placed["thin"].gpus == ()
    assert "wide" not in placed  # a has the GPU but not 6 cores; b has 5 cores left
    assert scheduler.waiting()[0].reason.startswith("waiting for 1 GPU and 6 CPU cores on one")


def test_gpus_marked_unavailable_are_never_given_out() -> None:
    scheduler = Scheduler(nodes(1, 4), "fifo")
    scheduler.set_gpu_available("node-0", 0, False)
    scheduler.set_gpu_available("node-0", 2, False)
    scheduler.submit(item("a", 2))
    assert scheduler.schedule(0)[0].gpus == (1, 3)
    scheduler.submit(item("b", 1, submitted=1))
    assert scheduler.schedule(1) == []
    assert scheduler.waiting()[0].reason.startswith("waiting for 1 GPU, 0 free;")
    scheduler.set_gpu_available("node-0", 2, True)
    assert scheduler.schedule(2)[0].gpus == (2,)


def test_a_gpu_taken_away_while_held_stays_out_after_release() -> None:
    scheduler = Scheduler(nodes(1, 2), "fifo")
    scheduler.submit(item("a", 2))
    scheduler.schedule(0)
    scheduler.set_gpu_available("node-0", 1, False)
    scheduler.finished("a")
    scheduler.submit(item("b", 2, submitted=1))
    scheduler.submit(item("c", 1, submitted=2))
    assert [(p.id, p.gpus) for p in scheduler.schedule(1)] == [("c", (0,))]
    with pytest.raises(KeyError):
        scheduler.set_gpu_available("node-0", 7, False)


def test_ids_are_unique_and_reports_name_known_items() -> None:
    scheduler = Scheduler(nodes(1, 2), "fifo")
    scheduler.submit(item("a"))
    with pytest.raises(ConflictError):
        scheduler.submit(item("a"))
    with pytest.raises(NotFoundError):
        scheduler.finished("a")  # waiting, not running
    assert scheduler.cancel("a") and not scheduler.cancel("a")
    assert scheduler.waiting() == []


def test_restore_records_running_items_after_a_restart() -> None:
    scheduler = Scheduler(nodes(1, 4), "fifo")
    scheduler.restore(item("old", 2), Placement("old", "node-0", (1, 2)), started=5)
    with pytest.raises(ConflictError):
        scheduler.restore(item("other", 1), Placement("other", "node-0", (2,)))
    scheduler.submit(item("new", 2, submitted=6))
    assert scheduler.schedule(7) == [Placement("new", "node-0", (0, 3))]
    assert scheduler.usage == {"team-a": 4}
    scheduler.cancel("old")
    assert scheduler.usage == {"team-a": 2}


def test_items_without_gpus_of_one_tenant_start_and_end_in_any_order() -> None:
    scheduler = Scheduler([NodeCapacity("n", (0,), 4.0, 0)], "balanced")
    for name in ("a", "b", "c"):
        scheduler.submit(QueueItem(name, "team", Request(cpu=1.0), 0.0))
    assert sorted(p.id for p in scheduler.schedule(1.0)) == ["a", "b", "c"]
    for name in ("a", "b", "c"):
        scheduler.finished(name)
    assert scheduler.running() == []
