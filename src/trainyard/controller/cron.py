"""CronWorkflows fired: each due tick becomes a Workflow, under Argo's concurrency, deadline and
history rules, with the CronWorkflow's status kept as Argo keeps it.

A tick fires as the Workflow `<cron>-<unix time of the tick>`, so it can never fire twice: a
create that conflicts means it fired already (before a crash, say). Where ticks were missed
(the engine was down), only the latest one fires, and only within `startingDeadlineSeconds`
when that is set, as Kubernetes CronJobs do. A tick due while the CronWorkflow is suspended, or
while a previous run runs under `concurrencyPolicy: Forbid`, is skipped for good.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trainyard.artifacts.base import Repositories
from trainyard.auth.roles import CREATOR_LABEL
from trainyard.controller.cleanup import remove
from trainyard.core.clock import format_time, parse_time
from trainyard.core.crontab import Schedules, zone
from trainyard.core.errors import ConflictError, NotFoundError, TrainyardError
from trainyard.core.selectors import Requirement
from trainyard.engine import operations
from trainyard.executors.base import Executor
from trainyard.spec.models import CronWorkflow, ObjectMeta, Workflow
from trainyard.spec.params import bind
from trainyard.store.base import ObjectVersion, Store

log = logging.getLogger(__name__)
KIND = "CronWorkflow"
CRON_LABEL = "workflows.argoproj.io/cron-workflow"
SCHEDULED_ANNOTATION = "workflows.argoproj.io/scheduled-time"
CHECK_SECONDS = 1.0
"""How often the CronWorkflows are looked at (a tick fires at most this late, plus a round)."""
SLACK = timedelta(seconds=2)
"""How late a tick may be noticed and still count as on time (the loop's own latency)."""
UNFINISHED = ["", "Pending", "Running"]
SUCCESSFUL_LIMIT = 3
FAILED_LIMIT = 1
"""Argo's defaults for successfulJobsHistoryLimit and failedJobsHistoryLimit."""


@dataclass(frozen=True)
class Decision:
    """What to do about the latest tick not yet handled."""

    tick: datetime | None = None  # the tick considered, if any
    fire: bool = False
    replace: bool = False  # terminate the running ones first (concurrencyPolicy: Replace)
    reason: str = ""  # why a tick is skipped


def decide(
    cron: CronWorkflow, schedules: Schedules, handled: datetime, active: int, now: datetime
) -> Decision:
    """Whether the latest tick in (handled, now] fires, is skipped, or replaces a run."""
    spec = cron.spec
    tick = schedules.latest(handled, now)
    if tick is None:
        return Decision()
    if spec.suspend:
        return Decision(tick, reason="suspended")
    deadline = spec.starting_deadline_seconds
    if deadline is not None and now - tick > timedelta(seconds=deadline) + SLACK:
        return Decision(tick, reason=f"missed by more than startingDeadlineSeconds ({deadline})")
    policy = spec.concurrency_policy or "Allow"
    if active and policy == "Forbid":
        return Decision(tick, reason="a previous run is still running (concurrencyPolicy: Forbid)")
    return Decision(tick, fire=True, replace=bool(active) and policy == "Replace")


def child_name(cron_name: str, tick: datetime) -> str:
    """The name of the workflow a tick starts, as Argo names it."""
    return f"{cron_name}-{int(tick.timestamp())}"


def child_workflow(cron: CronWorkflow, tick: datetime) -> Workflow:
    """The Workflow a tick of `cron` starts: its workflowSpec and workflowMetadata, labelled."""
    meta = cron.spec.workflow_metadata or ObjectMeta()
    name = cron.metadata.name or ""
    labels = {**(meta.labels or {}), CRON_LABEL: name}
    creator = (cron.metadata.labels or {}).get(CREATOR_LABEL)
    if creator:
        labels[CREATOR_LABEL] = creator
    metadata = ObjectMeta(
        name=child_name(name, tick),
        namespace=cron.metadata.namespace or "default",
        labels=labels,
        annotations={**(meta.annotations or {}), SCHEDULED_ANNOTATION: format_time(tick)},
    )
    return Workflow(metadata=metadata, spec=bind(cron.spec.workflow_spec, {}))


def local_zone() -> tzinfo:
    """This machine's time zone (Argo's default for a CronWorkflow without `timezone`)."""
    names = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        names.append(str(Path("/etc/localtime").resolve()).partition("zoneinfo/")[2])
    for name in names:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return UTC


class CronWorkflows:
    """Fires the CronWorkflows of one home; called by the controller each round."""

    def __init__(
        self,
        store: Store,
        executor: Executor,
        repositories: Repositories,
        volumes_dir: Path,
        default_zone: tzinfo | None = None,
    ) -> None:
        self.store = store
        self.executor = executor
        self.repositories = repositories
        self.volumes_dir = volumes_dir
        self.default_zone = default_zone or local_zone()
        self._handled: dict[str, datetime] = {}  # uid -> ticks up to here are dealt with
        self._last_check: datetime | None = None

    def run(self, now: datetime) -> list[dict[str, Any]]:
        """Fire what is due (at most once a CHECK_SECONDS); returns the workflows created."""
        if self._last_check is not None and now - self._last_check < timedelta(
            seconds=CHECK_SECONDS
        ):
            return []
        self._last_check = now
        created: list[dict[str, Any]] = []
        for doc in self.store.list(KIND):
            try:
                made = self._one(doc, now)
            except TrainyardError as exc:
                log.warning("cron workflow %s: %s", doc.get("metadata", {}).get("name"), exc)
                continue
            if made is not None:
                created.append(made)
        return created

    def _one(self, doc: dict[str, Any], now: datetime) -> dict[str, Any] | None:
        cron = CronWorkflow.model_validate(doc)
        name, namespace = cron.metadata.name or "", cron.metadata.namespace or "default"
        status: dict[str, Any] = dict(doc.get("status") or {})
        before = dict(status)
        runs = _Runs(self.store, namespace, name)
        self._account(status, runs)
        self._prune(cron, runs)
        created: dict[str, Any] | None = None
        try:
            schedules = Schedules(
                cron.spec.schedule_texts(),
                zone(cron.spec.timezone, self.default_zone),
                _created(cron, now),
            )
        except TrainyardError as exc:
            _set_condition(status, "SpecError", str(exc))
        else:
            _drop_condition(status, "SpecError")
            created = self._tick(cron, schedules, status, runs, now)
        if status != before:
            # Edited or deleted meanwhile: the next round starts from the new copy.
            with contextlib.suppress(ConflictError, NotFoundError):
                self.store.update(KIND, {**doc, "status": status})
        return created

    def _account(self, status: dict[str, Any], runs: _Runs) -> None:
        """Runs that ended since the last round leave `active` and are counted."""
        still: list[dict[str, Any]] = []
        known = set()
        for ref in status.get("active") or []:
            ref_name = ref.get("name") if isinstance(ref, dict) else None
            if ref_name in runs.running:
                still.append(ref)
                known.add(ref_name)
            elif ref_name in runs.succeeded:
                status["succeeded"] = int(status.get("succeeded") or 0) + 1
            elif ref_name in runs.failed:
                status["failed"] = int(status.get("failed") or 0) + 1
        for version in runs.running.values():
            if version.name not in known:  # fired before a crash, before its status was kept
                still.append(_reference(version.namespace, version.name, version.uid))
        if still:
            status["active"] = still
        else:
            status.pop("active", None)

    def _prune(self, cron: CronWorkflow, runs: _Runs) -> None:
        """Delete the oldest finished runs beyond the history limits."""
        spec = cron.spec
        for versions, limit in (
            (runs.succeeded, spec.successful_jobs_history_limit),
            (runs.failed, spec.failed_jobs_history_limit),
        ):
            keep = (
                limit
                if limit is not None
                else SUCCESSFUL_LIMIT
                if versions is runs.succeeded
                else FAILED_LIMIT
            )
            ordered = sorted(versions.values(), key=lambda v: (_tick_of(cron, v.name), v.name))
            for version in ordered[: max(0, len(ordered) - max(0, keep))]:
                self._delete(version)

    def _delete(self, version: ObjectVersion) -> None:
        try:
            doc = self.store.get("Workflow", version.namespace, version.name)
            self.store.delete("Workflow", version.namespace, version.name)
        except NotFoundError:
            return
        remove(self.executor, self.repositories, self.volumes_dir, Workflow.model_validate(doc))

    def _tick(
        self,
        cron: CronWorkflow,
        schedules: Schedules,
        status: dict[str, Any],
        runs: _Runs,
        now: datetime,
    ) -> dict[str, Any] | None:
        uid = cron.metadata.uid or ""
        handled = max(
            [self._handled.get(uid, _created(cron, now)), *_fired(cron, runs)]
            + ([parse_time(status["lastScheduledTime"])] if status.get("lastScheduledTime") else [])
        )
        if cron.spec.suspend:
            self._handled[uid] = max(handled, now)  # ticks while suspended never fire later
            return None
        decision = decide(cron, schedules, handled, len(runs.running), now)
        if decision.tick is None:
            return None
        self._handled[uid] = decision.tick
        if not decision.fire:
            log.info(
                "cron workflow %s: tick %s skipped: %s",
                cron.metadata.name,
                format_time(decision.tick),
                decision.reason,
            )
            return None
        if decision.replace:
            for version in runs.running.values():
                self._terminate(version)
        return self._fire(cron, decision.tick, status)

    def _terminate(self, version: ObjectVersion) -> None:
        for _ in range(5):
            try:
                wf = Workflow.model_validate(
                    self.store.get("Workflow", version.namespace, version.name)
                )
                self.store.update("Workflow", operations.terminate(wf).dump())
                return
            except NotFoundError:
                return
            except ConflictError:
                continue  # the engine wrote it meanwhile, or it ended: look again

    def _fire(
        self, cron: CronWorkflow, tick: datetime, status: dict[str, Any]
    ) -> dict[str, Any] | None:
        try:
            wf = child_workflow(cron, tick)
            created = self.store.create("Workflow", wf.dump())
        except ConflictError:
            created = None  # this tick fired already
        except TrainyardError as exc:
            _set_condition(status, "SubmissionError", f"Failed to submit Workflow: {exc}")
            return None
        status["lastScheduledTime"] = format_time(tick)
        status["phase"] = "Active"
        _drop_condition(status, "SubmissionError")
        if created is not None:
            meta = created["metadata"]
            active = list(status.get("active") or [])
            active.append(_reference(meta["namespace"], meta["name"], meta.get("uid", "")))
            status["active"] = active
        return created


class _Runs:
    """The workflows a CronWorkflow started, by state (addresses and versions only)."""

    def __init__(self, store: Store, namespace: str, cron_name: str) -> None:
        selector = (Requirement(CRON_LABEL, "=", (cron_name,)),)

        def by_name(phases: list[str]) -> dict[str, ObjectVersion]:
            found = store.list_versions("Workflow", namespace, selector=selector, phases=phases)
            return {v.name: v for v in found}

        self.running = by_name(UNFINISHED)
        self.succeeded = by_name(["Succeeded"])
        self.failed = by_name(["Failed", "Error"])


def _created(cron: CronWorkflow, now: datetime) -> datetime:
    stamp = cron.metadata.creation_timestamp
    return parse_time(stamp) if stamp else now


def _tick_of(cron: CronWorkflow, workflow_name: str) -> int:
    """The unix time in a run's name `<cron>-<unix time>` (0 if it has another name)."""
    suffix = workflow_name.removeprefix(f"{cron.metadata.name}-")
    return int(suffix) if suffix.isdigit() else 0


def _fired(cron: CronWorkflow, runs: _Runs) -> list[datetime]:
    """The ticks that started the runs still stored (a cursor that survives lost status)."""
    names = [*runs.running, *runs.succeeded, *runs.failed]
    ticks = [_tick_of(cron, name) for name in names]
    return [datetime.fromtimestamp(t, UTC) for t in ticks if t]


def _reference(namespace: str, name: str, uid: str) -> dict[str, Any]:
    return {
        "kind": "Workflow",
        "apiVersion": "argoproj.io/v1alpha1",
        "namespace": namespace,
        "name": name,
        "uid": uid,
    }


def _set_condition(status: dict[str, Any], kind: str, message: str) -> None:
    rest = [c for c in status.get("conditions") or [] if c.get("type") != kind]
    status["conditions"] = [*rest, {"type": kind, "status": "True", "message": message}]


def _drop_condition(status: dict[str, Any], kind: str) -> None:
    rest = [c for c in status.get("conditions") or [] if c.get("type") != kind]
    if rest:
        status["conditions"] = rest
    else:
        status.pop("conditions", None)
