"""Which running preemptible items to stop so that a blocked, better-ranked item can start."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from trainyard.scheduler.inventory import Inventory, NodeState
from trainyard.scheduler.items import QueueItem, Running
from trainyard.scheduler.queue import Entry
from trainyard.scheduler.ranking import Rank, Standing


def choose_victims(
    head: Entry,
    runs: Iterable[Running],
    inventory: Inventory,
    standing: Standing,
    key: Callable[[QueueItem], float],
) -> list[str]:
    """The fewest GPUs (then items) on one node whose stopping lets `head` start there.

    Only items marked preemptible that would rank after the head once requeued (their
    tenant counted without them) qualify, so a requeued victim never outranks the item it
    made room for. Within a node the most recently started go first (least work lost), and
    none that turns out not to be needed.
    Gangs wider than a node never preempt.
    """
    item = head[4]
    if item.gpus > inventory.widest:
        return []
    head_rank = (standing.of(item.tenant), head[0], head[1], head[2])
    by_node: dict[str, list[Running]] = {}
    ranks: dict[str, Rank] = {}
    for run in runs:
        victim = run.item
        if not victim.preemptible or run.placement.other_nodes:
            continue
        rank = (standing.of(victim.tenant, victim.gpus), key(victim), victim.submitted, victim.id)
        if rank > head_rank:
            by_node.setdefault(run.placement.node, []).append(run)
            ranks[victim.id] = rank
    best: tuple[int, int, int] | None = None
    chosen: list[str] = []
    for name, candidates in by_node.items():
        node = inventory.nodes[name]
        picked = _enough(item, node, inventory, candidates, ranks)
        if picked is None:
            continue
        cost = (sum(r.item.gpus for r in picked), len(picked), node.order)
        if best is None or cost < best:
            best, chosen = cost, [r.item.id for r in picked]
    return chosen


def _enough(
    item: QueueItem,
    node: NodeState,
    inventory: Inventory,
    candidates: list[Running],
    ranks: dict[str, Rank],
) -> list[Running] | None:
    """Victims on `node` that make room for `item`: the most recently started (then the
    worst-ranked) first, then without any that turned out not to be needed."""
    if len(node.available) < item.gpus:
        return None
    picked: list[Running] = []
    order = sorted(candidates, key=lambda r: (r.started, ranks[r.item.id]), reverse=True)
    for run in order:
        picked.append(run)
        if _room(item, node, inventory, picked):
            break
    else:
        return None
    for run in reversed(picked):
        rest = [r for r in picked if r is not run]
        if _room(item, node, inventory, rest):
            picked = rest
    return picked


def _room(item: QueueItem, node: NodeState, inventory: Inventory, victims: list[Running]) -> bool:
    """Whether `item` fits on `node` once `victims` are gone."""
    cap, request = node.capacity, item.request
    free = len(node.free) + sum(
        1 for run in victims for g in run.placement.gpus if g in node.available
    )
    cpu = node.cpu_used - sum(inventory.requests[run.item.id].cpu for run in victims)
    memory = node.memory_used - sum(inventory.requests[run.item.id].memory for run in victims)
    return (
        free >= request.gpus
        and (not cap.cpu or cpu + request.cpu <= cap.cpu + 1e-9)
        and (not cap.memory or memory + request.memory <= cap.memory)
    )
