"""The waiting items, kept as one heap per (tenant, GPU count) so a decision never re-sorts."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator

from trainyard.scheduler.items import QueueItem

HeapKey = tuple[str, int]
# (rank key, submitted, id, sequence, item): tuples order by rank, then submit time, then id;
# the sequence number keeps a requeued item's dead entry from ever comparing items.
Entry = tuple[float, float, str, int, QueueItem]


class WaitQueue:
    """Waiting items by id, plus two heaps per tenant and GPU count.

    `heaps` orders by rank and its heads are always live: removing an item only forgets its
    entry, and a dead entry is dropped when it reaches its heap's head. `shortest` orders the
    items that have an estimate by it, for backfill; its dead entries go when looked at.
    """

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.heaps: dict[str, dict[int, list[Entry]]] = {}  # tenant -> GPU count -> heap
        self._short: dict[HeapKey, list[tuple[float, Entry]]] = {}
        self.count: dict[str, int] = {}
        self.demand: dict[str, int] = {}
        self.demand_free = 0  # waiting items that need no GPU
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.entries

    def __iter__(self) -> Iterator[Entry]:
        """Every live entry, in no particular order."""
        return iter(self.entries.values())

    def add(self, item: QueueItem, key: float) -> None:
        """Queue `item` with rank key `key`."""
        entry = (key, item.submitted, item.id, next(self._seq), item)
        tenant = item.tenant
        self.entries[item.id] = entry
        heapq.heappush(self.heaps.setdefault(tenant, {}).setdefault(item.gpus, []), entry)
        if item.estimate is not None:
            heapq.heappush(self._short.setdefault((tenant, item.gpus), []), (item.estimate, entry))
        self.count[tenant] = self.count.get(tenant, 0) + 1
        self.demand[tenant] = self.demand.get(tenant, 0) + item.gpus
        self.demand_free += not item.gpus

    def remove(self, item_id: str) -> QueueItem:
        """Take an item out (KeyError if it is not waiting)."""
        entry = self.entries.pop(item_id)
        item = entry[4]
        tenant = item.tenant
        self.count[tenant] -= 1
        self.demand[tenant] -= item.gpus
        self.demand_free -= not item.gpus
        if not self.count[tenant]:
            del self.count[tenant], self.demand[tenant]
        by_size = self.heaps[tenant]
        heap = by_size[item.gpus]
        entries = self.entries
        while heap and entries.get(heap[0][2]) is not heap[0]:
            heapq.heappop(heap)
        if not heap:
            del by_size[item.gpus]
            self._short.pop((tenant, item.gpus), None)
            if not by_size:
                del self.heaps[tenant]
        return item

    def shortest(self, key: HeapKey) -> Entry | None:
        """The waiting item of one tenant and GPU count with the shortest estimate, if any."""
        short = self._short.get(key)
        entries = self.entries
        while short and entries.get(short[0][1][2]) is not short[0][1]:
            heapq.heappop(short)
        return short[0][1] if short else None
