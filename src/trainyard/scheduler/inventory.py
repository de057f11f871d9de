"""Which GPUs, cores and bytes each node has free, and best-fit gang placement on them."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from trainyard.scheduler.items import Span
from trainyard.scheduler.resources import NodeCapacity, Request


@dataclass(slots=True)
class NodeState:
    """One node as the inventory tracks it; `free` = available and not held by any item."""

    name: str
    capacity: NodeCapacity
    order: int
    available: set[int]
    free: set[int]
    cpu_used: float = 0.0
    memory_used: int = 0
    version: int = 0
    holders: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def fits_host(self, request: Request) -> bool:
        """Whether the node's free CPU and memory cover `request` (0 capacity = not tracked)."""
        cap = self.capacity
        return (not cap.cpu or self.cpu_used + request.cpu <= cap.cpu + 1e-9) and (
            not cap.memory or self.memory_used + request.memory <= cap.memory
        )


class Inventory:
    """Free resources per node, indexed by free GPU count so a fit is found without a scan."""

    def __init__(self, nodes: list[NodeCapacity], multi_node: bool = False) -> None:
        names = [n.name for n in nodes]
        if len(set(names)) != len(names):
            raise ValueError("node names must be unique")
        self.multi_node = multi_node
        self.nodes = {
            n.name: NodeState(n.name, n, i, set(n.gpus), set(n.gpus)) for i, n in enumerate(nodes)
        }
        self.widest = max((len(n.gpus) for n in nodes), default=0)
        self.total_gpus = sum(len(n.gpus) for n in nodes)
        # buckets[k]: the nodes with exactly k free GPUs (dicts keep a deterministic order).
        self.buckets: list[dict[str, None]] = [{} for _ in range(self.widest + 1)]
        for node in self.nodes.values():
            self.buckets[len(node.free)][node.name] = None
        self.free_gpus = self.total_gpus
        self.available_gpus = self.total_gpus
        self.spans: dict[str, tuple[Span, ...]] = {}
        self.requests: dict[str, Request] = {}

    # -- queries ---------------------------------------------------------------------------

    def max_free(self) -> int:
        """The most free GPUs on any one node."""
        for k in range(self.widest, 0, -1):
            if self.buckets[k]:
                return k
        return 0

    def unplaceable(self, request: Request) -> str | None:
        """Why `request` can never be placed on these nodes, or None when it could be."""
        gpus = request.gpus
        if gpus > self.widest and not self.multi_node:
            return f"needs {gpus} GPUs on one node; the largest node has {self.widest}"
        if gpus > self.total_gpus:
            return f"needs {gpus} GPUs; the cluster has {self.total_gpus}"
        if gpus <= self.widest and not any(
            len(n.capacity.gpus) >= gpus
            and (not n.capacity.cpu or request.cpu <= n.capacity.cpu)
            and (not n.capacity.memory or request.memory <= n.capacity.memory)
            for n in self.nodes.values()
        ):
            return "no node has that much CPU and memory"
        return None

    def fit(
        self, request: Request, exclude: Collection[str] = (), only: Collection[str] | None = None
    ) -> tuple[Span, ...] | None:
        """Where `request` would go now (best fit: the fullest node that fits), or None.

        `exclude` and `only` restrict the nodes considered; nothing changes until `allocate`.
        """
        gpus = request.gpus
        if gpus > self.widest:
            return self._fit_wide(gpus, exclude, only) if self.multi_node else None
        node = self._best_node(request, gpus, exclude, only, ())
        if node is None:
            return None
        return ((node.name, tuple(sorted(node.free)[:gpus])),)

    def _best_node(
        self,
        request: Request,
        gpus: int,
        exclude: Collection[str],
        only: Collection[str] | None,
        taken: Collection[str],
    ) -> NodeState | None:
        for k in range(gpus, self.widest + 1):
            best: NodeState | None = None
            for name in self.buckets[k]:
                if name in exclude or name in taken or (only is not None and name not in only):
                    continue
                node = self.nodes[name]
                if (best is None or node.order < best.order) and node.fits_host(request):
                    best = node
            if best is not None:
                return best
        return None

    def _fit_wide(
        self, gpus: int, exclude: Collection[str], only: Collection[str] | None
    ) -> tuple[Span, ...] | None:
        """A gang wider than any node: whole free nodes first, the remainder by best fit."""
        if gpus > self.free_gpus:
            return None
        spans: list[Span] = []
        left = gpus
        for node in self._whole_free_nodes(exclude, only):
            if left >= len(node.capacity.gpus):
                spans.append((node.name, tuple(sorted(node.free))))
                left -= len(node.free)
            if left == 0:
                return tuple(spans)
        taken = {name for name, _ in spans}
        last = self._best_node(Request(gpus=left), left, exclude, only, taken)
        if last is None:
            return None
        return (*spans, (last.name, tuple(sorted(last.free)[:left])))

    def _whole_free_nodes(
        self, exclude: Collection[str], only: Collection[str] | None
    ) -> Iterator[NodeState]:
        for k in range(self.widest, 0, -1):
            for name in sorted(self.buckets[k], key=lambda n: self.nodes[n].order):
                node = self.nodes[name]
                if name in exclude or (only is not None and name not in only):
                    continue
                if len(node.capacity.gpus) == k:
                    yield node

    # -- changes ---------------------------------------------------------------------------

    def allocate(self, item_id: str, request: Request, spans: tuple[Span, ...]) -> None:
        """Hold `spans` (from `fit`) for `item_id`; CPU and memory are charged to its main node."""
        for i, (name, indices) in enumerate(spans):
            node = self.nodes[name]
            before = len(node.free)
            node.free.difference_update(indices)
            self._rebucket(node, before)
            node.holders[item_id] = indices
            node.version += 1
            if i == 0:
                node.cpu_used += request.cpu
                node.memory_used += request.memory
        self.spans[item_id] = spans
        self.requests[item_id] = request

    def release(self, item_id: str) -> tuple[Span, ...]:
        """Give back what `item_id` holds; GPUs marked unavailable meanwhile stay out of use."""
        spans = self.spans.pop(item_id)
        request = self.requests.pop(item_id)
        for i, (name, indices) in enumerate(spans):
            node = self.nodes[name]
            del node.holders[item_id]
            node.version += 1
            before = len(node.free)
            node.free.update(g for g in indices if g in node.available)
            self._rebucket(node, before)
            if i == 0:
                node.cpu_used -= request.cpu
                node.memory_used -= request.memory
        return spans

    def set_gpu_available(self, name: str, index: int, available: bool) -> None:
        """Mark a GPU usable or not (e.g. busy with a process trainyard did not start)."""
        node = self.nodes[name]
        if index not in node.capacity.gpus:
            raise KeyError(f"node {name} has no GPU {index}")
        if available == (index in node.available):
            return
        held = any(index in indices for indices in node.holders.values())
        node.version += 1
        before = len(node.free)
        if available:
            node.available.add(index)
            self.available_gpus += 1
            if not held:
                node.free.add(index)
        else:
            node.available.discard(index)
            self.available_gpus -= 1
            node.free.discard(index)
        self._rebucket(node, before)

    def _rebucket(self, node: NodeState, before: int) -> None:
        after = len(node.free)
        if after != before:
            del self.buckets[before][node.name]
            self.buckets[after][node.name] = None
            self.free_gpus += after - before
