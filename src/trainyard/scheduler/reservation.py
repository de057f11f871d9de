"""Where and when the blocked head of the queue can start, so backfill never delays it."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from trainyard.scheduler.inventory import Inventory, NodeState
from trainyard.scheduler.items import QueueItem
from trainyard.scheduler.resources import Request

# end_of(item id, now): when a running item is expected to end, always later than `now`.
EndOf = Callable[[str, float], float]
# A node's answer: (node version, valid until, start or _NOW, GPUs free then or -1: never).
Answer = tuple[int, float, float, int]
_NOW = -math.inf
_CACHE_LIMIT = 50_000


@dataclass(slots=True)
class Reservation:
    """Nodes held for `item` from `start`; `spare[node]` GPUs there are not needed by it then."""

    item: QueueItem
    start: float
    nodes: frozenset[str]
    spare: dict[str, int] = field(default_factory=dict)


def expected_end(started: float, estimate: float, now: float) -> float:
    """When an item started at `started` should end: its estimate, doubled while outlived."""
    estimate = max(estimate, 1.0)
    end = started + estimate
    while end <= now:
        estimate *= 2
        end = started + estimate
    return end


class Planner:
    """Finds the earliest start of a blocked item.

    Each node's answer is remembered until the node changes or one of its items outlives its
    expected end, so a decision costs a lookup per node, not a sort of every node's items.
    """

    def __init__(self, inventory: Inventory, end_of: EndOf) -> None:
        self.inventory = inventory
        self.end_of = end_of
        # (GPUs, CPU, memory) of a request, or None for "the whole node" -> node -> Answer
        self._cache: dict[tuple[int, float, int] | None, dict[str, Answer]] = {}
        self._cached = 0

    def reserve(self, item: QueueItem, now: float) -> Reservation | None:
        """The earliest start for `item`, and the nodes to hold for it; None if never.

        A gang that fits one node reserves the node where it can start first (ties: node
        order); a wider gang reserves the whole nodes that empty first.
        """
        if self._cached > _CACHE_LIMIT:
            self._cache.clear()
            self._cached = 0
        if item.gpus > self.inventory.widest:
            return self._reserve_wide(item, now)
        found = self._earliest(item.request, now, set())
        if found is None:
            return None
        start, node, free_then = found
        return Reservation(item, start, frozenset((node.name,)), {node.name: free_then - item.gpus})

    def _reserve_wide(self, item: QueueItem, now: float) -> Reservation | None:
        """Whole nodes, those expected to empty first, then the node where the rest of the
        gang fits first (as `Inventory.fit` places a wide gang)."""
        whole = self._cache.setdefault(None, {})
        emptied: list[tuple[float, int, NodeState]] = []
        for node in self.inventory.nodes.values():
            size = len(node.capacity.gpus)
            if size and len(node.available) == size:
                hit = whole.get(node.name)
                if hit is None or hit[0] != node.version or now >= hit[1]:
                    hit = whole[node.name] = self._refresh(node, None, now)
                emptied.append((max(hit[2], now), node.order, node))
        emptied.sort(key=lambda e: e[:2])
        chosen: list[str] = []
        left, start = item.gpus, now
        for when, _, node in emptied:
            if left >= len(node.capacity.gpus):
                chosen.append(node.name)
                left -= len(node.capacity.gpus)
                start = max(start, when)
        if left == 0:
            return Reservation(item, start, frozenset(chosen))
        rest = self._earliest(Request(gpus=left), now, set(chosen))
        if rest is None:
            return None
        when, node, free_then = rest
        chosen.append(node.name)
        return Reservation(item, max(start, when), frozenset(chosen), {node.name: free_then - left})

    def _earliest(
        self, request: Request, now: float, skip: set[str]
    ) -> tuple[float, NodeState, int] | None:
        """The node outside `skip` where `request` fits first, when, and its GPUs free then."""
        cache = self._cache.setdefault((request.gpus, request.cpu, request.memory), {})
        best: tuple[float, int, NodeState, int] | None = None
        for node in self.inventory.nodes.values():
            if len(node.available) < request.gpus or node.name in skip:
                continue
            hit = cache.get(node.name)
            if hit is None or hit[0] != node.version or now >= hit[1]:
                hit = cache[node.name] = self._refresh(node, request, now)
            start = hit[2] if hit[2] > now else now
            if hit[3] >= 0 and (best is None or (start, node.order) < best[:2]):
                best = (start, node.order, node, hit[3])
        return None if best is None else (best[0], best[2], best[3])

    def _refresh(self, node: NodeState, request: Request | None, now: float) -> Answer:
        self._cached += 1
        ends = sorted((self.end_of(holder, now), holder) for holder in node.holders)
        if request is None:
            start, free_then = (ends[-1][0] if ends else _NOW), len(node.capacity.gpus)
        else:
            start, free_then = self._node_start(node, request, ends)
        return (node.version, ends[0][0] if ends else math.inf, start, free_then)

    def _node_start(
        self, node: NodeState, request: Request, ends: list[tuple[float, str]]
    ) -> tuple[float, int]:
        """When `request` fits on `node` as its items end, and the GPUs free then (-1: never)."""
        free = len(node.free)
        cpu, memory = node.cpu_used, node.memory_used
        cap = node.capacity
        spans, requests = self.inventory.spans, self.inventory.requests
        for end, holder in [(_NOW, ""), *ends]:
            if holder:
                free += sum(1 for g in node.holders[holder] if g in node.available)
                if spans[holder][0][0] == node.name:
                    cpu -= requests[holder].cpu
                    memory -= requests[holder].memory
            fits_host = (not cap.cpu or cpu + request.cpu <= cap.cpu + 1e-9) and (
                not cap.memory or memory + request.memory <= cap.memory
            )
            if free >= request.gpus and fits_host:
                return end, free
        return math.inf, -1
