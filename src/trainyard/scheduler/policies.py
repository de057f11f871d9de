"""Scheduling policies: plain objects that rank queue items and say which guards apply.

Rank. Each waiting item gets a key when it is queued, lower first (ties: earlier submit
time, then smaller id), so the queue is a set of heaps and no decision re-sorts it:

    key = age * submitted + min(stretch * estimate, max_stretch) - priority_s * priority

An item without an estimate counts as `unknown_estimate`. A newcomer's key grows with the
clock, so an item's rank improves as it waits (aging): it ranks before anything submitted
more than `max_stretch + priority_s * (its priority deficit)` seconds after it.

Tenants. `fair="deficit"` ranks the tenant with the fewest GPUs per unit of weight first;
`fair="tier"` ranks tenants below their weighted max-min share (of the GPUs, given what each
asks for) before those at or above it. Quotas always apply: an item that would take its
tenant past its GPU quota waits, without holding anything up.

Reservation (`reserve`). In rank order, every item that fits starts. The first that does not
is the head: it gets the node where it can start soonest (a gang wider than a node: the whole
nodes that empty first), judged by running items' estimates (doubled each time one is
outlived). Later items start on other nodes freely, and on the reserved ones only if their
estimate ends before that start or they fit in what the head leaves over there; for each
tenant and size, backfill offers the shortest item. A gang keeps its reservation across
decisions until it starts. Without `reserve` (first fit), nothing is held for anyone.

Preemption (`preempt`). Running items marked preemptible that would rank after the blocked
head, once requeued, may be stopped for it (see `preemption`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from trainyard.core.errors import ParameterError
from trainyard.scheduler.items import QueueItem

FairMode = Literal["none", "deficit", "tier"]
HOUR = 3600.0
DAY = 24 * HOUR


@dataclass(frozen=True)
class Policy:
    """How items are ranked and which guards (fair share, reservation, preemption) apply."""

    name: str
    summary: str
    age: float = 1.0
    stretch: float = 0.0
    max_stretch: float = math.inf
    priority_s: float = 0.0
    fair: FairMode = "none"
    reserve: bool = False
    preempt: bool = False
    unknown_estimate: float = HOUR

    def key(self, item: QueueItem) -> float:
        """The item's rank key (lower starts first); fixed for the item's time in the queue."""
        key = self.age * item.submitted - self.priority_s * item.priority
        if self.stretch:
            estimate = item.estimate if item.estimate is not None else self.unknown_estimate
            key += min(self.stretch * max(estimate, 0.0), self.max_stretch)
        return key


FIFO = Policy(
    "fifo",
    "arrival order, first fit: in submit order, every item that fits starts; one that does "
    "not is passed over, not waited for (what the Kubernetes default scheduler does)",
)
PRIORITY = Policy(
    "priority",
    "priority classes with aging (one priority level = 1 h of waiting), then arrival order; "
    "the best-ranked blocked item gets a reservation and others backfill around it",
    priority_s=HOUR,
    reserve=True,
    preempt=True,
)
FAIR = Policy(
    "fair",
    "weighted fair share: the tenant furthest below its share goes first, then priority "
    "with aging and arrival order; reservation and backfill for the blocked head",
    priority_s=HOUR,
    fair="deficit",
    reserve=True,
    preempt=True,
)
SHORTEST = Policy(
    "shortest",
    "shortest estimate first, first fit, no guards (a reference point: long jobs can starve)",
    age=0.0,
    stretch=1.0,
)
BALANCED = Policy(
    "balanced",
    "estimate-aware fair share: tenants below their weighted share first; within that, "
    "arrival time plus 4x the estimate (at most 14 days, so nothing starves) minus 1 h per "
    "priority level; the blocked head keeps a reservation, others backfill around it",
    stretch=4.0,
    max_stretch=14 * DAY,
    priority_s=HOUR,
    fair="tier",
    reserve=True,
    preempt=True,
)
DEFAULT = BALANCED
POLICIES = {p.name: p for p in (FIFO, PRIORITY, FAIR, SHORTEST, BALANCED)}


def get_policy(policy: Policy | str) -> Policy:
    """The policy itself, or the built-in one of that name (`default` = the recommended one)."""
    if isinstance(policy, Policy):
        return policy
    if policy == "default":
        return DEFAULT
    try:
        return POLICIES[policy]
    except KeyError:
        names = ", ".join(sorted(POLICIES))
        raise ParameterError(f"unknown policy {policy!r}: choose one of {names}") from None
