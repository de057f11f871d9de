"""Weighted fair share across tenants, and GPU quotas."""

from __future__ import annotations

import pytest

from tests.scheduler.driver import item, nodes, run
from trainyard.core.errors import UserError
from trainyard.scheduler import Scheduler, TenantPolicy
from trainyard.scheduler.sim import Job
from trainyard.scheduler.tenants import fair_shares


def twenty_each(late: float) -> list[Job]:
    """Tenants a and b submit 20 one-GPU jobs of 100 s each; b starts `late` s after a."""
    jobs = [Job(f"a{i:02d}", float(i), 100.0, 1, "a") for i in range(20)]
    jobs += [Job(f"b{i:02d}", late + i, 100.0, 1, "b") for i in range(20)]
    return jobs


@pytest.mark.parametrize("policy", ["fair", "balanced"])
@pytest.mark.parametrize(("weights", "split"), [((3, 1), (6, 2)), ((1, 1), (4, 4))])
def test_two_tenants_share_the_gpus_by_weight(
    policy: str, weights: tuple[int, int], split: tuple[int, int]
) -> None:
    tenants = TenantPolicy(weights={"a": weights[0], "b": weights[1]})
    trace = run(twenty_each(late=50), nodes(2, 4), policy, tenants)
    # a's first eight jobs end at 100..107, each freeing one GPU: from then on, whenever both
    # tenants have work waiting, the GPUs are split by weight (nothing is preempted)
    both_waiting = [usage for now, usage, queued in trace.states if now >= 107 and len(queued) == 2]
    assert both_waiting, "both tenants should have had work waiting at once"
    for usage in both_waiting:
        assert (usage.get("a", 0), usage.get("b", 0)) == split
    assert len(trace.outcome.starts) == 40


def test_fifo_ignores_weights() -> None:
    tenants = TenantPolicy(weights={"a": 1, "b": 3})
    trace = run(twenty_each(late=50), nodes(2, 4), "fifo", tenants)
    # a came first, so fifo gives it everything until its 20 jobs are done
    assert all(usage.get("b", 0) == 0 for now, usage, _ in trace.states if now < 200)


def test_fair_shares_fill_water_by_weight_and_demand() -> None:
    policy = TenantPolicy(weights={"a": 2, "b": 1, "c": 1}, gpu_quota={"c": 1})
    shares = fair_shares({"a": 100, "b": 100, "c": 100}, policy, 12)
    assert shares == pytest.approx({"a": 22 / 3, "b": 11 / 3, "c": 1})
    # a tenant that asks for little leaves the rest to the others
    shares = fair_shares({"a": 1, "b": 100, "d": 0}, TenantPolicy(), 8)
    assert shares == pytest.approx({"a": 1, "b": 7, "d": 0})


@pytest.mark.parametrize("policy", ["fifo", "fair", "balanced", "priority"])
def test_a_tenant_never_holds_more_than_its_quota(policy: str) -> None:
    tenants = TenantPolicy(gpu_quota={"a": 3})
    jobs = [Job(f"a{i}", 0.0, 100.0, 1 + i % 2, "a") for i in range(10)]
    jobs += [Job(f"b{i}", 500.0, 10.0, 1, "b") for i in range(3)]

    def within_quota(now: float, scheduler: Scheduler) -> list[str]:
        held = scheduler.usage.get("a", 0)
        return [f"{now}: a holds {held} GPUs"] if held > 3 else []

    trace = run(jobs, nodes(2, 4), policy, tenants, within_quota)
    assert trace.checks == []
    assert len(trace.outcome.starts) == 13
    # the GPUs a may not use go to others: b never waits for a's backlog
    assert all(trace.outcome.starts[f"b{i}"] == 500.0 for i in range(3))


def test_quota_reason_and_refusal() -> None:
    scheduler = Scheduler(nodes(1, 8), "fair", TenantPolicy(gpu_quota={"team-a": 4}))
    for i in range(5):
        scheduler.submit(item(f"j{i}", 2, submitted=i))
    assert len(scheduler.schedule(10)) == 2
    reasons = [w.reason for w in scheduler.waiting()]
    assert reasons[0] == (
        "tenant team-a is at its quota of 4 GPUs; position 1 of 3 in tenant team-a"
    )
    with pytest.raises(UserError, match="quota is 4"):
        scheduler.submit(item("greedy", 6))


def test_tenant_policy_from_the_config_file_shape() -> None:
    policy = TenantPolicy.from_mapping({"team-a": {"weight": 2, "gpuQuota": 4}, "team-b": {}})
    assert policy.weight("team-a") == 2 and policy.quota("team-a") == 4
    assert policy.weight("team-b") == 1 and policy.quota("team-b") is None
    with pytest.raises(ValueError, match="unknown keys"):
        TenantPolicy.from_mapping({"x": {"weigth": 2}})
    with pytest.raises(ValueError, match="positive"):
        TenantPolicy(weights={"x": 0})
