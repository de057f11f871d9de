"""Why each waiting item waits, in words a user reads next to a Pending node."""

from __future__ import annotations

from trainyard.core.durations import format_duration
from trainyard.scheduler.inventory import Inventory
from trainyard.scheduler.items import QueueItem, WaitInfo
from trainyard.scheduler.ranking import Standing
from trainyard.scheduler.reservation import Reservation


def describe(
    items: list[QueueItem],
    inventory: Inventory,
    standing: Standing,
    reservation: Reservation | None,
    now: float | None = None,
) -> list[WaitInfo]:
    """WaitInfo for `items`, given in rank order (positions follow that order)."""
    tenant_total: dict[str, int] = {}
    for item in items:
        tenant_total[item.tenant] = tenant_total.get(item.tenant, 0) + 1
    seen: dict[str, int] = {}
    infos = []
    for position, item in enumerate(items, 1):
        seen[item.tenant] = seen.get(item.tenant, 0) + 1
        where = (
            f"position {seen[item.tenant]} of {tenant_total[item.tenant]} in tenant {item.tenant}"
        )
        why = reason(item, inventory, standing, reservation, now)
        infos.append(
            WaitInfo(
                item,
                position,
                len(items),
                seen[item.tenant],
                tenant_total[item.tenant],
                f"{why}; {where}",
            )
        )
    return infos


def reason(
    item: QueueItem,
    inventory: Inventory,
    standing: Standing,
    reservation: Reservation | None,
    now: float | None = None,
) -> str:
    """What keeps one placeable item from starting now."""
    gpus = item.gpus
    if standing.over_quota(item.tenant, gpus):
        quota = standing.tenants.quota(item.tenant)
        return f"tenant {item.tenant} is at its quota of {_gpus(quota or 0)}"
    free = inventory.free_gpus
    if gpus and free < gpus:
        return f"waiting for {_gpus(gpus)}, {free} free"
    if inventory.fit(item.request) is None:
        if gpus and gpus <= inventory.widest and inventory.max_free() < gpus:
            most = inventory.max_free()
            return f"waiting for {_gpus(gpus)} on one node, {free} free (at most {most} on a node)"
        return f"waiting for {_host(item)} on one node"
    if reservation is not None and reservation.item.id != item.id:
        head = reservation.item
        when = ""
        if now is not None and reservation.start > now:
            when = f", expected to start in {format_duration(reservation.start - now)}"
        return (
            f"waiting for {_gpus(gpus)}, {free} free but held for {head.label or head.id}"
            f" ({_gpus(head.gpus)}{when})"
        )
    return "ready to start at the next scheduling pass"


def _gpus(count: int) -> str:
    return f"{count} GPU" if count == 1 else f"{count} GPUs"


def _host(item: QueueItem) -> str:
    parts = [_gpus(item.gpus)] if item.gpus else []
    if item.request.cpu:
        cpu = item.request.cpu
        parts.append(f"{cpu:g} CPU core" + ("" if cpu == 1 else "s"))
    if item.request.memory:
        parts.append(f"{item.request.memory / 2**30:.3g}Gi memory")
    return " and ".join(parts) or "a node"
