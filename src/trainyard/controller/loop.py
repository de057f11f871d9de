"""The reconcile loop: tick the engine for each live workflow, launch and stop its steps."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from trainyard.artifacts.base import Repositories
from trainyard.controller import references
from trainyard.controller.cleanup import pod_keys, release_finished
from trainyard.controller.containerset import build_container_set_launch, container_states
from trainyard.controller.cron import CronWorkflows
from trainyard.controller.data import build_data_launch
from trainyard.controller.launch import StepKey, build_launch
from trainyard.controller.memo import MemoCaches, cache_names
from trainyard.controller.queue import TENANT_LABEL, GpuProbe, StepQueue
from trainyard.controller.secrets import SecretSource, with_config_map_parameters
from trainyard.controller.sync import SyncGate
from trainyard.core.clock import Clock, SystemClock, format_time, parse_time
from trainyard.core.errors import ConflictError, NotFoundError, TrainyardError, UserError
from trainyard.engine.actions import (
    Action,
    MemoCache,
    PodObservation,
    SaveMemo,
    StartPod,
    TouchMemo,
)
from trainyard.engine.workflow import DONE, decide
from trainyard.executors.base import Executor, StepResult
from trainyard.spec.models import Outputs, Workflow, WorkflowStatus
from trainyard.spec.models.status import STEP_NODE_TYPES
from trainyard.store.base import Store

log = logging.getLogger(__name__)
KIND = "Workflow"
RESCAN_SECONDS = 1.0
PROBE_INTERVAL = timedelta(seconds=2)
PREEMPTED = "preempted: stopped to let a higher-ranked step use its GPUs"


@dataclass
class Live:
    """A workflow the controller is driving, with what happened since its last tick."""

    workflow: Workflow
    observations: list[PodObservation] = field(default_factory=list)
    due: datetime | None = None
    dirty: bool = True
    memo_names: frozenset[str] | None = None  # the caches its templates name, once known


class Controller:
    """Drives every unfinished workflow of one home through the engine."""

    def __init__(
        self,
        store: Store,
        executor: Executor,
        repositories: Repositories,
        volumes_dir: Path,
        clock: Clock | None = None,
        on_change: Callable[[Workflow], None] | None = None,
        bind_inputs: bool = True,
        queue: StepQueue | None = None,
        gpu_probe: GpuProbe | None = None,
        queue_file: Path | None = None,
    ) -> None:
        self.store = store
        self.executor = executor
        self.repositories = repositories
        self.bind_inputs = bind_inputs
        self.volumes_dir = volumes_dir
        self.clock = clock or SystemClock()
        self.on_change = on_change
        self.secrets = SecretSource(store)
        self.memo = MemoCaches(store)
        self.sync = SyncGate(self.secrets)
        self.live: dict[str, Live] = {}
        self.queue = queue
        self.gpu_probe = gpu_probe
        self.queue_file = queue_file
        self._queue_changed = False
        self._launched: set[str] = set()
        self._killed: set[str] = set()
        self._queued: dict[str, StartPod] = {}  # key -> the StartPod waiting in `queue`
        self._started: dict[str, StartPod] = {}  # key -> the StartPod it was launched for
        self._preempting: set[str] = set()
        self._last_scan: datetime | None = None
        self._last_probe: datetime | None = None
        self.crons = CronWorkflows(store, executor, repositories, volumes_dir)

    # -- workflows in and out -----------------------------------------------------------------
    def submit(self, wf: Workflow) -> Workflow:
        """Persist a new workflow (phase Pending) and start driving it."""
        doc = wf.dump()
        if _uses_config_maps(wf):
            # Filled in before it is stored: one write, and the values it started with.
            try:
                with_config_map_parameters(doc, self.secrets)
            except UserError as error:
                doc["status"] = self._error_status(error).dump()
        stored = Workflow.model_validate(self.store.create(KIND, doc))
        self.live[stored.metadata.uid or ""] = Live(stored)
        return stored

    def recover(self) -> None:
        """Take over every unfinished workflow in the store, re-adopting their running steps."""
        for doc in self.store.list(KIND, phases=["", "Pending", "Running"]):
            self._take(Workflow.model_validate(doc))

    def _take(self, wf: Workflow) -> None:
        uid = wf.metadata.uid or ""
        if uid in self.live or (wf.status is not None and wf.status.phase in DONE):
            return
        if wf.status is None and references.uses_references(wf.dump()):
            wf = self._made_whole(wf)
            if wf.status is not None and wf.status.phase in DONE:
                return
        if wf.status is None and _uses_config_maps(wf):
            wf = self._with_parameters(wf)
            if wf.status is not None and wf.status.phase in DONE:
                return
        live = Live(wf)
        self.live[uid] = live
        keys = [
            str(StepKey(uid, node.id))
            for node in (wf.status.nodes.values() if wf.status else [])
            if node.type in STEP_NODE_TYPES and not node.fulfilled
        ]
        if keys:
            self._restore_locks(wf)
            for result in self.executor.adopt(keys):
                self._launched.add(result.key)
                self._restore_devices(wf, result.key)
                self._observe(result)

    def _made_whole(self, wf: Workflow) -> Workflow:
        """A workflow stored with references to stored templates (by a cron workflow, say),
        with them resolved; one whose templates are missing ends in Error, saying which."""
        return self._completed(wf, lambda doc: references.resolve(doc, self.store))

    def _with_parameters(self, wf: Workflow) -> Workflow:
        """A new workflow with the values of its ConfigMap parameters filled in (stored, so
        that they stay what they were when it started); Error, saying what is missing, if a
        ConfigMap or key is absent."""

        def fill(doc: dict[str, Any]) -> dict[str, Any]:
            with_config_map_parameters(doc, self.secrets)
            return doc

        return self._completed(wf, fill)

    def _completed(
        self, wf: Workflow, complete: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> Workflow:
        """`wf` as `complete` makes its document, stored; Error with the message if that
        fails (a UserError)."""
        try:
            whole = Workflow.model_validate(complete(wf.dump()))
        except UserError as error:
            whole = wf.model_copy(update={"status": self._error_status(error)})
        try:
            return _with_version(whole, self.store.update(KIND, whole.dump()))
        except (ConflictError, NotFoundError):
            return wf  # changed or deleted meanwhile: the next scan sees it again

    def _error_status(self, error: UserError) -> WorkflowStatus:
        """The status of a workflow that cannot start, saying why."""
        now = format_time(self.clock.now())
        return WorkflowStatus(phase="Error", message=str(error), finished_at=now)

    def _restore_devices(self, wf: Workflow, key: str) -> None:
        """An adopted step keeps the GPUs it was given: the queue must not hand them out."""
        node = wf.status.nodes.get(StepKey.parse(key).node_id) if wf.status else None
        if self.queue is not None and node is not None and node.devices:
            tenant = (wf.metadata.labels or {}).get(TENANT_LABEL) or wf.metadata.namespace
            self.queue.restore(key, tenant or "default", node.devices)

    def busy(self) -> bool:
        """Whether any workflow is still unfinished."""
        return bool(self.live)

    # -- the loop -------------------------------------------------------------------------------
    def step(self, timeout: float = 1.0) -> list[Workflow]:
        """One round: wait for step results (at most `timeout` s), tick what needs it."""
        now = self.clock.now()
        wait = 0.0 if any(live.dirty for live in self.live.values()) else timeout
        for live in self.live.values():
            if live.due is not None:
                wait = min(wait, max(0.0, (live.due - now).total_seconds()))
        for result in self.executor.poll(wait):
            self._observe(result)
        self._rescan()
        now = self.clock.now()
        for doc in self.crons.run(now):
            self._take(Workflow.model_validate(doc))
        changed = []
        for uid, live in list(self.live.items()):
            if live.dirty or (live.due is not None and live.due <= now):
                wf = self._tick(uid, live, now)
                if wf is not None:
                    changed.append(wf)
        workflows = {uid: live.workflow for uid, live in self.live.items()}
        for key, action in self.sync.retry(workflows):
            self._go(self.live[StepKey.parse(key).workflow_uid], key, action)
        if self.queue is not None:
            self._place(now)
        return changed

    def _place(self, now: datetime) -> None:
        """Start the queued steps the scheduler places; tell waiting ones why they wait."""
        assert self.queue is not None
        if self.gpu_probe is not None and (
            self._last_probe is None or now - self._last_probe >= PROBE_INTERVAL
        ):
            self._last_probe = now
            self.queue.set_busy(self.gpu_probe.busy(self.executor.supervisor_pids()))
        for key in self.queue.preemptions(now):
            self._preempting.add(key)
            self.executor.kill(key, PREEMPTED)
        placed = self.queue.place(now)
        for placement in placed:
            action = self._queued.pop(placement.id, None)
            live = self.live.get(StepKey.parse(placement.id).workflow_uid)
            if action is None or live is None:
                self.queue.finished(placement.id)
                continue
            self._launched.add(placement.id)
            self._started[placement.id] = action
            self._start(live, placement.id, action, placement.gpus)
        news = self.queue.news()
        if news or placed or self._queue_changed:
            self._queue_changed = False
            self._write_queue_file()
        for waiting in news:
            live = self.live.get(StepKey.parse(waiting.key).workflow_uid)
            if live is not None:
                live.observations.append(
                    PodObservation(waiting.node_id, "Pending", now, message=waiting.message)
                )
                live.dirty = True

    def _observe(self, result: StepResult) -> None:
        final = result.state not in ("running", "ready")
        if result.key in self._preempting and final:
            self._requeue(result.key)
            return
        if final:
            self.sync.forget(result.key)
        if self.queue is not None and final:
            self.queue.finished(result.key)
            self._queue_changed = True
        key = StepKey.parse(result.key)
        live = self.live.get(key.workflow_uid)
        if live is None:
            return
        live.observations.append(observation(key.node_id, result, self.clock.now()))
        live.dirty = True

    def _rescan(self) -> None:
        """Notice workflows submitted or edited (stop, resume...) by other processes."""
        now = self.clock.now()
        if self._last_scan is not None and now - self._last_scan < timedelta(
            seconds=RESCAN_SECONDS
        ):
            return
        self._last_scan = now
        # Versions first (no bodies): only what is new or changed is read and parsed.
        for version in self.store.list_versions(KIND, phases=["", "Pending", "Running"]):
            live = self.live.get(version.uid)
            if live is not None and live.workflow.metadata.resource_version == str(
                version.resource_version
            ):
                continue
            try:
                doc = self.store.get(KIND, version.namespace, version.name)
            except NotFoundError:
                continue  # deleted since
            wf = Workflow.model_validate(doc)
            if live is None:
                self._take(wf)
            elif wf.metadata.uid == version.uid:
                live.workflow = wf
                live.dirty = True

    def _tick(self, uid: str, live: Live, now: datetime) -> Workflow | None:
        decision = decide(live.workflow, live.observations, now, self._caches(live))
        live.dirty = False
        live.due = decision.wake_at
        wf = decision.workflow
        if decision.changed:
            try:
                wf = _with_version(wf, self.store.update(KIND, wf.dump()))
            except ConflictError:
                self._reload(uid, live)
                return None
            except NotFoundError:
                del self.live[uid]
                return None
        live.observations = []
        live.workflow = wf
        for action in decision.actions:
            self._act(live, action)
        if wf.status is not None and wf.status.phase in DONE:
            del self.live[uid]
            release_finished(self.executor, wf)
            keys = set(pod_keys(wf))
            self.sync.finished(uid, keys)
            for key in keys:
                self._started.pop(key, None)
            self._launched -= keys
            self._killed -= keys
            for key in keys & set(self._queued):
                del self._queued[key]
                if self.queue is not None:
                    self.queue.withdraw(key)
        if decision.changed and self.on_change is not None:
            self.on_change(wf)
        return wf if decision.changed else None

    def _caches(self, live: Live) -> dict[str, MemoCache]:
        """The memoization caches the workflow's templates name, read fresh for this tick."""
        if live.memo_names is None:
            live.memo_names = cache_names(live.workflow)
        if not live.memo_names:
            return {}
        return self.memo.read(live.workflow.metadata.namespace or "default", live.memo_names)

    def _reload(self, uid: str, live: Live) -> None:
        """Someone else changed the workflow: start again from the stored copy."""
        meta = live.workflow.metadata
        try:
            doc = self.store.get(KIND, meta.namespace or "default", meta.name or "")
        except NotFoundError:
            del self.live[uid]
            return
        live.workflow = Workflow.model_validate(doc)
        live.dirty = True

    def _act(self, live: Live, action: Action) -> None:
        uid = live.workflow.metadata.uid or ""
        namespace = live.workflow.metadata.namespace or "default"
        if isinstance(action, SaveMemo):
            self.memo.save(namespace, action)
            return
        if isinstance(action, TouchMemo):
            self.memo.touch(namespace, action)
            return
        if isinstance(action, StartPod):
            key = str(StepKey(uid, action.pod.node_id))
            if key in self._launched or key in self._queued or key in self.sync.waiting:
                return
            now = self.clock.now()
            try:
                reason = self.sync.admit(live.workflow, key, action)
            except TrainyardError as exc:
                reason, phase = str(exc), "Error"
            else:
                phase = "Pending"
            if reason is not None:
                live.observations.append(
                    PodObservation(action.pod.node_id, phase, now, message=reason)
                )
                live.dirty = True
                return
            self._go(live, key, action)
            return
        key = str(StepKey(uid, action.node_id))
        if key in self._killed:
            return
        self._killed.add(key)
        self.sync.forget(key)
        if self.queue is not None and self.queue.withdraw(key):
            self._queued.pop(key, None)
        if key in self._launched:
            self.executor.kill(key, action.message)
        else:
            live.observations.append(
                PodObservation(action.node_id, "Failed", self.clock.now(), message=action.message)
            )
            live.dirty = True

    def _go(self, live: Live, key: str, action: StartPod) -> None:
        """A step that holds its locks: into the GPU queue, or started at once without one."""
        if self.queue is None:
            self._launched.add(key)
            self._start(live, key, action)
        else:
            self._offer(live, key, action)

    def _restore_locks(self, wf: Workflow) -> None:
        """Re-adopted steps hold their locks again, so that no newcomer takes them."""
        uid = wf.metadata.uid or ""
        nodes = wf.status.nodes.values() if wf.status else []
        running = {
            str(StepKey(uid, n.id)): n.template_name or ""
            for n in nodes
            if n.type in STEP_NODE_TYPES and not n.fulfilled and n.phase == "Running"
        }
        try:
            self.sync.restore(wf, running)
        except TrainyardError as exc:
            log.warning("workflow %s: its locks cannot be restored: %s", wf.metadata.name, exc)

    def _requeue(self, key: str) -> None:
        """A preempted step stopped: it waits again with its place and its attempt (no retry)."""
        assert self.queue is not None
        self._preempting.discard(key)
        self._queue_changed = True
        node_id = StepKey.parse(key).node_id
        action = self._started.get(key)
        live = self.live.get(StepKey.parse(key).workflow_uid)
        self.executor.forget(key)
        self._launched.discard(key)
        if action is None or live is None:
            self.queue.finished(key)
            return
        self.queue.requeue(key, node_id)
        self._queued[key] = action
        live.observations.append(
            PodObservation(
                node_id,
                "Pending",
                self.clock.now(),
                message=("preempted to let a higher-ranked step run; waiting to start again"),
            )
        )
        live.dirty = True

    def _write_queue_file(self) -> None:
        """Leave the queue where `trainyard queue` in another process can read it."""
        if self.queue is None or self.queue_file is None:
            return
        tmp = self.queue_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.queue.snapshot(), indent=1))
        os.replace(tmp, self.queue_file)

    def _offer(self, live: Live, key: str, action: StartPod) -> None:
        """Put a pod in the queue, keeping the place its node got when it was created."""
        assert self.queue is not None
        node = live.workflow.status.nodes.get(action.pod.node_id) if live.workflow.status else None
        now = self.clock.now()
        submitted = parse_time(node.started_at) if node is not None and node.started_at else now
        try:
            self.queue.offer(key, action.pod, submitted)
        except TrainyardError as exc:
            live.observations.append(
                PodObservation(action.pod.node_id, "Error", now, message=str(exc))
            )
            live.dirty = True
            return
        self._queued[key] = action

    def _start(
        self, live: Live, key: str, action: StartPod, gpus: tuple[int, ...] | None = None
    ) -> None:
        now = self.clock.now()
        try:
            build = build_launch
            if action.pod.template.container_set is not None:
                build = build_container_set_launch
            elif action.pod.template.data is not None:
                build = build_data_launch
            launch = build(
                action.pod,
                self.repositories,
                self.secrets,
                self.volumes_dir,
                self.bind_inputs,
                gpus=gpus,
            )
            self.executor.launch(launch)
        except TrainyardError as exc:
            if self.queue is not None:
                self.queue.finished(key)
            live.observations.append(
                PodObservation(action.pod.node_id, "Error", now, message=str(exc))
            )
        else:
            devices = tuple(str(g) for g in gpus or ())
            live.observations.append(
                PodObservation(
                    action.pod.node_id, "Running", now, host="localhost", devices=devices
                )
            )
        live.dirty = True

    def get(self, namespace: str, name: str) -> Workflow:
        """The stored workflow."""
        return Workflow.model_validate(self.store.get(KIND, namespace, name))


def _with_version(wf: Workflow, stored: dict[str, object]) -> Workflow:
    """`wf` carrying the resourceVersion the store gave it (no full re-parse)."""
    meta = stored.get("metadata")
    version = meta.get("resourceVersion") if isinstance(meta, dict) else None
    new_meta = wf.metadata.model_copy(update={"resource_version": version})
    return wf.model_copy(update={"metadata": new_meta})


def _uses_config_maps(wf: Workflow) -> bool:
    """Whether the workflow's spec reads a ConfigMap (a parameter's `configMapKeyRef`)."""
    return "configMapKeyRef" in json.dumps(wf.spec.dump())


def observation(node_id: str, result: StepResult, now: datetime) -> PodObservation:
    """What the engine should learn from a step's result."""
    at = result.finished_at or now
    if result.state in ("running", "ready"):
        at = result.started_at or now
        daemoned = result.state == "ready"
        return PodObservation(node_id, "Running", at, host="localhost", daemoned=daemoned)
    raw, containers = container_states(result.outputs or {})
    outputs = Outputs.model_validate(raw) if raw else None
    if outputs is not None and outputs.result is not None:
        stdout = result.stdout or ""
        outputs.result = stdout[:-1] if stdout.endswith("\n") else stdout
    phase = "Succeeded" if result.exit_code == 0 else "Failed"
    if result.state == "error":
        phase = "Error"
    return PodObservation(
        node_id, phase, at, result.exit_code, result.message, outputs, containers=containers
    )


__all__ = ["Controller", "Live", "format_time", "observation"]
