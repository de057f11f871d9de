"""Corners: wide reservations, preemption that cannot help, refusals and small helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.scheduler.driver import item, nodes
from trainyard.cli.sim import app
from trainyard.core.errors import ConflictError, ParameterError
from trainyard.core.quantities import parse_quantity
from trainyard.scheduler import (
    DEFAULT,
    NodeCapacity,
    Placement,
    QueueItem,
    Request,
    Scheduler,
    TenantPolicy,
    get_policy,
)
from trainyard.scheduler.inventory import Inventory
from trainyard.scheduler.metrics import jain
from trainyard.scheduler.reservation import Planner, expected_end
from trainyard.scheduler.sim import Job, cluster, replay
from trainyard.scheduler.traces import read_trace
from trainyard.scheduler.waiting import reason


def test_a_wide_gang_reserves_whole_nodes_and_starts_when_they_empty() -> None:
    jobs = [
        Job("r0", 0.0, 100.0, 4, "a", 100.0),
        Job("r1", 0.0, 50.0, 2, "a", 50.0),
        Job("wide", 1.0, 10.0, 8, "a", 10.0),  # two whole 4-GPU nodes
        Job("short", 2.0, 40.0, 1, "a", 40.0),
        Job("long", 3.0, 400.0, 1, "a", 400.0),
    ]
    # node-2 is empty, node-1 empties at 50 (r1), node-0 at 100 (r0): wide gets 1 and 2
    starts = replay(jobs, nodes(3, 4), "balanced").starts
    assert starts == {"r0": 0.0, "r1": 0.0, "short": 2.0, "wide": 50.0, "long": 60.0}


def test_a_wide_gang_with_a_remainder_node_leaves_its_spare_to_others() -> None:
    jobs = [
        Job("r", 0.0, 100.0, 3, "a", 100.0),  # node-0: 1 GPU free until 100
        Job("wide", 1.0, 10.0, 6, "a", 10.0),  # node-1 whole + 2 of node-0's 4 at 100
        Job("fill", 2.0, 500.0, 2, "a", 500.0),  # would need node-1: waits
        Job("side", 3.0, 500.0, 1, "a", 500.0),  # one of node-0's 2 spare GPUs: starts
    ]
    starts = replay(jobs, nodes(2, 4), "priority").starts
    assert starts == {"r": 0.0, "wide": 100.0, "side": 3.0, "fill": 110.0}


def test_reservations_for_what_never_fits_and_the_cache_limit() -> None:
    inventory = Inventory(nodes(2, 2), multi_node=True)
    planner = Planner(inventory, lambda _id, now: now + 1)
    assert planner.reserve(item("x", 5), 0.0) is None  # wider than the cluster
    inventory.set_gpu_available("node-1", 0, False)
    assert planner.reserve(item("y", 3), 0.0) is not None  # node-0 whole, 1 on node-1
    inventory.set_gpu_available("node-1", 1, False)
    assert planner.reserve(item("y", 3), 0.0) is None  # node-1 has nothing left
    planner._cached = 10**9
    assert planner.reserve(item("z", 2), 0.0) is not None
    host = Inventory([NodeCapacity("n", (0,), cpu=1)])
    assert (
        Planner(host, lambda _id, now: now).reserve(QueueItem("cpu", "t", Request(cpu=2), 0), 0.0)
        is None
    )


def test_expected_end_doubles_the_estimate_while_it_is_outlived() -> None:
    assert expected_end(0.0, 10.0, 5.0) == 10.0
    assert expected_end(0.0, 10.0, 10.0) == 20.0
    assert expected_end(0.0, 10.0, 35.0) == 40.0
    assert expected_end(0.0, 0.0, 0.5) == 1.0


def test_preemption_that_cannot_help_proposes_nothing() -> None:
    scheduler = Scheduler(nodes(2, 2), "priority", multi_node=True)
    scheduler.submit(item("low", 2, preemptible=True))
    scheduler.submit(item("other", 1, preemptible=True, submitted=1))
    scheduler.schedule(0)
    scheduler.submit(item("wide", 4, submitted=2, priority=9))
    scheduler.schedule(2)
    assert scheduler.preemptions(2) == []  # wide gangs never preempt
    scheduler.cancel("wide")
    scheduler.set_gpu_available("node-1", 0, False)
    scheduler.submit(item("pair", 2, submitted=3, priority=9))
    assert scheduler.preemptions(3) == ["low"]  # node-1 could never hold two again
    empty = Scheduler(nodes(1, 1), "priority")
    assert empty.preemptions(0) == []
    empty.submit(item("fits"))
    assert empty.preemptions(0) == []  # it fits: schedule() will start it


def test_preemption_needs_victims_that_free_enough() -> None:
    scheduler = Scheduler(nodes(1, 4), "priority")
    scheduler.submit(item("keep", 3))
    scheduler.submit(item("small", 1, preemptible=True, submitted=1))
    scheduler.schedule(1)
    scheduler.submit(item("urgent", 2, submitted=2, priority=5))
    assert scheduler.preemptions(2) == []


def test_refusals_and_helpers() -> None:
    with pytest.raises(ParameterError):
        parse_quantity(True)
    with pytest.raises(ValueError, match="unique"):
        Inventory([NodeCapacity("n"), NodeCapacity("n")])
    with pytest.raises(ValueError, match="negative"):
        TenantPolicy(gpu_quota={"t": -1})
    with pytest.raises(ValueError, match="positive"):
        cluster(0, 8)
    with pytest.raises(ParameterError, match="unknown trace format 'xml'"):
        read_trace(["a,b\n"], fmt="xml")
    assert get_policy(DEFAULT) is DEFAULT and get_policy("default") is DEFAULT
    assert jain([]) == 1.0
    scheduler = Scheduler(nodes(1, 1), "fifo")
    scheduler.set_gpu_available("node-0", 0, True)  # already available: nothing changes
    scheduler.restore(item("r"), Placement("r", "node-0", (0,)))
    with pytest.raises(ConflictError, match="known already"):
        scheduler.restore(item("r"), Placement("r", "node-0", (0,)))
    standing = scheduler._standing()
    empty = QueueItem("e", "t", Request(), 0)
    assert reason(empty, scheduler.inventory, standing, None).startswith("ready")


def test_cli_refuses_bad_sizes_and_tenant_files(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"id": "a", "submit": 0, "duration": 1, "gpus": 1}\n')
    result = CliRunner().invoke(app, [str(trace), "--gpus", "0"])
    assert "must be positive" in str(result.exception)
    bad = tmp_path / "tenants.yaml"
    bad.write_text("team-a: {weigth: 2}\n")
    result = CliRunner().invoke(app, [str(trace), "--gpus", "1", "--tenants", str(bad)])
    assert "unknown keys" in str(result.exception)


def test_memory_is_a_reason_too() -> None:
    scheduler = Scheduler([NodeCapacity("n", (), cpu=4, memory=16 * 2**30)], "fifo")
    scheduler.submit(QueueItem("a", "t", Request(memory=12 * 2**30), 0))
    scheduler.submit(QueueItem("b", "t", Request(cpu=1, memory=8 * 2**30), 1))
    assert [p.id for p in scheduler.schedule(0)] == ["a"]
    assert scheduler.waiting()[0].reason == (
        "waiting for 1 CPU core and 8Gi memory on one node; position 1 of 1 in tenant t"
    )
