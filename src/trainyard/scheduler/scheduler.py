"""The scheduler: a queue, an inventory and a policy, deciding what starts where at `now`."""

from __future__ import annotations

from trainyard.core.errors import ConflictError, NotFoundError, UserError
from trainyard.scheduler.inventory import Inventory
from trainyard.scheduler.items import Placement, QueueItem, Running, Span, WaitInfo
from trainyard.scheduler.policies import DEFAULT, Policy, get_policy
from trainyard.scheduler.preemption import choose_victims
from trainyard.scheduler.queue import HeapKey, WaitQueue
from trainyard.scheduler.ranking import Candidates, Standing
from trainyard.scheduler.reservation import Planner, Reservation, expected_end
from trainyard.scheduler.resources import NodeCapacity
from trainyard.scheduler.tenants import TenantPolicy
from trainyard.scheduler.waiting import describe

EVERYTHING = 1 << 62


class Scheduler:
    """Decides, at each `schedule(now)`, which waiting items start and on which GPUs.

    Pure: no clock, no I/O. The caller submits items, reports finished ones, and starts what
    `schedule` returns; the same object drives the controller and `trainyard sim`.
    """

    def __init__(
        self,
        nodes: list[NodeCapacity],
        policy: Policy | str = DEFAULT,
        tenants: TenantPolicy | None = None,
        multi_node: bool = False,
    ) -> None:
        self.policy = get_policy(policy)
        self.tenants = tenants or TenantPolicy()
        self.inventory = Inventory(nodes, multi_node)
        self.queue = WaitQueue()
        self.runs: dict[str, Running] = {}
        self.usage: dict[str, int] = {}
        self.stopping: set[str] = set()
        self.reservation: Reservation | None = None
        self.head: str | None = None
        self.planner = Planner(self.inventory, self._expected_end)

    # -- the caller's reports --------------------------------------------------------------

    def submit(self, item: QueueItem) -> None:
        """Queue an item.

        Raises UserError when it could never start (say, 16 GPUs on 8-GPU nodes, or more
        GPUs than its tenant's quota), and ConflictError when its id is known already.
        """
        if item.id in self.queue or item.id in self.runs:
            raise ConflictError(f"queue item {item.id} was submitted already")
        why = self.inventory.unplaceable(item.request)
        quota = self.tenants.quota(item.tenant)
        if why is None and quota is not None and item.gpus > quota:
            why = f"needs {item.gpus} GPUs; tenant {item.tenant}'s quota is {quota}"
        if why is not None:
            raise UserError(f"{item.label or item.id}: {why}")
        self.queue.add(item, self.policy.key(item))

    def restore(self, item: QueueItem, placement: Placement, started: float | None = None) -> None:
        """Record an item that runs already (adopted after a restart) with its placement.

        `started` defaults to the item's submit time. GPUs marked unavailable may be restored
        (the item is what keeps them busy). Raises ConflictError if the id is known, or the
        GPUs do not exist or are held by another item.
        """
        if item.id in self.queue or item.id in self.runs:
            raise ConflictError(f"queue item {item.id} is known already")
        for node, gpus in placement.spans:
            state = self.inventory.nodes.get(node)
            taken = set().union(*state.holders.values()) if state is not None else set()
            if state is None or not set(gpus) <= set(state.capacity.gpus) or taken & set(gpus):
                raise ConflictError(f"queue item {item.id}: GPUs {gpus} on {node} are not free")
        self._start(item, placement.spans, item.submitted if started is None else started)

    def cancel(self, item_id: str) -> bool:
        """Forget an item, waiting or running (its resources come back); False if unknown."""
        if item_id in self.queue:
            self.queue.remove(item_id)
        elif item_id in self.runs:
            self._release(item_id)
        else:
            return False
        return True

    def finished(self, item_id: str) -> None:
        """A running item ended: give its resources back."""
        if item_id not in self.runs:
            raise NotFoundError(f"queue item {item_id} is not running")
        self._release(item_id)

    def requeue(self, item_id: str) -> None:
        """A preempted item stopped: queue it again with its original submit time."""
        if item_id not in self.runs:
            raise NotFoundError(f"queue item {item_id} is not running")
        item = self._release(item_id)
        self.queue.add(item, self.policy.key(item))

    def set_gpu_available(self, node: str, index: int, available: bool) -> None:
        """Mark a GPU usable or not (e.g. busy with a process trainyard did not start)."""
        self.inventory.set_gpu_available(node, index, available)

    # -- decisions -------------------------------------------------------------------------

    def schedule(self, now: float) -> list[Placement]:
        """Start what the policy allows now; the returned items count as running from `now`.

        Candidates come best-ranked first. With reservations, the first that does not fit
        becomes the head and gets one (a gang keeps it until it starts); later ones start
        only where they do not delay it.
        """
        queue, inventory = self.queue, self.inventory
        self.reservation = None
        if not queue.heaps or (not inventory.free_gpus and not queue.demand_free):
            return []  # nothing could start: every waiting item needs a GPU and none is free
        candidates = Candidates(queue, self._standing(), inventory.widest)
        placements: list[Placement] = []
        seeking = self.policy.reserve and not self._resume_head(candidates, placements, now)
        while True:
            if seeking:  # the best-ranked item of all, to reserve for it if it is blocked
                found = candidates.pick(EVERYTHING, EVERYTHING)
            else:
                wide = inventory.free_gpus if inventory.multi_node else 0
                found = candidates.pick(inventory.max_free(), wide)
            if found is None:
                return placements
            heap_key, entry = found
            item = entry[4]
            spans = self._fit(item, now)
            if spans is not None:
                queue.remove(item.id)
                candidates.changed(item.tenant)
                placements.append(self._start(item, spans, now))
            elif seeking:
                seeking = False
                candidates.hold(heap_key)
                # A gang keeps its reservation until it starts; for a single GPU that would
                # only keep it from whoever ranks first when one frees up.
                self.head = item.id if item.gpus > 1 else None
                self.reservation = self.planner.reserve(item, now)
            elif (window := self._window(item, heap_key, candidates, now)) is not None:
                candidates.window = window  # only the reservation is in the way
                candidates.narrow(heap_key)
            else:
                candidates.hold(heap_key)

    def _window(
        self, item: QueueItem, heap_key: HeapKey, candidates: Candidates, now: float
    ) -> float | None:
        """Seconds until the head's reserved start, if only the reservation keeps `item` out
        (and its heap is not narrowed already: then nothing in it ends in time)."""
        held = self.reservation
        if held is None or heap_key in candidates.narrowed:
            return None
        return held.start - now if self.inventory.fit(item.request) is not None else None

    def _resume_head(self, candidates: Candidates, placements: list[Placement], now: float) -> bool:
        """Start the head kept from earlier decisions if it fits, else renew its reservation.

        True while it is still blocked. A head whose tenant reached its quota is let go.
        """
        entry = self.queue.entries.get(self.head) if self.head is not None else None
        if entry is None or candidates.standing.over_quota(entry[4].tenant, entry[4].gpus):
            self.head = None
            return False
        head = entry[4]
        spans = self.inventory.fit(head.request)
        if spans is not None:
            self.queue.remove(head.id)
            candidates.changed(head.tenant)
            placements.append(self._start(head, spans, now))
            self.head = None
            return False
        candidates.hold((head.tenant, head.gpus))
        self.reservation = self.planner.reserve(head, now)
        return True

    def preemptions(self, now: float) -> list[str]:
        """Running preemptible items to stop so the best-ranked blocked item can start.

        The caller stops them (SIGTERM, grace) and calls `requeue` for each. Nothing more is
        proposed while earlier victims are still stopping.
        """
        if not self.policy.preempt or self.stopping or not self.queue.heaps:
            return []
        standing = self._standing()
        found = Candidates(self.queue, standing, self.inventory.widest).pick(EVERYTHING, EVERYTHING)
        if found is None or self._fit(found[1][4], now, reservation=False) is not None:
            return []
        head = found[1]
        victims = choose_victims(
            head, self.runs.values(), self.inventory, standing, self.policy.key
        )
        self.stopping.update(victims)
        return victims

    # -- what callers show -----------------------------------------------------------------

    def waiting(self, now: float | None = None) -> list[WaitInfo]:
        """Every waiting item in rank order, with its positions and why it waits.

        With `now`, a reason that names a reservation also says when it should start.
        """
        standing = self._standing()
        order = sorted(self.queue, key=lambda e: (standing.of(e[4].tenant), e[0], e[1], e[2]))
        items = [e[4] for e in order]
        return describe(items, self.inventory, standing, self.reservation, now)

    def running(self) -> list[tuple[QueueItem, Placement]]:
        """Every running item and its placement, in start order."""
        return [(run.item, run.placement) for run in self.runs.values()]

    # -- internals -------------------------------------------------------------------------

    def _standing(self) -> Standing:
        return Standing(
            self.policy, self.tenants, self.usage, self.queue.demand, self.inventory.available_gpus
        )

    def _fit(
        self, item: QueueItem, now: float, reservation: bool = True
    ) -> tuple[Span, ...] | None:
        """Where `item` can start now without delaying the reserved head."""
        inventory = self.inventory
        held = self.reservation if reservation else None
        if held is None:
            return inventory.fit(item.request)
        spans = inventory.fit(item.request, exclude=held.nodes)
        if spans is not None:
            return spans
        if item.estimate is not None and now + item.estimate <= held.start:
            return inventory.fit(item.request, only=held.nodes)
        spare = [n for n in held.nodes if held.spare.get(n, 0) >= item.gpus]
        return inventory.fit(item.request, only=spare) if spare else None

    def _start(self, item: QueueItem, spans: tuple[Span, ...], now: float) -> Placement:
        self.inventory.allocate(item.id, item.request, spans)
        placement = Placement(item.id, spans[0][0], spans[0][1], spans[1:])
        self.runs[item.id] = Running(item, placement, now)
        self.usage[item.tenant] = self.usage.get(item.tenant, 0) + item.gpus
        held = self.reservation
        if held is not None and (item.estimate is None or now + item.estimate > held.start):
            for node, gpus in spans:
                if node in held.spare:
                    held.spare[node] -= len(gpus)
        return placement

    def _release(self, item_id: str) -> QueueItem:
        run = self.runs.pop(item_id)
        self.inventory.release(item_id)
        self.stopping.discard(item_id)
        tenant = run.item.tenant
        left = self.usage.get(tenant, 0) - run.item.gpus
        if left > 0:
            self.usage[tenant] = left
        else:
            self.usage.pop(tenant, None)
        return run.item

    def _expected_end(self, item_id: str, now: float) -> float:
        run = self.runs[item_id]
        estimate = run.item.estimate
        unknown = self.policy.unknown_estimate
        return expected_end(run.started, unknown if estimate is None else estimate, now)
