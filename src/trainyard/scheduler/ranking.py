"""How a waiting item ranks at this moment: its tenant's fair-share standing, then its key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trainyard.scheduler.policies import Policy
from trainyard.scheduler.queue import Entry, HeapKey, WaitQueue
from trainyard.scheduler.tenants import TenantPolicy, fair_shares

Rank = tuple[float, float, float, str]
_MISSING: Any = object()


class Standing:
    """Each tenant's place in the fair-share order; `usage` is updated as items start."""

    def __init__(
        self,
        policy: Policy,
        tenants: TenantPolicy,
        usage: Mapping[str, int],
        demand: Mapping[str, int],
        capacity: int,
    ) -> None:
        self.mode = policy.fair
        self.tenants = tenants
        self.usage = usage
        self.shares: dict[str, float] = {}
        if self.mode == "tier":
            wanted = {t: usage.get(t, 0) + demand.get(t, 0) for t in {*usage, *demand}}
            self.shares = fair_shares(wanted, tenants, capacity)

    def of(self, tenant: str, less: int = 0) -> float:
        """The tenant's standing (lower goes first), as if it held `less` fewer GPUs."""
        if self.mode == "none":
            return 0.0
        used = self.usage.get(tenant, 0) - less
        if self.mode == "deficit":
            return used / self.tenants.weight(tenant)
        return 0.0 if used < self.shares.get(tenant, 0.0) else 1.0

    def over_quota(self, tenant: str, gpus: int) -> bool:
        """Whether starting `gpus` more GPUs would take the tenant past its quota."""
        quota = self.tenants.quota(tenant)
        return quota is not None and self.usage.get(tenant, 0) + gpus > quota


class Candidates:
    """The best-ranked startable item during one decision, found without a scan per start.

    Each tenant's best heap head is remembered until that tenant starts something or has a
    heap held or narrowed; limits only shrink within a decision, so a remembered "nothing"
    stays true. A narrowed heap offers only its shortest item, and only if that item's
    estimate is within `window` seconds (backfill before a reserved start).
    """

    def __init__(self, queue: WaitQueue, standing: Standing, widest: int) -> None:
        self.queue = queue
        self.standing = standing
        self.widest = widest
        self.held: set[HeapKey] = set()
        self.narrowed: set[HeapKey] = set()
        self.window = 0.0
        self._best: dict[str, tuple[Rank, HeapKey] | None] = {}

    def hold(self, key: HeapKey) -> None:
        """Leave one heap out for the rest of the decision."""
        self.held.add(key)
        self._best.pop(key[0], None)

    def narrow(self, key: HeapKey) -> None:
        """From now on, offer only the heap's shortest item that fits in `window`."""
        self.narrowed.add(key)
        self._best.pop(key[0], None)

    def changed(self, tenant: str) -> None:
        """The tenant started an item: its heads, usage and standing moved."""
        self._best.pop(tenant, None)

    def pick(self, limit: int, wide_limit: int) -> tuple[HeapKey, Entry] | None:
        """The best head not held, within quota and at most `limit` GPUs (`wide_limit` for a
        gang wider than any node)."""
        best: tuple[Rank, HeapKey] | None = None
        widest = self.widest
        for tenant in self.queue.heaps:
            mine = self._best.get(tenant, _MISSING)
            if mine is _MISSING or (
                mine is not None and mine[1][1] > (limit if mine[1][1] <= widest else wide_limit)
            ):
                mine = self._best[tenant] = self._tenant_best(tenant, limit, wide_limit)
            if mine is not None and (best is None or mine[0] < best[0]):
                best = mine
        if best is None:
            return None
        tenant, gpus = best[1]
        if best[1] in self.narrowed:
            entry = self.queue.shortest(best[1])
            assert entry is not None  # it was there when the tenant's best was found
            return best[1], entry
        return best[1], self.queue.heaps[tenant][gpus][0]

    def _tenant_best(self, tenant: str, limit: int, wide_limit: int) -> tuple[Rank, HeapKey] | None:
        standing = self.standing
        tier = standing.of(tenant)
        best: tuple[Rank, HeapKey] | None = None
        for gpus, heap in self.queue.heaps[tenant].items():
            if gpus > (limit if gpus <= self.widest else wide_limit):
                continue
            if (tenant, gpus) in self.held or standing.over_quota(tenant, gpus):
                continue
            entry: Entry | None = heap[0]
            if (tenant, gpus) in self.narrowed:
                entry = self.queue.shortest((tenant, gpus))
                if entry is None or (entry[4].estimate or 0.0) > self.window:
                    continue
            assert entry is not None
            rank = (tier, entry[0], entry[1], entry[2])
            if best is None or rank < best[0]:
                best = (rank, (tenant, gpus))
        return best
