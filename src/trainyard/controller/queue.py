"""The step queue: pods wait here for the GPUs, CPU and memory they ask for, then get placed.

It turns the engine's PodRequests into the scheduler's QueueItems (tenant, priority, request,
estimate) and the scheduler's placements into the GPU indices a launch is given. The queue
is not persisted: after a restart every Pending pod is offered again (with the time its node
was created, so it keeps its place) and every running one is restored with its devices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from trainyard.core.clock import format_time
from trainyard.core.durations import parse_duration
from trainyard.core.errors import UserError
from trainyard.engine.actions import PodRequest
from trainyard.scheduler import Placement, QueueItem, Request, Scheduler

TENANT_LABEL = "trainyard.io/tenant"
ESTIMATE = "trainyard.io/estimated-duration"
PREEMPTIBLE = "trainyard.io/preemptible"


class GpuProbe(Protocol):
    """Finds GPUs that processes trainyard did not start are using."""

    def busy(self, ours: set[int]) -> set[int]:
        """Indices of GPUs used by a process that is neither in `ours` nor below one of them."""
        ...


@dataclass(frozen=True)
class Waiting:
    """A queued pod: which workflow node it is, and why it waits."""

    key: str
    node_id: str
    message: str


def request_of(pod: PodRequest) -> Request:
    """What the pod's main container asks for (`resources.requests`, else `.limits`); a
    containerSet's pod asks for the sum of its containers', as on Kubernetes."""
    cset = pod.template.container_set
    containers = cset.containers if cset is not None else [pod.template.main_container()]
    total = Request()
    for container in containers:
        resources = container.resources if container is not None else None
        if resources is None:
            continue
        try:
            one = Request.from_kubernetes(resources.requests, resources.limits)
        except (UserError, ValueError) as exc:
            raise UserError(f"template {pod.template.name!r}: resources: {exc}") from exc
        total = Request(total.gpus + one.gpus, total.cpu + one.cpu, total.memory + one.memory)
    return total


def _annotation(pod: PodRequest, name: str) -> str | None:
    metadata = pod.template.metadata or {}
    own = (metadata.get("annotations") or {}).get(name)
    return str(own) if own is not None else pod.annotations.get(name)


def item_of(key: str, pod: PodRequest, submitted: datetime) -> QueueItem:
    """The queue item for `pod` (UserError when its resources or annotations are malformed)."""
    estimate = _annotation(pod, ESTIMATE)
    return QueueItem(
        id=key,
        tenant=pod.labels.get(TENANT_LABEL) or pod.namespace,
        request=request_of(pod),
        submitted=submitted.timestamp(),
        priority=pod.priority,
        estimate=parse_duration(estimate) if estimate else None,
        preemptible=(_annotation(pod, PREEMPTIBLE) or "").lower() == "true",
        label=f"{pod.workflow_name}/{pod.node_name.rsplit('.', 1)[-1]}",
    )


class StepQueue:
    """Pods waiting for resources on this machine, and the ones running with theirs."""

    def __init__(
        self, scheduler: Scheduler, gpus: list[int] | None = None, node: str = "localhost"
    ) -> None:
        self.scheduler = scheduler
        self.gpus = list(gpus or [])
        self.node = node
        self._waiting: dict[str, str] = {}  # key -> node id
        self._told: dict[str, str] = {}  # key -> the last message the engine heard
        self._holding: set[str] = set()  # keys placed (or restored) and not finished

    def offer(self, key: str, pod: PodRequest, submitted: datetime) -> None:
        """Queue `pod` (once); UserError if its request can never be met on this machine."""
        if key in self._waiting:
            return
        self.scheduler.submit(item_of(key, pod, submitted))
        self._waiting[key] = pod.node_id

    def withdraw(self, key: str) -> bool:
        """Take a still-waiting pod out of the queue; False if it was not waiting."""
        if self._waiting.pop(key, None) is None:
            return False
        self._told.pop(key, None)
        self.scheduler.cancel(key)
        return True

    def finished(self, key: str) -> None:
        """A placed pod ended: its resources are free again (unknown keys are ignored)."""
        if key in self._holding:
            self._holding.discard(key)
            self.scheduler.finished(key)

    def preemptions(self, now: datetime) -> list[str]:
        """Running preemptible pods to stop so a better-ranked waiting one can start."""
        return self.scheduler.preemptions(now.timestamp())

    def requeue(self, key: str, node_id: str) -> None:
        """A preempted pod stopped: it waits again, in the place it had."""
        self._holding.discard(key)
        self.scheduler.requeue(key)
        self._waiting[key] = node_id

    def restore(self, key: str, tenant: str, devices: list[str]) -> None:
        """A pod that runs already (adopted after a restart) holds these GPUs."""
        gpus = tuple(int(d) for d in devices if d.isdigit())
        self._holding.add(key)
        self.scheduler.restore(
            QueueItem(key, tenant, Request(gpus=len(gpus)), 0.0), Placement(key, self.node, gpus)
        )

    def place(self, now: datetime) -> list[Placement]:
        """The waiting pods that may start now, with their GPUs."""
        placed = self.scheduler.schedule(now.timestamp())
        for placement in placed:
            self._holding.add(placement.id)
            self._waiting.pop(placement.id, None)
            self._told.pop(placement.id, None)
        return placed

    def news(self) -> list[Waiting]:
        """Waiting pods whose reason to wait changed since they were last reported."""
        changed = []
        for info in self.scheduler.waiting():
            if info.item.id in self._waiting and self._told.get(info.item.id) != info.reason:
                self._told[info.item.id] = info.reason
                changed.append(Waiting(info.item.id, self._waiting[info.item.id], info.reason))
        return changed

    def snapshot(self) -> dict[str, Any]:
        """What `trainyard queue` shows: waiting items in rank order, and running ones."""
        waiting = [
            {
                "position": info.position,
                "of": info.of,
                "tenant_position": info.tenant_position,
                "tenant_of": info.tenant_of,
                **_describe(info.item),
                "reason": info.reason,
            }
            for info in self.scheduler.waiting()
        ]
        running = [
            {**_describe(item), "gpus": list(placement.gpus)}
            for item, placement in self.scheduler.running()
        ]
        return {"waiting": waiting, "running": running}

    def set_busy(self, busy: set[int]) -> None:
        """Mark GPUs that other people's processes use as unavailable (and free ones back)."""
        for index in self.gpus:
            self.scheduler.set_gpu_available(self.node, index, index not in busy)


def _describe(item: QueueItem) -> dict[str, Any]:
    workflow, _, step = item.label.partition("/")
    return {
        "key": item.id,
        "workflow": workflow,
        "step": step,
        "tenant": item.tenant,
        "priority": item.priority,
        "request": {
            "gpus": item.request.gpus,
            "cpu": item.request.cpu,
            "memory": item.request.memory,
        },
        "since": format_time(datetime.fromtimestamp(item.submitted, UTC)),
    }
