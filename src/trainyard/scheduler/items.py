"""The scheduler's vocabulary: queue items, the placements it makes, and why an item waits."""

from __future__ import annotations

from dataclasses import dataclass

from trainyard.scheduler.resources import Request


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One pod-like unit of work waiting for resources.

    Times are seconds on whatever clock the caller uses (the controller: epoch seconds; the
    simulator: trace seconds). `estimate` is the expected run time in seconds, if known;
    `label` is only for display (e.g. "wf/step").
    """

    id: str
    tenant: str
    request: Request
    submitted: float
    priority: int = 0
    estimate: float | None = None
    preemptible: bool = False
    label: str = ""

    @property
    def gpus(self) -> int:
        """How many GPUs the item needs (all on one node unless it is wider than any node)."""
        return self.request.gpus


Span = tuple[str, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an item runs: a node and the device indices of its GPUs there.

    `other_nodes` is only used for a gang wider than any node (simulations of big clusters
    with `multi_node=True`); it holds the further (node, GPU indices) pairs.
    """

    id: str
    node: str
    gpus: tuple[int, ...]
    other_nodes: tuple[Span, ...] = ()

    @property
    def spans(self) -> tuple[Span, ...]:
        """Every (node, GPU indices) pair of the placement, the main node first."""
        return ((self.node, self.gpus), *self.other_nodes)


@dataclass(frozen=True, slots=True)
class Running:
    """A started item, where it runs and when it started."""

    item: QueueItem
    placement: Placement
    started: float


@dataclass(frozen=True, slots=True)
class WaitInfo:
    """Why an item waits and where it stands (positions are 1-based, in current rank order)."""

    item: QueueItem
    position: int
    of: int
    tenant_position: int
    tenant_of: int
    reason: str
